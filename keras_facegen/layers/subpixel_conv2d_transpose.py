"""A ``Conv2DTranspose`` computed as one stride-1 convolution followed by depth-to-space."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from keras_facegen.layers._strided import (
    check_implementation,
    conv_valid,
    pad_kernel_to_stride,
    rewrite_enabled,
    taps,
)

IMPLEMENTATIONS = ("auto", "subpixel", "keras")


def _offset(kernel: int, stride: int, padding: str) -> int:
    # Rows the transposed convolution drops at the start of its "full" output, as in the
    # conv2d that it is the gradient of: padding "same" pads that one by max(k - s, 0) // 2.
    return max(kernel - stride, 0) // 2 if padding == "same" else 0


def _output_length(length: int, kernel: int, stride: int, padding: str) -> int:
    return length * stride if padding == "same" else length * stride + max(kernel - stride, 0)


def _dilate_kernel(kernel: Any, dilation_rate: tuple[int, int]) -> Any:
    """``(kh, kw, o, i)`` -> ``((kh - 1) * dh + 1, (kw - 1) * dw + 1, o, i)``, taps spread."""
    kh, kw, filters, channels = kernel.shape
    dh, dw = dilation_rate
    # A tap followed by d - 1 zero rows, then the zero rows past the last tap cut off.
    kernel = ops.pad(ops.expand_dims(kernel, 1), ((0, 0), (0, dh - 1), (0, 0), (0, 0), (0, 0)))
    kernel = ops.reshape(kernel, (kh * dh, kw, filters, channels))[: (kh - 1) * dh + 1]
    kernel = ops.pad(ops.expand_dims(kernel, 2), ((0, 0), (0, 0), (0, dw - 1), (0, 0), (0, 0)))
    kernel = ops.reshape(kernel, ((kh - 1) * dh + 1, kw * dw, filters, channels))
    return kernel[:, : (kw - 1) * dw + 1]


@keras.saving.register_keras_serializable(package="keras_facegen")
class SubpixelConv2DTranspose(keras.layers.Conv2DTranspose):
    """``keras.layers.Conv2DTranspose`` computed as a stride-1 convolution and depth-to-space.

    The same layer as ``keras.layers.Conv2DTranspose`` (same arguments, same ``kernel`` of
    shape ``(kh, kw, filters, in_channels)`` and ``bias``, same config, same output), computed
    the sub-pixel way: a stride-``s`` transposed convolution gives output pixel ``o`` the sum of
    ``x[i] * kernel[t]`` over ``o + p = s * i + t`` (``p`` the rows that padding ``"same"``
    crops), so the output pixels of one phase ``(o + p) mod s`` use only the kernel rows
    ``t`` of that phase. Each phase is then a stride-1 convolution of the input with the
    flipped sub-kernel ``kernel[s*j + phase]``; all ``s * s`` phases run as one convolution with
    ``s * s * filters`` output channels, and a reshape/transpose (depth-to-space) interleaves
    them into the ``s``-times larger image. No zeros are inserted into the input, which is what
    makes the gradient fast where the backend differentiates ``conv_transpose`` slowly (JAX/XLA
    on CPU: about 8x slower than TensorFlow for a DCGAN generator).

    The sub-pixel computation covers ``data_format="channels_last"``, ``dilation_rate=1``,
    ``output_padding=None`` and known input height and width, with any kernel size, stride and
    padding; other settings run ``keras.layers.Conv2DTranspose``'s own computation.

    Weights are interchangeable with ``keras.layers.Conv2DTranspose`` (``set_weights``, the
    library's checkpoints), and ``.keras`` files saved with either class load as saved.

    Args:
        filters: Number of output channels.
        kernel_size: Kernel height and width: an int or a pair of ints.
        strides: Strides along height and width: an int or a pair of ints.
        padding: ``"valid"`` or ``"same"``.
        implementation: ``"subpixel"`` (the sub-pixel computation), ``"keras"``
            (``keras.layers.Conv2DTranspose``'s ``conv_transpose``) or ``"auto"``: sub-pixel on
            the backends where it trains faster (JAX; on TensorFlow and PyTorch the two are
            about as fast). The output is the same either way (to float rounding).
        **kwargs: The other ``keras.layers.Conv2DTranspose`` arguments (``output_padding``,
            ``data_format``, ``dilation_rate``, ``activation``, ``use_bias``, initializers,
            regularizers, constraints) and base layer arguments (``name``, ``dtype``, ...).

    Raises:
        ValueError: If ``implementation`` is not one of ``"auto"``, ``"subpixel"``, ``"keras"``,
            or another argument is invalid (as ``keras.layers.Conv2DTranspose``).

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(2, 5, 5, 3)).astype("float32")
        >>> fast = SubpixelConv2DTranspose(4, 5, 2, "same", implementation="subpixel")
        >>> plain = keras.layers.Conv2DTranspose(4, 5, strides=2, padding="same")
        >>> plain.build(x.shape)
        >>> fast.build(x.shape)
        >>> fast.set_weights(plain.get_weights())
        >>> y = keras.ops.convert_to_numpy(fast(x))
        >>> y.shape
        (2, 10, 10, 4)
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

    def _uses_subpixel(self, input_shape: tuple[int | None, ...]) -> bool:
        """Whether ``call`` on inputs of this shape runs the sub-pixel computation."""
        if not rewrite_enabled(self.implementation):
            return False
        return (
            self.data_format == "channels_last"
            and tuple(self.dilation_rate) == (1, 1)
            and self.output_padding is None
            and input_shape[1] is not None
            and input_shape[2] is not None
        )

    def _subpixel_kernel(self) -> Any:
        """The kernel of the stride-1 convolution: ``(jh, jw, in_channels, sh * sw * filters)``.

        Output channel ``(ph * sw + pw) * filters + c`` holds phase ``(ph, pw)`` of output
        channel ``c``; tap ``(u, v)`` is ``kernel[sh * (jh - 1 - u) + ph, sw * (jw - 1 - v) + pw]``
        (zero past the kernel's end).
        """
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        jh, jw = taps(kh, sh), taps(kw, sw)
        in_channels = self.kernel.shape[-1]
        kernel = pad_kernel_to_stride(self.kernel, self.kernel_size, self.strides)
        kernel = ops.reshape(kernel, (jh, sh, jw, sw, self.filters, in_channels))
        kernel = ops.flip(kernel, axis=(0, 2))
        kernel = ops.transpose(kernel, (0, 2, 5, 1, 3, 4))
        return ops.reshape(kernel, (jh, jw, in_channels, sh * sw * self.filters))

    def call(self, inputs: Any) -> Any:
        """Applies the transposed convolution (sub-pixel computation where supported).

        Args:
            inputs: ``(N, H, W, in_channels)``.

        Returns:
            ``(N, H_out, W_out, filters)``, as ``keras.layers.Conv2DTranspose``.
        """
        if not self._uses_subpixel(tuple(inputs.shape)):
            if tuple(self.dilation_rate) == (1, 1):
                return super().call(inputs)
            # TensorFlow's CPU kernels without oneDNN refuse dilation_rate > 1 in a transposed
            # convolution (keras.layers.Conv2DTranspose fails there); the same function with
            # the kernel's taps spread out and dilation 1 runs on every backend and CPU.
            y = ops.conv_transpose(
                inputs,
                _dilate_kernel(self.kernel, tuple(self.dilation_rate)),
                strides=list(self.strides),
                padding=self.padding,
                output_padding=self.output_padding,
                data_format=self.data_format,
            )
            return self._bias_and_activation(y)
        height, width = inputs.shape[1], inputs.shape[2]
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        jh, jw = taps(kh, sh), taps(kw, sw)
        out_h = _output_length(height, kh, sh, self.padding)
        out_w = _output_length(width, kw, sw, self.padding)
        ph, pw = _offset(kh, sh, self.padding), _offset(kw, sw, self.padding)
        # Phase rows q0..q1 cover output rows o = 0 .. out - 1 (full-output rows p .. p + out - 1).
        q0h, q1h = ph // sh, (ph + out_h - 1) // sh
        q0w, q1w = pw // sw, (pw + out_w - 1) // sw
        # Row q of a phase reads input rows q - jh + 1 .. q: pad jh - 1 - q0 before (>= 0, as
        # p <= s * (jh - 1)) and q1 + 1 - H after (>= 0, as out >= s * H).
        x = ops.pad(
            inputs,
            ((0, 0), (jh - 1 - q0h, q1h + 1 - height), (jw - 1 - q0w, q1w + 1 - width), (0, 0)),
        )
        y = conv_valid(x, self._subpixel_kernel())
        rows, cols = q1h - q0h + 1, q1w - q0w + 1
        y = ops.reshape(y, (-1, rows, cols, sh, sw, self.filters))
        y = ops.transpose(y, (0, 1, 3, 2, 4, 5))
        y = ops.reshape(y, (-1, rows * sh, cols * sw, self.filters))
        top, left = ph - q0h * sh, pw - q0w * sw
        if (top, left, rows * sh, cols * sw) != (0, 0, out_h, out_w):
            y = y[:, top : top + out_h, left : left + out_w, :]
        return self._bias_and_activation(y)

    def _bias_and_activation(self, y: Any) -> Any:
        if self.use_bias:
            shape = (1, 1, 1, self.filters)
            if self.data_format == "channels_first":
                shape = (1, self.filters, 1, 1)
            y = ops.add(y, ops.reshape(self.bias, shape))
        if self.activation is not None:
            y = self.activation(y)
        return y

    def get_config(self) -> dict[str, Any]:
        """Returns ``keras.layers.Conv2DTranspose``'s config plus ``implementation``.

        Returns:
            A JSON-serializable dict.
        """
        return {**super().get_config(), "implementation": self.implementation}
