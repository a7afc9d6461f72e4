import keras
import numpy as np
import pytest

from keras_facegen.latent import interpolate_hypersphere, lerp, morph_path, slerp


def test_lerp_scalar_and_steps():
    a = np.array([0.0, 2.0, -4.0])
    b = np.array([1.0, 0.0, 4.0])
    np.testing.assert_allclose(lerp(a, b, 0.25), [0.25, 1.5, -2.0])
    path = lerp(a, b, [0.0, 0.5, 1.0])
    assert path.shape == (3, 3) and path.dtype == np.float32
    np.testing.assert_allclose(path, [[0, 2, -4], [0.5, 1, 0], [1, 0, 4]])


def test_lerp_batched_and_broadcast():
    a = np.array([[0.0, 0.0], [2.0, 2.0]])
    b = np.array([4.0, 8.0])
    out = lerp(a, b, [0.5, 1.0])
    assert out.shape == (2, 2, 2)
    np.testing.assert_allclose(out[0], [[2.0, 4.0], [3.0, 5.0]])
    np.testing.assert_allclose(out[1], [[4.0, 8.0], [4.0, 8.0]])


def test_lerp_accepts_backend_tensors():
    a = keras.ops.convert_to_tensor(np.array([1.0, 1.0], "float32"))
    np.testing.assert_allclose(lerp(a, np.zeros(2), 0.5), [0.5, 0.5])


def test_slerp_orthogonal_midpoint():
    a = np.array([1.0, 0.0, 0.0])
    b = np.array([0.0, 1.0, 0.0])
    np.testing.assert_allclose(slerp(a, b, 0.5), (a + b) / np.sqrt(2), atol=1e-7)
    # Quarter way: angle pi/8 from a.
    np.testing.assert_allclose(
        slerp(a, b, 0.25), [np.cos(np.pi / 8), np.sin(np.pi / 8), 0.0], atol=1e-7
    )


def test_slerp_endpoints_and_batches():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 4))
    b = rng.normal(size=(5, 4))
    path = slerp(a, b, [0.0, 1.0])
    assert path.shape == (2, 5, 4)
    np.testing.assert_allclose(path[0], a, atol=1e-6)
    np.testing.assert_allclose(path[1], b, atol=1e-6)
    # Against a per-row reference of the textbook formula.
    t = 0.3
    out = slerp(a, b, t)
    for i in range(5):
        omega = np.arccos(a[i] @ b[i] / np.linalg.norm(a[i]) / np.linalg.norm(b[i]))
        expected = (np.sin((1 - t) * omega) * a[i] + np.sin(t * omega) * b[i]) / np.sin(omega)
        np.testing.assert_allclose(out[i], expected, rtol=1e-5, atol=1e-6)


def test_slerp_falls_back_to_lerp_when_parallel():
    a = np.array([1.0, 2.0])
    np.testing.assert_allclose(slerp(a, 3 * a, 0.5), 2 * a)
    np.testing.assert_allclose(slerp(a, -a, 0.25), 0.5 * a)


def test_slerp_zero_vector_raises():
    with pytest.raises(ValueError, match="non-zero"):
        slerp(np.zeros(3), np.ones(3), 0.5)
    with pytest.raises(ValueError, match="b contains a zero vector"):
        slerp(np.ones((2, 3)), np.array([[1.0, 0, 0], [0, 0, 0]]), 0.5)


INTERPOLATION_BAD_INPUTS_CASES = [
    (np.ones(3), np.ones(4), 0.5, "same latent size"),
    (np.ones((2, 3)), np.ones((3, 3)), 0.5, "same number"),
    (np.ones((1, 2, 3)), np.ones(3), 0.5, r"\(N, D\)"),
    (np.ones(3), np.ones(3), np.ones((2, 2)), "t must be a scalar or a 1-d"),
    (np.array([np.nan, 1.0]), np.ones(2), 0.5, "finite"),
]


def test_interpolation_bad_inputs():
    for a, b, t, match in INTERPOLATION_BAD_INPUTS_CASES:
        for fn in (lerp, slerp):
            with pytest.raises(ValueError, match=match):
                fn(a, b, t)


def test_interpolate_hypersphere_matches_definition():
    v1 = np.array([3.0, 0.0, 4.0])
    v2 = np.array([0.0, 2.0, 0.0])
    path = interpolate_hypersphere(v1, v2, 5)
    assert path.shape == (5, 3) and path.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(path, axis=-1), 5.0, rtol=1e-6)
    np.testing.assert_array_equal(path[0], v1.astype(np.float32))
    np.testing.assert_allclose(path[-1], [0.0, 5.0, 0.0], atol=1e-6)
    # Middle point: (v1 + v2') / 2 rescaled to |v1| = 5.
    mid = (v1 + np.array([0.0, 5.0, 0.0])) / 2
    np.testing.assert_allclose(path[2], mid / np.linalg.norm(mid) * 5, rtol=1e-6)


