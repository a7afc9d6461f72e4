"""The ``keras-facegen`` command line.

Each command only wires library functions together; everything it does can be done from
Python with the functions it calls. Heavy imports (Keras and a backend) happen inside the
commands, so ``keras-facegen --help`` and ``--version`` answer at once.

Commands, one module each (its parser and its body):
    train     Train a DCGAN or a progressive GAN on synthetic faces or an image folder.
    sample    Write a grid of generated faces (optionally ranked by the discriminator).
    morph     Write a morphing GIF between two faces given as hex codes or seeds.
    code      Encode, decode and average hex face codes.
    serve     Serve the latent explorer page and its JSON/PNG API (uvicorn, 127.0.0.1).
    evaluate  Measure a generator against real faces (SWD, MS-SSIM, optional FID) as a table.
    prepare   Decode an image folder once into a multi-resolution cache (datasets beyond memory).
    crop-faces  Turn photos into aligned square face crops (needs the [faces] extra).

Adding a command: write ``keras_facegen/cli/<name>.py`` with ``add_parser(subparsers)`` (it
builds its parser with :func:`~keras_facegen.cli._args.command_parser` and sets
``handler=run``) and ``run(args)``, then list the module in :data:`COMMANDS`. A command may also
set ``before_framework=f``: ``f(args)`` runs before Keras is imported (checks that need no
framework, so bad input is refused at once) and returns ``True`` when it did the whole command.
A ``run`` raises ``ValueError`` / ``OSError`` / ``CommandError`` for bad input; :func:`main`
prints them as one line and exits with 2. Shared pieces: ``_args`` (parsers, argument types,
errors), ``_quiet`` (logs and threads), ``_paths`` (output checks), ``_models`` (the generator a
command loads), ``_runs`` (``facegen.json``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from keras_facegen import __version__
from keras_facegen.cli import code, crop_faces, evaluate, morph, prepare, sample, serve, train
from keras_facegen.cli._args import (
    INPUT_ERRORS,
    PROG,
    CommandError,
    Parser,
    given_options,
    one_line,
)
from keras_facegen.cli._quiet import (
    configure_backend_threads,
    import_quietly,
    quiet,
    quiet_environment,
    thread_environment,
)

__all__ = ["COMMANDS", "PROG", "CommandError", "build_parser", "main"]

#: The commands, in ``--help`` order: modules with ``add_parser(subparsers)`` and ``run(args)``.
COMMANDS: list[ModuleType] = [
    train,
    sample,
    morph,
    code,
    serve,
    evaluate,
    prepare,
    crop_faces,
]


def build_parser() -> argparse.ArgumentParser:
    """Builds the argument parser of the ``keras-facegen`` command.

    Returns:
        The parser, with one subparser per command of :data:`COMMANDS`.

    Example:
        >>> build_parser().parse_args(["sample", "--model", "g.keras"]).num
        16
    """
    parser = Parser(
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
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


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
    args._given = given_options(argv, args)
    args._argv = argv  # train --local-processes starts workers with the same command
    quiet_environment(verbose)
    thread_environment()
    before_framework = getattr(args, "before_framework", None)
    try:
        with quiet(verbose):
            # Checks (and work) that need no framework come first: a bad option is answered
            # without the seconds of importing Keras and its backend.
            if before_framework is not None and before_framework(args):
                return 0
            import_quietly("keras", verbose=verbose)
            configure_backend_threads(verbose)
            args.handler(args)
    except INPUT_ERRORS as error:
        print(f"{PROG}: error: {one_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = " (continue with --resume)" if args.command == "train" else ""
        print(f"{PROG}: interrupted{hint}", file=sys.stderr)
        return 130
    return 0
