"""The optimizers of a progressive run across its phases: resets and per-stage learning rates.

A new phase starts with fresh Adam moments (the reference builds new optimizers per phase) and
the stage's learning rate: the schedule's rate for the default optimizers, the optimizer's own
rate times the stage's factor (its rate over the schedule's base ``learning_rate``) for one a
user passed. An optimizer on a ``LearningRateSchedule`` cannot be rescaled: it is left alone,
and refused when a stage would need another rate.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from keras_facegen.models.schedule import ProgressiveSchedule, Stage

__all__ = [
    "check_rescalable",
    "learning_rate_of",
    "progressive_adam",
    "reset_optimizer",
    "stage_learning_rate",
]


def _inner(optimizer: Any) -> Any:
    # A LossScaleOptimizer (mixed precision) keeps the real optimizer inside.
    return getattr(optimizer, "inner_optimizer", optimizer)


def progressive_adam(learning_rate: float) -> keras.optimizers.Optimizer:
    """``Adam(learning_rate, beta_1=0, beta_2=0.99, epsilon=1e-8)`` (Karras et al.).

    Args:
        learning_rate: The rate.

    Returns:
        A new ``keras.optimizers.Adam``.
    """
    return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=0.0, beta_2=0.99, epsilon=1e-8)


def learning_rate_of(optimizer: Any) -> float | None:
    """An optimizer's float learning rate, or ``None`` if it runs on a schedule.

    Args:
        optimizer: A Keras optimizer (or a ``LossScaleOptimizer``).

    Returns:
        The rate, or ``None``.
    """
    optimizer = _inner(optimizer)
    schedule = keras.optimizers.schedules.LearningRateSchedule
    if isinstance(getattr(optimizer, "_learning_rate", None), schedule):
        return None
    return float(np.asarray(ops.convert_to_numpy(optimizer.learning_rate)))


def reset_optimizer(optimizer: Any) -> None:
    """Zeroes every variable of ``optimizer`` (moments, step count) but its learning rate.

    Args:
        optimizer: A built Keras optimizer (or a ``LossScaleOptimizer``).
    """
    optimizer = _inner(optimizer)
    rate = getattr(optimizer, "_learning_rate", None)
    for variable in optimizer.variables:
        if variable is not rate:
            variable.assign(ops.zeros(variable.shape, variable.dtype))


def stage_learning_rate(
    optimizer: Any, base: float | None, stage: Stage, schedule: ProgressiveSchedule
) -> float | None:
    """The rate ``optimizer`` runs at during ``stage``.

    Args:
        optimizer: The player's optimizer.
        base: The user's own rate, or ``None`` for an optimizer that follows the schedule
            (the default ones).
        stage: A stage of ``schedule``.
        schedule: The run's schedule.

    Returns:
        ``stage.learning_rate`` for a default optimizer, ``base`` times the stage's factor for
        a user's, ``None`` (leave it) for one on a ``LearningRateSchedule``.
    """
    if base is not None:
        return base * stage.learning_rate / schedule.learning_rate
    if learning_rate_of(optimizer) is None:
        return None
    return stage.learning_rate


def check_rescalable(player: str, optimizer: Any, schedule: ProgressiveSchedule) -> None:
    """Refuses an optimizer on a ``LearningRateSchedule`` that a stage would have to rescale.

    Args:
        player: ``"generator"`` or ``"discriminator"`` (for the message).
        optimizer: The optimizer the user passed.
        schedule: The run's schedule.

    Raises:
        ValueError: Naming the player, the first stage with another rate and the optimizer.
    """
    scaled = [s for s in schedule.stages if s.learning_rate != schedule.learning_rate]
    if scaled and learning_rate_of(optimizer) is None:
        stage = scaled[0]
        raise ValueError(
            f"The {player} optimizer runs on a LearningRateSchedule, which ProgressiveGAN "
            f"cannot scale to the {stage.resolution}x{stage.resolution} stage's rate "
            f"{stage.learning_rate} (the schedule's base learning_rate is "
            f"{schedule.learning_rate}); received {player}_optimizer={optimizer!r}. Give it a "
            "float learning rate, or give every stage the base rate."
        )
