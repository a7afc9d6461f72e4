"""``keras-facegen code``: encode, decode and average hex face codes."""

from __future__ import annotations

import argparse
import json
from typing import Any

from keras_facegen.cli._args import CommandError, command_parser

NAME = "code"


def add_parser(subparsers: Any) -> None:
    """Adds ``code`` and its three actions."""
    code = command_parser(subparsers, NAME, help="encode, decode or average hex face codes")
    code_sub = code.add_subparsers(dest="code_command", metavar="ACTION", required=True)
    encode = code_sub.add_parser("encode", help="latent numbers in [-1, 1] -> hex code")
    encode.add_argument("values", nargs="+", type=float, help="latent coordinates")
    encode.add_argument(
        "--clip",
        action="store_true",
        help="clip coordinates outside [-1, 1] to the range instead of refusing them",
    )
    decode = code_sub.add_parser("decode", help="hex code -> latent numbers")
    decode.add_argument("code", help="hex code")
    average = code_sub.add_parser("average", help="byte-wise average of hex codes")
    average.add_argument("codes", nargs="+", help="hex codes of equal length")
    code.set_defaults(handler=run)


def run(args: argparse.Namespace) -> None:
    """Prints the code, the latent numbers (JSON) or the average code ``args`` ask for."""
    from keras_facegen import latent
    from keras_facegen.latent.codec import RANGE_TOLERANCE

    if args.code_command == "encode":
        outside = [v for v in args.values if abs(v) > 1.0 + RANGE_TOLERANCE]
        if outside and not args.clip:
            listed = ", ".join(f"{v:g}" for v in outside)
            raise CommandError(
                f"code encode: {listed} outside [-1, 1], the range a hex code stores; "
                "pass --clip to clip them to the range"
            )
        print(latent.encode_hex(args.values, clip=args.clip))
    elif args.code_command == "decode":
        print(json.dumps([round(float(v), 6) for v in latent.decode_hex(args.code)]))
    else:
        print(latent.average_codes(args.codes))
