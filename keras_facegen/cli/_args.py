"""What every command shares: its parser's shape, argument types and the one-line errors."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

PROG = "keras-facegen"


class CommandError(Exception):
    """Bad input found by the command line itself; printed as one line (exit status 2)."""


#: Exceptions a command may raise for bad input: printed as one line, exit status 2.
INPUT_ERRORS: tuple[type[Exception], ...] = (ValueError, OSError, CommandError)


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block), as every other error."""

    def error(self, message: str) -> NoReturn:
        hint = f" (see {self.prog} --help)"
        self.exit(2, f"{PROG}: error: {' '.join(message.split())}{hint}\n")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: ...)`` for options with a real default (not for flags or ``None``)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


# --- argument types: the parser reports "argument --x: <message>" and exits with status 2 ---


def int_type(minimum: int) -> Callable[[str], int]:
    """An argument type accepting integers ``>= minimum``."""
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


positive_int = int_type(1)
seed_int = int_type(0)


def decay(text: str) -> float:
    """An argument type accepting a number in (0, 1), e.g. an EMA decay."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), e.g. 0.999; got {text!r}")
    return value


def port(text: str) -> int:
    """An argument type accepting a TCP port number."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a TCP port in [0, 65535]; received {text!r}")
    return value


# --- command parsers ---


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        default=argparse.SUPPRESS,  # keeps a --verbose given before the command
        help="show TensorFlow/JAX start-up logs and library warnings (hidden by default)",
    )
    return common


def command_parser(subparsers: Any, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    """A command's parser with the shared options and help format.

    Args:
        subparsers: The top-level parser's ``add_subparsers()`` object.
        name: The command's name.
        **kwargs: ``help``, ``description``, ... as ``add_parser`` takes them.

    Returns:
        The new parser (its ``_parser`` default lets ``main`` find which options were typed).
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, parents=[_common_options()], formatter_class=HelpFormatter, **kwargs
    )
    parser.set_defaults(_parser=parser)
    return parser


def given_options(argv: Sequence[str], args: argparse.Namespace) -> set[str]:
    """The dests of the command's options that ``argv`` set explicitly."""
    sub = getattr(args, "_parser", None)
    if sub is None or args.command not in argv:
        return set()
    tail = list(argv[list(argv).index(args.command) + 1 :])
    unset = object()
    probe = argparse.Namespace(**{dest: unset for dest in vars(args)})
    sub.parse_known_args(tail, probe)
    return {dest for dest, value in vars(probe).items() if value is not unset}


def one_line(error: BaseException) -> str:
    """An exception as the one line printed after ``keras-facegen: error:``."""
    if isinstance(error, OSError) and error.filename and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return " ".join(str(error).split()) or type(error).__name__
