import keras
import numpy as np
import pytest
from helpers import to_numpy
from layer_checks import (
    MIXED_POLICIES,
    finite_difference_gradient,
    input_gradient,
    keras_layer_test,
)

from keras_facegen.layers import PixelNorm


def pixel_norm_reference(x, epsilon=1e-8):
    x = np.asarray(x, "float64")
    return x / np.sqrt(np.mean(x**2, axis=-1, keepdims=True) + epsilon)


def test_hand_computed_values():
    # mean([3^2, 4^2]) = 12.5; mean([0, 0]) + eps = eps, so zeros stay zeros.
    x = np.array([[3.0, 4.0], [0.0, 0.0]], "float32")
    y = to_numpy(PixelNorm()(x))
    np.testing.assert_allclose(y[0], [3 / np.sqrt(12.5), 4 / np.sqrt(12.5)], rtol=1e-6)
    np.testing.assert_array_equal(y[1], [0.0, 0.0])


@pytest.mark.parametrize(
    ("shape", "epsilon", "scale"),
    [((2, 3, 3, 5), 1e-8, 1.0), ((4, 7), 1e-8, 10.0), ((3, 2, 2, 4), 1e-2, 0.1)],
)
def test_matches_numpy_reference(shape, epsilon, scale):
    x = (np.random.normal(size=shape) * scale).astype("float32")
    y = to_numpy(PixelNorm(epsilon=epsilon)(x))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, pixel_norm_reference(x, epsilon), rtol=1e-5, atol=1e-6)


def test_input_gradient_matches_finite_differences():
    x = np.random.normal(size=(2, 2, 3)).astype("float32")
    upstream = np.random.normal(size=x.shape)
    layer = PixelNorm()

    value, grad = input_gradient(layer, x, upstream)

    def reference_loss(v):
        return np.sum(pixel_norm_reference(v) * upstream)

    assert value == pytest.approx(reference_loss(x), rel=1e-5)
    np.testing.assert_allclose(grad, finite_difference_gradient(reference_loss, x), atol=1e-4)


@pytest.mark.parametrize("policy", MIXED_POLICIES)
def test_mixed_precision_reduces_in_float32(policy):
    # 1e-4 squared underflows float16 and epsilon=1e-8 rounds to zero there, so a float16
    # reduction would give 0 / 0. In float32: 1e-4 / sqrt(1e-8 + 1e-8) = 1 / sqrt(2).
    layer = PixelNorm(dtype=policy)
    y = layer(np.full((2, 4), 1e-4, "float32"))
    assert keras.backend.standardize_dtype(y.dtype) == layer.compute_dtype
    np.testing.assert_allclose(to_numpy(y).astype("float32"), 1 / np.sqrt(2), rtol=1e-2)


def test_keras_layer_suite():
    keras_layer_test(
        PixelNorm,
        {"epsilon": 1e-6},
        input_shape=(2, 3, 3, 4),
        expected_output_shape=(2, 3, 3, 4),
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=0,
        run_training_check=False,
    )


def test_config_is_the_constructor_arguments():
    config = PixelNorm(epsilon=1e-4, name="pn").get_config()
    assert config["epsilon"] == 1e-4
    assert PixelNorm.from_config(config).epsilon == 1e-4
    assert PixelNorm().compute_output_shape((None, 4, 4, 8)) == (None, 4, 4, 8)


@pytest.mark.parametrize("epsilon", [0.0, -1e-8, float("nan"), float("inf"), "1e-8", True])
def test_rejects_bad_epsilon(epsilon):
    with pytest.raises(ValueError, match=r"`epsilon` to be a finite number > 0.*epsilon="):
        PixelNorm(epsilon=epsilon)


def test_rejects_scalar_input():
    with pytest.raises(
        ValueError, match=r"PixelNorm expects inputs of rank >= 1.*input_shape=\(\)"
    ):
        PixelNorm().build(())