def test_interpolate_hypersphere_batched_and_errors():
    rng = np.random.default_rng(1)
    v1 = rng.normal(size=(3, 8))
    v2 = rng.normal(size=(3, 8))
    path = interpolate_hypersphere(v1, v2, 25)
    assert path.shape == (25, 3, 8)
    np.testing.assert_allclose(
        np.linalg.norm(path, axis=-1),
        np.broadcast_to(np.linalg.norm(v1, axis=-1), (25, 3)),
        rtol=1e-5,
    )
    with pytest.raises(ValueError, match="num_steps must be at least 2"):
        interpolate_hypersphere(v1, v2, 1)
    with pytest.raises(ValueError, match="same shape"):
        interpolate_hypersphere(v1, v2[:2], 3)
    with pytest.raises(ValueError, match="non-zero"):
        interpolate_hypersphere(np.zeros(3), np.ones(3), 3)
    with pytest.raises(ValueError, match="origin"):
        interpolate_hypersphere(np.array([1.0, 0.0]), np.array([-2.0, 0.0]), 3)


def test_morph_line_both_directions_touches_bound():
    a = np.array([0.0, 0.0, 0.5])
    b = np.array([0.5, 0.25, 0.5])
    path = morph_path(a, b, 5)
    # Line a + s (b - a): x reaches +-1 first, at s = +-2.
    np.testing.assert_array_equal(path[0], np.float32([-1.0, -0.5, 0.5]))
    np.testing.assert_array_equal(path[-1], np.float32([1.0, 0.5, 0.5]))
    np.testing.assert_allclose(path[2], a)
    assert np.max(np.abs(path)) == 1.0


def test_morph_line_forward_starts_at_a_and_hits_bound_exactly():
    rng = np.random.default_rng(3)
    a = rng.uniform(-0.9, 0.9, 16)
    b = rng.uniform(-0.9, 0.9, 16)
    path = morph_path(a, b, 30, extend="forward", bound=0.95)
    assert path.shape == (30, 16)
    np.testing.assert_allclose(path[0], a, atol=1e-7)
    assert np.max(np.abs(path[-1])) == np.float32(0.95)
    assert np.max(np.abs(path)) <= np.float32(0.95)
    # b is on the path: the direction from a to the end is parallel to b - a.
    step = (path[-1] - a) / np.linalg.norm(path[-1] - a)
    np.testing.assert_allclose(step, (b - a) / np.linalg.norm(b - a), atol=1e-5)
    both = morph_path(a, b, 30)
    assert np.max(np.abs(both[0])) == 1.0 and np.max(np.abs(both[-1])) == 1.0


def test_morph_delegates():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 2.0])
    np.testing.assert_allclose(morph_path(a, b, 3, "lerp"), lerp(a, b, [0, 0.5, 1]))
    np.testing.assert_allclose(morph_path(a, b, 3, "slerp"), slerp(a, b, [0, 0.5, 1]))
    np.testing.assert_allclose(morph_path(a, b, 4, "hypersphere"), interpolate_hypersphere(a, b, 4))


MORPH_BAD_INPUTS_CASES = [
    ({"method": "circle"}, "method must be one of"),
    ({"extend": "backward"}, "extend must be"),
    ({"bound": 0.0}, "bound must be a positive"),
    ({"bound": 0.1}, "inside the box"),
    ({"num_steps": 1}, "num_steps must be at least 2"),
    ({"num_steps": 2.5}, "num_steps must be an integer"),
]


def test_morph_bad_inputs():
    for kwargs, match in MORPH_BAD_INPUTS_CASES:
        args = {"num_steps": 4, **kwargs}
        with pytest.raises(ValueError, match=match):
            morph_path(np.array([0.0, 0.2]), np.array([0.5, 0.5]), **args)


def test_morph_line_needs_distinct_single_latents():
    with pytest.raises(ValueError, match="must differ"):
        morph_path(np.ones(2) * 0.5, np.ones(2) * 0.5, 3)
    with pytest.raises(ValueError, match=r"single latents of shape \(D,\)"):
        morph_path(np.zeros((2, 2)), np.ones((2, 2)) * 0.5, 3)
