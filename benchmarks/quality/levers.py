"""Study: the training levers of ``face64_small`` at the quick start's budget, one at a time.

Every arm trains ``gan_from_preset("face64_small")`` with exactly one lever changed against the
baseline (the preset as it is, trained as the README quick start trains it: 64x64, 3,000 steps
of 32 = 96,000 images shown, EMA 0.995), on the same ``--num-images`` synthetic faces (8,192 as
``recipes.py``; the quick start's command draws 10,000) of data seed ``--seed``, then scores
``--num-eval`` generated faces (the EMA generator where the arm has one, and the raw one)
against as many held-out faces with the library's sliced Wasserstein distance (x1e3; 128
neighbourhoods per image and level, 128 directions x 4 repeats: the settings of
``keras-facegen evaluate``). Each table also gives the floor, held-out faces against another
held-out draw, and each arm's training wall time (``fit`` only: tracing included, data and
evaluation excluded).

Each arm and seed trains in its own worker process (``KERAS_BACKEND=--backend``), so no arm
inherits another's memory or compiled functions. Results are appended as JSON lines to
``<out>/levers_<images>.jsonl``; an arm and seed already there is skipped unless ``--force``
(so an interrupted study resumes), and ``<out>/levers_<images>.md`` is rewritten from every line
after each arm: per lever the mean and spread over seeds, the ratio to the floor, the change
against the baseline, the training seconds, and the environment (backend, CPU model, load
average at the start and end of each arm).

    python benchmarks/quality/levers.py --list
    python benchmarks/quality/levers.py                          # every lever, seeds 0, 1, 2
    python benchmarks/quality/levers.py --levers baseline,hinge --seeds 0
    python benchmarks/quality/levers.py --quick                  # smoke test (seconds)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import common

_BENCHMARKS = str(Path(__file__).resolve().parents[1])
if _BENCHMARKS not in sys.path:
    sys.path.insert(0, _BENCHMARKS)

from _common import block_other_frameworks, run_worker  # noqa: E402

PRESET = "face64_small"
#: Latents of the evaluated faces: seed ``run seed + 41`` (as ``recipes.py``).
EVAL_LATENT_OFFSET = 41
#: Training settings of the baseline: the quick start's (``keras-facegen train --preset
#: face64_small --steps 3000 --ema 0.995``: the preset's batch, no augmentation).
BASELINE_TRAIN: dict[str, Any] = {"batch_multiplier": 1, "ema_decay": 0.995, "augment": "none"}
AUGMENTS = ("none", "mirror", "diffaugment", "ada")
#: Preset entries a lever may set besides the preset's own (see ``get_preset``).
OPTIONAL_PRESET_KEYS = ("generator_optimizer", "discriminator_optimizer")
#: ``dcgan_generator`` / ``dcgan_discriminator`` arguments that are the study's, not a lever's.
_FIXED_BUILDER_ARGUMENTS = ("preset", "name", "latent_dim", "resolution", "channels")


@dataclass(frozen=True)
class Lever:
    """One change to the baseline.

    Attributes:
        description: What changes, for ``--list`` and the table.
        preset: Overrides of the preset dict: a dotted path (``"generator.upsample"``,
            ``"optimizer.beta_1"``) or a top-level key (``"loss"``, ``"matching"``) -> the
            value it takes (a dict value replaces the entry whole).
        train: Overrides of :data:`BASELINE_TRAIN`: ``batch_multiplier`` (the batch is the
            preset's times this, the steps divided by it: the same images shown),
            ``ema_decay`` (``None``: no EMA) and ``augment`` (one of :data:`AUGMENTS`).
    """

    description: str
    preset: Mapping[str, Any] = field(default_factory=dict)
    train: Mapping[str, Any] = field(default_factory=dict)


_D_LAYER_NORM = {"discriminator.normalization": "layer"}

#: The arms, in table order. Each changes one thing against ``baseline``; the R1 arms add R1 to
#: ``d_layer_norm`` (input-gradient penalties need per-sample gradients, which batch norm
#: mixes). No ``non_saturating`` arm: the preset's two-logit softmax loss *is* the
#: non-saturating loss of the realness logit ``l1 - l0`` (``-log softmax(l)_1 =
#: softplus(-(l1 - l0))``, the same values step for step), so it would rerun the baseline.
LEVERS: dict[str, Lever] = {
    "baseline": Lever(
        "face64_small as it is (two-logit softmax loss = non-saturating on l1 - l0, feature + "
        "mean-image matching at 0.01, Adam(4e-4, 0.5, 0.999), batch norm, nearest upsampling), "
        "batch 32, EMA 0.995"
    ),
    "hinge": Lever("hinge loss (on the realness logit l1 - l0)", {"loss": "hinge"}),
    "d_layer_norm": Lever(
        "layer norm instead of batch norm in the discriminator (the R1 arms' base)", _D_LAYER_NORM
    ),
    "r1_1": Lever(
        "d_layer_norm + R1 on the reals, gamma 1, every step",
        {**_D_LAYER_NORM, "penalties": {"r1_penalty": 1.0}},
    ),
    "r1_10": Lever(
        "d_layer_norm + R1 on the reals, gamma 10, every step",
        {**_D_LAYER_NORM, "penalties": {"r1_penalty": 10.0}},
    ),
    "r1_10_lazy16": Lever(
        "d_layer_norm + R1 on the reals, gamma 10, every 16 steps weighted 16x (StyleGAN2's "
        "lazy regularisation)",
        {**_D_LAYER_NORM, "penalties": {"r1_penalty": {"gamma": 10.0, "every": 16}}},
    ),
    "no_matching": Lever(
        "feature and mean-image matching off (the plain adversarial game)", {"matching": {}}
    ),
    "pixel_norm_g": Lever(
        "pixel norm instead of batch norm in the generator (the progressive GAN's; the "
        "generator's convolutions then get biases)",
        {"generator.normalization": "pixel"},
    ),
    "minibatch_std": Lever(
        "minibatch standard deviation (group 4) before the discriminator's logits",
        {"discriminator.minibatch_std": 4},
    ),
    "adam_0_099": Lever(
        "Adam betas (0, 0.99) for both players (the progressive GAN's)",
        {"optimizer.beta_1": 0.0, "optimizer.beta_2": 0.99},
    ),
    "d_lr_half": Lever(
        "discriminator learning rate 2e-4 (half), generator 4e-4",
        {"discriminator_optimizer.learning_rate": 2e-4},
    ),
    "g_lr_double": Lever(
        "generator learning rate 8e-4 (double), discriminator 4e-4",
        {"generator_optimizer.learning_rate": 8e-4},
    ),
    "ema_0999": Lever("generator EMA decay 0.999 (with the warm-up)", train={"ema_decay": 0.999}),
    "ema_none": Lever("no generator EMA (the raw generator is scored)", train={"ema_decay": None}),
    "batch_64": Lever(
        "batch 64 at the same images shown (half the steps)", train={"batch_multiplier": 2}
    ),
    "upsample_transpose": Lever(
        "stride-2 transposed 3x3 convolutions instead of nearest upsampling + 3x3 conv",
        {"generator.upsample": "transpose"},
    ),
    "mirror": Lever(
        "x-flip: each real mirrored with probability 1/2 (Augment('none', mirror=True))",
        train={"augment": "mirror"},
    ),
    "diffaugment": Lever(
        "DiffAugment (colour, translation, cutout; p = 1) on everything D sees",
        train={"augment": "diffaugment"},
    ),
    "ada": Lever(
        "ADA (target 0.6, p from 0, --ada-speed images for p to move by 1) on everything D sees",
        train={"augment": "ada"},
    ),
}

#: Levers of issue 19 the library cannot express today: ``(name, why)``.
NOT_EXPRESSIBLE: tuple[tuple[str, str], ...] = (
    (
        "equalized_lr",
        "equalized learning rate in the DCGAN networks: dcgan_generator / dcgan_discriminator "
        "build plain Dense / Conv2D layers and take no option for EqualizedDense / "
        "EqualizedConv2D (only the pggan builders use them)",
    ),
    (
        "upsample_bilinear",
        "bilinear upsampling in the generator: dcgan_generator's upsample takes 'transpose' or "
        "'nearest' only (both are arms: baseline and upsample_transpose)",
    ),
)


#: Levers of issue 19 that would rerun the baseline: ``(name, why)``.
SAME_AS_BASELINE: tuple[tuple[str, str], ...] = (
    (
        "non_saturating",
        "the preset's two-logit softmax loss is the non-saturating loss of l1 - l0 (same "
        "values); the R1 arms add R1 to it",
    ),
)


# === Levers -> a preset dict and training settings ===


def _builder_options(role: str) -> set[str]:
    import inspect

    from keras_facegen.models import dcgan_discriminator, dcgan_generator

    builder = dcgan_generator if role == "generator" else dcgan_discriminator
    return set(inspect.signature(builder).parameters) - set(_FIXED_BUILDER_ARGUMENTS)


def apply_lever(preset: Mapping[str, Any], lever: Lever) -> tuple[dict[str, Any], dict[str, Any]]:
    """The preset dict and training settings of one arm, with every option checked.

    An override must name something the library reads: a key of the preset or of
    :data:`OPTIONAL_PRESET_KEYS`; under ``generator`` / ``discriminator`` an argument of
    ``dcgan_generator`` / ``dcgan_discriminator`` (the builders ignore unknown keys, so a
    misspelt option would silently train the baseline). Optimizer keys, loss and term names
    are checked when the GAN is built.

    Args:
        preset: The baseline preset dict (``get_preset("face64_small")``); not modified.
        lever: The change.

    Returns:
        ``(config, train)``: the preset dict for ``gan_from_preset`` and the training settings
        (:data:`BASELINE_TRAIN` with the lever's overrides).

    Raises:
        ValueError: If an override names an option that does not exist.
    """
    import copy

    config = copy.deepcopy(dict(preset))
    for path, value in lever.preset.items():
        top, _, rest = path.partition(".")
        if top not in config and top not in OPTIONAL_PRESET_KEYS:
            raise ValueError(f"Unknown preset entry {top!r} in override {path!r}.")
        if not rest:
            config[top] = copy.deepcopy(value)
            continue
        if "." in rest:
            raise ValueError(f"Override {path!r}: at most one level under {top!r}.")
        if top in ("generator", "discriminator") and rest not in _builder_options(top):
            raise ValueError(
                f"Override {path!r}: dcgan_{top} has no option {rest!r}; it takes "
                f"{', '.join(sorted(_builder_options(top)))}."
            )
        entry = config.setdefault(top, {})
        if not isinstance(entry, dict):
            raise ValueError(f"Override {path!r}: the preset's {top!r} is not a dict.")
        entry[rest] = copy.deepcopy(value)
    unknown = set(lever.train) - set(BASELINE_TRAIN)
    if unknown:
        raise ValueError(f"Unknown training settings {sorted(unknown)}; known: {BASELINE_TRAIN}.")
    train = {**BASELINE_TRAIN, **lever.train}
    if train["augment"] not in AUGMENTS:
        raise ValueError(f"augment={train['augment']!r}: expected one of {AUGMENTS}.")
    return config, train


def augment_layer(name: str, seed: int, ada_speed: int) -> Any:
    """The ``augment=`` argument of an arm (as ``keras-facegen train --augment/--mirror``).

    Args:
        name: One of :data:`AUGMENTS`.
        seed: Seed of the layer's draws.
        ada_speed: ADA's ``speed_images``.

    Returns:
        ``None`` or an ``augment.Augment`` / ``augment.ADA``.
    """
    from keras_facegen import augment

    if name == "mirror":
        return augment.Augment("none", mirror=True, seed=seed)
    if name == "diffaugment":
        return augment.Augment("diffaugment", seed=seed)
    if name == "ada":
        return augment.ADA(target=0.6, speed_images=ada_speed, seed=seed)
    return None


def build_arm(
    lever: str, resolution: int, seed: int, base_batch: int, ada_speed: int, quick: bool = False
) -> tuple[Any, int]:
    """One arm's compiled GAN and batch size (also the smoke test's check of every lever).

    Args:
        lever: A key of :data:`LEVERS`.
        resolution: Image size.
        seed: Seed of the weights, the train step and the augmentation.
        base_batch: The baseline's batch size (the lever may multiply it).
        ada_speed: ADA's ``speed_images``.
        quick: Run the train step eagerly on TensorFlow (``common.quick_eager``).

    Returns:
        ``(gan, batch_size)``.
    """
    import keras

    from keras_facegen.models import gan_from_preset, get_preset

    config, train = apply_lever(get_preset(PRESET), LEVERS[lever])
    keras.utils.set_random_seed(seed)
    gan = gan_from_preset(
        config,
        resolution=resolution,
        ema_decay=train["ema_decay"],
        seed=seed,
        augment=augment_layer(train["augment"], seed, ada_speed),
    )
    common.quick_eager(gan, argparse.Namespace(quick=quick))
    return gan, base_batch * int(train["batch_multiplier"])


# === The worker: one arm, one seed ===


def run_arm(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Trains one arm for one seed and scores it (in a worker process).

    Args:
        spec: ``lever``, ``seed``, ``quick`` and the study's ``settings`` (see
            :func:`study_settings`).

    Returns:
        The figures: ``steps``, ``batch``, ``train_seconds``, ``swd_raw`` and ``swd_ema`` (x1e3,
        ``None`` without EMA), ``swd`` (the EMA generator's where there is one, else the raw
        one's), ``generator`` (``"ema"`` / ``"raw"``), per-level figures and versions.
    """
    import keras

    from keras_facegen.data.batches import ShuffledBatches
    from keras_facegen.metrics import sliced_wasserstein_distance

    settings, seed = spec["settings"], int(spec["seed"])
    resolution = settings["resolution"]
    images = common.faces(settings["num_images"], resolution, settings["data_seed"])[0]
    real = common.held_out(settings["num_eval"], resolution, settings["data_seed"])
    gan, batch = build_arm(
        spec["lever"], resolution, seed, settings["batch"], settings["ada_speed"], spec["quick"]
    )
    steps = max(1, settings["images_shown"] // batch)
    batches = ShuffledBatches(images, batch_size=batch, seed=seed)
    started = time.perf_counter()
    gan.fit(batches, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)
    seconds = time.perf_counter() - started

    def score(ema: bool) -> Any:
        fake = gan.generate(settings["num_eval"], seed=seed + EVAL_LATENT_OFFSET, ema=ema)
        return sliced_wasserstein_distance(
            real, fake, seed=settings["data_seed"], **settings["swd"]
        )

    raw = score(False)
    ema = score(True) if gan.ema_decay is not None else None
    scored = raw if ema is None else ema
    return {
        "steps": steps,
        "batch": batch,
        "images_seen": int(keras.ops.convert_to_numpy(gan.images_seen)),
        "train_seconds": seconds,
        "swd": scored.mean,
        "generator": "raw" if ema is None else "ema",
        "swd_raw": raw.mean,
        "swd_ema": None if ema is None else ema.mean,
        "swd_levels": {str(k): float(v) for k, v in scored.per_level.items()},
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "python": platform.python_version(),
    }


def _worker_main(spec_json: str) -> None:
    block_other_frameworks()
    print(json.dumps(run_arm(json.loads(spec_json))), flush=True)


# === The study: arms in workers, JSON lines, the table ===


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``, else ``lscpu``, else ``platform``).

    Returns:
        E.g. ``"Intel(R) Xeon(R) CPU @ 2.20GHz"``.
    """
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover - not on every platform
        return float("nan")


def _checkout() -> str | None:
    """The commit of this checkout (``+dirty`` with local changes), or ``None``."""

    def git(*args: str) -> str:
        command = ["git", "-C", str(common.REPO_ROOT), *args]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The study's flags (``--quick``: seconds-long smoke settings, 2 levers, 1 seed).

    Args:
        argv: Command-line arguments; default ``sys.argv[1:]``.

    Returns:
        The parsed arguments.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--list", action="store_true", help="print the levers and exit")
    parser.add_argument(
        "--levers", default=None, help="comma-separated arms (default: all; --quick: 2)"
    )
    parser.add_argument(
        "--seeds", default=None, help="comma-separated run seeds (default 0,1,2; --quick: 0)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="data seed: training faces; held-out faces + 1000"
    )
    parser.add_argument("--images-shown", type=int, default=96_000, help="per arm")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--num-images", type=int, default=8192, help="training faces")
    parser.add_argument("--num-eval", type=int, default=1024, help="generated / held-out faces")
    parser.add_argument(
        "--ada-speed",
        type=int,
        default=100_000,
        help="ADA: images for p to move by 1 (ADA's 500,000 moves p by at most 0.19 here)",
    )
    parser.add_argument("--swd-projections", type=int, default=128, help="directions per repeat")
    parser.add_argument("--swd-repeats", type=int, default=4, help="repeats of the directions")
    parser.add_argument(
        "--backend",
        default=os.environ.get("KERAS_BACKEND") or "tensorflow",
        choices=("tensorflow", "jax", "torch"),
        help="KERAS_BACKEND of the workers (default: the environment's, else tensorflow)",
    )
    parser.add_argument("--force", action="store_true", help="rerun arms already in the file")
    parser.add_argument("--out", type=Path, default=common.DEFAULT_OUT, help="JSON lines, table")
    parser.add_argument("--quick", action="store_true", help="seconds-long smoke settings")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.resolution, args.images_shown, args.num_images, args.num_eval = 32, 16, 32, 16
        args.ada_speed = 64
    if args.levers is None:
        args.levers = "baseline,r1_10" if args.quick else ",".join(LEVERS)
    if args.seeds is None:
        args.seeds = "0" if args.quick else "0,1,2"
    args.lever_names = [name.strip() for name in args.levers.split(",") if name.strip()]
    unknown = [name for name in args.lever_names if name not in LEVERS]
    if unknown:
        parser.error(f"unknown levers {unknown}; --list prints them")
    args.seed_list = [int(s) for s in args.seeds.split(",") if s.strip()]
    return args


def study_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings every arm of a table shares (part of each JSON line's key).

    Args:
        args: Parsed arguments.

    Returns:
        ``preset``, ``resolution``, ``batch`` (the baseline's), ``images_shown``,
        ``num_images``, ``num_eval``, ``data_seed``, ``ada_speed`` and ``swd`` (the SWD
        arguments).
    """
    from keras_facegen.models import get_preset

    return {
        "preset": PRESET,
        "resolution": args.resolution,
        "batch": 8 if args.quick else get_preset(PRESET)["batch_size"],
        "images_shown": args.images_shown,
        "num_images": args.num_images,
        "num_eval": args.num_eval,
        "data_seed": args.seed,
        "ada_speed": args.ada_speed,
        "swd": common.swd_settings(args),
    }


def results_path(args: argparse.Namespace, ext: str) -> Path:
    """``<out>/levers_<images>[_quick].<ext>``.

    Args:
        args: Parsed arguments.
        ext: ``"jsonl"`` or ``"md"``.

    Returns:
        The path.
    """
    return args.out / f"levers_{args.images_shown}{'_quick' if args.quick else ''}.{ext}"


def read_records(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a results file (none if it does not exist).

    Args:
        path: The ``.jsonl`` file.

    Returns:
        One dict per line, in file order.
    """
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _settings_key(settings: Mapping[str, Any]) -> str:
    return json.dumps(settings, sort_keys=True)


def _arm_key(record: Mapping[str, Any]) -> tuple[str, str, int, str]:
    return (_settings_key(record["settings"]), record["backend"], record["seed"], record["lever"])


def _append(path: Path, record: Mapping[str, Any]) -> None:
    with path.open("a") as file:
        file.write(json.dumps(record, sort_keys=True) + "\n")


def floor_record(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The real-vs-real floor of a table: held-out faces against another held-out draw.

    Args:
        settings: The study's settings (:func:`study_settings`).

    Returns:
        A ``"floor"`` record: ``swd`` (x1e3) and the settings.
    """
    real = common.held_out(settings["num_eval"], settings["resolution"], settings["data_seed"])
    floor = common.swd_floor(real, settings["data_seed"], settings["swd"])
    return {"kind": "floor", "settings": dict(settings), "swd": float(floor)}


def _mean_sd(values: Sequence[float]) -> tuple[float, float | None]:
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) if len(values) > 1 else None)


