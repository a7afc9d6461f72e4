"""Minibatch standard deviation feature (Karras et al., 2018, section 3)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from keras_facegen.backend import assert_divisible
from keras_facegen.layers import _checks

# Added to the group variance before the square root, as in the reference implementation.
_VARIANCE_EPSILON = 1e-8


def _group_size_for(group_size: int, batch_size: int) -> int:
    """The effective group size ``min(group_size, batch_size)``, checking divisibility."""
    groups = min(group_size, batch_size)
    if batch_size % groups:
        raise ValueError(
            f"MinibatchStdDev with group_size={group_size} needs a batch size divisible by "
            f"min(group_size, batch_size)={groups}, but received batch_size={batch_size}. "
            f"Use a batch size that is a multiple of {groups} or a smaller group_size."
        )
    return groups


def _unknown_batch_message(group_size: int) -> str:
    return (
        f"MinibatchStdDev with group_size={group_size} needs a batch size divisible by "
        "min(group_size, batch_size), but received a batch that is not (its size was unknown "
        f"when the graph was built). Use a batch size that is a multiple of {group_size} or a "
        "smaller group_size."
    )


@keras.saving.register_keras_serializable(package="keras_facegen")
class MinibatchStdDev(keras.layers.Layer):
    """Appends the across-batch standard deviation of the features as extra channels.

    Lets a discriminator see how varied a batch is, which discourages mode collapse. Follows
    Karras et al.'s reference ``minibatch_stddev_layer`` in channels-last layout:

    1. ``G = min(group_size, N)``; ``N`` must be divisible by ``G``. The batch is split into
       ``M = N // G`` groups; sample ``i`` belongs to group ``i mod M`` (a ``[G, M, ...]``
       reshape).
    2. The channels are split into ``num_features`` equal, contiguous slices.
    3. For every group, pixel and channel: the biased variance over the group's ``G`` samples,
       then ``sqrt(var + 1e-8)``.
    4. That is averaged over height, width and the slice's channels: one number per group and
       slice, given to every sample of the group at every pixel, concatenated after the input
       channels.

    The statistics are computed in float32 whatever the dtype policy.

    Args:
        group_size: Largest number of samples whose statistics are pooled, >= 1.
        num_features: Number of channel slices, hence of appended channels, >= 1.
        **kwargs: Base layer arguments (``name``, ``dtype``, ...).

    Raises:
        ValueError: If ``group_size`` or ``num_features`` is not a positive integer.

    Example:
        >>> import numpy as np
        >>> x = np.random.normal(size=(8, 4, 4, 6)).astype("float32")
        >>> tuple(MinibatchStdDev(group_size=4, num_features=2)(x).shape)
        (8, 4, 4, 8)
    """

    def __init__(self, group_size: int = 4, num_features: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.group_size = _checks.positive_int("group_size", group_size)
        self.num_features = _checks.positive_int("num_features", num_features)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Checks the input shape against the configuration.

        Args:
            input_shape: ``(N, H, W, C)``; ``N``, ``H`` and ``W`` may be ``None``.

        Raises:
            ValueError: If the input is not rank 4, ``C`` is unknown or not divisible by
                ``num_features``, or a known ``N`` is not divisible by ``min(group_size, N)``.
        """
        _checks.input_rank("MinibatchStdDev", input_shape, rank=4)
        channels = _checks.known_channels("MinibatchStdDev", input_shape)
        if channels % self.num_features:
            raise ValueError(
                f"MinibatchStdDev with num_features={self.num_features} needs a channel count "
                f"divisible by num_features, but received input_shape={tuple(input_shape)} "
                f"({channels} channels)."
            )
        if input_shape[0] is not None:
            _group_size_for(self.group_size, input_shape[0])

    def call(self, inputs: Any) -> Any:
        """Appends the standard-deviation channels.

        Args:
            inputs: A ``(N, H, W, C)`` tensor.

        Returns:
            A ``(N, H, W, C + num_features)`` tensor in the compute dtype.

        Raises:
            ValueError: If the batch size (static at call time: eagerly, under JAX ``jit`` and on
                PyTorch) is not divisible by ``min(group_size, N)``. In a TensorFlow graph
                built for an unknown batch size the same check runs with the graph and fails
                with the same words (as ``tf.errors.InvalidArgumentError``, TensorFlow's
                run-time error).
        """
        shape = ops.shape(inputs)
        batch_size, height, width, channels = shape
        if isinstance(batch_size, int):
            groups = _group_size_for(self.group_size, batch_size)
        else:
            # Only a TensorFlow graph traced with an unknown batch size gets here: the check
            # runs with the graph and fails with the same words as the static one.
            groups = ops.minimum(self.group_size, batch_size)
            batch_size = assert_divisible(
                batch_size, groups, _unknown_batch_message(self.group_size)
            )
        num_groups = batch_size // groups
        slice_channels = channels // self.num_features

        x = ops.cast(inputs, "float32")
        # [G, M, H, W, n, c]: sample i = g * M + m sits in group m; channel f * c + j in slice f.
        y = ops.reshape(x, (groups, num_groups, height, width, self.num_features, slice_channels))
        y = y - ops.mean(y, axis=0, keepdims=True)
        y = ops.sqrt(ops.mean(ops.square(y), axis=0, keepdims=True) + _VARIANCE_EPSILON)
        y = ops.mean(y, axis=(2, 3, 5), keepdims=True)  # [1, M, 1, 1, n, 1]
        y = ops.broadcast_to(y, (groups, num_groups, height, width, self.num_features, 1))
        y = ops.reshape(y, (batch_size, height, width, self.num_features))
        x = ops.cast(inputs, self.compute_dtype)
        return ops.concatenate([x, ops.cast(y, self.compute_dtype)], axis=-1)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """Returns the input shape with ``num_features`` more channels.

        Args:
            input_shape: ``(N, H, W, C)``.

        Returns:
            ``(N, H, W, C + num_features)``.
        """
        *leading, channels = input_shape
        return (*leading, None if channels is None else channels + self.num_features)

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments merged into the base layer config.

        Returns:
            A JSON-serializable dict.
        """
        return {
            **super().get_config(),
            "group_size": self.group_size,
            "num_features": self.num_features,
        }
