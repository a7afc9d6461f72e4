"""Linear blend of two branches, for fading in a new resolution (Karras et al., 2018, fig. 2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from keras_facegen.layers import _checks


@keras.saving.register_keras_serializable(package="keras_facegen")
class FadeIn(keras.layers.Layer):
    """Blends an old and a new branch: ``old + alpha * (new - old)``.

    While a progressive GAN grows, the layers of the new resolution are faded in smoothly: ``alpha``
    goes from 0 (only the upsampled / downsampled old branch) to 1 (only the new branch).
    ``alpha`` is a non-trainable scalar weight, so it is saved with the model and read by compiled
    train steps. Change it with :meth:`set_alpha` (checks the range) or ``layer.alpha.assign(v)``.

    Args:
        alpha: Initial blend factor in [0, 1].
        **kwargs: Base layer arguments (``name``, ``dtype``, ...).

    Raises:
        ValueError: If ``alpha`` is not a number in [0, 1].

    Example:
        >>> import numpy as np
        >>> fade = FadeIn(alpha=0.25)
        >>> old, new = np.zeros((1, 2), "float32"), np.full((1, 2), 4.0, "float32")
        >>> keras.ops.convert_to_numpy(fade([old, new])).tolist()
        [[1.0, 1.0]]
    """

    def __init__(self, alpha: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.initial_alpha = _checks.unit_interval("alpha", alpha)
        # Created here rather than in build so that a schedule can set alpha before first use.
        self.alpha = self.add_weight(
            name="alpha",
            shape=(),
            initializer=keras.initializers.Constant(self.initial_alpha),
            trainable=False,
        )

    def set_alpha(self, value: float) -> None:
        """Sets the blend factor after checking it.

        Args:
            value: The new ``alpha``, a number in [0, 1].

        Raises:
            ValueError: If ``value`` is not a number in [0, 1].

        Example:
            >>> fade = FadeIn()
            >>> fade.set_alpha(0.5)
            >>> float(keras.ops.convert_to_numpy(fade.alpha))
            0.5
        """
        self.alpha.assign(_checks.unit_interval("alpha", value))

    def build(self, input_shape: Sequence[tuple[int | None, ...]]) -> None:
        """Checks that the two inputs have the same shape.

        Args:
            input_shape: A pair of shapes, ``[old_shape, new_shape]``.

        Raises:
            ValueError: If there are not exactly two inputs or their shapes differ.
        """
        old_shape, new_shape = _shape_pair(input_shape)
        mismatch = len(old_shape) != len(new_shape) or any(
            a is not None and b is not None and a != b
            for a, b in zip(old_shape, new_shape, strict=False)
        )
        if mismatch:
            raise ValueError(
                "FadeIn needs `old` and `new` inputs of the same shape, but received "
                f"old.shape={tuple(old_shape)} and new.shape={tuple(new_shape)}."
            )

    def call(self, inputs: Sequence[Any]) -> Any:
        """Blends the two inputs.

        Args:
            inputs: ``[old, new]``, two tensors of the same shape.

        Returns:
            ``old + alpha * (new - old)`` in the compute dtype.
        """
        old, new = inputs
        alpha = ops.cast(self.alpha, self.compute_dtype)
        return old + alpha * (new - old)

    def compute_output_shape(
        self, input_shape: Sequence[tuple[int | None, ...]]
    ) -> tuple[int | None, ...]:
        """Returns the shape of the blend (the common shape, known dims from either input).

        Args:
            input_shape: A pair of shapes, ``[old_shape, new_shape]``.

        Returns:
            The output shape.
        """
        old_shape, new_shape = _shape_pair(input_shape)
        return tuple(a if a is not None else b for a, b in zip(old_shape, new_shape, strict=False))

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments merged into the base layer config.

        ``alpha`` here is the constructor value; the current value is the saved ``alpha`` weight.

        Returns:
            A JSON-serializable dict.
        """
        return {**super().get_config(), "alpha": self.initial_alpha}


def _shape_pair(input_shape: Any) -> tuple[tuple[int | None, ...], tuple[int | None, ...]]:
    """Splits ``[old_shape, new_shape]``, raising ``ValueError`` for anything else."""
    is_pair = (
        isinstance(input_shape, (list, tuple))
        and len(input_shape) == 2
        and all(isinstance(s, (list, tuple)) for s in input_shape)
    )
    if not is_pair:
        raise ValueError(
            "FadeIn expects a list of two inputs `[old, new]`, but received "
            f"input_shape={input_shape!r}."
        )
    return tuple(input_shape[0]), tuple(input_shape[1])
