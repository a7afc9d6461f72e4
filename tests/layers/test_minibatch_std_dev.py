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

from keras_facegen.layers import MinibatchStdDev


def minibatch_std_dev_reference(x, group_size=4, num_features=1):
    """Per sample, straight from the definition: its group is every j with j % M == i % M."""
    x = np.asarray(x, "float64")
    n, h, w, c = x.shape
    num_groups = n // min(group_size, n)
    slice_channels = c // num_features
    features = np.zeros((n, h, w, num_features))
    for i in range(n):
        members = x[[j for j in range(n) if j % num_groups == i % num_groups]]
        for f in range(num_features):
            chunk = members[..., f * slice_channels : (f + 1) * slice_channels]
            features[i, ..., f] = np.mean(np.sqrt(np.var(chunk, axis=0) + 1e-8))
    return np.concatenate([x, features], axis=-1)


def test_hand_computed_group_membership():
    # N=4, G=2 -> M=2 groups: {0, 2} and {1, 3} (not the contiguous {0, 1}, {2, 3}).
    # Group {0, 2}: values 0 and 2, biased std 1. Group {1, 3}: values 0 and 10, std 5.
    x = np.zeros((4, 2, 2, 1), "float32")
    x[2], x[3] = 2.0, 10.0
    y = to_numpy(MinibatchStdDev(group_size=2)(x))
    assert y.shape == (4, 2, 2, 2)
    np.testing.assert_allclose(y[..., 0], x[..., 0])
    np.testing.assert_allclose(y[:, 0, 0, 1], [1.0, 5.0, 1.0, 5.0], rtol=1e-6)
    np.testing.assert_allclose(y[..., 1], y[:, :1, :1, 1] * np.ones((4, 2, 2)))


def test_hand_computed_num_features():
    # Two samples, one group. Channels {0, 1} form slice 0, channels {2, 3} slice 1.
    # Slice 0: per-channel stds 1 and 3 -> 2. Slice 1: stds 0 and 4 -> sqrt(1e-8) / 2 + 2.
    x = np.zeros((2, 1, 1, 4), "float32")
    x[0, 0, 0] = [1.0, 3.0, 5.0, 4.0]
    x[1, 0, 0] = [-1.0, -3.0, 5.0, -4.0]
    y = to_numpy(MinibatchStdDev(group_size=4, num_features=2)(x))
    np.testing.assert_allclose(y[:, 0, 0, 4:], [[2.0, 2.00005]] * 2, rtol=1e-6)


@pytest.mark.parametrize(
    ("batch", "group_size", "num_features", "channels"),
    [(8, 4, 1, 3), (8, 4, 2, 4), (8, 2, 3, 6), (6, 3, 2, 2), (2, 4, 1, 5), (5, 1, 1, 2)],
)
def test_matches_numpy_reference(batch, group_size, num_features, channels):
    x = np.random.normal(size=(batch, 3, 2, channels)).astype("float32")
    x += np.arange(batch, dtype="float32")[:, None, None, None]  # make groups differ
    y = to_numpy(MinibatchStdDev(group_size, num_features)(x))
    assert y.shape == (batch, 3, 2, channels + num_features)
    expected = minibatch_std_dev_reference(x, group_size, num_features)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_unknown_batch_in_a_functional_model():
    inputs = keras.Input((2, 2, 4))
    outputs = MinibatchStdDev(group_size=4, num_features=2)(inputs)
    model = keras.Model(inputs, outputs)
    assert model.output_shape == (None, 2, 2, 6)
    x = np.random.normal(size=(10, 2, 2, 4)).astype("float32")
    # Batches of 4, 4 and 2: the last one (G = 2) makes TensorFlow retrace with an unknown batch.
    y = model.predict(x, batch_size=4, verbose=0)
    expected = [minibatch_std_dev_reference(x[s : s + 4], 4, 2) for s in (0, 4, 8)]
    np.testing.assert_allclose(y, np.concatenate(expected), rtol=1e-5, atol=1e-5)


