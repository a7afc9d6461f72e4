import doctest

import helpers
import keras
import numpy as np
import pytest
from helpers import to_numpy
from layer_checks import input_gradient, sgd_step

from keras_facegen.layers import SpaceToDepthConv2D
from keras_facegen.layers import space_to_depth_conv2d as module

# (kernel_size, strides, padding, input height x width): kernel sizes 1-5 with strides 1-3,
# kernels smaller than, equal to and larger than the stride, odd input sizes, non-square
# kernels and strides.
CASES = [
    *[(k, s, p, (7, 9)) for k in (1, 2, 3, 4, 5) for s in (1, 2, 3) for p in ("same", "valid")],
    ((4, 3), (2, 1), "same", (7, 6)),
    ((5, 2), (3, 2), "valid", (8, 5)),
    (5, 2, "same", (1, 1)),
    (3, 3, "valid", (3, 3)),
]


def _pair(value):
    return (value, value) if isinstance(value, int) else value


def _layers(kernel_size, strides, padding, in_channels=3, filters=4, **kwargs):
    """A keras Conv2D with random kernel and bias, and a space-to-depth copy of it."""
    plain = keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        bias_initializer="random_normal",
        **kwargs,
    )
    fast = SpaceToDepthConv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        implementation="space_to_depth",
        **kwargs,
    )
    shape = (None, None, None, in_channels)
    plain.build(shape)
    fast.build(shape)
    fast.set_weights(plain.get_weights())
    return plain, fast


def _padded(x, kernel_shape, strides, padding):
    """``x`` zero-padded as a strided convolution reads it, and the output size."""
    (kh, kw), (sh, sw) = kernel_shape, strides
    n, h, w, c = x.shape
    if padding == "valid":
        return x, (h - kh) // sh + 1, (w - kw) // sw + 1
    out_h, out_w = -(-h // sh), -(-w // sw)
    pad_h = max((out_h - 1) * sh + kh - h, 0)
    pad_w = max((out_w - 1) * sw + kw - w, 0)
    widths = ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0))
    return np.pad(x, widths), out_h, out_w


def numpy_conv(x, kernel, bias, strides, padding):
    """The convolution by its definition: ``y[o] = sum_t x_padded[s*o + t] @ kernel[t]``."""
    (kh, kw, _, filters), (sh, sw) = kernel.shape, strides
    xp, out_h, out_w = _padded(x, (kh, kw), strides, padding)
    y = np.zeros((x.shape[0], out_h, out_w, filters))
    for a in range(kh):
        for b in range(kw):
            window = xp[:, a : a + sh * out_h : sh, b : b + sw * out_w : sw]
            y += window @ kernel[a, b]
    return y + bias


def numpy_gradients(x, upstream, kernel, strides, padding):
    """Gradients of ``sum(upstream * conv(x))`` w.r.t. the input, the kernel and the bias."""
    (kh, kw, _, _), (sh, sw) = kernel.shape, strides
    xp, out_h, out_w = _padded(x, (kh, kw), strides, padding)
    grad_xp = np.zeros_like(xp)
    kernel_grad = np.zeros(kernel.shape)
    for a in range(kh):
        for b in range(kw):
            window = xp[:, a : a + sh * out_h : sh, b : b + sw * out_w : sw]
            kernel_grad[a, b] = np.einsum("nijc,nijo->co", window, upstream)
            grad_xp[:, a : a + sh * out_h : sh, b : b + sw * out_w : sw] += (
                upstream @ kernel[a, b].T
            )
    n, h, w, c = x.shape
    if padding == "same":
        top = (xp.shape[1] - h) // 2
        left = (xp.shape[2] - w) // 2
        grad_x = grad_xp[:, top : top + h, left : left + w]
    else:
        grad_x = grad_xp
    return grad_x, kernel_grad, upstream.sum(axis=(0, 1, 2))