def _fmt(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def render_table(records: Sequence[Mapping[str, Any]]) -> str:
    """The markdown of every table in the records (one per settings and backend).

    The latest record of an arm and seed counts (``--force`` appends a new one).

    Args:
        records: The JSON lines (:func:`read_records`).

    Returns:
        Markdown: settings, environment, floor, then one row per lever: seeds, SWD mean and
        standard deviation over seeds, the ratio to the floor, the change against the
        baseline's mean, the raw generator's SWD, training seconds and load averages.
    """
    floors = {_settings_key(r["settings"]): r["swd"] for r in records if r.get("kind") == "floor"}
    arms: dict[tuple[str, str, int, str], Mapping[str, Any]] = {}
    for record in records:
        if record.get("kind") == "arm":
            arms[_arm_key(record)] = record
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for (settings_key, backend, _, _), record in arms.items():
        groups.setdefault((settings_key, backend), []).append(record)
    order = {name: i for i, name in enumerate(LEVERS)}
    sections = []
    for (settings_key, backend), group in groups.items():
        settings = json.loads(settings_key)
        floor = floors.get(settings_key)
        by_lever: dict[str, list[Mapping[str, Any]]] = {}
        for record in sorted(group, key=lambda r: (order.get(r["lever"], len(order)), r["seed"])):
            by_lever.setdefault(record["lever"], []).append(record)
        baseline = by_lever.get("baseline")
        base_mean = _mean_sd([r["swd"] for r in baseline])[0] if baseline else None
        rows = []
        for lever, runs in by_lever.items():
            mean, sd = _mean_sd([r["swd"] for r in runs])
            raw_mean, _ = _mean_sd([r["swd_raw"] for r in runs])
            delta = None if base_mean is None else mean - base_mean
            rows.append(
                {
                    "lever": lever,
                    "seeds": ",".join(str(r["seed"]) for r in runs),
                    "steps x batch": f"{runs[0]['steps']} x {runs[0]['batch']}",
                    "G": runs[0]["generator"],
                    "SWD x1e3": _fmt(mean),
                    "sd": _fmt(sd),
                    "/ floor": _fmt(None if floor is None else mean / floor, 2),
                    "vs baseline": ""
                    if delta is None or lever == "baseline"
                    else f"{delta:+.1f} ({100 * delta / base_mean:+.0f}%)",
                    "raw G SWD": _fmt(raw_mean),
                    "train s": _fmt(statistics.fmean(r["train_seconds"] for r in runs), 0),
                    "load": " ".join(f"{r['load_start']:.1f}-{r['load_end']:.1f}" for r in runs),
                }
            )
        first = group[0]
        loads = [r["load_start"] for r in group] + [r["load_end"] for r in group]
        environment = (
            f"backend {backend}, keras {first['keras']}, python {first['python']}, "
            f"{first['cpu']}, {first['cores']} CPU(s), load average {min(loads):.1f}-"
            f"{max(loads):.1f} at the starts and ends of the arms, checkout "
            f"{', '.join(sorted({str(r.get('checkout')) for r in group}))}"
        )
        described = "; ".join(f"`{name}`: {LEVERS[name].description}" for name in by_lever)
        sections.append(
            "\n".join(
                [
                    f"### Training levers at {settings['images_shown']:,} images shown ({backend})",
                    "",
                    "Settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()) + ".",
                    f"Environment: {environment}.",
                    f"Floor (held-out vs held-out faces): SWD {_fmt(floor, 2) or 'not measured'}.",
                    "",
                    common.markdown_table(rows),
                    "",
                    "SWD x1e3 of the EMA generator where the arm has one (G), else the raw one; "
                    "sd over seeds; vs baseline: the difference of the means. Levers: "
                    + described
                    + ".",
                    "",
                ]
            )
        )
    return "\n".join(sections)


def list_levers() -> str:
    """The levers and the ones the library cannot express, as ``--list`` prints them.

    Returns:
        Text, one lever a line.
    """
    lines = ["Levers (one change each against the baseline):"]
    for name, lever in LEVERS.items():
        changes = {**lever.preset, **lever.train}
        lines.append(f"  {name:20s} {lever.description}" + (f" {changes}" if changes else ""))
    lines.append("Not run, the same as the baseline:")
    lines += [f"  {name:20s} {why}" for name, why in SAME_AS_BASELINE]
    lines.append("Not expressible with the library today:")
    lines += [f"  {name:20s} {why}" for name, why in NOT_EXPRESSIBLE]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Runs the arms not yet in the results file, then rewrites the table.

    Args:
        argv: Command-line arguments; default ``sys.argv[1:]``.

    Returns:
        The records of the arms run now (an arm that failed is reported and left out).

    Raises:
        SystemExit: With status 1 when an arm failed (after the others ran).
    """
    args = parse_args(argv)
    if args.worker is not None:
        _worker_main(args.worker)
        return []
    if args.list:
        print(list_levers())
        return []
    args.out.mkdir(parents=True, exist_ok=True)
    jsonl, table = results_path(args, "jsonl"), results_path(args, "md")
    settings = study_settings(args)
    records = read_records(jsonl)
    if not any(
        r.get("kind") == "floor" and _settings_key(r["settings"]) == _settings_key(settings)
        for r in records
    ):
        record = floor_record(settings)
        _append(jsonl, record)
        records.append(record)
    done = {_arm_key(r) for r in records if r.get("kind") == "arm"}
    # The workers import the library of this checkout, whatever the environment installs.
    pythonpath = os.pathsep.join(
        p for p in (str(common.REPO_ROOT), os.environ.get("PYTHONPATH")) if p
    )
    ran, failed = [], []
    cpu, checkout = cpu_model(), _checkout()
    for seed in args.seed_list:
        for lever in args.lever_names:
            key = (_settings_key(settings), args.backend, seed, lever)
            if key in done and not args.force:
                print(f"{lever} seed {seed}: in {jsonl.name}, skipped (--force reruns it)")
                continue
            spec = {"lever": lever, "seed": seed, "quick": args.quick, "settings": settings}
            load_start, started = _load(), time.perf_counter()
            try:
                figures = run_worker(
                    __file__,
                    ["--worker", json.dumps(spec)],
                    args.backend,
                    env={"PYTHONPATH": pythonpath},
                )
            except RuntimeError as error:
                print(f"{lever} seed {seed}: FAILED\n{error}", flush=True)
                failed.append((lever, seed))
                continue
            record = {
                "kind": "arm",
                "lever": lever,
                "seed": seed,
                "settings": settings,
                **figures,
                "backend": args.backend,
                "arm_seconds": time.perf_counter() - started,
                "load_start": load_start,
                "load_end": _load(),
                "cpu": cpu,
                "cores": os.cpu_count(),
                "checkout": checkout,
                "date": time.strftime("%Y-%m-%d %H:%M:%S"),
            }
            _append(jsonl, record)
            records.append(record)
            ran.append(record)
            table.write_text(render_table(records))
            print(
                f"{lever} seed {seed}: SWD {record['swd']:.2f} ({record['generator']}), raw "
                f"{record['swd_raw']:.2f}, train {record['train_seconds']:.0f} s",
                flush=True,
            )
    text = render_table(records)
    table.write_text(text)
    print(text)
    print(f"Wrote {jsonl} and {table}.")
    if failed:
        print(f"Failed arms: {failed}", file=sys.stderr)
        raise SystemExit(1)
    return ran


if __name__ == "__main__":
    main()
