"""Shared checks for the keras_facegen.layers tests (importable as ``layer_checks``).

Keras' ``run_layer_test`` is private API: it is called only here, so a Keras upgrade that changes
it breaks one function.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from helpers import to_numpy
from keras import ops

MIXED_POLICIES = ("mixed_float16", "mixed_bfloat16")


def keras_layer_test(layer_cls: type, init_kwargs: dict[str, Any], **kwargs: Any) -> None:
    """Runs Keras' own layer test suite (build, symbolic call, serialization, a fit step, ...)."""
    from keras.src.testing import test_case

    class _Case(test_case.TestCase):
        def runTest(self):  # noqa: N802 (unittest's name)
            pass

    # Not TestCase.setUp: it turns Keras' traceback filtering off for the rest of the process,
    # which would change error messages other tests match. conftest already clears the session.
    _Case().run_layer_test(layer_cls, init_kwargs, **kwargs)


class LinearLoss(keras.losses.Loss):
    """``sum(y_true * y_pred)``: its gradient w.r.t. the output is ``y_true``, easy to push back."""

    def __call__(self, y_true, y_pred, sample_weight=None):
        return ops.sum(ops.cast(y_true, y_pred.dtype) * y_pred)


def sgd_step(
    layer: keras.layers.Layer, inputs: np.ndarray, upstream: np.ndarray, learning_rate: float
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """One full-batch SGD step of ``sum(upstream * layer(inputs))`` through ``Model.fit``.

    Returns the trainable weights before and after, so a test can compare the update with
    ``-learning_rate * gradient`` computed by hand.
    """
    model = keras.Sequential([keras.Input(inputs.shape[1:]), layer])
    before = [to_numpy(w).copy() for w in layer.trainable_weights]
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss=LinearLoss())
    model.fit(inputs, upstream, batch_size=len(inputs), epochs=1, shuffle=False, verbose=0)
    after = [to_numpy(w) for w in layer.trainable_weights]
    return before, after


def input_gradient(fn: Any, x: np.ndarray, upstream: np.ndarray) -> tuple[float, np.ndarray]:
    """Value and input gradient of ``sum(upstream * fn(x))`` through keras_facegen's autodiff."""
    from keras_facegen.backend import value_and_grad

    weights = ops.convert_to_tensor(upstream.astype("float32"))
    value, grad = value_and_grad(lambda t: ops.sum(fn(t) * weights))(ops.convert_to_tensor(x))
    return float(to_numpy(value)), to_numpy(grad)


def finite_difference_gradient(fn: Any, x: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """Central differences of a float64 NumPy function of ``x``."""
    x = x.astype("float64")
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += step
        minus[index] -= step
        grad[index] = (fn(plus) - fn(minus)) / (2 * step)
    return grad


def all_layers_model(batch_size: int | None = None) -> keras.Model:
    """A small functional discriminator-like model using every keras_facegen layer once."""
    from keras_facegen import layers

    inputs = keras.Input((4, 4, 3), batch_size=batch_size)
    x = layers.EqualizedConv2D(4, 3, activation="leaky_relu", lr_multiplier=0.5)(inputs)
    x = layers.PixelNorm()(x)
    x = layers.MinibatchStdDev(group_size=2, num_features=2)(x)
    old = layers.EqualizedConv2D(3, 1, strides=2)(x)
    new = layers.EqualizedConv2D(3, 3, strides=2, use_bias=False)(x)
    x = layers.FadeIn(alpha=0.5, name="fade")([old, new])
    x = keras.layers.Reshape((12,))(x)
    outputs = layers.EqualizedDense(1, gain=1.0)(x)
    return keras.Model(inputs, outputs)
