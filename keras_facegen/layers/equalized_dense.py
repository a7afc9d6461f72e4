"""Fully connected layer with the equalized learning rate (Karras et al., 2018, section 4.1)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
from keras import ops

from keras_facegen.layers import _checks


@keras.saving.register_keras_serializable(package="keras_facegen")
class EqualizedDense(keras.layers.Layer):
    """Dense layer whose weights are scaled at run time by He's constant.

    The kernel is stored as ``N(0, 1) / lr_multiplier`` and used as
    ``kernel * gain / sqrt(fan_in) * lr_multiplier`` (``fan_in`` = input features); the bias
    (zeros at first) is used as ``bias * lr_multiplier``. Every weight then gets the same dynamic
    range, so adaptive optimizers (Adam, RMSProp) update all of them at the same effective speed.
    ``lr_multiplier`` < 1 slows one layer down (StyleGAN's mapping network uses 0.01). The scale
    is applied to the kernel, not to the activations, so it costs one multiply of the weights.

    Args:
        units: Number of output features, >= 1.
        gain: Multiplier of He's ``1 / sqrt(fan_in)``, > 0 (``sqrt(2)`` suits ReLU / leaky ReLU;
            use 1 before a linear output).
        lr_multiplier: Learning-rate multiplier of this layer's weights, > 0.
        use_bias: Whether to add a bias.
        activation: Activation applied to the output (name, callable or ``None`` for linear).
        **kwargs: Base layer arguments (``name``, ``dtype``, ...).

    Raises:
        ValueError: If ``units`` is not a positive integer, or ``gain`` / ``lr_multiplier`` is not
            a finite number > 0.

    Example:
        >>> import numpy as np
        >>> layer = EqualizedDense(8, activation="leaky_relu")
        >>> tuple(layer(np.zeros((2, 16), "float32")).shape)
        (2, 8)
    """

    def __init__(
        self,
        units: int,
        gain: float = math.sqrt(2.0),
        lr_multiplier: float = 1.0,
        use_bias: bool = True,
        activation: str | Callable[[Any], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.units = _checks.positive_int("units", units)
        self.gain = _checks.positive_float("gain", gain)
        self.lr_multiplier = _checks.positive_float("lr_multiplier", lr_multiplier)
        self.use_bias = bool(use_bias)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Creates the kernel ``(fan_in, units)`` and the bias ``(units,)``.

        Args:
            input_shape: ``(..., fan_in)`` with a known last axis.

        Raises:
            ValueError: If the input has rank < 2 or an unknown last axis.
        """
        _checks.input_rank("EqualizedDense", input_shape, rank=None, min_rank=2)
        fan_in = _checks.known_channels("EqualizedDense", input_shape)
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: fan_in})
        self.kernel = self.add_weight(
            name="kernel",
            shape=(fan_in, self.units),
            initializer=keras.initializers.RandomNormal(stddev=1.0 / self.lr_multiplier),
        )
        self.bias = (
            self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
            if self.use_bias
            else None
        )
        self.weight_scale = self.gain / math.sqrt(fan_in) * self.lr_multiplier

    def call(self, inputs: Any) -> Any:
        """Applies ``activation(inputs @ (kernel * scale) + bias * lr_multiplier)``.

        Args:
            inputs: A ``(..., fan_in)`` tensor.

        Returns:
            A ``(..., units)`` tensor in the compute dtype.
        """
        outputs = ops.matmul(inputs, self.kernel * self.weight_scale)
        if self.bias is not None:
            bias = self.bias if self.lr_multiplier == 1.0 else self.bias * self.lr_multiplier
            outputs = ops.add(outputs, bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """Returns ``input_shape`` with the last axis replaced by ``units``.

        Args:
            input_shape: ``(..., fan_in)``.

        Returns:
            ``(..., units)``.
        """
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments merged into the base layer config.

        Returns:
            A JSON-serializable dict.
        """
        return {
            **super().get_config(),
            "units": self.units,
            "gain": self.gain,
            "lr_multiplier": self.lr_multiplier,
            "use_bias": self.use_bias,
            "activation": keras.activations.serialize(self.activation),
        }
