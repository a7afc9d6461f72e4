"""Fréchet and kernel distances: closed forms, hand-computed values, feature extractors."""

import statistics

import keras
import numpy as np
import pytest

from keras_facegen.metrics import (
    extract_features,
    frechet_distance,
    frechet_inception_distance,
    gaussian_frechet_distance,
    kernel_distance,
)

# Tests marked backend_independent run in the TensorFlow pass only: frechet_distance,
# gaussian_frechet_distance and kernel_distance are NumPy and SciPy code on every backend; the
# feature extraction (Keras models on the backend) runs on every backend below.


def _with_moments(n, mean, cov, seed):
    """Samples whose sample mean and covariance (ddof=1) are exactly ``mean`` and ``cov``."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, len(mean)))
    z -= z.mean(axis=0)
    # Whiten to an identity sample covariance, then colour.
    white = z @ np.linalg.inv(np.linalg.cholesky(np.atleast_2d(np.cov(z, rowvar=False)))).T
    return white @ np.linalg.cholesky(cov).T + mean


@pytest.mark.backend_independent
def test_identical_sets_give_zero():
    x = np.random.default_rng(0).normal(size=(200, 8))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.backend_independent
def test_gaussians_diagonal_closed_form():
    mean_a, mean_b = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.0])
    var_a, var_b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    a = _with_moments(500, mean_a, np.diag(var_a), seed=1)
    b = _with_moments(700, mean_b, np.diag(var_b), seed=2)
    # Commuting covariances: |dmu|^2 + sum (sigma_a - sigma_b)^2 = 5 + (4 + 1 + 0) = 10.
    assert frechet_distance(a, b) == pytest.approx(10.0, abs=1e-8)


@pytest.mark.backend_independent
def test_gaussians_non_commuting_closed_form():
    cov_a = np.array([[2.0, 0.5], [0.5, 1.0]])
    cov_b = np.array([[1.0, -0.3], [-0.3, 3.0]])
    mean_a, mean_b = np.array([0.5, 0.0]), np.array([0.0, 2.0])
    # 2x2: Tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)) for M = cov_a cov_b (positive eigenvalues).
    m = cov_a @ cov_b
    trace_sqrt = np.sqrt(np.trace(m) + 2 * np.sqrt(np.linalg.det(m)))
    expected = 0.25 + 4.0 + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt
    assert gaussian_frechet_distance(mean_a, cov_a, mean_b, cov_b) == pytest.approx(expected)
    a = _with_moments(300, mean_a, cov_a, seed=3)
    b = _with_moments(400, mean_b, cov_b, seed=4)
    assert frechet_distance(a, b) == pytest.approx(expected, abs=1e-8)


@pytest.mark.backend_independent
def test_one_dimensional_features():
    assert gaussian_frechet_distance([0.0], [[1.0]], [3.0], [[4.0]]) == pytest.approx(10.0)
    a = _with_moments(50, np.array([0.0]), np.array([[1.0]]), seed=5)[:, 0]
    b = _with_moments(60, np.array([3.0]), np.array([[4.0]]), seed=6)[:, 0]
    assert frechet_distance(a, b) == pytest.approx(10.0, abs=1e-8)


def _kid_by_hand(x, y):
    """The unbiased MMD^2 with k(u, v) = (u . v / d + 1)^3, by explicit double loops."""
    d, m = x.shape[1], len(x)

    def k(u, v):
        return (float(np.dot(u, v)) / d + 1) ** 3

    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


@pytest.mark.backend_independent
def test_kernel_distance_hand_computed():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 3)), rng.normal(0.5, 1.0, size=(6, 3))
    # One subset holding every row (the permutation does not change the statistic).
    assert kernel_distance(x, y, num_subsets=1, subset_size=6) == pytest.approx(_kid_by_hand(x, y))
    # Identical sets: the unbiased estimate is not 0 but this known negative value.
    assert kernel_distance(x, x, num_subsets=1, subset_size=6) == pytest.approx(_kid_by_hand(x, x))
    assert kernel_distance(x, x, num_subsets=1, subset_size=6) < 0


@pytest.mark.backend_independent
def test_kernel_distance_gaussian_closed_form():
    # 1-d, k(x, y) = (xy + 1)^3: MMD^2 = (E x^3 - E y^3)^2 + 3 (E x^2 - E y^2)^2 + 3 (E x - E y)^2.
    def moments(mu, s):
        return mu, mu**2 + s**2, mu**3 + 3 * mu * s**2

    (a1, a2, a3), (b1, b2, b3) = moments(0.0, 0.5), moments(0.3, 0.5)
    expected = (a3 - b3) ** 2 + 3 * (a2 - b2) ** 2 + 3 * (a1 - b1) ** 2
    # Quantile samples (the inverse CDF at evenly spaced levels, shuffled) have the Gaussians'
    # moments up to O(1/n), so only the subsets' own noise remains.
    levels = (np.arange(4000) + 0.5) / 4000
    quantiles = np.array([statistics.NormalDist(0.0, 0.5).inv_cdf(p) for p in levels])
    rng = np.random.default_rng(0)
    x = rng.permutation(quantiles)[:, None]
    y = rng.permutation(quantiles + 0.3)[:, None]
    kid, std = kernel_distance(x, y, num_subsets=50, subset_size=1000, return_std=True)
    assert kid == pytest.approx(expected, rel=0.05)
    assert 0 < std < expected
    same = kernel_distance(x, rng.permutation(x), num_subsets=20, seed=1)
    assert abs(same) < 0.02 * expected


@pytest.mark.backend_independent
def test_kernel_distance_seeded():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(300, 4)), rng.normal(0.2, 1.0, size=(300, 4))
    assert kernel_distance(x, y, num_subsets=5, seed=1) == kernel_distance(
        x, y, num_subsets=5, seed=1
    )


@pytest.mark.backend_independent
def test_bad_inputs_give_clear_errors():
    x = np.zeros((10, 4))
    with pytest.raises(ValueError, match="same feature size; received 4 and 3"):
        frechet_distance(x, np.zeros((10, 3)))
    with pytest.raises(ValueError, match="features_b must hold at least 2 samples"):
        frechet_distance(x, np.zeros((1, 4)))
    bad = np.ones((10, 4))
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="features_a contains 1 NaN"):
        frechet_distance(bad, x)
    with pytest.raises(ValueError, match="subset_size=20 is larger than the smaller set"):
        kernel_distance(x, x, subset_size=20)
    with pytest.raises(ValueError, match=r"feature matrix \(N, D\)"):
        kernel_distance(np.zeros((2, 3, 4)), x)
    with pytest.raises(ValueError, match="cov_b must have shape"):
        gaussian_frechet_distance([0.0, 0.0], np.eye(2), [0.0, 0.0], np.eye(3))


def _tiny_extractor():
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, strides=2, activation="tanh")(inputs)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))


def test_extract_features_matches_a_direct_call():
    model = _tiny_extractor()
    images = np.random.default_rng(0).uniform(-1, 1, (10, 16, 16, 3)).astype("float32")
    features = extract_features(model, images, batch_size=3)
    direct = keras.ops.convert_to_numpy(model(images))
    np.testing.assert_allclose(features, direct, rtol=1e-5, atol=1e-6)


def test_fid_with_any_keras_model():
    model = _tiny_extractor()
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (40, 16, 16, 3)).astype("float32")
    fake = np.clip(real * 0.3, -1, 1)
    fid = frechet_inception_distance(real, fake, feature_extractor=model)
    expected = frechet_distance(extract_features(model, real), extract_features(model, fake))
    assert fid == pytest.approx(expected)
    assert fid > 0
    assert frechet_inception_distance(real, real, feature_extractor=model) == pytest.approx(
        0.0, abs=1e-6
    )
    # uint8 images are rescaled to [-1, 1] first.
    as_uint8 = np.round((real + 1) * 127.5).astype(np.uint8)
    rescaled = as_uint8.astype("float32") / 127.5 - 1
    assert frechet_inception_distance(as_uint8, fake, feature_extractor=model) == pytest.approx(
        frechet_inception_distance(rescaled, fake, feature_extractor=model), rel=1e-5
    )


def test_fid_without_weights_says_how_to_get_them(tmp_path):
    images = np.zeros((4, 32, 32, 3), "float32")
    with pytest.raises(ValueError, match="nothing is downloaded.*save_weights"):
        frechet_inception_distance(images, images)
    with pytest.raises(ValueError, match="is not a file.*nothing is downloaded"):
        frechet_inception_distance(images, images, weights=tmp_path / "missing.h5")


# Backend-independent (TensorFlow pass only): what it adds to test_fid_with_any_keras_model (the
# FID path with a model, run on every backend) is building Keras' InceptionV3 and loading its
# weights from a file, checked against the same network called directly (same resize, same
# backend), so no backend's numbers are compared (it took 47 s of CI's JAX pass: eager JAX
# compiles InceptionV3 layer by layer).
@pytest.mark.backend_independent
@pytest.mark.slow
def test_fid_with_inception_weights_from_a_file(tmp_path):
    # Random InceptionV3 weights saved locally stand in for the ImageNet file (no download).
    network = keras.applications.InceptionV3(
        include_top=False, weights=None, pooling="avg", input_shape=(75, 75, 3)
    )
    path = tmp_path / "inception.weights.h5"
    network.save_weights(path)
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (6, 32, 32, 3)).astype("float32")
    fake = rng.uniform(-0.5, 0.5, (6, 32, 32, 3)).astype("float32")
    fid = frechet_inception_distance(real, fake, weights=path, input_size=75, batch_size=3)

    def direct(images):
        # In batches of 3 like the library's calls: eager JAX compiles every layer again for
        # each new batch shape (6 s of the test on JAX for a batch of 6).
        resized = keras.ops.image.resize(images, (75, 75), interpolation="bilinear")
        halves = [network(resized[i : i + 3], training=False) for i in (0, 3)]
        return np.concatenate([keras.ops.convert_to_numpy(half) for half in halves])

    direct_real, direct_fake = direct(real), direct(fake)
    assert direct_real.shape == (6, 2048)
    assert fid == pytest.approx(frechet_distance(direct_real, direct_fake), rel=1e-3)
