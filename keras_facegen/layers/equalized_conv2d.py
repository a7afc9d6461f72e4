"""2-D convolution with the equalized learning rate (Karras et al., 2018, section 4.1)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
from keras import ops

from keras_facegen.layers import _checks

_PADDINGS = ("same", "valid")


@keras.saving.register_keras_serializable(package="keras_facegen")
class EqualizedConv2D(keras.layers.Layer):
    """Channels-last 2-D convolution whose kernel is scaled at run time by He's constant.

    The kernel ``(kh, kw, in_channels, filters)`` is stored as ``N(0, 1) / lr_multiplier`` and used
    as ``kernel * gain / sqrt(fan_in) * lr_multiplier`` with ``fan_in = kh * kw * in_channels``;
    the bias (zeros at first) is used as ``bias * lr_multiplier``. Every weight then gets the same
    dynamic range, so adaptive optimizers update all of them at the same effective speed. The
    scale multiplies the (small) kernel, not the activations, so it costs one multiply of the
    weights and the convolution runs exactly as in ``keras.layers.Conv2D``.

    Args:
        filters: Number of output channels, >= 1.
        kernel_size: Kernel height and width: an int or a pair of ints, >= 1.
        strides: Strides along height and width: an int or a pair of ints, >= 1.
        padding: ``"same"`` or ``"valid"`` (case-insensitive).
        gain: Multiplier of He's ``1 / sqrt(fan_in)``, > 0 (``sqrt(2)`` suits ReLU / leaky ReLU;
            use 1 before a linear output such as ``toRGB``).
        lr_multiplier: Learning-rate multiplier of this layer's weights, > 0.
        use_bias: Whether to add a bias.
        activation: Activation applied to the output (name, callable or ``None`` for linear).
        **kwargs: Base layer arguments (``name``, ``dtype``, ...).

    Raises:
        ValueError: If an argument is out of range (the message names it and its value).

    Example:
        >>> import numpy as np
        >>> layer = EqualizedConv2D(16, 3, strides=2, activation="leaky_relu")
        >>> tuple(layer(np.zeros((2, 8, 8, 3), "float32")).shape)
        (2, 4, 4, 16)
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, int],
        strides: int | tuple[int, int] = 1,
        padding: str = "same",
        gain: float = math.sqrt(2.0),
        lr_multiplier: float = 1.0,
        use_bias: bool = True,
        activation: str | Callable[[Any], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.filters = _checks.positive_int("filters", filters)
        self.kernel_size = _checks.int_pair("kernel_size", kernel_size)
        self.strides = _checks.int_pair("strides", strides)
        if not isinstance(padding, str) or padding.lower() not in _PADDINGS:
            raise ValueError(
                f"Expected `padding` to be one of {_PADDINGS}, but received padding={padding!r}."
            )
        self.padding = padding.lower()
        self.gain = _checks.positive_float("gain", gain)
        self.lr_multiplier = _checks.positive_float("lr_multiplier", lr_multiplier)
        self.use_bias = bool(use_bias)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Creates the kernel ``(kh, kw, in_channels, filters)`` and the bias ``(filters,)``.

        Args:
            input_shape: ``(N, H, W, in_channels)`` with known ``in_channels``.

        Raises:
            ValueError: If the input is not rank 4 or its channel axis is unknown.
        """
        _checks.input_rank("EqualizedConv2D", input_shape, rank=4)
        in_channels = _checks.known_channels("EqualizedConv2D", input_shape)
        self.input_spec = keras.layers.InputSpec(ndim=4, axes={-1: in_channels})
        kernel_shape = (*self.kernel_size, in_channels, self.filters)
        self.kernel = self.add_weight(
            name="kernel",
            shape=kernel_shape,
            initializer=keras.initializers.RandomNormal(stddev=1.0 / self.lr_multiplier),
        )
        self.bias = (
            self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
            if self.use_bias
            else None
        )
        fan_in = self.kernel_size[0] * self.kernel_size[1] * in_channels
        self.weight_scale = self.gain / math.sqrt(fan_in) * self.lr_multiplier

    def call(self, inputs: Any) -> Any:
        """Applies ``activation(conv(inputs, kernel * scale) + bias * lr_multiplier)``.

        Args:
            inputs: A ``(N, H, W, in_channels)`` tensor.

        Returns:
            A ``(N, H', W', filters)`` tensor in the compute dtype.
        """
        outputs = ops.conv(
            inputs,
            self.kernel * self.weight_scale,
            strides=self.strides,
            padding=self.padding,
            data_format="channels_last",
        )
        if self.bias is not None:
            bias = self.bias if self.lr_multiplier == 1.0 else self.bias * self.lr_multiplier
            outputs = ops.add(outputs, bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """Returns the output shape for ``input_shape``.

        Args:
            input_shape: ``(N, H, W, in_channels)``.

        Returns:
            ``(N, H', W', filters)`` with ``H' = ceil(H / stride)`` for ``"same"`` padding and
            ``ceil((H - kh + 1) / stride)`` for ``"valid"`` (``None`` stays ``None``).
        """
        batch, *spatial, _ = input_shape
        out_spatial: list[int | None] = []
        for size, kernel, stride in zip(spatial, self.kernel_size, self.strides, strict=True):
            if size is None:
                out_spatial.append(None)
            elif self.padding == "same":
                out_spatial.append(-(-size // stride))
            else:
                out_spatial.append(max(0, -(-(size - kernel + 1) // stride)))
        return (batch, *out_spatial, self.filters)

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments merged into the base layer config.

        Returns:
            A JSON-serializable dict.
        """
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "gain": self.gain,
            "lr_multiplier": self.lr_multiplier,
            "use_bias": self.use_bias,
            "activation": keras.activations.serialize(self.activation),
        }
