"""The phase plan: the fade and stable phases a progressive run trains, in train steps.

:class:`~keras_facegen.models.schedule.ProgressiveSchedule` is a function of images shown;
a run trains whole batches, so each phase's last step may show a few images past its
boundary. :func:`phases` turns the schedule into the steps ``ProgressiveGAN.fit`` runs.
"""

from __future__ import annotations

from keras_facegen.models.schedule import ProgressiveSchedule, Stage, steps_until

__all__ = ["Phase", "phases"]


class Phase:
    """One phase of a run: a stage's fade or stable part, as the train steps will run it.

    Attributes:
        stage: The :class:`~keras_facegen.models.schedule.Stage`.
        kind: ``"fade"`` or ``"stable"``.
        first: ``images_seen`` when the phase's first step runs.
        steps: Train steps of the phase.
        stage_first: ``images_seen`` when the stage's first step runs.
    """

    def __init__(self, stage: Stage, kind: str, first: int, steps: int, stage_first: int):
        self.stage, self.kind, self.first, self.steps = stage, kind, first, steps
        self.stage_first = stage_first

    @property
    def end(self) -> int:
        """``images_seen`` after the phase's last step."""
        return self.first + self.steps * self.stage.batch_size

    def __repr__(self) -> str:
        return (
            f"Phase({self.stage.resolution}x{self.stage.resolution} {self.kind}, "
            f"first={self.first}, steps={self.steps}, batch={self.stage.batch_size})"
        )


def phases(schedule: ProgressiveSchedule) -> list[Phase]:
    """The phases a run of ``schedule`` trains, step by step.

    A phase runs ``ceil((phase_end - images_seen) / batch_size)`` steps, so its last step may
    show a few images past the schedule's boundary; the next phase starts there. Phases with no
    step (a stable phase shorter than the fade's overshoot) are left out.

    Args:
        schedule: The schedule.

    Returns:
        Every phase, in order.

    Example:
        >>> s = ProgressiveSchedule(8, fade_images=10, stable_images=10, batch_sizes={4: 4, 8: 4})
        >>> phases(s)
        [Phase(4x4 stable, first=0, steps=3, batch=4), Phase(8x8 fade, first=12, steps=2, \
batch=4), Phase(8x8 stable, first=20, steps=3, batch=4)]
    """
    result, seen = [], 0
    for stage in schedule.stages:
        stage_first = seen
        bounds = []
        if stage.fade_images:
            bounds.append(("fade", stage.start + stage.fade_images))
        bounds.append(("stable", stage.end))
        for kind, end in bounds:
            steps = steps_until(end, seen, stage.batch_size)
            if steps:
                result.append(Phase(stage, kind, seen, steps, stage_first))
                seen += steps * stage.batch_size
    return result


def check_fades(schedule: ProgressiveSchedule) -> None:
    """Refuses a schedule in which a stage's fade would run no train step.

    A fade vanishes when the previous stage's last batch already reaches the fade's end
    (``fade_images`` at most the overshoot of that batch): ``alpha`` would then be 1 on the
    new stage's first step.

    Args:
        schedule: The schedule to check.

    Raises:
        ValueError: Naming the first such stage, its fade and the batch sizes.

    Example:
        >>> check_fades(ProgressiveSchedule(8, fade_images=4, stable_images=10,
        ...                                 batch_sizes={4: 8, 8: 8}))
        Traceback (most recent call last):
        ...
        ValueError: The 8x8 fade would run no train step: ...
    """
    planned = {(phase.stage.index, phase.kind) for phase in phases(schedule)}
    starts = schedule.stage_starts()
    for stage, first in zip(schedule.stages, starts):
        if stage.fade_images and (stage.index, "fade") not in planned:
            previous = schedule.stages[stage.index - 1]
            raise ValueError(
                f"The {stage.resolution}x{stage.resolution} fade would run no train step: the "
                f"{previous.resolution}x{previous.resolution} stage's last batch of "
                f"{previous.batch_size} already reaches images_seen={first}, past the fade's "
                f"end {stage.start + stage.fade_images} (fade_images={stage.fade_images}). "
                "Raise fade_images above the batch sizes or lower the batch sizes."
            )
