"""The progressive-growing schedule: everything as a function of the images shown so far.

Resolution, fade ``alpha``, batch size and learning rate (Karras et al., 2018).

Training starts at 4x4 and doubles the resolution up to the target. Every resolution above
4x4 is first *faded in* over ``fade_images`` images (``alpha`` rising linearly from 0 to 1),
then trained *stable* for ``stable_images`` images; 4x4 only has the stable phase. As in the
reference ``TrainingSchedule`` (``tkarras/progressive_growing_of_gans``, ``train.py``),
everything derives from one number, the images shown so far, so a resumed run and a run on
JAX's stateless loop compute exactly the same values as an uninterrupted one.

Example (phases of 10 images, target 16x16)::

    images seen   0 ..  9  -> 4x4  stable
                 10 .. 19  -> 8x8  fade, alpha = (n - 10) / 10
                 20 .. 29  -> 8x8  stable
                 30 .. 39  -> 16x16 fade
                 40 .. 49  -> 16x16 stable   (and beyond: 16x16, alpha 1)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_BATCH_SIZES",
    "fade_alpha",
    "steps_until",
    "ProgressiveSchedule",
    "ScheduleState",
    "Stage",
    "check_resolution",
]

#: Minibatch per resolution of the reference's single-GPU configuration (``config.py``).
DEFAULT_BATCH_SIZES: dict[int, int] = {
    4: 128,
    8: 128,
    16: 128,
    32: 64,
    64: 32,
    128: 16,
    256: 8,
    512: 4,
    1024: 4,
}

MIN_RESOLUTION = 8
MAX_RESOLUTION = 1024
_START_RESOLUTION = 4


def check_resolution(resolution: Any, argument: str = "resolution") -> int:
    """Checks a target resolution: a power of two from 8 to 1024.

    Args:
        resolution: The value to check.
        argument: The argument's name, for the message.

    Returns:
        ``int(resolution)``.

    Raises:
        ValueError: If it is not a power of two in [8, 1024].

    Example:
        >>> check_resolution(64)
        64
    """
    valid = (
        isinstance(resolution, (int, np.integer))
        and not isinstance(resolution, bool)
        and MIN_RESOLUTION <= resolution <= MAX_RESOLUTION
        and resolution & (resolution - 1) == 0
    )
    if not valid:
        raise ValueError(
            f"{argument} must be a power of two from {MIN_RESOLUTION} to {MAX_RESOLUTION} "
            f"(8, 16, 32, ...); received {argument}={resolution!r}."
        )
    return int(resolution)


def _check_images(value: Any, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(
            f"{argument} must be a positive number of images (every phase needs at least one); "
            f"received {argument}={value!r}."
        )
    return int(value)


@dataclasses.dataclass(frozen=True)
class Stage:
    """One resolution of the schedule.

    Attributes:
        index: 0 for 4x4, 1 for 8x8, ...
        resolution: Image height and width of the stage.
        start: Images shown when the stage begins (its fade, or its stable phase at 4x4).
        fade_images: Length of the fade-in (0 at 4x4).
        stable_images: Length of the stable phase.
        batch_size: Minibatch of the stage.
        learning_rate: Learning rate of both optimizers during the stage.
    """

    index: int
    resolution: int
    start: int
    fade_images: int
    stable_images: int
    batch_size: int
    learning_rate: float

    @property
    def end(self) -> int:
        """Images shown when the stage is over."""
        return self.start + self.fade_images + self.stable_images


@dataclasses.dataclass(frozen=True)
class ScheduleState:
    """Where training stands after ``images_seen`` images.

    Attributes:
        stage: The :class:`Stage` being trained.
        alpha: Fade-in factor of the stage's new layers, in [0, 1] (float32 arithmetic, the
            same value the train step computes).
        phase: ``"fade"`` or ``"stable"``.
    """

    stage: Stage
    alpha: float
    phase: str

    @property
    def resolution(self) -> int:
        """Resolution of the stage."""
        return self.stage.resolution

    @property
    def batch_size(self) -> int:
        """Minibatch of the stage."""
        return self.stage.batch_size

    @property
    def learning_rate(self) -> float:
        """Learning rate of the stage."""
        return self.stage.learning_rate


@dataclasses.dataclass(frozen=True)
class ProgressiveSchedule:
    """Resolution, ``alpha``, batch size and learning rate as a function of images shown.

    Args:
        resolution: Target resolution, a power of two from 8 to 1024.
        fade_images: Images per fade-in phase (600k in the paper), > 0.
        stable_images: Images per stable phase (600k in the paper), > 0.
        batch_sizes: Minibatch per resolution; resolutions left out take
            :data:`DEFAULT_BATCH_SIZES`.
        learning_rate: Learning rate of every resolution not in ``learning_rates``.
        learning_rates: Learning rate per resolution (overrides ``learning_rate``).

    Raises:
        ValueError: On a bad resolution, a phase of zero or fewer images, or a batch size
            or learning rate that is not positive.

    Example:
        >>> schedule = ProgressiveSchedule(16, fade_images=10, stable_images=10)
        >>> state = schedule(15)
        >>> state.resolution, state.alpha, state.phase, state.batch_size
        (8, 0.5, 'fade', 128)
        >>> schedule.total_images
        50
    """

    resolution: int
    fade_images: int = 600_000
    stable_images: int = 600_000
    batch_sizes: Mapping[int, int] = dataclasses.field(default_factory=dict)
    learning_rate: float = 1e-3
    learning_rates: Mapping[int, float] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        check_resolution(self.resolution)
        _check_images(self.fade_images, "fade_images")
        _check_images(self.stable_images, "stable_images")
        resolutions = self.resolutions
        batch_sizes = {int(k): v for k, v in dict(self.batch_sizes or {}).items()}
        learning_rates = {int(k): v for k, v in dict(self.learning_rates or {}).items()}
        for res, size in batch_sizes.items():
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
                raise ValueError(
                    "batch_sizes must map resolutions to positive integers; received "
                    f"batch_sizes[{res}]={size!r}."
                )
        rates: list[tuple[int | None, Any]] = [(None, self.learning_rate)]
        for stage_res, rate in [*rates, *learning_rates.items()]:
            if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
                name = "learning_rate" if stage_res is None else f"learning_rates[{stage_res}]"
                raise ValueError(f"{name} must be a positive number; received {name}={rate!r}.")
        unknown = sorted((set(batch_sizes) | set(learning_rates)) - set(resolutions))
        if unknown:
            raise ValueError(
                f"batch_sizes / learning_rates name resolutions {unknown} that are not stages "
                f"of this schedule ({resolutions})."
            )
        object.__setattr__(self, "batch_sizes", batch_sizes)
        object.__setattr__(self, "learning_rates", learning_rates)

    # === Stages ===

    @property
    def resolutions(self) -> list[int]:
        """The stage resolutions, 4 up to the target."""
        count = int(math.log2(self.resolution)) - 1
        return [_START_RESOLUTION * 2**i for i in range(count)]

    @property
    def stages(self) -> list[Stage]:
        """Every stage, 4x4 first."""
        stages, start = [], 0
        for index, res in enumerate(self.resolutions):
            fade = 0 if index == 0 else int(self.fade_images)
            stage = Stage(
                index=index,
                resolution=res,
                start=start,
                fade_images=fade,
                stable_images=int(self.stable_images),
                batch_size=int(self.batch_sizes.get(res, DEFAULT_BATCH_SIZES.get(res, 4))),
                learning_rate=float(self.learning_rates.get(res, self.learning_rate)),
            )
            stages.append(stage)
            start = stage.end
        return stages

    @property
    def total_images(self) -> int:
        """Images shown when the last stage's stable phase ends."""
        return self.stages[-1].end

    def stage_for(self, images_seen: int) -> Stage:
        """The stage trained after ``images_seen`` images (the last one past the end).

        Args:
            images_seen: Real images shown so far, >= 0.

        Returns:
            A :class:`Stage`.
        """
        for stage in self.stages:
            if images_seen < stage.end:
                return stage
        return self.stages[-1]

    def __call__(self, images_seen: int) -> ScheduleState:
        """The schedule after ``images_seen`` images.

        ``alpha = clip(float32(images_seen - stage.start) / float32(fade_images), 0, 1)``:
        the train step computes exactly this from its own ``images_seen`` counter.

        Args:
            images_seen: Real images shown so far, >= 0.

        Returns:
            A :class:`ScheduleState`.

        Raises:
            ValueError: If ``images_seen`` is negative or not an integer.
        """
        if (
            isinstance(images_seen, bool)
            or not isinstance(images_seen, (int, np.integer))
            or images_seen < 0
        ):
            raise ValueError(
                f"images_seen must be an integer >= 0; received images_seen={images_seen!r}."
            )
        stage = self.stage_for(int(images_seen))
        alpha = fade_alpha(int(images_seen) - stage.start, stage.fade_images)
        phase = "fade" if stage.fade_images and alpha < 1.0 else "stable"
        return ScheduleState(stage=stage, alpha=alpha, phase=phase)

    def stage_starts(self) -> list[int]:
        """Images shown when each stage's first train step runs, given its batch sizes.

        A stage runs ``ceil((stage.end - n) / batch_size)`` steps from the count ``n`` it
        starts at, so its last step may show a few images past ``stage.end``; the next stage
        then starts there. The result depends only on the schedule.

        Returns:
            One count per stage.

        Example:
            >>> ProgressiveSchedule(16, fade_images=10, stable_images=10,
            ...                     batch_sizes={4: 4, 8: 4, 16: 4}).stage_starts()
            [0, 12, 32]
        """
        starts, seen = [], 0
        for stage in self.stages:
            starts.append(seen)
            seen += stage.batch_size * steps_until(stage.end, seen, stage.batch_size)
        return starts

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-friendly: string keys).

        Returns:
            A dict for :meth:`from_config`.
        """
        return {
            "resolution": self.resolution,
            "fade_images": int(self.fade_images),
            "stable_images": int(self.stable_images),
            "batch_sizes": {str(k): int(v) for k, v in self.batch_sizes.items()},
            "learning_rate": float(self.learning_rate),
            "learning_rates": {str(k): float(v) for k, v in self.learning_rates.items()},
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ProgressiveSchedule:
        """Rebuilds a schedule from :meth:`get_config`'s output.

        Args:
            config: The constructor arguments.

        Returns:
            A new schedule.
        """
        return cls(**dict(config))


def fade_alpha(images_into_stage: int, fade_images: int) -> float:
    """``clip(images_into_stage / fade_images, 0, 1)`` in float32 (1 when there is no fade).

    Args:
        images_into_stage: Images shown since the stage began.
        fade_images: Length of the stage's fade (0: no fade).

    Returns:
        A Python float holding a float32 value.

    Example:
        >>> fade_alpha(3, 4)
        0.75
    """
    if fade_images <= 0:
        return 1.0
    ratio = np.float32(images_into_stage) / np.float32(fade_images)
    return float(np.clip(ratio, np.float32(0.0), np.float32(1.0)))


def steps_until(end: int, images_seen: int, batch_size: int) -> int:
    """Train steps of ``batch_size`` images from ``images_seen`` until ``end`` is reached.

    Args:
        end: The image count to reach.
        images_seen: The current count.
        batch_size: Images per step.

    Returns:
        ``ceil((end - images_seen) / batch_size)``, at least 0.

    Example:
        >>> steps_until(10, 0, 4)
        3
    """
    return max(0, -(-(end - images_seen) // batch_size))
