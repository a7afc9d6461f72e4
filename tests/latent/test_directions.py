import numpy as np
import pytest

from keras_facegen.latent import (
    apply_offset,
    attribute_direction,
    decode_hex,
    offset_vector,
    sample_latents,
    truncate,
)


def test_offset_vector_from_latents_and_codes():
    good = np.array([[1.0, 0.0], [0.0, 1.0]])
    bad = np.array([[-1.0, -1.0]])
    np.testing.assert_allclose(offset_vector(good, bad), [1.5, 1.5])
    offset = offset_vector(["ff00", "ff80"], "0000")
    np.testing.assert_allclose(offset, [2.0, (-1 + 128 / 127.5 - 1) / 2 + 1], rtol=1e-6)
    np.testing.assert_allclose(
        offset_vector(["ff00", "ff80"], "0000"),
        decode_hex(["ff00", "ff80"]).mean(0) + 1,
        rtol=1e-6,
    )


def test_offset_vector_mismatched_dims():
    with pytest.raises(ValueError, match="same latent size"):
        offset_vector(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="good: Hex code 'zz'"):
        offset_vector(["zz"], "00")


def test_apply_offset():
    z = np.array([[0.5, -0.5], [0.0, 0.0]])
    np.testing.assert_allclose(apply_offset(z, [1.0, 0.25]), [[1.5, -0.25], [1.0, 0.25]])
    np.testing.assert_allclose(
        apply_offset(z, [1.0, 0.25], scale=-2.0, clip=1.0), [[-1.0, -1.0], [-1.0, -0.5]]
    )
    with pytest.raises(ValueError, match="same latent size"):
        apply_offset(z, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="clip must be None or a positive"):
        apply_offset(z, [1.0, 0.0], clip=0)
    with pytest.raises(ValueError, match="scale must be a finite"):
        apply_offset(z, [1.0, 0.0], scale=np.nan)


@pytest.mark.parametrize("method", ["mean_difference", "linear", "logistic"])
def test_attribute_direction_recovers_planted_direction(method):
    rng = np.random.default_rng(0)
    planted = rng.normal(size=16)
    planted /= np.linalg.norm(planted)
    latents = rng.normal(size=(400, 16))
    labels = (latents @ planted > 0).astype(int)
    direction = attribute_direction(latents, labels, method=method)
    assert direction.shape == (16,) and direction.dtype == np.float32
    assert np.linalg.norm(direction) == pytest.approx(1.0, abs=1e-6)
    assert direction @ planted > 0.9


def test_attribute_direction_mean_difference_exact_and_continuous_labels():
    latents = np.array([[0.0, 3.0], [0.0, 1.0], [2.0, 0.0], [0.0, 0.0]])
    # Binary: positives rows 0, 1 -> mean (0, 2); negatives -> (1, 0); diff (-1, 2) / sqrt 5.
    np.testing.assert_allclose(
        attribute_direction(latents, [1, 1, 0, 0]), np.array([-1.0, 2.0]) / np.sqrt(5), rtol=1e-6
    )
    # Continuous: median 0.5 splits {0.9, 0.7} from {0.1, 0.3} the same way.
    np.testing.assert_allclose(
        attribute_direction(latents, [0.9, 0.7, 0.1, 0.3]),
        np.array([-1.0, 2.0]) / np.sqrt(5),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        attribute_direction(latents, [True, True, False, False]),
        np.array([-1.0, 2.0]) / np.sqrt(5),
        rtol=1e-6,
    )


