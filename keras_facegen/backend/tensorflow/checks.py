"""Run-time checks on the TensorFlow backend (graph assertions for values known only later)."""

from __future__ import annotations

from typing import Any

import tensorflow as tf


def assert_divisible(value: Any, divisor: Any, message: str) -> Any:
    """Returns ``value`` behind an assertion that ``value % divisor == 0`` (``message`` if not)."""
    value = tf.convert_to_tensor(value)
    divisor = tf.cast(divisor, value.dtype)
    check = tf.debugging.Assert(tf.equal(tf.math.floormod(value, divisor), 0), [message])
    with tf.control_dependencies([check]):
        return tf.identity(value)
