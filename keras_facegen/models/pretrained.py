"""Pretrained models shipped inside the package (no download).

``face64_synthetic``: the ``face64_small`` preset (16-d uniform latent, 64x64) trained on the
built-in synthetic faces by ``scripts/make_pretrained.py`` (its recipe is in ``facegen.json``
beside the models and in ``docs/explorer.md``). It is what ``keras-facegen serve``, ``sample``
and ``morph`` use when ``--model`` names it, right after ``pip install``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Literal

import keras

__all__ = ["PretrainedGAN", "load_trained", "pretrained", "pretrained_dir", "pretrained_names"]

#: Where the shipped models live: ``<package>/pretrained/<name>/``.
PRETRAINED_ROOT = Path(__file__).resolve().parent.parent / "pretrained"
GENERATOR_FILE = "generator.keras"
DISCRIMINATOR_FILE = "discriminator.keras"
INFO_FILE = "facegen.json"


@dataclasses.dataclass(frozen=True)
class PretrainedGAN:
    """A shipped generator and discriminator with the facts needed to sample them.

    It follows the generator protocol of :func:`keras_facegen.latent.as_generator` (it has a
    ``.generator``), so it can be passed wherever a generator is expected.

    Attributes:
        name: The pretrained model's name.
        generator: The generator, latents ``(N, latent_dim)`` -> images ``(N, R, R, 3)`` in
            ``[-1, 1]``.
        discriminator: The discriminator (two logits, class 1 = real), or ``None``.
        latent_dim: The latent size.
        latent_distribution: ``"uniform"`` (``[-1, 1]``, every latent has a hex code) or
            ``"normal"``.
        resolution: Image height and width.
        info: The recipe and run facts from ``facegen.json`` (steps, preset, backend, ...).
    """

    name: str
    generator: keras.Model
    discriminator: keras.Model | None
    latent_dim: int
    latent_distribution: str
    resolution: int
    info: dict[str, Any]


def pretrained_names() -> list[str]:
    """The names of the pretrained models shipped with the package.

    Returns:
        Sorted names, e.g. ``["face64_synthetic"]``.

    Example:
        >>> "face64_synthetic" in pretrained_names()
        True
    """
    if not PRETRAINED_ROOT.is_dir():
        return []
    return sorted(
        path.name for path in PRETRAINED_ROOT.iterdir() if (path / GENERATOR_FILE).is_file()
    )


def pretrained_dir(name: str) -> Path:
    """The folder holding a pretrained model's files.

    Args:
        name: A name from :func:`pretrained_names`.

    Returns:
        The folder with ``generator.keras``, ``discriminator.keras`` and ``facegen.json``.

    Raises:
        ValueError: If ``name`` is not a shipped model.

    Example:
        >>> (pretrained_dir("face64_synthetic") / "generator.keras").is_file()
        True
    """
    names = pretrained_names()
    if not isinstance(name, str) or name not in names:
        raise ValueError(
            f"Unknown pretrained model name={name!r}; available: "
            f"{', '.join(repr(n) for n in names) or 'none'}."
        )
    return PRETRAINED_ROOT / name


def pretrained(name: str = "face64_synthetic", discriminator: bool = True) -> PretrainedGAN:
    """Loads a pretrained generator (and discriminator) shipped with the package.

    Nothing is downloaded: the ``.keras`` files are package data. They load on every Keras
    backend.

    Args:
        name: A name from :func:`pretrained_names`.
        discriminator: Also load the discriminator (for ranking samples).

    Returns:
        A :class:`PretrainedGAN`.

    Raises:
        ValueError: If ``name`` is not a shipped model.

    Example:
        >>> from keras_facegen import latent
        >>> gan = pretrained("face64_synthetic")
        >>> gan.latent_dim, gan.latent_distribution, gan.resolution
        (16, 'uniform', 64)
        >>> latent.generate_images(gan, latent.decode_hex("80" * 16)).shape
        (1, 64, 64, 3)
    """
    folder = pretrained_dir(name)
    info = json.loads((folder / INFO_FILE).read_text())
    generator = _load_file(folder / GENERATOR_FILE)
    critic = None
    if discriminator and (folder / DISCRIMINATOR_FILE).is_file():
        critic = _load_file(folder / DISCRIMINATOR_FILE)
    return PretrainedGAN(
        name=name,
        generator=generator,
        discriminator=critic,
        latent_dim=int(info["latent_dim"]),
        latent_distribution=str(info["latent_distribution"]),
        resolution=int(info["resolution"]),
        info=info,
    )


def load_trained(
    model: str | os.PathLike,
    discriminator: str | os.PathLike | Literal[False] | None = None,
) -> PretrainedGAN:
    """Loads a generator by pretrained name or from a ``.keras`` file, with its facts.

    A file is read as ``keras-facegen train`` writes it: the ``facegen.json`` beside it gives
    the latent distribution (``"normal"`` if absent) and ``discriminator.keras`` beside it is
    the default discriminator. A name from :func:`pretrained_names` loads the shipped model.
    An existing file wins over a name.

    Args:
        model: A generator ``.keras`` file or a pretrained name.
        discriminator: A discriminator ``.keras`` file; ``None`` uses the one beside the
            generator (or the shipped one) if there is one; ``False`` loads none.

    Returns:
        A :class:`PretrainedGAN` (``name`` is the pretrained name or the file's path).

    Raises:
        FileNotFoundError: If ``model`` is neither a file nor a pretrained name, or the
            discriminator file is missing.

    Example:
        >>> load_trained("face64_synthetic").resolution
        64
    """
    path = Path(model)
    if not path.is_file():
        if str(model) in pretrained_names():
            loaded = pretrained(str(model), discriminator=discriminator is None)
            if discriminator is None or discriminator is False:
                return loaded
            return dataclasses.replace(loaded, discriminator=_load_file(discriminator))
        raise FileNotFoundError(
            f"model={str(model)!r} is neither a generator .keras file nor a pretrained model "
            f"name (available: {', '.join(pretrained_names()) or 'none'})."
        )
    info_path = path.parent / INFO_FILE
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    generator = _load_file(path)
    critic = None
    if discriminator is None:
        beside = path.parent / DISCRIMINATOR_FILE
        critic = _load_file(beside) if beside.is_file() and beside != path else None
    elif discriminator is not False:
        critic = _load_file(discriminator)
    output_shape = generator.output_shape
    return PretrainedGAN(
        name=str(model),
        generator=generator,
        discriminator=critic,
        latent_dim=int(info.get("latent_dim", generator.input_shape[-1])),
        latent_distribution=str(info.get("latent_distribution", "normal")),
        resolution=int(info.get("resolution", output_shape[1])),
        info=info,
    )


def _load_file(path: str | os.PathLike) -> keras.Model:
    import keras_facegen.layers  # noqa: F401  (registers the custom layers)

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No model file at {str(path)!r}.")
    return keras.saving.load_model(path, compile=False)