def test_attribute_direction_errors():
    latents = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="both classes"):
        attribute_direction(latents, [1, 1, 1])
    with pytest.raises(ValueError, match="both classes"):
        attribute_direction(latents, [0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="direction is zero"):
        attribute_direction(np.array([[1.0, 0], [1.0, 0]]), [1, 0])
    with pytest.raises(ValueError, match="one value per latent"):
        attribute_direction(latents, [1, 0])
    with pytest.raises(ValueError, match="method must be one of"):
        attribute_direction(latents, [1, 0, 0], method="pca")
    with pytest.raises(ValueError, match=r"batch \(N, D\)"):
        attribute_direction(np.ones(3), [1, 0, 0])


def test_truncate():
    z = np.array([[1.0, -0.5], [0.0, 2.0]])
    np.testing.assert_allclose(truncate(z, 0.5), [[0.5, -0.25], [0.0, 1.0]])
    np.testing.assert_allclose(truncate(z, 0.0, center=[1.0, 1.0]), [[1.0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(truncate(z, 0.5, center=[1.0, 0.0]), [[1.0, -0.25], [0.5, 1.0]])
    np.testing.assert_allclose(truncate(z, 1.0), z)
    with pytest.raises(ValueError, match="psi must be a finite"):
        truncate(z, np.inf)
    with pytest.raises(ValueError, match="same latent size"):
        truncate(z, 0.5, center=[0.0, 0.0, 0.0])


def test_sample_latents():
    z = sample_latents(1000, 16, "uniform", seed=3)
    assert z.shape == (1000, 16) and z.dtype == np.float32
    assert z.min() >= -1.0 and z.max() <= 1.0 and abs(z.mean()) < 0.05
    np.testing.assert_array_equal(z, sample_latents(1000, 16, "uniform", seed=3))
    n = sample_latents(2000, 8, seed=1)
    assert abs(n.std() - 1.0) < 0.05
    np.testing.assert_array_equal(
        n, np.random.default_rng(1).standard_normal((2000, 8)).astype("f")
    )
    with pytest.raises(ValueError, match="distribution must be one of"):
        sample_latents(2, 2, "cauchy")
    with pytest.raises(ValueError, match="num must be a positive integer"):
        sample_latents(0, 2)
    with pytest.raises(ValueError, match="latent_dim must be a positive integer"):
        sample_latents(2, 2.0)


def _planted_attribute(seed=3, num=600):
    """Correlated latents and noisy labels drawn from a planted logistic model."""
    rng = np.random.default_rng(seed)
    mixing = np.array([[2.0, 0.0, 0.0], [1.5, 0.5, 0.0], [0.0, 0.3, 1.0]])
    latents = rng.normal(size=(num, 3)) @ mixing + np.array([0.5, -1.0, 2.0])
    planted = np.array([1.0, -2.0, 0.5])
    probability = 1.0 / (1.0 + np.exp(-(latents - latents.mean(0)) @ planted))
    labels = (rng.uniform(size=num) < probability).astype(int)
    return latents, labels


def _unit(v):
    return v / np.linalg.norm(v)


def _newton_logistic(x, y, l2, iterations=100):
    """Reference: L2-regularised logistic regression (bias unpenalised) by plain Newton."""
    design = np.hstack([x, np.ones((len(x), 1))])
    penalty = np.diag([l2] * x.shape[1] + [0.0])
    theta = np.zeros(x.shape[1] + 1)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-design @ theta))
        gradient = design.T @ (p - y) / len(y) + penalty @ theta
        hessian = design.T @ (design * (p * (1 - p))[:, None]) / len(y) + penalty
        theta -= np.linalg.solve(hessian, gradient)
    p = 1.0 / (1.0 + np.exp(-design @ theta))
    # At the optimum the gradient of the objective vanishes.
    np.testing.assert_allclose(design.T @ (p - y) / len(y) + penalty @ theta, 0.0, atol=1e-12)
    return theta[:-1]


def test_the_three_methods_differ_and_each_matches_its_reference():
    latents, labels = _planted_attribute()
    centred = latents - latents.mean(0)
    positive = labels == 1
    l2 = 0.05
    references = {
        "mean_difference": latents[positive].mean(0) - latents[~positive].mean(0),
        # Ridge as an augmented least-squares problem: [X; sqrt(l2) I] w ~ [t - mean t; 0].
        "linear": np.linalg.lstsq(
            np.vstack([centred, np.sqrt(l2) * np.eye(3)]),
            np.r_[np.where(positive, 1.0, -1.0) - np.where(positive, 1.0, -1.0).mean(), 0, 0, 0],
            rcond=None,
        )[0],
        "logistic": _newton_logistic(centred, labels.astype(float), l2),
    }
    found = {m: attribute_direction(latents, labels, method=m, l2=l2) for m in references}
    for method, reference in references.items():
        np.testing.assert_allclose(found[method], _unit(reference), atol=1e-5, err_msg=method)
    # On correlated latents the three answers really differ (so each check above is specific).
    for a, b in [
        ("mean_difference", "linear"),
        ("linear", "logistic"),
        ("mean_difference", "logistic"),
    ]:
        assert found[a] @ found[b] < 0.99, (a, b, found[a] @ found[b])


def test_logistic_direction_settings_are_checked():
    latents, labels = _planted_attribute()
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        attribute_direction(latents, labels, method="logistic", steps=0)
    with pytest.raises(ValueError, match="learning_rate must be a number in"):
        attribute_direction(latents, labels, method="logistic", learning_rate=0.0)
    with pytest.raises(ValueError, match="l2 must be a finite number"):
        attribute_direction(latents, labels, method="logistic", l2=-1.0)
