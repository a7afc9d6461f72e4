"""``ProgressiveProgress``: one progress line for a progressive run."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping
from typing import Any

import keras

from keras_facegen.models.schedule import ProgressiveSchedule

__all__ = ["ProgressiveProgress"]


class ProgressiveProgress(keras.callbacks.Callback):
    """One progress line for a progressive run: images, stage, resolution, alpha, images/s.

    Read from each step's logs, so the values are exact on every backend (also inside JAX's
    stateless loop). On a terminal the line is redrawn in place (at most 10 times a second);
    otherwise a line is printed every ``interval`` seconds and whenever the stage changes.

    Args:
        schedule: The run's :class:`~keras_facegen.models.schedule.ProgressiveSchedule`.
        interval: Seconds between lines when the output is not a terminal.
        stream: Where to write (default ``sys.stdout``).

    Example:
        >>> schedule = ProgressiveSchedule(8, fade_images=10, stable_images=10)
        >>> progress = ProgressiveProgress(schedule)  # gan.fit(..., callbacks=[progress])
        >>> progress.line({"images_seen": 15, "resolution": 8, "alpha": 0.5, "d_loss": 1.0})
        '15/30 images [#####.....] stage 2/2 8x8 fade alpha 0.500 0 img/s d_loss 1.000'
    """

    def __init__(self, schedule: ProgressiveSchedule, interval: float = 10.0, stream=None):
        super().__init__()
        self.schedule = schedule
        self.interval = float(interval)
        self.stream = stream
        self._start: tuple[float, int] | None = None
        self._last = (-math.inf, None)

    def _out(self):
        return self.stream or sys.stdout

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Starts the images/s clock."""
        self._start = None

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Redraws (terminal) or prints (log file) the line."""
        logs = logs or {}
        if "images_seen" not in logs:
            return
        seen = int(float(logs["images_seen"]))
        now = time.perf_counter()
        if self._start is None:
            self._start = (now, seen)
            return
        resolution = int(float(logs["resolution"]))
        tty = self._out().isatty()
        last_time, last_resolution = self._last
        if now - last_time < (0.1 if tty else self.interval) and resolution == last_resolution:
            return
        self._last = (now, resolution)
        self._out().write(("\r" if tty else "") + self.line(logs, now) + ("" if tty else "\n"))
        self._out().flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """Ends the terminal line."""
        if self._out().isatty() and self._last[1] is not None:
            self._out().write("\n")
            self._out().flush()
        self._last = (-math.inf, None)

    def line(self, logs: Mapping[str, Any], now: float | None = None) -> str:
        """The progress line for one step's logs.

        Args:
            logs: The step's logs (``images_seen``, ``resolution``, ``alpha``, losses).
            now: The current ``time.perf_counter()`` (for images/s).

        Returns:
            E.g. ``"  1,200/6,000 images [####......] stage 2/5 8x8 fade alpha 0.333
            412 img/s d_loss 1.23 g_loss -0.45"``.
        """
        total = self.schedule.total_images
        seen = int(float(logs["images_seen"]))
        resolution = int(float(logs["resolution"]))
        alpha = float(logs["alpha"])
        index = self.schedule.resolutions.index(resolution) + 1
        filled = int(10 * min(seen, total) / total)
        rate = 0.0
        if self._start is not None and now is not None and now > self._start[0]:
            rate = (seen - self._start[1]) / (now - self._start[0])
        phase = "fade" if alpha < 1.0 else "stable"
        losses = " ".join(
            f"{key} {float(logs[key]):.3f}" for key in ("d_loss", "g_loss") if key in logs
        )
        return (
            f"{seen:,}/{total:,} images [{'#' * filled}{'.' * (10 - filled)}] "
            f"stage {index}/{len(self.schedule.stages)} {resolution}x{resolution} {phase} "
            f"alpha {alpha:.3f} {rate:,.0f} img/s {losses}"
        )
