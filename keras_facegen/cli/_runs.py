"""``facegen.json``: the run settings ``train`` records and ``--resume`` and loaders read back."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from keras_facegen.cli._args import CommandError

#: ``train`` settings that shape the run; ``facegen.json`` records them and ``--resume``
#: rebuilds from it. ``dest -> (facegen.json key, flag as the user types it)``.
RUN_SETTINGS: dict[str, tuple[str, str]] = {
    "model": ("model", "--model"),
    "phase_images": ("phase_images", "--phase-images"),
    "preset": ("preset", "--preset"),
    "resolution": ("resolution", "--resolution"),
    "no_matching": ("matching", "--no-matching"),
    "ema": ("ema_decay", "--ema"),
    "batch_size": ("batch_size", "--batch-size"),
    "data": ("data", "--data"),
    "num_images": ("num_images", "--num-images"),
    "seed": ("seed", "--seed"),
}

#: ``train`` settings ``--resume`` takes from ``facegen.json`` unless given again (they change
#: only which steps get grids and checkpoints, so a new value is accepted).
RUN_SCHEDULE: dict[str, str] = {
    "sample_every": "sample_every",
    "checkpoint_every": "checkpoint_every",
}


def read_run_info(path: Path) -> dict[str, Any]:
    """A ``facegen.json`` file as a dict (empty if there is none).

    Raises:
        CommandError: If the file exists but is not a JSON object.
    """
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise CommandError(f"{str(path)!r} is not readable run information: {error}") from None
    if not isinstance(info, dict):
        raise CommandError(f"{str(path)!r} is not readable run information (not an object)")
    return info


def latent_distribution(model_path: Path) -> str:
    """The latent distribution recorded beside a model file (``"normal"`` if none is)."""
    from keras_facegen.training import RUN_INFO_FILE

    return str(
        read_run_info(model_path.parent / RUN_INFO_FILE).get("latent_distribution", "normal")
    )


def run_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The ``facegen.json`` entries of a ``train`` command's settings."""
    settings = {key: getattr(args, dest) for dest, (key, _) in RUN_SETTINGS.items()}
    settings["matching"] = not args.no_matching
    settings.update({key: getattr(args, dest) for dest, key in RUN_SCHEDULE.items()})
    return settings


def _describe(dest: str, value: Any) -> str:
    if dest == "no_matching":
        return "--no-matching" if value else "matching on"
    if dest == "ema":
        return "no EMA" if value is None else f"--ema {value}"
    return f"{RUN_SETTINGS[dest][1]} {value}"


def settings_for_resume(args: argparse.Namespace, info: dict[str, Any]) -> None:
    """Takes a run's settings from its ``facegen.json`` into ``args``; refuses flags that differ.

    Raises:
        CommandError: Naming every typed flag that disagrees with the recorded run.
    """
    disagreeing = []
    for dest, (key, _) in RUN_SETTINGS.items():
        if key not in info:
            continue
        recorded = (not info[key]) if dest == "no_matching" else info[key]
        if dest in args._given and getattr(args, dest) != recorded:
            given, had = _describe(dest, getattr(args, dest)), _describe(dest, recorded)
            disagreeing.append(f"{given} (the run has {had})")
        setattr(args, dest, recorded)
    for dest, key in RUN_SCHEDULE.items():
        if dest not in args._given and info.get(key) is not None:
            setattr(args, dest, info[key])
    if disagreeing:
        raise CommandError(
            f"--resume: {'; '.join(disagreeing)}. The run in {str(args.out)!r} was made with "
            "other settings; drop these flags to continue it as it was."
        )
