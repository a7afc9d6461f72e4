"""Pixelwise feature-vector normalization (Karras et al., 2018, section 4.2)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from keras_facegen.layers import _checks


@keras.saving.register_keras_serializable(package="keras_facegen")
class PixelNorm(keras.layers.Layer):
    """Normalizes each feature vector (the last axis) to unit root mean square.

    Computes ``x / sqrt(mean(x ** 2, axis=-1, keepdims=True) + epsilon)``. In a channels-last
    image batch every pixel's channel vector is normalized on its own, which keeps generator
    activations from escalating without any trainable parameter. The mean square is taken in
    float32 whatever the dtype policy (in float16 the default epsilon would round to zero); the
    output has the layer's compute dtype.

    Args:
        epsilon: Small constant added to the mean square, > 0.
        **kwargs: Base layer arguments (``name``, ``dtype``, ...).

    Raises:
        ValueError: If ``epsilon`` is not a finite number > 0.

    Example:
        >>> import numpy as np
        >>> y = PixelNorm()(np.array([[3.0, 4.0]], "float32"))
        >>> np.round(keras.ops.convert_to_numpy(y) ** 2, 4).mean().item()
        1.0
    """

    def __init__(self, epsilon: float = 1e-8, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.epsilon = _checks.positive_float("epsilon", epsilon)
        self.supports_masking = True

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Checks the input shape (at least one axis).

        Args:
            input_shape: Shape of the inputs.

        Raises:
            ValueError: If the input is a scalar.
        """
        _checks.input_rank("PixelNorm", input_shape, rank=None, min_rank=1)

    def call(self, inputs: Any) -> Any:
        """Normalizes ``inputs`` along the last axis.

        Args:
            inputs: A tensor of rank >= 1.

        Returns:
            A tensor of the same shape in the compute dtype.
        """
        x = ops.cast(inputs, "float32")
        mean_square = ops.mean(ops.square(x), axis=-1, keepdims=True)
        return ops.cast(x * ops.rsqrt(mean_square + self.epsilon), self.compute_dtype)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """Returns ``input_shape`` (the layer keeps the shape).

        Args:
            input_shape: Shape of the inputs.

        Returns:
            The same shape, as a tuple.
        """
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments merged into the base layer config.

        Returns:
            A JSON-serializable dict.
        """
        return {**super().get_config(), "epsilon": self.epsilon}
