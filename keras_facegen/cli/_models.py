"""The generator (and discriminator) a command works on, from ``--model`` or ``--hub``."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from keras_facegen.cli._args import CommandError
from keras_facegen.cli._quiet import import_quietly
from keras_facegen.cli._runs import latent_distribution


@dataclasses.dataclass(frozen=True)
class Source:
    """A loaded generator with what a command needs to sample it.

    Attributes:
        generator: The Keras generator (or a TF-Hub ProGAN).
        name: How to name it to the user (the ``--model`` value as typed, or the hub handle).
        latent_distribution: What seeds draw latents from (``facegen.json`` beside the file).
        path: The generator file, or ``None`` for a hub model.
        latent_dim: The generator's latent size.
    """

    generator: Any
    name: str
    latent_distribution: str
    path: Path | None
    latent_dim: int


def _latent_dim(generator: Any, name: str) -> int:
    from keras_facegen import latent

    _, latent_dim = latent.as_generator(generator)
    if latent_dim is None:
        raise CommandError(f"{name}: cannot tell the generator's latent size")
    return latent_dim


def load_source(args: argparse.Namespace) -> Source:
    """Loads ``--hub`` if given, else the generator ``--model`` names (a file or a name)."""
    if getattr(args, "hub", None):
        from keras_facegen import hub

        import_quietly("tensorflow", "tensorflow_hub", verbose=bool(args.verbose))
        try:
            generator = hub.load_progan(args.hub)
        except hub.HubModuleUnavailableError as error:
            raise CommandError(f"--hub: {error}") from None
        name = f"ProGAN ({args.hub})"
        return Source(generator, name, "normal", None, _latent_dim(generator, "--hub"))
    return load_model_source(args.model)


def load_model_source(model: Path) -> Source:
    """Loads the generator a ``--model`` value names (a ``.keras`` file or a pretrained name)."""
    from keras_facegen.models import load_generator, resolve_model

    path = resolve_model(model)
    generator = load_generator(path, argument="--model")
    distribution = latent_distribution(path)
    return Source(generator, str(model), distribution, path, _latent_dim(generator, "--model"))


def discriminator_for(source: Source, given: Path | None, required: bool) -> Any:
    """The discriminator of ``--discriminator``, else the one beside the generator file.

    Args:
        source: The loaded generator.
        given: The ``--discriminator`` value, if any.
        required: Load the file beside the generator even if missing (its absence is then an
            error naming ``--discriminator``); otherwise a missing one gives ``None``.

    Returns:
        The discriminator model, or ``None``.
    """
    from keras_facegen.models import load_discriminator

    if given is not None:
        return load_discriminator(given, argument="--discriminator")
    if source.path is None:
        return None
    beside = source.path.parent / "discriminator.keras"
    if required or beside.is_file():
        return load_discriminator(beside, argument="--discriminator")
    return None
