"""A strided ``Conv2D`` computed as space-to-depth followed by one stride-1 convolution."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from keras_facegen.layers._strided import (
    SPACE_TO_DEPTH_MIN_CHANNEL_PAIRS,
    check_implementation,
    conv_valid,
    pad_kernel_to_stride,
    rewrite_enabled,
    taps,
)

IMPLEMENTATIONS = ("auto", "space_to_depth", "keras")


def _geometry(length: int, kernel: int, stride: int, padding: str) -> tuple[int, int, int]:
    """``(output length, zeros before, padded length)`` of one spatial axis.

    The padded length is ``stride * (output + taps - 1)``: every row that output rows read,
    rounded up to whole groups of ``stride`` rows (the rows past the input are zeros; rows
    that no output reads, possible with ``"valid"``, are cropped).
    """
    if padding == "same":
        out = -(-length // stride)
        before = max((out - 1) * stride + kernel - length, 0) // 2
    else:
        out = (length - kernel) // stride + 1
        before = 0
    return out, before, stride * (out + taps(kernel, stride) - 1)


@keras.saving.register_keras_serializable(package="keras_facegen")
class SpaceToDepthConv2D(keras.layers.Conv2D):
    """``keras.layers.Conv2D`` with its strides computed as space-to-depth.

    The same layer as ``keras.layers.Conv2D`` (same arguments, same ``kernel`` of shape
    ``(kh, kw, in_channels, filters)`` and ``bias``, same config, same output), computed
    without a strided convolution: a stride-``s`` convolution gives output pixel ``o`` the sum
    of ``x[s * o + t] * kernel[t]``. Writing ``t = s * j + r`` (the kernel zero-padded to a
    multiple of ``s`` rows), ``x[s * (o + j) + r]`` is pixel ``o + j`` of parity ``r`` of the
    input, so after a reshape/transpose that stacks the ``s * s`` parities as channels
    (space-to-depth) the convolution is a stride-1 convolution with the kernel rearranged
    by parity: ``kernel'[j, (r, c)] = kernel[s * j + r, c]``. Its gradient needs no dilated
    convolution, which is what makes it fast where the backend differentiates strided
    convolutions slowly (JAX/XLA on CPU: about 5x slower than TensorFlow for a DCGAN
    discriminator).

    The space-to-depth computation covers ``data_format="channels_last"``,
    ``dilation_rate=1``, ``groups=1``, strides above 1 and known input height and width, with
    any kernel size and padding; other settings run ``keras.layers.Conv2D``'s own computation.

    Weights are interchangeable with ``keras.layers.Conv2D`` (``set_weights``, the library's
    checkpoints), and ``.keras`` files saved with either class load as saved.

    Args:
        filters: Number of output channels.
        kernel_size: Kernel height and width: an int or a pair of ints.
        strides: Strides along height and width: an int or a pair of ints.
        padding: ``"valid"`` or ``"same"``.
        implementation: ``"space_to_depth"``, ``"keras"`` (``keras.layers.Conv2D``'s strided
            ``conv``) or ``"auto"``: space-to-depth on the backends where it trains faster
            (JAX), for layers with at least 65,536 ``in_channels * filters`` (below, XLA's
            own strided convolution is faster). The output is the same either way (to float
            rounding).
        **kwargs: The other ``keras.layers.Conv2D`` arguments (``data_format``,
            ``dilation_rate``, ``groups``, ``activation``, ``use_bias``, initializers,
            regularizers, constraints) and base layer arguments (``name``, ``dtype``, ...).

    Raises:
        ValueError: If ``implementation`` is not one of ``"auto"``, ``"space_to_depth"``,
            ``"keras"``, or another argument is invalid (as ``keras.layers.Conv2D``).

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(2, 9, 9, 3)).astype("float32")
        >>> fast = SpaceToDepthConv2D(4, 5, 2, "same", implementation="space_to_depth")
        >>> plain = keras.layers.Conv2D(4, 5, strides=2, padding="same")
        >>> plain.build(x.shape)
        >>> fast.build(x.shape)
        >>> fast.set_weights(plain.get_weights())
        >>> y = keras.ops.convert_to_numpy(fast(x))
        >>> y.shape
        (2, 5, 5, 4)
        >>> bool(np.allclose(y, keras.ops.convert_to_numpy(plain(x)), atol=1e-5))
        True
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, int],
        strides: int | tuple[int, int] = (1, 1),
        padding: str = "valid",
        implementation: str = "auto",
        **kwargs: Any,
    ) -> None:
        super().__init__(filters, kernel_size, strides=strides, padding=padding, **kwargs)
        self.implementation = check_implementation(implementation, IMPLEMENTATIONS)

    def _uses_space_to_depth(self, input_shape: tuple[int | None, ...]) -> bool:
        """Whether ``call`` on inputs of this shape runs the space-to-depth computation."""
        channel_pairs = (input_shape[-1] or 0) * self.filters
        if not rewrite_enabled(
            self.implementation, channel_pairs >= SPACE_TO_DEPTH_MIN_CHANNEL_PAIRS
        ):
            return False
        return (
            self.data_format == "channels_last"
            and tuple(self.dilation_rate) == (1, 1)
            and self.groups == 1
            and tuple(self.strides) != (1, 1)
            and input_shape[1] is not None
            and input_shape[2] is not None
        )

    def _space_to_depth_kernel(self) -> Any:
        """The stride-1 kernel: ``(jh, jw, sh * sw * in_channels, filters)``.

        Input channel ``(rh * sw + rw) * in_channels + c`` is parity ``(rh, rw)`` of channel
        ``c``; tap ``(u, v)`` of it is ``kernel[sh * u + rh, sw * v + rw, c]`` (zero past the
        kernel's end).
        """
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        jh, jw = taps(kh, sh), taps(kw, sw)
        in_channels = self.kernel.shape[2]
        kernel = pad_kernel_to_stride(self.kernel, self.kernel_size, self.strides)
        kernel = ops.reshape(kernel, (jh, sh, jw, sw, in_channels, self.filters))
        kernel = ops.transpose(kernel, (0, 2, 1, 3, 4, 5))
        return ops.reshape(kernel, (jh, jw, sh * sw * in_channels, self.filters))

    def call(self, inputs: Any) -> Any:
        """Applies the convolution (space-to-depth computation where supported).

        Args:
            inputs: ``(N, H, W, in_channels)``.

        Returns:
            ``(N, H_out, W_out, filters)``, as ``keras.layers.Conv2D``.
        """
        if not self._uses_space_to_depth(tuple(inputs.shape)):
            return super().call(inputs)
        height, width, in_channels = inputs.shape[1], inputs.shape[2], inputs.shape[3]
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        out_h, top, length_h = _geometry(height, kh, sh, self.padding)
        out_w, left, length_w = _geometry(width, kw, sw, self.padding)
        # Rows past length_h are read by no output (padding "valid"): crop them.
        x = inputs[:, : length_h - top, : length_w - left, :]
        x = ops.pad(
            x,
            (
                (0, 0),
                (top, length_h - top - x.shape[1]),
                (left, length_w - left - x.shape[2]),
                (0, 0),
            ),
        )
        rows, cols = length_h // sh, length_w // sw
        x = ops.reshape(x, (-1, rows, sh, cols, sw, in_channels))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
        x = ops.reshape(x, (-1, rows, cols, sh * sw * in_channels))
        y = conv_valid(x, self._space_to_depth_kernel())
        if self.use_bias:
            y = ops.add(y, ops.reshape(self.bias, (1, 1, 1, self.filters)))
        if self.activation is not None:
            y = self.activation(y)
        return y

    def get_config(self) -> dict[str, Any]:
        """Returns ``keras.layers.Conv2D``'s config plus ``implementation``.

        Returns:
            A JSON-serializable dict.
        """
        return {**super().get_config(), "implementation": self.implementation}
