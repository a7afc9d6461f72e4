"""Gradients on the TensorFlow backend (nested ``GradientTape``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf


def input_gradients(fn: Callable[[Any], Any], x: Any) -> Any:
    """Gradient of ``sum(fn(x))`` w.r.t. ``x``; an enclosing tape records it for double backprop."""
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return tape.gradient(y, x)


def value_and_grad(fn: Callable[[Any], Any]) -> Callable[[Any], tuple[Any, Any]]:
    """Returns ``x -> (fn(x), d fn / d x)``."""

    def wrapped(x: Any) -> tuple[Any, Any]:
        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = fn(x)
        return value, tape.gradient(value, x)

    return wrapped
