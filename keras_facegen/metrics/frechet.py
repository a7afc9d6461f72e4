"""Fréchet distance (FID) and kernel distance (KID) on features from any network.

* :func:`frechet_distance`: the Fréchet distance between Gaussians fitted to two feature sets,
  ``|mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))`` (Heusel et al., 2017).
* :func:`kernel_distance`: the unbiased squared MMD with the cubic polynomial kernel
  ``k(x, y) = (x . y / d + 1)^3``, averaged over random subsets (Bińkowski et al., 2018).
* :func:`frechet_inception_distance`: FID on the 2048-d pool features of
  ``keras.applications.InceptionV3``, with ImageNet weights the user supplies as a file
  (nothing is downloaded), or on any Keras model passed as ``feature_extractor``.

Note: Keras' InceptionV3 is not the exact TF-1 graph behind published FIDs
(``pt_inception-2015-12-05``), so its figures rank models consistently but are not comparable
with numbers in papers.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from keras_facegen._validation import check_int
from keras_facegen.metrics._checks import as_features, as_images, check_seed, to_numpy

__all__ = [
    "extract_features",
    "frechet_distance",
    "frechet_inception_distance",
    "gaussian_frechet_distance",
    "inception_feature_extractor",
    "kernel_distance",
]

INCEPTION_WEIGHTS_HELP = (
    "frechet_inception_distance needs ImageNet weights for keras.applications.InceptionV3 "
    "(include_top=False) as a local file; nothing is downloaded. Get them once on a machine "
    'with internet access, e.g. `python -c "import keras; keras.applications.InceptionV3('
    "include_top=False, pooling='avg').save_weights('inception_v3_notop.weights.h5')\"` (or "
    "copy ~/.keras/models/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5), then "
    "pass weights='inception_v3_notop.weights.h5'. Or pass feature_extractor=<any Keras "
    "model> to use other features."
)


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def gaussian_frechet_distance(mean_a: Any, cov_a: Any, mean_b: Any, cov_b: Any) -> float:
    """Fréchet (2-Wasserstein squared) distance between two Gaussians.

    ``|mean_a - mean_b|^2 + Tr(cov_a) + Tr(cov_b) - 2 Tr((cov_a cov_b)^(1/2))``. The trace of
    the matrix square root is computed as ``sum(sqrt(eig(A^(1/2) B A^(1/2))))`` (symmetric
    eigen-decompositions only, stable for singular covariances).

    Args:
        mean_a: Mean ``(D,)``.
        cov_a: Covariance ``(D, D)`` (symmetric positive semi-definite).
        mean_b: Mean ``(D,)``.
        cov_b: Covariance ``(D, D)``.

    Returns:
        The distance, a float ``>= 0``.

    Raises:
        ValueError: On mismatched or non-finite shapes and values.

    Example:
        >>> gaussian_frechet_distance([0.0], [[1.0]], [3.0], [[4.0]])  # 3^2 + (1 - 2)^2
        10.0
    """
    mean_a = np.asarray(mean_a, np.float64).reshape(-1)
    mean_b = np.asarray(mean_b, np.float64).reshape(-1)
    dim = mean_a.shape[0]
    cov_a = np.asarray(cov_a, np.float64)
    cov_b = np.asarray(cov_b, np.float64)
    for name, value, shape in (
        ("mean_b", mean_b, (dim,)),
        ("cov_a", cov_a, (dim, dim)),
        ("cov_b", cov_b, (dim, dim)),
    ):
        if value.shape != shape:
            raise ValueError(f"{name} must have shape {shape}; received {value.shape}.")
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{name} contains NaN or infinite values.")
    if not np.all(np.isfinite(mean_a)):
        raise ValueError("mean_a contains NaN or infinite values.")
    diff = mean_a - mean_b
    root_a = _sqrt_psd(cov_a)
    middle = root_a @ cov_b @ root_a
    eigen = np.linalg.eigvalsh((middle + middle.T) / 2.0)
    trace_sqrt = float(np.sqrt(np.clip(eigen, 0.0, None)).sum())
    distance = float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_sqrt)
    return max(distance, 0.0)


def frechet_distance(features_a: Any, features_b: Any) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (FID on any features).

    Means and covariances (``ddof=1``, as the FID reference) of the rows, then
    :func:`gaussian_frechet_distance`. Identical sets give 0.

    Args:
        features_a: ``(N, D)`` features (a 1-d array is ``N`` scalars), ``N >= 2``.
        features_b: ``(M, D)`` features, ``M >= 2``.

    Returns:
        The distance, a float ``>= 0``.

    Raises:
        ValueError: On a feature-size mismatch, fewer than 2 rows, or NaN.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(100, 4))
        >>> round(frechet_distance(x, x), 6)
        0.0
    """
    a = as_features(features_a, "features_a")
    b = as_features(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            "features_a and features_b must have the same feature size; received "
            f"{a.shape[1]} and {b.shape[1]}."
        )
    cov_a = np.atleast_2d(np.cov(a, rowvar=False))
    cov_b = np.atleast_2d(np.cov(b, rowvar=False))
    return gaussian_frechet_distance(a.mean(axis=0), cov_a, b.mean(axis=0), cov_b)


