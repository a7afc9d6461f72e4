"""Regenerates every picture of the documentation site, by running the scripts that draw them.

No picture in ``docs/images/`` is made by hand: each comes from one of the steps below, and
this script runs them in order (or the ones named)::

    python scripts/make_docs_images.py                 # all steps (1.5 h on 2 CPU cores)
    python scripts/make_docs_images.py --list          # the steps, their commands and outputs
    python scripts/make_docs_images.py gallery explorer
    python scripts/make_docs_images.py --quick         # a fast, low-quality pass (smoke test)

Steps:

- ``synthetic``: the grid of built-in synthetic faces (``benchmarks/synthetic_faces.py``).
- ``gallery``: trains the README quick-start generator once, then draws the morph GIF, the
  slerp strip, the ranked sheet and the attribute-direction strips (``docs/make_pictures.sh``,
  which calls ``examples/attribute_directions.py``, ``latent_walk.py`` and ``offset_vectors.py``);
  the quick start's final grid becomes ``quickstart_samples.png``.
- ``pggan``: the progressive GAN's samples per stage and ``pggan_progression.png``
  (``examples/train_pggan.py --docs-images``, PyTorch backend as on the page).
- ``explorer``: screenshots of the explorer page, desktop and phone
  (``scripts/screenshot_explorer.py``, headless Chromium through Playwright).
- ``quality``: the sample-quality studies' tables and plots in ``docs/benchmarks/``
  (``benchmarks/quality/run_all.sh``, the runs reported on the benchmarks page; about an hour;
  left out by ``--quick``).
- Steps of scripts that other parts of the project add (``scripts/make_*_images.py``) run too:
  any such script is picked up and run with no arguments (``--quick`` passed through).

Outputs go to ``docs/images/`` unless ``--images`` says otherwise; the TensorFlow backend is used
unless ``KERAS_BACKEND`` is set. A failing step stops the run with its exit status.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclasses.dataclass(frozen=True)
class Step:
    """One picture-making command: its name, its command line, the files it writes."""

    name: str
    command: list[str]
    outputs: tuple[str, ...]
    environment: dict[str, str] = dataclasses.field(default_factory=dict)


def steps(images: Path, work: Path, quick: bool) -> list[Step]:
    """The steps, in the order they run.

    Args:
        images: Where the pictures go (``docs/images`` by default).
        work: Scratch folder for trained models and intermediate outputs.
        quick: Tiny settings everywhere (a smoke test of the pipeline; ugly pictures).

    Returns:
        The steps.
    """
    python = sys.executable
    gallery_env = {"PYTHON": python, "WORK": str(work / "gallery"), "IMAGES": str(images)}
    if quick:
        gallery_env.update(STEPS="20", RESOLUTION="32")
    found = [
        Step(
            "synthetic",
            [python, "benchmarks/synthetic_faces.py", "--quick", "--grid"]
            + [str(images / "synthetic_faces.png")],
            ("synthetic_faces.png",),
        ),
        Step(
            "gallery",
            ["bash", "docs/make_pictures.sh"],
            (
                "quickstart_samples.png",
                "morph.gif",
                "slerp_strip.png",
                "ranked_sheet.png",
                "direction_strip_yaw.png",
                "direction_strip_smile.png",
                "attribute_directions_results.json",
            ),
            gallery_env,
        ),
        Step(
            "pggan",
            [python, "examples/train_pggan.py", "--num-samples", "36", "--out"]
            + [str(work / "pggan_docs"), "--docs-images", str(images), "--overwrite"]
            + (
                ["--phase-images", "8", "--resolution", "16"]
                if quick
                else []  # the preset's 3,000 images per phase
            )
            + ["--checkpoint-every", "200"],
            ("pggan_progression.png", "pggan_stage_08x08.png", "...", "pggan_stage_64x64.png"),
            {"KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "tensorflow")},
        ),
        Step(
            "explorer",
            [python, "scripts/screenshot_explorer.py", "--out", str(images)],
            ("explorer.png", "explorer_phone.png"),
        ),
    ]
    if (REPO / "benchmarks" / "quality" / "run_all.sh").is_file() and not quick:
        # The quality studies write their tables and plots to docs/benchmarks/ (not --images).
        found.append(
            Step(
                "quality",
                ["bash", "benchmarks/quality/run_all.sh"],
                ("../benchmarks/*.png", "../benchmarks/*.md"),
                {"CACHE": str(work / "quality")},
            )
        )
    for script in sorted((REPO / "scripts").glob("make_*_images.py")):
        if script.name == Path(__file__).name:
            continue
        command = [python, str(script.relative_to(REPO))] + (["--quick"] if quick else [])
        found.append(Step(script.stem.removeprefix("make_").removesuffix("_images"), command, ()))
    return found


def run_step(step: Step, images: Path, work: Path) -> float:
    """Runs one step from the repository root; returns its wall time in seconds."""
    env = dict(os.environ, **step.environment)
    env.setdefault("KERAS_BACKEND", "tensorflow")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    print(f"--- {step.name}: {' '.join(step.command)}", flush=True)
    start = time.perf_counter()
    subprocess.run(step.command, cwd=REPO, env=env, check=True)
    if step.name == "gallery":
        # The quick-start run's final grid (EMA generator) is the README's picture.
        shutil.copy(
            work / "gallery" / "quickstart" / "samples.png", images / "quickstart_samples.png"
        )
    return time.perf_counter() - start


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="steps to run (default: all)")
    parser.add_argument("--images", type=Path, default=REPO / "docs" / "images")
    parser.add_argument("--work", type=Path, default=REPO / "outputs" / "docs_images")
    parser.add_argument("--quick", action="store_true", help="tiny settings, ugly pictures")
    parser.add_argument("--list", action="store_true", help="print the steps and exit")
    return parser.parse_args(argv)


def main(args: argparse.Namespace) -> int:
    """Runs the chosen steps; returns the process exit status."""
    images, work = args.images.resolve(), args.work.resolve()
    available = steps(images, work, args.quick)
    by_name = {step.name: step for step in available}
    unknown = [name for name in args.names if name not in by_name]
    if unknown:
        print(f"error: unknown step(s) {unknown}; choose from {sorted(by_name)}", file=sys.stderr)
        return 2
    chosen = [by_name[name] for name in args.names] if args.names else available
    if args.list:
        for step in chosen:
            print(f"{step.name}: {' '.join(step.command)} -> {', '.join(step.outputs) or '?'}")
        return 0
    images.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    for step in chosen:
        try:
            seconds = run_step(step, images, work)
        except subprocess.CalledProcessError as error:
            print(f"error: step {step.name!r} failed (exit {error.returncode})", file=sys.stderr)
            return error.returncode or 1
        print(f"--- {step.name}: {seconds:.0f} s", flush=True)
    print(f"pictures written to {images}")
    return 0


if __name__ == "__main__":
    sys.exit(main(parse_args()))
