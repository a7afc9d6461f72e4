import math

import keras
import numpy as np
import pytest
from helpers import to_numpy
from layer_checks import MIXED_POLICIES, keras_layer_test, sgd_step

from keras_facegen.layers import EqualizedConv2D, EqualizedDense


def leaky_relu(x):
    return np.where(x >= 0, x, 0.2 * x)


def dense_reference(x, kernel, bias, gain, lr_multiplier, activation=None):
    y = x.astype("float64") @ (kernel * gain / math.sqrt(kernel.shape[0]) * lr_multiplier)
    if bias is not None:
        y = y + bias * lr_multiplier
    return leaky_relu(y) if activation == "leaky_relu" else y


def conv_patches(x, kernel_size, strides, padding):
    """(N, H', W', kh, kw, C) input patches, with TensorFlow's "same" padding convention."""
    (kh, kw), (sh, sw) = kernel_size, strides
    n, h, w, c = x.shape
    if padding == "same":
        out_h, out_w = -(-h // sh), -(-w // sw)
        pad_h = max((out_h - 1) * sh + kh - h, 0)
        pad_w = max((out_w - 1) * sw + kw - w, 0)
        x = np.pad(
            x, ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0))
        )
    else:
        out_h, out_w = (h - kh) // sh + 1, (w - kw) // sw + 1
    patches = np.zeros((n, out_h, out_w, kh, kw, c))
    for i in range(out_h):
        for j in range(out_w):
            patches[:, i, j] = x[:, i * sh : i * sh + kh, j * sw : j * sw + kw, :]
    return patches


def conv_reference(x, kernel, bias, strides, padding, gain, lr_multiplier, activation=None):
    kh, kw, c, _ = kernel.shape
    scaled = kernel.astype("float64") * gain / math.sqrt(kh * kw * c) * lr_multiplier
    patches = conv_patches(x.astype("float64"), (kh, kw), strides, padding)
    y = np.einsum("nhwijc,ijcf->nhwf", patches, scaled)
    if bias is not None:
        y = y + bias * lr_multiplier
    return leaky_relu(y) if activation == "leaky_relu" else y


def randomize_bias(layer):
    # Biases start at zero; a random one checks that it is used as bias * lr_multiplier.
    if layer.bias is not None:
        layer.bias.assign(np.random.normal(size=layer.bias.shape).astype("float32"))
    return None if layer.bias is None else to_numpy(layer.bias)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"gain": 1.0, "lr_multiplier": 0.01},
        {"use_bias": False, "activation": "leaky_relu"},
        {"lr_multiplier": 3.0, "activation": "leaky_relu"},
    ],
)
def test_dense_matches_numpy_reference(kwargs):
    layer = EqualizedDense(5, **kwargs)
    x = np.random.normal(size=(3, 2, 7)).astype("float32")  # rank 3: applied to the last axis
    layer.build(x.shape)
    bias = randomize_bias(layer)
    y = to_numpy(layer(x))
    assert y.shape == (3, 2, 5) == layer.compute_output_shape(x.shape)
    expected = dense_reference(
        x,
        to_numpy(layer.kernel),
        bias,
        kwargs.get("gain", math.sqrt(2)),
        kwargs.get("lr_multiplier", 1.0),
        kwargs.get("activation"),
    )
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("kernel_size", "strides", "padding", "kwargs"),
    [
        (3, 1, "same", {}),
        (3, 2, "same", {"lr_multiplier": 0.1, "activation": "leaky_relu"}),
        ((1, 3), (2, 1), "valid", {"gain": 1.0}),
        (2, 2, "SAME", {"use_bias": False}),
        (1, 1, "valid", {"gain": 2.0, "lr_multiplier": 4.0}),
    ],
)
def test_conv_matches_numpy_reference(kernel_size, strides, padding, kwargs):
    layer = EqualizedConv2D(4, kernel_size, strides=strides, padding=padding, **kwargs)
    x = np.random.normal(size=(2, 6, 5, 3)).astype("float32")
    layer.build(x.shape)
    bias = randomize_bias(layer)
    y = to_numpy(layer(x))
    assert y.shape == layer.compute_output_shape(x.shape)
    expected = conv_reference(
        x,
        to_numpy(layer.kernel),
        bias,
        layer.strides,
        padding.lower(),
        kwargs.get("gain", math.sqrt(2)),
        kwargs.get("lr_multiplier", 1.0),
        kwargs.get("activation"),
    )
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("lr_multiplier", [1.0, 0.25])
def test_weights_are_stored_as_unit_normal_over_lr_multiplier(lr_multiplier):
    conv = EqualizedConv2D(64, 3, lr_multiplier=lr_multiplier)
    conv.build((None, 8, 8, 32))
    dense = EqualizedDense(128, lr_multiplier=lr_multiplier)
    dense.build((None, 256))
    for layer in (conv, dense):
        kernel = to_numpy(layer.kernel)  # 18432 / 32768 samples: std within ~1.5%
        assert abs(kernel.mean()) < 0.03 / lr_multiplier
        assert kernel.std() == pytest.approx(1.0 / lr_multiplier, rel=0.03)
        np.testing.assert_array_equal(to_numpy(layer.bias), 0.0)
    # He's constant: gain / sqrt(fan_in) * lr_multiplier, fan_in = 3 * 3 * 32 and 256.
    assert conv.weight_scale == pytest.approx(math.sqrt(2) / math.sqrt(288) * lr_multiplier)
    assert dense.weight_scale == pytest.approx(math.sqrt(2) / 16 * lr_multiplier)