def kernel_distance(
    features_a: Any,
    features_b: Any,
    num_subsets: int = 100,
    subset_size: int | None = None,
    degree: int = 3,
    coef0: float = 1.0,
    seed: int | None = 0,
    return_std: bool = False,
) -> float | tuple[float, float]:
    """Kernel distance (KID): the unbiased squared MMD with a polynomial kernel, over subsets.

    For each of ``num_subsets`` random subsets of ``m`` rows from each set (without
    replacement), ``mean_{i!=j} k(a_i, a_j) + mean_{i!=j} k(b_i, b_j) - 2 mean_{i,j} k(a_i,
    b_j)`` with ``k(x, y) = (x . y / D + coef0) ** degree``; the result is the mean over
    subsets. Unbiased: about 0 (and possibly slightly negative) for two samples of one
    distribution; identical sets do *not* give exactly 0.

    Args:
        features_a: ``(N, D)`` features.
        features_b: ``(M, D)`` features.
        num_subsets: Number of subsets (100 in the reference).
        subset_size: Rows per subset; default ``min(1000, N, M)`` (1000 in the reference).
        degree: Polynomial degree.
        coef0: Polynomial constant.
        seed: Seed of the subsets (NumPy).
        return_std: Also return the standard deviation over subsets.

    Returns:
        The mean over subsets (a float), or ``(mean, std)`` if ``return_std``.

    Raises:
        ValueError: On a feature-size mismatch, ``subset_size`` larger than a set or below 2,
            or NaN.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> kid = kernel_distance(rng.normal(size=(500, 1)), rng.normal(3, 1, size=(500, 1)))
        >>> kid > 10
        True
    """
    a = as_features(features_a, "features_a")
    b = as_features(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            "features_a and features_b must have the same feature size; received "
            f"{a.shape[1]} and {b.shape[1]}."
        )
    num_subsets = check_int(num_subsets, "num_subsets")
    degree = check_int(degree, "degree")
    seed = check_seed(seed)
    if subset_size is None:
        subset_size = min(1000, len(a), len(b))
    subset_size = check_int(subset_size, "subset_size", minimum=2)
    if subset_size > min(len(a), len(b)):
        raise ValueError(
            f"subset_size={subset_size} is larger than the smaller set ({len(a)} and {len(b)} "
            "rows); pass a smaller subset_size or more features."
        )
    rng = np.random.default_rng(seed)
    dim, m = a.shape[1], subset_size

    def kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (x @ y.T / dim + coef0) ** degree

    values = np.empty(num_subsets)
    for s in range(num_subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        k_xx, k_yy, k_xy = kernel(x, x), kernel(y, y), kernel(x, y)
        within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        values[s] = within - 2.0 * k_xy.sum() / (m * m)
    mean = float(values.mean())
    return (mean, float(values.std())) if return_std else mean


def extract_features(model: Any, images: Any, batch_size: int = 32) -> np.ndarray:
    """Runs a Keras model (or callable) over images in batches; rows of flattened features.

    Args:
        model: A Keras model or callable ``images -> features``; for a model with several
            outputs, the first is used.
        images: ``(N, H, W, C)`` images, in the range the model expects.
        batch_size: Images per call.

    Returns:
        float64 array ``(N, F)``.

    Raises:
        ValueError: On bad images (NaN, wrong rank) or a bad batch size.

    Example:
        >>> import keras, numpy as np
        >>> model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten()])
        >>> extract_features(model, np.zeros((5, 8, 8, 3))).shape
        (5, 192)
    """
    import keras

    batch_size = check_int(batch_size, "batch_size")
    images = as_images(images, "images").astype(np.float32)
    rows = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        if isinstance(model, keras.layers.Layer):
            out = model(batch, training=False)
        else:
            out = model(batch)
        if isinstance(out, (list, tuple)):
            out = out[0]
        out = np.asarray(keras.ops.convert_to_numpy(out), dtype=np.float64)
        rows.append(out.reshape(len(batch), -1))
    return np.concatenate(rows)


_INCEPTION_CACHE: dict[tuple[str, float, int], Any] = {}


def inception_feature_extractor(weights: str | os.PathLike, input_size: int = 299) -> Any:
    """InceptionV3 pool features (2048-d) for images in [-1, 1], resized to ``input_size``.

    Args:
        weights: A local weights file for ``keras.applications.InceptionV3(include_top=False)``
            (a ``.weights.h5`` saved with ``save_weights`` or Keras' ``..._notop.h5``).
        input_size: Side the images are resized to (bilinear); 299 as in FID, >= 75.

    Returns:
        A callable ``images (N, H, W, 3) -> (N, 2048)`` features.

    Raises:
        ValueError: If ``weights`` is not given or is not a file (the message says how to get
            it), or ``input_size < 75``.

    Example:
        >>> extractor = inception_feature_extractor("inception_v3_notop.weights.h5")
        ... # doctest: +SKIP
    """
    import keras

    if weights is None or not os.path.isfile(os.fspath(weights)):
        raise ValueError(f"weights={weights!r} is not a file. {INCEPTION_WEIGHTS_HELP}")
    input_size = check_int(input_size, "input_size", minimum=75)
    path = os.path.abspath(os.fspath(weights))
    key = (path, os.path.getmtime(path), input_size)
    if key not in _INCEPTION_CACHE:
        network = keras.applications.InceptionV3(
            include_top=False, weights=None, pooling="avg", input_shape=(input_size,) * 2 + (3,)
        )
        try:
            network.load_weights(path)
        except Exception as error:  # noqa: BLE001 - any loading failure gets the same help
            raise ValueError(
                f"Could not load InceptionV3 weights from {path!r} ({error}). "
                f"{INCEPTION_WEIGHTS_HELP}"
            ) from None
        _INCEPTION_CACHE.clear()
        _INCEPTION_CACHE[key] = network
    network = _INCEPTION_CACHE[key]

    def features(images: Any) -> Any:
        # Keras' InceptionV3 takes inputs in [-1, 1], the library's own image range.
        images = keras.ops.image.resize(
            keras.ops.convert_to_tensor(images, "float32"),
            (input_size, input_size),
            interpolation="bilinear",
        )
        return network(images, training=False)

    return features


def frechet_inception_distance(
    real: Any,
    fake: Any,
    weights: str | os.PathLike | None = None,
    feature_extractor: Any = None,
    batch_size: int = 32,
    input_size: int = 299,
) -> float:
    """FID between two image sets, on InceptionV3 features or any model's features.

    Args:
        real: Real images ``(N, H, W, 3)`` in [-1, 1] (uint8 is rescaled).
        fake: Generated images ``(M, H, W, 3)``, same range.
        weights: Path of InceptionV3 ImageNet weights (``include_top=False``); required unless
            ``feature_extractor`` is given. Nothing is downloaded.
        feature_extractor: Any Keras model or callable ``images -> features`` to use instead
            of InceptionV3 (e.g. a trained attribute classifier without its head).
        batch_size: Images per network call.
        input_size: Side InceptionV3 sees (images are resized; 299 as in FID).

    Returns:
        The Fréchet distance between the two sets' features.

    Raises:
        ValueError: Without weights and extractor (saying how to get the weights), on bad
            images, or fewer than 2 images per set.

    Example:
        >>> fid = frechet_inception_distance(real, fake, weights="inception_v3_notop.weights.h5")
        ... # doctest: +SKIP
    """
    real_array = to_numpy(real)
    fake_array = to_numpy(fake)
    real_images = as_images(real_array, "real", min_images=2)
    fake_images = as_images(fake_array, "fake", min_images=2)
    if real_array.dtype == np.uint8:
        real_images = real_images / 127.5 - 1.0
    if fake_array.dtype == np.uint8:
        fake_images = fake_images / 127.5 - 1.0
    if feature_extractor is None:
        if weights is None:
            raise ValueError(f"weights=None and feature_extractor=None. {INCEPTION_WEIGHTS_HELP}")
        feature_extractor = inception_feature_extractor(weights, input_size)
    features_real = extract_features(feature_extractor, real_images, batch_size)
    features_fake = extract_features(feature_extractor, fake_images, batch_size)
    return frechet_distance(features_real, features_fake)