@pytest.mark.parametrize("kernel_size, strides, padding, size", CASES)
def test_matches_keras_conv2d_and_the_definition(kernel_size, strides, padding, size):
    plain, fast = _layers(kernel_size, strides, padding)
    x = np.random.default_rng(1).normal(size=(2, *size, 3)).astype("float32")
    expected = to_numpy(plain(x))
    actual = to_numpy(fast(x))
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)
    kernel, bias = (w.astype("float64") for w in plain.get_weights())
    by_definition = numpy_conv(x.astype("float64"), kernel, bias, _pair(strides), padding)
    np.testing.assert_allclose(actual, by_definition, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "kernel_size, strides, padding, size",
    [
        *[(k, s, p, (7, 5)) for k in (1, 2, 3, 4, 5) for s in (2, 3) for p in ("same", "valid")],
        (4, 1, "same", (5, 5)),
        ((5, 3), (3, 2), "same", (8, 7)),
    ],
)
def test_gradients_match_keras_conv2d_and_numpy(kernel_size, strides, padding, size):
    plain, fast = _layers(kernel_size, strides, padding)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, *size, 3)).astype("float32")
    upstream = rng.normal(size=to_numpy(plain(x)).shape).astype("float32")
    value, grad = input_gradient(fast, x, upstream)
    expected_value, expected_grad = input_gradient(plain, x, upstream)
    assert value == pytest.approx(expected_value, rel=1e-5, abs=1e-5)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-5, atol=1e-5)
    kernel = plain.get_weights()[0].astype("float64")
    grad_x, kernel_grad, bias_grad = numpy_gradients(
        x.astype("float64"), upstream.astype("float64"), kernel, _pair(strides), padding
    )
    np.testing.assert_allclose(grad, grad_x, rtol=1e-5, atol=1e-5)
    assert np.abs(grad_x).max() > 0.1
    # Kernel and bias gradients: one SGD step (learning rate 1) moves the weights by -gradient.
    before, after = sgd_step(fast, x, upstream, learning_rate=1.0)
    np.testing.assert_allclose(before[0] - after[0], kernel_grad, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(before[1] - after[1], bias_grad, rtol=1e-4, atol=1e-4)
    assert np.abs(kernel_grad).max() > 0.5


@pytest.mark.parametrize("implementation", ["auto", "keras", "space_to_depth"])
def test_every_implementation_computes_the_same_function(implementation):
    plain, fast = _layers(5, 2, "same")
    fast.implementation = implementation
    x = np.random.default_rng(3).normal(size=(2, 7, 5, 3)).astype("float32")
    np.testing.assert_allclose(to_numpy(fast(x)), to_numpy(plain(x)), rtol=1e-5, atol=1e-5)


def test_auto_picks_the_space_to_depth_computation_on_jax_only_for_wide_layers():
    _, fast = _layers(4, 2, "same")
    fast.implementation = "auto"
    # 3 input channels x 4 filters: XLA's own strided convolution is faster.
    assert not fast._uses_space_to_depth((None, 8, 8, 3))
    wide = SpaceToDepthConv2D(512, 4, 2, "same")
    assert wide._uses_space_to_depth((None, 4, 4, 256)) == (helpers.backend() == "jax")
    assert not wide._uses_space_to_depth((None, 4, 4, 127))
    fast.implementation = "space_to_depth"
    assert fast._uses_space_to_depth((None, 8, 8, 3))
    assert not fast._uses_space_to_depth((None, None, 8, 3))
    _, unstrided = _layers(3, 1, "same")
    assert not unstrided._uses_space_to_depth((None, 8, 8, 3))


@pytest.mark.parametrize(
    "kwargs",
    [{"dilation_rate": 2}, {"groups": 3}, {"activation": "relu", "use_bias": False}],
)
def test_settings_outside_the_space_to_depth_path_still_match(kwargs):
    strides = 1 if "dilation_rate" in kwargs else 2
    plain, fast = _layers(3, strides, "same", in_channels=3, filters=6, **kwargs)
    x = np.random.default_rng(4).normal(size=(2, 7, 6, 3)).astype("float32")
    np.testing.assert_allclose(to_numpy(fast(x)), to_numpy(plain(x)), rtol=1e-5, atol=1e-5)


def test_unknown_implementation_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="implementation='fast'"):
        SpaceToDepthConv2D(4, 3, implementation="fast")


def test_config_round_trip_and_weights_layout():
    layer = SpaceToDepthConv2D(6, (5, 3), strides=2, padding="same", implementation="keras")
    layer.build((None, 8, 8, 2))
    assert tuple(layer.kernel.shape) == (5, 3, 2, 6)  # keras.layers.Conv2D's layout
    config = layer.get_config()
    assert config["implementation"] == "keras"
    clone = SpaceToDepthConv2D.from_config(config)
    assert (clone.filters, clone.kernel_size, clone.strides) == (6, (5, 3), (2, 2))
    assert clone.implementation == "keras"
    plain_config = {k: v for k, v in config.items() if k != "implementation"}
    assert plain_config == keras.layers.Conv2D.from_config(plain_config).get_config()
    assert SpaceToDepthConv2D.from_config(plain_config).implementation == "auto"


def test_saved_model_reloads_with_the_same_outputs(tmp_path):
    inputs = keras.Input((9, 9, 2))
    outputs = SpaceToDepthConv2D(4, 5, strides=2, padding="same")(inputs)
    model = keras.Model(inputs, outputs)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.layers[-1], SpaceToDepthConv2D)
    x = np.random.default_rng(5).normal(size=(2, 9, 9, 2)).astype("float32")
    np.testing.assert_allclose(to_numpy(loaded(x)), to_numpy(model(x)), rtol=1e-6, atol=1e-6)


def test_docstring_examples_run():
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 3
    assert result.failed == 0