def test_dense_sgd_step_updates_every_weight_by_its_gradient():
    # loss = sum(R * (x @ (W s) + b m)): dL/dW = s x^T R, dL/db = m sum_n R.
    layer = EqualizedDense(3, lr_multiplier=0.5)
    x = np.random.normal(size=(4, 5)).astype("float32")
    upstream = np.random.normal(size=(4, 3)).astype("float32")
    before, after = sgd_step(layer, x, upstream, learning_rate=0.1)
    scale = math.sqrt(2) / math.sqrt(5) * 0.5
    np.testing.assert_allclose(after[0], before[0] - 0.1 * scale * x.T @ upstream, atol=1e-5)
    np.testing.assert_allclose(after[1], before[1] - 0.1 * 0.5 * upstream.sum(0), atol=1e-5)


def test_conv_sgd_step_updates_every_weight_by_its_gradient():
    # The loss is linear in the kernel: dL/dK = s * sum over n, h, w of patch * R.
    layer = EqualizedConv2D(2, 3, strides=2, lr_multiplier=2.0)
    x = np.random.normal(size=(2, 5, 5, 3)).astype("float32")
    upstream = np.random.normal(size=(2, 3, 3, 2)).astype("float32")
    before, after = sgd_step(layer, x, upstream, learning_rate=0.01)
    scale = math.sqrt(2) / math.sqrt(27) * 2.0
    patches = conv_patches(x.astype("float64"), (3, 3), (2, 2), "same")
    kernel_grad = scale * np.einsum("nhwijc,nhwf->ijcf", patches, upstream)
    bias_grad = 2.0 * upstream.sum(axis=(0, 1, 2))
    np.testing.assert_allclose(after[0], before[0] - 0.01 * kernel_grad, atol=1e-5)
    np.testing.assert_allclose(after[1], before[1] - 0.01 * bias_grad, atol=1e-5)


@pytest.mark.parametrize("policy", MIXED_POLICIES)
def test_mixed_precision(policy):
    x = np.random.normal(size=(2, 4, 4, 3)).astype("float32")
    conv = EqualizedConv2D(4, 3, dtype=policy)
    dense = EqualizedDense(2, dtype=policy)
    y = conv(x)
    z = dense(y)
    assert conv.kernel.dtype == dense.kernel.dtype == "float32"  # variables stay float32
    for layer, out in ((conv, y), (dense, z)):
        assert keras.backend.standardize_dtype(out.dtype) == layer.compute_dtype
    expected = conv_reference(x, to_numpy(conv.kernel), 0.0, (1, 1), "same", math.sqrt(2), 1.0)
    tolerance = 1e-2 if policy == "mixed_float16" else 5e-2
    np.testing.assert_allclose(
        to_numpy(y).astype("float32"), expected, rtol=tolerance, atol=tolerance
    )


def test_keras_layer_suite():
    keras_layer_test(
        EqualizedConv2D,
        {"filters": 3, "kernel_size": 3, "strides": 2, "lr_multiplier": 0.5},
        input_shape=(2, 4, 4, 2),
        expected_output_shape=(2, 2, 2, 3),
        expected_num_trainable_weights=2,
        expected_num_non_trainable_weights=0,
        run_training_check=False,
    )
    keras_layer_test(
        EqualizedDense,
        {"units": 3, "use_bias": False, "activation": "leaky_relu"},
        input_shape=(2, 5),
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=1,
        expected_num_non_trainable_weights=0,
        run_training_check=False,
    )