def test_batch_not_divisible_fails_in_build_and_at_call_time():
    message = r"group_size=4 needs a batch size divisible by min\(group_size, batch_size\)=4.*=6"
    with pytest.raises(ValueError, match=message):
        MinibatchStdDev(group_size=4).build((6, 2, 2, 1))
    model = keras.Sequential([keras.Input((2, 2, 1)), MinibatchStdDev(group_size=4)])
    x = np.zeros((6, 2, 2, 1), "float32")
    with pytest.raises(ValueError, match=message):
        model(x)
    with pytest.raises(ValueError, match=message):
        model.predict(x, batch_size=6, verbose=0)


def test_input_gradient_matches_finite_differences():
    x = np.random.normal(size=(4, 2, 1, 2)).astype("float32")
    upstream = np.random.normal(size=(4, 2, 1, 4))
    layer = MinibatchStdDev(group_size=2, num_features=2)

    value, grad = input_gradient(layer, x, upstream)

    def reference_loss(v):
        return np.sum(minibatch_std_dev_reference(v, 2, 2) * upstream)

    assert value == pytest.approx(reference_loss(x), rel=1e-5)
    np.testing.assert_allclose(grad, finite_difference_gradient(reference_loss, x), atol=1e-4)


@pytest.mark.parametrize("policy", MIXED_POLICIES)
def test_mixed_precision(policy):
    layer = MinibatchStdDev(group_size=2, num_features=1, dtype=policy)
    x = np.random.normal(size=(4, 2, 2, 3)).astype("float32")
    y = layer(x)
    assert keras.backend.standardize_dtype(y.dtype) == layer.compute_dtype
    expected = minibatch_std_dev_reference(x, 2, 1)
    np.testing.assert_allclose(to_numpy(y).astype("float32"), expected, rtol=2e-2, atol=2e-2)


def test_keras_layer_suite():
    keras_layer_test(
        MinibatchStdDev,
        {"group_size": 2, "num_features": 2},
        input_shape=(4, 3, 3, 4),
        expected_output_shape=(4, 3, 3, 6),
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=0,
        run_training_check=False,
    )


def test_config_and_output_shape():
    layer = MinibatchStdDev(group_size=8, num_features=3)
    config = layer.get_config()
    assert (config["group_size"], config["num_features"]) == (8, 3)
    clone = MinibatchStdDev.from_config(config)
    assert (clone.group_size, clone.num_features) == (8, 3)
    assert layer.compute_output_shape((None, 4, 4, 6)) == (None, 4, 4, 9)


@pytest.mark.parametrize("argument", ["group_size", "num_features"])
@pytest.mark.parametrize("value", [0, -2, 1.5, True, None])
def test_rejects_bad_arguments(argument, value):
    with pytest.raises(ValueError, match=rf"{argument} must be a positive integer; received"):
        MinibatchStdDev(**{argument: value})


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((4, 2, 2), r"expects inputs of rank 4, but received input_shape=\(4, 2, 2\)"),
        ((4, 2, 2, None), r"needs a known last \(channels\) axis"),
        ((4, 2, 2, 5), r"num_features=2 needs a channel count divisible.*\(5 channels\)"),
    ],
)
def test_rejects_bad_input_shapes(shape, message):
    with pytest.raises(ValueError, match=message):
        MinibatchStdDev(group_size=2, num_features=2).build(shape)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow graphs")
def test_unknown_non_divisible_batch_in_a_tensorflow_graph_gets_the_same_message():
    import tensorflow as tf

    layer = MinibatchStdDev(group_size=4)
    traced = tf.function(layer, input_signature=[tf.TensorSpec((None, 2, 2, 1), tf.float32)])
    message = r"group_size=4 needs a batch size divisible by min\(group_size, batch_size\)"
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError), match=message):
        traced(tf.zeros((6, 2, 2, 1)))
    # Divisible batches of unknown size still run (G = 4, then G = min(4, 2) = 2).
    x = np.random.normal(size=(8, 2, 2, 1)).astype("float32")
    np.testing.assert_allclose(
        traced(x).numpy(), minibatch_std_dev_reference(x, 4, 1), rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(
        traced(x[:2]).numpy(), minibatch_std_dev_reference(x[:2], 4, 1), rtol=1e-5, atol=1e-5
    )


def test_assert_divisible_on_static_values():
    from keras_facegen.backend import assert_divisible

    assert assert_divisible(8, 4, "unused") == 8
    with pytest.raises(ValueError, match="^six is not a multiple of four$"):
        assert_divisible(6, 4, "six is not a multiple of four")
