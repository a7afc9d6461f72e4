"""The ``keras-facegen`` command line.

Each subcommand only wires library functions together; everything it does can be done from
Python with the functions it calls. Heavy imports (Keras and a backend) happen inside the
subcommands, so ``keras-facegen --help`` and ``--version`` answer at once.

Subcommands:
    train   Train a DCGAN preset on the built-in synthetic faces or an image folder.
    sample  Write a grid of generated faces (optionally ranked by the discriminator).
    morph   Write a morphing GIF between two faces given as hex codes or seeds.
    code    Encode, decode and average hex face codes.
    serve   Serve the latent explorer page and its JSON/PNG API (uvicorn, 127.0.0.1).
    evaluate  Measure a generator against real faces (SWD, MS-SSIM, optional FID) as a table.
    prepare Decode an image folder once into a multi-resolution cache (datasets beyond memory).

Adding a subcommand: write ``_add_<name>(subparsers)`` (it builds the subparser with
:func:`_command_parser` and sets ``handler=_cmd_<name>``) and ``_cmd_<name>(args)``, then list
``_add_<name>`` in ``_SUBCOMMANDS``. Handlers raise ``ValueError`` / ``OSError`` /
:class:`CommandError` for bad input; :func:`main` prints them as one line and exits with 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from keras_facegen import __version__

PROG = "keras-facegen"

#: Exceptions a handler may raise for bad input: printed as one line, exit status 2.
_INPUT_ERRORS: tuple[type[BaseException], ...] = (ValueError, OSError)

#: Modules whose Python warnings and log records are hidden unless ``--verbose``.
_NOISY_MODULES = ("tensorflow", "tensorflow_hub", "keras", "jax", "jaxlib", "absl", "torch")

#: Model files ``--model`` / ``--discriminator`` accept.
_MODEL_SUFFIXES = (".keras", ".h5")

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


class CommandError(Exception):
    """Bad input found by the command line itself; printed as one line (exit status 2)."""


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: ...)`` for options with a real default (not for flags or ``None``)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


# --- argument types: argparse reports "argument --x: <message>" and exits with status 2 ---


def _int_type(minimum: int) -> Callable[[str], int]:
    expected = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}; received {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {expected}; received {text!r}")
        return value

    parse.__name__ = "positive integer" if minimum == 1 else f"integer >= {minimum}"
    return parse


_positive_int = _int_type(1)
_seed_int = _int_type(0)


def _decay(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), e.g. 0.999; got {text!r}")
    return value


# --- the parser: one _add_<command> function per subcommand ---


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        default=argparse.SUPPRESS,  # keeps a --verbose given before the subcommand
        help="show TensorFlow/JAX start-up logs and library warnings (hidden by default)",
    )
    return common


def _command_parser(subparsers: Any, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    """A subcommand parser with the shared options and help format."""
    parser = subparsers.add_parser(
        name, parents=[_common_options()], formatter_class=_HelpFormatter, **kwargs
    )
    parser.set_defaults(_parser=parser)
    return parser


def _add_train(subparsers: Any) -> None:
    train = _command_parser(
        subparsers,
        "train",
        help="train a DCGAN or a progressive GAN on synthetic faces or an image folder",
        description=(
            "Train a DCGAN preset. The run folder (--out) gets checkpoints, sample grids, "
            "generator.keras, discriminator.keras and facegen.json (every setting that shapes "
            "the run; --resume rebuilds the GAN from it)."
        ),
    )
    train.add_argument(
        "--model",
        choices=("dcgan", "pggan"),
        default="dcgan",
        help="dcgan: a fixed-size GAN trained --steps steps; pggan: a progressive GAN grown "
        "4x4 -> --resolution, --phase-images images per fade and per stable phase",
    )
    train.add_argument(
        "--preset",
        default=None,
        help="model preset (default: face96 for dcgan, pggan64_small for pggan)",
    )
    train.add_argument(
        "--phase-images",
        type=_positive_int,
        default=None,
        metavar="N",
        help="pggan: images per fade-in and per stable phase (default: the preset's)",
    )
    train.add_argument(
        "--data",
        default="synthetic",
        help=(
            "'synthetic' for the built-in procedural faces, a folder of images (decoded into "
            "memory), or a cache folder written by `keras-facegen prepare` (streamed from disk)"
        ),
    )
    train.add_argument("--steps", type=_positive_int, default=2000, help="total training steps")
    train.add_argument(
        "--batch-size",
        type=_positive_int,
        default=None,
        help="images per step (default: the preset's)",
    )
    train.add_argument(
        "--resolution", type=_positive_int, default=None, help="image size (default: the preset's)"
    )
    train.add_argument("--out", type=Path, default=Path("runs/facegen"), help="run folder")
    existing = train.add_mutually_exclusive_group()
    existing.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out with the settings in its facegen.json",
    )
    existing.add_argument(
        "--overwrite",
        action="store_true",
        help="delete the run already in --out (checkpoint, grids, models) and start afresh",
    )
    train.add_argument(
        "--no-matching",
        action="store_true",
        help="train without feature matching and mean-image matching",
    )
    train.add_argument(
        "--sample-every",
        type=_positive_int,
        default=None,
        help="steps between sample grids (default: --checkpoint-every)",
    )
    train.add_argument(
        "--checkpoint-every",
        type=_positive_int,
        default=None,
        help="steps between checkpoints (default: min(steps, 200))",
    )
    train.add_argument(
        "--num-images", type=_positive_int, default=10000, help="synthetic faces to draw"
    )
    train.add_argument(
        "--ema",
        type=_decay,
        default=None,
        metavar="DECAY",
        help="keep an EMA of the generator weights (e.g. 0.999); grids and generator.keras use it",
    )
    train.add_argument(
        "--seed", type=_seed_int, default=0, help="random seed (weights, data order, latents)"
    )
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(handler=_cmd_train)


def _add_sample(subparsers: Any) -> None:
    sample = _command_parser(subparsers, "sample", help="write a grid of generated faces")
    sample.add_argument(
        "--model",
        type=Path,
        required=True,
        help=(
            "a generator .keras file (latent vector in, image out), e.g. "
            "runs/x/generator.keras, or a pretrained name, e.g. face64_synthetic"
        ),
    )
    sample.add_argument("--num", type=_positive_int, default=16, help="number of faces")
    sample.add_argument("--out", type=Path, default=Path("grid.png"), help="PNG or JPEG path")
    sample.add_argument("--seed", type=_seed_int, default=0, help="latent seed")
    sample.add_argument(
        "--rows", type=_positive_int, default=None, help="grid rows (default: square)"
    )
    sample.add_argument(
        "--rank",
        action="store_true",
        help="rank faces by the discriminator and write the labelled worst/best two-row sheet",
    )
    sample.add_argument(
        "--discriminator",
        type=Path,
        default=None,
        help="discriminator .keras for --rank (default: discriminator.keras beside --model)",
    )
    sample.add_argument("--top-k", type=_positive_int, default=10, help="faces per row with --rank")
    sample.set_defaults(handler=_cmd_sample)


_ENDPOINT_HELP = (
    "a hex code (two hex digits per latent coordinate: 32 for a 16-d generator, even if all "
    "digits) or a seed written seed:N (a bare integer of another length is read as a seed too)"
)


def _add_morph(subparsers: Any) -> None:
    morph = _command_parser(
        subparsers,
        "morph",
        help="write a morphing GIF between two faces",
        description=(
            "Write a GIF morphing between two faces. Each end is a hex code (exactly "
            "2 x latent_dim hex digits, e.g. from `keras-facegen code encode`) or a seed "
            "(seed:42)."
        ),
    )
    source = morph.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--model",
        type=Path,
        help="a generator .keras file or a pretrained name (e.g. face64_synthetic)",
    )
    source.add_argument("--hub", metavar="HANDLE", help="a TF-Hub ProGAN handle or folder")
    morph.add_argument("--from", dest="start", required=True, metavar="CODE|seed:N",
                       help=_ENDPOINT_HELP)  # fmt: skip
    morph.add_argument("--to", dest="end", required=True, metavar="CODE|seed:N",
                       help=_ENDPOINT_HELP)  # fmt: skip
    morph.add_argument("--steps", type=_positive_int, default=25, help="frames")
    morph.add_argument(
        "--method",
        choices=("hypersphere", "slerp", "lerp", "line"),
        default="hypersphere",
        help="interpolation",
    )
    morph.add_argument("--duration", type=_positive_int, default=80, help="milliseconds per frame")
    morph.add_argument("--out", type=Path, default=Path("morph.gif"), help="GIF path")
    morph.set_defaults(handler=_cmd_morph)


def _add_code(subparsers: Any) -> None:
    code = _command_parser(subparsers, "code", help="encode, decode or average hex face codes")
    code_sub = code.add_subparsers(dest="code_command", metavar="ACTION", required=True)
    encode = code_sub.add_parser("encode", help="latent numbers in [-1, 1] -> hex code")
    encode.add_argument("values", nargs="+", type=float, help="latent coordinates")
    decode = code_sub.add_parser("decode", help="hex code -> latent numbers")
    decode.add_argument("code", help="hex code")
    average = code_sub.add_parser("average", help="byte-wise average of hex codes")
    average.add_argument("codes", nargs="+", help="hex codes of equal length")
    code.set_defaults(handler=_cmd_code)


def _add_prepare(subparsers: Any) -> None:
    prepare = _command_parser(
        subparsers,
        "prepare",
        help="decode an image folder once into a multi-resolution cache for training",
        description=(
            "Decode every image under PATH once (centre crop, area resize, RGB) and write every "
            "power-of-two resolution from 4 up to --resolution as sharded .npy files plus a "
            "manifest. `train --data CACHE` then streams batches from disk, for datasets that "
            "do not fit in memory. Unreadable files are skipped and counted."
        ),
    )
    prepare.add_argument("path", type=Path, help="folder of images (searched recursively)")
    prepare.add_argument("--out", type=Path, required=True, help="cache folder (new or empty)")
    prepare.add_argument(
        "--resolution",
        type=_positive_int,
        required=True,
        help="top resolution, a power of two >= 4 (e.g. 256)",
    )
    prepare.add_argument(
        "--shard-size",
        type=_positive_int,
        default=None,
        help="images per shard file at --resolution (default: about 128 MiB per file)",
    )
    prepare.add_argument(
        "--workers", type=_positive_int, default=None, help="decoding threads (default: CPUs, <= 8)"
    )
    prepare.add_argument(
        "--overwrite", action="store_true", help="replace a cache already in --out"
    )
    prepare.set_defaults(handler=_cmd_prepare)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a TCP port in [0, 65535]; received {text!r}")
    return value


def _add_serve(subparsers: Any) -> None:
    serve = _command_parser(
        subparsers,
        "serve",
        help="serve the latent explorer page (sliders, hex codes, morphs) and its API",
        description=(
            "Serve the latent explorer: a page with one slider per latent coordinate (or "
            "direction), the face redrawn live, hex codes and permalinks, good/bad marks and "
            "their offset, morphs and a discriminator-ranked gallery; plus its JSON/PNG API. "
            "Needs the explorer extra: pip install 'keras-facegen[explorer]'."
        ),
    )
    source = serve.add_mutually_exclusive_group()
    source.add_argument(
        "--model",
        type=Path,
        default=Path("face64_synthetic"),
        metavar="PATH|NAME",
        help="a generator .keras file or a pretrained name (shipped, no download)",
    )
    source.add_argument("--hub", metavar="HANDLE", help="a TF-Hub ProGAN handle or folder")
    serve.add_argument(
        "--discriminator",
        type=Path,
        default=None,
        help="discriminator .keras for the ranked gallery (default: the one beside --model)",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (this machine only by default)"
    )
    serve.add_argument("--port", type=_port, default=8000, help="TCP port")
    serve.set_defaults(handler=_cmd_serve)


#: One entry per subcommand, in ``--help`` order.
def _add_evaluate(subparsers: Any) -> None:
    evaluate = _command_parser(
        subparsers,
        "evaluate",
        help="measure a generator against real faces (SWD, MS-SSIM, optional FID)",
    )
    evaluate.add_argument(
        "--model",
        type=Path,
        required=True,
        help="a generator .keras file (or a pretrained name, e.g. face64_synthetic)",
    )
    evaluate.add_argument(
        "--data",
        default="synthetic",
        help="'synthetic' for held-out built-in faces (seed --data-seed), or a folder of images",
    )
    evaluate.add_argument(
        "--num", type=_positive_int, default=2048, help="real and generated faces (each)"
    )
    evaluate.add_argument(
        "--metrics",
        default="swd,ms_ssim",
        help="comma-separated: swd, ms_ssim, fid (fid needs --fid-weights)",
    )
    evaluate.add_argument("--seed", type=_seed_int, default=0, help="latent and metric seed")
    evaluate.add_argument(
        "--data-seed",
        type=_seed_int,
        default=1000,
        help="seed of the synthetic faces (train uses --seed, 0 by default: keep them apart)",
    )
    evaluate.add_argument(
        "--projections",
        type=_positive_int,
        default=128,
        help="SWD directions per repeat (128 as the reference code; the paper's 512 is 4x slower)",
    )
    evaluate.add_argument(
        "--fid-weights",
        type=Path,
        default=None,
        help="InceptionV3 (include_top=False) weights file for FID; nothing is downloaded",
    )
    evaluate.set_defaults(handler=_cmd_evaluate)


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from keras_facegen import latent, metrics

    names = [m.strip() for m in args.metrics.split(",") if m.strip()]
    unknown = sorted(set(names) - {"swd", "ms_ssim", "fid"})
    if not names or unknown:
        raise CommandError(
            f"--metrics {args.metrics!r}: unknown {unknown}; choose from swd, ms_ssim, fid"
        )
    if "fid" in names and args.fid_weights is None:
        raise CommandError(
            "--metrics fid needs --fid-weights PATH (InceptionV3 weights, include_top=False); "
            'nothing is downloaded. Save them once where there is internet: python -c "import '
            "keras; keras.applications.InceptionV3(include_top=False, pooling='avg')"
            ".save_weights('inception_v3_notop.weights.h5')\""
        )
    args.model = resolve_model(args.model)
    generator = load_generator(args.model, "--model")
    distribution = _run_info(args.model).get("latent_distribution", "normal")
    _, latent_dim = latent.as_generator(generator)
    resolution = int(generator.output_shape[1])
    if str(args.data) == "synthetic":
        from keras_facegen.data import synthetic_faces

        real, _ = synthetic_faces(args.num, resolution=resolution, seed=args.data_seed)
        source = f"synthetic faces (seed {args.data_seed})"
    else:
        from keras_facegen.data import load_images

        real = load_images(args.data, resolution)
        if len(real) < args.num:
            raise CommandError(
                f"--data {str(args.data)!r} holds {len(real)} images; --num {args.num} needs at "
                "least that many (pass a smaller --num)"
            )
        real = real[: args.num].astype("float32") / 127.5 - 1.0
        source = f"{args.data} ({len(real)} images)"
    z = latent.sample_latents(args.num, latent_dim, distribution, seed=args.seed)
    fake = latent.generate_images(generator, z)
    rows: list[tuple[str, str, str]] = []
    if "swd" in names:
        swd = metrics.sliced_wasserstein_distance(
            real, fake, num_projections=args.projections, seed=args.seed
        )
        for res, value in swd.per_level.items():
            rows.append((f"SWD {res}x{res} (x1e3)", f"{value:.3f}", "lower is better"))
        rows.append(("SWD mean (x1e3)", f"{swd.mean:.3f}", "lower is better"))
    if "ms_ssim" in names:
        pairs = min(1000, args.num * 4)
        rows.append(
            (
                "MS-SSIM generated",
                f"{metrics.mean_ms_ssim(fake, num_pairs=pairs, seed=args.seed):.4f}",
                "diversity: near the real figure is best",
            )
        )
        rows.append(
            (
                "MS-SSIM real",
                f"{metrics.mean_ms_ssim(real, num_pairs=pairs, seed=args.seed):.4f}",
                "reference",
            )
        )
    if "fid" in names:
        fid = metrics.frechet_inception_distance(real, fake, weights=args.fid_weights)
        rows.append(("FID (Keras InceptionV3)", f"{fid:.3f}", "lower is better"))
    print(f"{args.model} vs {source}: {args.num} faces each, {resolution}x{resolution}")
    print("| metric | value | note |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


_SUBCOMMANDS: list[Callable[[Any], None]] = [
    _add_train,
    _add_sample,
    _add_morph,
    _add_code,
    _add_serve,
    _add_evaluate,
    _add_prepare,
]


def build_parser() -> argparse.ArgumentParser:
    """Builds the argument parser of the ``keras-facegen`` command.

    Returns:
        The parser, with one subparser per subcommand.

    Example:
        >>> build_parser().parse_args(["sample", "--model", "g.keras"]).num
        16
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Generate faces with GANs on Keras 3 (TensorFlow, JAX or PyTorch; pick one with "
            "the KERAS_BACKEND environment variable)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="show framework logs and warnings"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in _SUBCOMMANDS:
        add(subparsers)
    return parser


# --- running a command: quiet frameworks, one-line errors ---


@contextlib.contextmanager
def _stderr_to_file() -> Iterator[Any]:
    """Sends the process's file descriptor 2 (C++ logging too) to a temporary file."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield capture
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def import_quietly(*modules: str, verbose: bool = False) -> None:
    """Imports modules with their start-up chatter hidden (shown again if an import fails).

    TensorFlow writes its oneDNN and CUDA-probe lines before its logging is configured, so
    ``TF_CPP_MIN_LOG_LEVEL`` cannot hide them; the import runs with file descriptor 2
    redirected instead.

    Args:
        *modules: Module names, e.g. ``"keras"`` (which imports the Keras backend).
        verbose: Import normally, chatter included.

    Raises:
        ImportError: As the import does; the hidden output is printed first.
    """
    import importlib

    if verbose:
        for module in modules:
            importlib.import_module(module)
        return
    with _stderr_to_file() as capture:
        try:
            for module in modules:
                importlib.import_module(module)
        except BaseException:
            failed = True
        else:
            failed = False
    if failed:
        capture_text = ""
        with contextlib.suppress(OSError, ValueError):
            capture.seek(0)
            capture_text = capture.read().decode(errors="replace")
        sys.stderr.write(capture_text)
        for module in modules:
            importlib.import_module(module)


def _quiet_environment(verbose: bool) -> None:
    """Environment settings read by TensorFlow/JAX at import time (user settings win)."""
    if not verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("GRPC_VERBOSITY", "ERROR")


def selected_backend() -> str:
    """The Keras backend a fresh ``import keras`` will pick, read without importing Keras.

    Returns:
        ``$KERAS_BACKEND``, else the ``backend`` of ``$KERAS_HOME/keras.json`` (default
        ``~/.keras``), else ``"tensorflow"``.
    """
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    name = os.environ.get("KERAS_BACKEND")
    if name:
        return name
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    try:
        return str(json.loads((home / "keras.json").read_text()).get("backend", "tensorflow"))
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def _thread_environment() -> None:
    """Before PyTorch loads OpenMP: idle OpenMP threads sleep instead of spinning.

    Spinning threads compete with the threads doing work whenever other jobs share the CPU
    (33 s instead of 0.37 s per step measured on a loaded 2-core machine, docs/training.md).
    ``OMP_WAIT_POLICY`` set by the user wins.
    """
    if selected_backend() == "torch" and "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@contextlib.contextmanager
def _quiet(verbose: bool) -> Iterator[None]:
    """Hides framework warnings and log records (not keras-facegen's own) unless verbose."""
    if verbose:
        yield
        return
    loggers = [logging.getLogger(name) for name in _NOISY_MODULES]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        for module in _NOISY_MODULES:
            warnings.filterwarnings("ignore", module=rf"{module}(\.|$)")
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)


def _configure_backend_threads() -> None:
    import keras

    if keras.backend.backend() == "torch":
        from keras_facegen.backend.torch.threads import configure_threads

        configure_threads()


def _given_options(parser: argparse.ArgumentParser, argv: list[str], args: Any) -> set[str]:
    """The dests of the subcommand's options that ``argv`` set explicitly."""
    sub = getattr(args, "_parser", None)
    if sub is None or args.command not in argv:
        return set()
    tail = argv[argv.index(args.command) + 1 :]
    unset = object()
    probe = argparse.Namespace(**{dest: unset for dest in vars(args)})
    sub.parse_known_args(tail, probe)
    return {dest for dest, value in vars(probe).items() if value is not unset}


def _one_line(error: BaseException) -> str:
    if isinstance(error, OSError) and error.filename and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return " ".join(str(error).split()) or type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the ``keras-facegen`` command.

    Framework start-up logs and warnings are hidden unless ``--verbose``; bad input ends with
    one line ``keras-facegen: error: ...`` on stderr and exit status 2.

    Args:
        argv: Command-line arguments without the program name; defaults to ``sys.argv[1:]``.

    Returns:
        The process exit status (0 on success, 2 on bad input, 130 if interrupted).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 0
    verbose = bool(args.verbose)
    args._given = _given_options(parser, argv, args)
    _quiet_environment(verbose)
    _thread_environment()
    try:
        with _quiet(verbose):
            import_quietly("keras", verbose=verbose)
            _configure_backend_threads()
            args.handler(args)
    except (*_INPUT_ERRORS, CommandError) as error:
        print(f"{PROG}: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = " (continue with --resume)" if args.command == "train" else ""
        print(f"{PROG}: interrupted{hint}", file=sys.stderr)
        return 130
    return 0


# --- shared checks ---


def check_output_file(path: Path, argument: str, suffixes: Sequence[str]) -> Path:
    """Checks before any work that an output file can be written (format and folder).

    Args:
        path: The file to be written; its folder is created if missing.
        argument: The option's name, for messages.
        suffixes: Accepted extensions (lower case, with the dot).

    Returns:
        ``path``.

    Raises:
        CommandError: On another extension, a folder in the way, or a folder that cannot be
            created or written to.
    """
    if path.suffix.lower() not in suffixes:
        raise CommandError(
            f"{argument} {str(path)!r}: expected a file ending in {' or '.join(suffixes)}"
        )
    if path.is_dir():
        raise CommandError(f"{argument} {str(path)!r} is a folder; expected a file path")
    check_output_folder(path.parent, argument, of=path)
    return path


def check_output_folder(folder: Path, argument: str, of: Path | None = None) -> Path:
    """Creates ``folder`` if needed and checks a file can be written in it.

    Args:
        folder: The output folder.
        argument: The option's name, for messages.
        of: The output file the folder is for (named in messages instead of the folder).

    Returns:
        ``folder``.

    Raises:
        CommandError: If the folder cannot be created or written to.
    """
    name = str(of if of is not None else folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        reason = error.strerror or str(error)
        if isinstance(error, (FileExistsError, NotADirectoryError)):
            reason = "a file is in the way of its folder"
        raise CommandError(f"{argument} {name!r} cannot be written: {reason}") from None
    return folder


def _load_model(path: Path, argument: str, expected: str) -> Any:
    import keras

    import keras_facegen.layers  # noqa: F401  (registers the custom layers for loading)
    import keras_facegen.models  # noqa: F401

    if not path.is_file():
        from keras_facegen.models.pretrained import pretrained_names

        names = ", ".join(pretrained_names())
        raise FileNotFoundError(
            f"{argument}: no model file at {str(path)!r}; expected a .keras file or a "
            f"pretrained name ({names})"
        )
    if path.suffix.lower() not in _MODEL_SUFFIXES:
        raise CommandError(
            f"{argument} {str(path)!r} is not a Keras model file; expected {expected}"
        )
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as error:  # Keras raises many kinds for a damaged or foreign file
        reason = " ".join(str(error).split())[:200]
        raise CommandError(
            f"{argument} {str(path)!r} could not be loaded ({reason}); expected {expected}"
        ) from None


def _shape_text(shape: Any) -> str:
    return "(" + ", ".join("N" if d is None else str(d) for d in shape) + ")"


_GENERATOR_EXPECTED = "a generator .keras file (latent vector in, image out), e.g. generator.keras"
_DISCRIMINATOR_EXPECTED = "a discriminator .keras file (image in, score out)"


def load_generator(path: Path, argument: str = "--model") -> Any:
    """Loads a generator ``.keras`` file, checking it maps latent vectors to images.

    Args:
        path: The model file.
        argument: The option's name, for messages.

    Returns:
        The Keras model.

    Raises:
        FileNotFoundError: If there is no file.
        CommandError: If it is not a Keras model or not a generator (e.g. a discriminator).
    """
    model = _load_model(path, argument, _GENERATOR_EXPECTED)
    inputs, outputs = _io_shapes(model)
    if not (len(inputs) == 2 and len(outputs) == 4 and outputs[-1] in (1, 3)):
        raise CommandError(
            f"{argument} {str(path)!r} maps {_shape_text(inputs)} to {_shape_text(outputs)}; "
            f"expected {_GENERATOR_EXPECTED}"
        )
    return model


def load_discriminator(path: Path, argument: str = "--discriminator") -> Any:
    """Loads a discriminator ``.keras`` file, checking it maps images to scores.

    Args:
        path: The model file.
        argument: The option's name, for messages.

    Returns:
        The Keras model.

    Raises:
        FileNotFoundError: If there is no file.
        CommandError: If it is not a Keras model or does not take images.
    """
    model = _load_model(path, argument, _DISCRIMINATOR_EXPECTED)
    inputs, _ = _io_shapes(model)
    if len(inputs) != 4:
        raise CommandError(
            f"{argument} {str(path)!r} takes {_shape_text(inputs)} inputs; "
            f"expected {_DISCRIMINATOR_EXPECTED}"
        )
    return model


def _io_shapes(model: Any) -> tuple[tuple, tuple]:
    def first(shape: Any) -> tuple:
        if isinstance(shape, list) and shape and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return tuple(shape) if isinstance(shape, (tuple, list)) else ()

    try:
        return first(model.input_shape), first(model.output_shape)
    except (AttributeError, ValueError, RuntimeError):
        return (), ()


def resolve_model(path: Path) -> Path:
    """A ``--model`` value as a file: a pretrained name becomes its shipped generator file.

    An existing file wins over a name; anything else is returned unchanged (and reported
    missing by :func:`load_generator`).

    Args:
        path: The value given on the command line.

    Returns:
        The generator file to load.

    Example:
        >>> resolve_model(Path("face64_synthetic")).name
        'generator.keras'
    """
    from keras_facegen.models.pretrained import GENERATOR_FILE, pretrained_dir, pretrained_names

    if not path.is_file() and str(path) in pretrained_names():
        return pretrained_dir(str(path)) / GENERATOR_FILE
    return path


def _run_info(model_path: Path) -> dict[str, Any]:
    """Reads the ``facegen.json`` that ``train`` writes beside its models (empty if absent)."""
    from keras_facegen.training import RUN_INFO_FILE

    return _read_run_info(model_path.parent / RUN_INFO_FILE)


def _read_run_info(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise CommandError(f"{str(path)!r} is not readable run information: {error}") from None
    if not isinstance(info, dict):
        raise CommandError(f"{str(path)!r} is not readable run information (not an object)")
    return info


def latent_from(value: str, latent_dim: int, distribution: str, argument: str) -> Any:
    """A latent from a hex code (exactly ``2 * latent_dim`` digits) or a seed (``seed:N``).

    A string of the code's length is always a code, even if all its digits are decimal. For
    backward compatibility a bare integer of another length is read as a seed.

    Args:
        value: The text given on the command line.
        latent_dim: The generator's latent size.
        distribution: The latent distribution seeds draw from.
        argument: The option's name, for messages.

    Returns:
        float32 latent ``(latent_dim,)``.

    Raises:
        ValueError: Naming the option, if ``value`` is neither.
    """
    from keras_facegen import latent

    text = value.strip()
    seed_text = text[5:] if text.lower().startswith("seed:") else None
    if seed_text is None and len(text) != 2 * latent_dim and text.isdigit():
        seed_text = text
    if seed_text is not None:
        if not seed_text.isdigit():
            raise ValueError(
                f"{argument}={value!r}: a seed must be seed:N with N a non-negative integer"
            )
        return latent.sample_latents(1, latent_dim, distribution, seed=int(seed_text))[0]
    try:
        return latent.decode_hex(text, latent_dim=latent_dim)
    except ValueError as error:
        raise ValueError(
            f"{argument}={value!r} is neither a hex code ({2 * latent_dim} hex digits for this "
            f"{latent_dim}-d generator) nor a seed (seed:N): {error}"
        ) from None


# --- the subcommands ---


def _print_json(value: Any) -> None:
    print(json.dumps(value))


def _cmd_code(args: argparse.Namespace) -> None:
    from keras_facegen import latent

    if args.code_command == "encode":
        print(latent.encode_hex(args.values))
    elif args.code_command == "decode":
        _print_json([round(float(v), 6) for v in latent.decode_hex(args.code)])
    else:
        print(latent.average_codes(args.codes))


def _cmd_prepare(args: argparse.Namespace) -> None:
    from keras_facegen.data import prepare_cache

    cache = prepare_cache(
        args.path,
        args.out,
        args.resolution,
        shard_size=args.shard_size,
        num_workers=args.workers,
        overwrite=args.overwrite,
    )
    size = sum(path.stat().st_size for r in cache.resolutions for path in cache.shard_files(r))
    skipped = f"; skipped {cache.skipped} unreadable file(s)" if cache.skipped else ""
    print(
        f"wrote {cache.path}: {cache.num_images} images at {cache.resolutions[0]}.."
        f"{cache.resolution} px ({len(cache.resolutions)} levels, {size / 2**20:.1f} MiB)"
        f"{skipped}"
    )


def _describe(dest: str, value: Any) -> str:
    if dest == "no_matching":
        return "--no-matching" if value else "matching on"
    if dest == "ema":
        return "no EMA" if value is None else f"--ema {value}"
    return f"{RUN_SETTINGS[dest][1]} {value}"


def _settings_for_resume(args: argparse.Namespace, info: dict[str, Any]) -> None:
    """Takes the run's settings from its facegen.json; refuses flags that disagree."""
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


def _cmd_train(args: argparse.Namespace) -> None:
    import keras

    from keras_facegen import models, training

    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {str(out)!r} is a file; expected a run folder")
    if args.resume:
        info = _read_run_info(out / training.RUN_INFO_FILE)
        _settings_for_resume(args, info)
        checkpoint = out / "checkpoint" / "checkpoint.npz"
        if not checkpoint.is_file():
            raise FileNotFoundError(
                f"--resume: no checkpoint at {str(checkpoint)!r}; start without --resume, or "
                "point --out at an earlier run"
            )
    else:
        existing = training.run_outputs(out)
        if existing and not args.overwrite:
            names = ", ".join(p.name + ("/" if p.is_dir() else "") for p in existing)
            raise CommandError(
                f"--out {str(out)!r} already holds a run ({names}); continue it with --resume "
                "or replace it with --overwrite"
            )
    check_output_folder(out, "--out")
    if args.model == "pggan":
        _train_pggan(args)
        return
    for dest, flag in (("phase_images", "--phase-images"),):
        if getattr(args, dest) is not None:
            raise CommandError(f"{flag} applies to --model pggan only")
    args.preset = args.preset or "face96"
    preset = models.get_preset(args.preset)  # an unknown name fails before the data is made
    if preset.get("family") == "pggan":
        raise CommandError(f"--preset {args.preset} is a progressive preset; add --model pggan")
    batch_size = args.batch_size or preset["batch_size"]
    resolution = args.resolution or preset["resolution"]
    args.batch_size, args.resolution = batch_size, resolution
    # --seed fixes the whole run: initial weights, data order, latents.
    keras.utils.set_random_seed(args.seed)
    images = training.training_images(args.data, resolution, args.num_images, args.seed)
    gan = models.gan_from_preset(
        preset,
        matching=not args.no_matching,
        resolution=resolution,
        ema_decay=args.ema,
        seed=args.seed,
    )
    settings = {key: getattr(args, dest) for dest, (key, _) in RUN_SETTINGS.items()}
    settings["matching"] = not args.no_matching
    settings.update({key: getattr(args, dest) for dest, key in RUN_SCHEDULE.items()})
    if args.overwrite:
        training.clear_run(out)
    result = training.train(
        gan,
        images,
        out,
        steps=args.steps,
        batch_size=batch_size,
        resume=args.resume,
        sample_every=args.sample_every,
        checkpoint_every=args.checkpoint_every,
        seed=args.seed,
        verbose=0 if args.quiet else 1,
        info=settings,
    )
    print(f"trained {result.steps} steps; wrote {result.generator_path}, {result.samples_path}")


def _train_pggan(args: argparse.Namespace) -> None:
    """``train --model pggan``: a progressive GAN grown stage by stage (see train_progressive)."""
    import keras

    from keras_facegen import models, training

    for dest, flag in (
        ("steps", "--steps"),
        ("batch_size", "--batch-size"),
        ("no_matching", "--no-matching"),
        ("sample_every", "--sample-every"),
    ):
        if dest in args._given:
            raise CommandError(
                f"{flag} does not apply to --model pggan (the schedule sets lengths and batch "
                "sizes; use --phase-images)"
            )
    args.preset = args.preset or "pggan64_small"
    preset = models.get_preset(args.preset)
    if preset.get("family") != "pggan":
        raise CommandError(
            f"--model pggan needs a progressive preset; --preset {args.preset} is not"
        )
    args.resolution = args.resolution or preset["resolution"]
    keras.utils.set_random_seed(args.seed)
    gan = models.progressive_gan_from_preset(  # bad --resolution fails before the data is made
        preset,
        resolution=args.resolution,
        phase_images=args.phase_images,
        ema_decay=args.ema,
        seed=args.seed,
    )
    images = training.training_images(args.data, args.resolution, args.num_images, args.seed)
    settings = {key: getattr(args, dest) for dest, (key, _) in RUN_SETTINGS.items()}
    settings.update(model="pggan", ema_decay=gan.ema_decay, matching=False, batch_size=None)
    settings["checkpoint_every"] = args.checkpoint_every
    result = training.train_progressive(
        gan,
        images,
        args.out,
        resume=args.resume,
        overwrite=args.overwrite,
        checkpoint_every=args.checkpoint_every or 200,
        seed=args.seed,
        verbose=0 if args.quiet else 1,
        info=settings,
    )
    seen = gan.counter_values()["images_seen"]
    print(
        f"trained {result.steps} steps ({seen:,} images, 4x4 -> {args.resolution}x"
        f"{args.resolution}); wrote {result.generator_path}, {result.samples_path}, "
        f"{args.out / training.PROGRESSION_FILE}"
    )


def _cmd_sample(args: argparse.Namespace) -> None:
    from keras_facegen import latent, sampling

    check_output_file(args.out, "--out", tuple(sampling.IMAGE_FORMATS))
    if args.rank and args.top_k > args.num:
        raise CommandError(f"--top-k {args.top_k} is more than --num {args.num} faces")
    if args.rows and args.rows > args.num:
        raise CommandError(f"--rows {args.rows} is more than --num {args.num} faces")
    args.model = resolve_model(args.model)
    generator = load_generator(args.model, "--model")
    info = _run_info(args.model)
    distribution = info.get("latent_distribution", "normal")
    _, latent_dim = latent.as_generator(generator)
    if args.rank:
        disc_path = args.discriminator or args.model.parent / "discriminator.keras"
        discriminator = load_discriminator(disc_path, "--discriminator")
        ranking = sampling.rank_by_discriminator(
            generator,
            discriminator,
            num_samples=args.num,
            top_k=args.top_k,
            seed=args.seed,
            distribution=distribution,
        )
        path = sampling.save_ranked_sheet(ranking, args.out, top_k=args.top_k, labels=True)
        lowest = ", ".join(f"{s:.3f}" for s in ranking.lowest_scores)
        highest = ", ".join(f"{s:.3f}" for s in ranking.highest_scores)
        print(f"lowest 'real' probabilities: {lowest}")
        print(f"highest 'real' probabilities: {highest}")
    else:
        z = latent.sample_latents(args.num, latent_dim, distribution, seed=args.seed)
        images = latent.generate_images(generator, z)
        rows = args.rows or max(1, int(round(args.num**0.5)))
        path = sampling.save_image(sampling.image_grid(images, rows=rows), args.out)
    print(f"wrote {path}")


def _cmd_morph(args: argparse.Namespace) -> None:
    from keras_facegen import latent, sampling

    check_output_file(args.out, "--out", (".gif",))
    if args.hub:
        from keras_facegen import hub

        import_quietly("tensorflow", "tensorflow_hub", verbose=bool(args.verbose))
        try:
            generator = hub.load_progan(args.hub)
        except hub.HubModuleUnavailableError as error:
            raise CommandError(f"--hub: {error}") from None
        distribution = "normal"
    else:
        args.model = resolve_model(args.model)
        generator = load_generator(args.model, "--model")
        distribution = _run_info(args.model).get("latent_distribution", "normal")
    _, latent_dim = latent.as_generator(generator)
    start = latent_from(args.start, latent_dim, distribution, "--from")
    end = latent_from(args.end, latent_dim, distribution, "--to")
    path_latents = latent.morph_path(start, end, args.steps, method=args.method)
    frames = latent.generate_images(generator, path_latents)
    path = sampling.save_gif(frames, args.out, duration=args.duration)
    print(f"wrote {path} ({len(frames)} frames, method={args.method})")


def _check_port_free(host: str, port: int) -> None:
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise CommandError(f"--host {host!r} is not a usable address: {error}") from None
    family, kind, _, _, address = infos[0]
    with socket.socket(family, kind) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise CommandError(
                f"cannot listen on {host}:{port} ({error.strerror or error}); pick another "
                "--port or stop the program using it"
            ) from None


def _cmd_serve(args: argparse.Namespace) -> None:
    try:
        from keras_facegen import explorer
    except ImportError as error:
        raise CommandError(
            f"serve needs the explorer extra ({error}); install it with "
            "pip install 'keras-facegen[explorer]'"
        ) from None
    _check_port_free(args.host, args.port)
    if args.hub:
        from keras_facegen import hub

        import_quietly("tensorflow", "tensorflow_hub", verbose=bool(args.verbose))
        try:
            generator = hub.load_progan(args.hub)
        except hub.HubModuleUnavailableError as error:
            raise CommandError(f"--hub: {error}") from None
        name, distribution, beside = f"ProGAN ({args.hub})", "normal", None
    else:
        name = str(args.model)
        args.model = resolve_model(args.model)
        generator = load_generator(args.model, "--model")
        distribution = _run_info(args.model).get("latent_distribution", "normal")
        beside = args.model.parent / "discriminator.keras"
    discriminator = None
    if args.discriminator is not None:
        discriminator = load_discriminator(args.discriminator, "--discriminator")
    elif beside is not None and beside.is_file():
        discriminator = load_discriminator(beside, "--discriminator")
    app = explorer.create_app(generator, discriminator, name=name, latent_distribution=distribution)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"serving {name} on http://{shown}:{args.port}/ (Ctrl-C to stop)", flush=True)
    log_level = "info" if args.verbose else "warning"
    explorer.serve(app, host=args.host, port=args.port, log_level=log_level)


if __name__ == "__main__":
    sys.exit(main())