def test_configs_are_the_constructor_arguments():
    conv = EqualizedConv2D(8, (3, 1), strides=2, padding="valid", gain=1.0, lr_multiplier=0.5)
    config = conv.get_config()
    expected = {
        "filters": 8,
        "kernel_size": (3, 1),
        "strides": (2, 2),
        "padding": "valid",
        "gain": 1.0,
        "lr_multiplier": 0.5,
        "use_bias": True,
        "activation": "linear",
    }
    assert {k: config[k] for k in expected} == expected
    assert EqualizedConv2D.from_config(config).get_config() == config
    dense = EqualizedDense(4, use_bias=False, activation="leaky_relu")
    config = dense.get_config()
    assert config["units"] == 4 and config["use_bias"] is False
    assert config["activation"] == "leaky_relu"
    assert config["gain"] == pytest.approx(math.sqrt(2)) and config["lr_multiplier"] == 1.0
    assert EqualizedDense.from_config(config).get_config() == config


def test_output_shapes_with_unknown_dimensions():
    conv = EqualizedConv2D(8, 3, strides=2, padding="valid")
    assert conv.compute_output_shape((None, None, 9, 4)) == (None, None, 4, 8)
    inputs = keras.Input((None, None, 3))
    outputs = EqualizedDense(2)(EqualizedConv2D(5, 3, strides=2)(inputs))
    model = keras.Model(inputs, outputs)
    assert model.output_shape == (None, None, None, 2)
    assert model(np.zeros((1, 7, 6, 3), "float32")).shape == (1, 4, 3, 2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"units": 0}, r"units must be a positive integer; received units=0"),
        ({"units": 2.0}, r"units must be a positive integer; received units=2.0"),
        ({"units": 2, "gain": 0.0}, r"`gain` to be a finite number > 0.*gain=0.0"),
        ({"units": 2, "gain": -1}, r"gain=-1"),
        ({"units": 2, "lr_multiplier": 0}, r"`lr_multiplier` to be .* > 0.*lr_multiplier=0"),
        ({"units": 2, "lr_multiplier": float("inf")}, r"lr_multiplier=inf"),
    ],
)
def test_dense_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EqualizedDense(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"filters": 0}, r"filters must be a positive integer; received filters=0"),
        ({"filters": -3}, r"filters=-3"),
        ({"kernel_size": 0}, r"`kernel_size` to be a positive integer or a pair.*kernel_size=0"),
        ({"kernel_size": (3, 0)}, r"kernel_size=\(3, 0\)"),
        ({"kernel_size": (3, 3, 3)}, r"kernel_size=\(3, 3, 3\)"),
        ({"strides": 0}, r"`strides` to be a positive integer or a pair.*strides=0"),
        ({"strides": (1, -1)}, r"strides=\(1, -1\)"),
        ({"padding": "full"}, r"`padding` to be one of \('same', 'valid'\).*padding='full'"),
        ({"padding": None}, r"padding=None"),
        ({"gain": 0}, r"`gain` to be a finite number > 0.*gain=0"),
        ({"lr_multiplier": -0.1}, r"`lr_multiplier` to be .* > 0.*lr_multiplier=-0.1"),
    ],
)
def test_conv_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EqualizedConv2D(**{"filters": 4, "kernel_size": 3, **kwargs})


@pytest.mark.parametrize(
    ("layer", "shape", "message"),
    [
        (
            EqualizedConv2D(2, 3),
            (2, 4, 4),
            r"EqualizedConv2D expects inputs of rank 4.*\(2, 4, 4\)",
        ),
        (EqualizedConv2D(2, 3), (2, 4, 4, None), r"needs a known last \(channels\) axis"),
        (EqualizedDense(2), (5,), r"EqualizedDense expects inputs of rank >= 2.*\(5,\)"),
        (EqualizedDense(2), (None, None), r"EqualizedDense needs a known last"),
    ],
)
def test_rejects_bad_input_shapes(layer, shape, message):
    with pytest.raises(ValueError, match=message):
        layer.build(shape)


def test_rejects_inputs_with_other_channel_count_after_build():
    layer = EqualizedConv2D(2, 3)
    layer(np.zeros((1, 4, 4, 3), "float32"))
    with pytest.raises(ValueError, match=r"expected axis -1 of input shape to have value 3"):
        layer(np.zeros((1, 4, 4, 5), "float32"))
