"""``keras-facegen serve``: the latent explorer page and its API, served with uvicorn."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from keras_facegen.cli._args import CommandError, command_parser, port
from keras_facegen.cli._models import discriminator_for, load_source

NAME = "serve"


def add_parser(subparsers: Any) -> None:
    """Adds ``serve`` and its options."""
    serve = command_parser(
        subparsers,
        NAME,
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
    serve.add_argument("--port", type=port, default=8000, help="TCP port")
    serve.set_defaults(handler=run)


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


def run(args: argparse.Namespace) -> None:
    """Serves the explorer until interrupted."""
    try:
        from keras_facegen import explorer
    except ImportError as error:
        raise CommandError(
            f"serve needs the explorer extra ({error}); install it with "
            "pip install 'keras-facegen[explorer]'"
        ) from None
    _check_port_free(args.host, args.port)
    source = load_source(args)
    discriminator = discriminator_for(source, args.discriminator, required=False)
    app = explorer.create_app(
        source.generator,
        discriminator,
        name=source.name,
        latent_distribution=source.latent_distribution,
    )
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"serving {source.name} on http://{shown}:{args.port}/ (Ctrl-C to stop)", flush=True)
    log_level = "info" if args.verbose else "warning"
    explorer.serve(app, host=args.host, port=args.port, log_level=log_level)
