"""A ready-to-train :class:`~keras_facegen.models.GAN` from a named preset."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import keras

from keras_facegen import losses
from keras_facegen.models.dcgan import dcgan_discriminator, dcgan_generator
from keras_facegen.models.gan import GAN
from keras_facegen.models.pggan import pggan_discriminator, pggan_generator
from keras_facegen.models.presets import get_preset
from keras_facegen.models.progressive import ProgressiveGAN
from keras_facegen.models.schedule import ProgressiveSchedule

__all__ = [
    "TERM_CLASSES",
    "gan_from_preset",
    "optimizer_from_preset",
    "player_optimizers_from_preset",
    "progressive_gan_from_preset",
]

#: Term names used in presets' ``matching`` / ``penalties`` dicts -> the term classes (called
#: with the weight, or with the keyword arguments of a mapping).
TERM_CLASSES: dict[str, Callable[..., losses.Term]] = {
    "feature_matching": losses.FeatureMatching,
    "mean_image_matching": losses.MeanImageMatching,
    "gradient_penalty": losses.GradientPenalty,
    "r1_penalty": losses.R1Penalty,
    "drift": losses.Drift,
}


def _terms(weights: Mapping[str, Any], kind: str) -> list[losses.Term]:
    terms = []
    for name, weight in weights.items():
        if name not in TERM_CLASSES:
            raise ValueError(
                f"Unknown {kind} term {name!r} in the preset; known terms: "
                f"{', '.join(sorted(TERM_CLASSES))}."
            )
        # A number is the term's weight; a mapping its constructor arguments
        # ({"r1_penalty": {"gamma": 10.0, "every": 16}}).
        if isinstance(weight, Mapping):
            terms.append(TERM_CLASSES[name](**weight))
        else:
            terms.append(TERM_CLASSES[name](weight))
    return terms


def _objective(config: Mapping[str, Any], matching: bool = True) -> dict[str, Any]:
    """A preset's loss, terms and latent distribution, as GAN constructor arguments."""
    return {
        "loss": config["loss"],
        "penalties": _terms(config.get("penalties", {}), "penalty"),
        "matching": _terms(config.get("matching", {}), "matching") if matching else (),
        "latent_distribution": config["latent_distribution"],
    }


def _compile(gan: GAN, config: Mapping[str, Any]) -> None:
    generator_optimizer, discriminator_optimizer = player_optimizers_from_preset(config)
    gan.compile(
        generator_optimizer=generator_optimizer,
        discriminator_optimizer=discriminator_optimizer,
    )


def optimizer_from_preset(config: Mapping[str, Any]) -> keras.optimizers.Optimizer:
    """Builds a fresh optimizer from a preset's ``optimizer`` entry.

    Args:
        config: A dict with ``name`` (a Keras optimizer name) and its arguments, e.g.
            ``{"name": "adam", "learning_rate": 2e-4, "beta_1": 0.5}``.

    Returns:
        A new optimizer instance.

    Example:
        >>> adam = {"name": "adam", "learning_rate": 2e-4, "beta_1": 0.5}
        >>> optimizer = optimizer_from_preset(adam)
        >>> type(optimizer).__name__, float(optimizer.beta_1)
        ('Adam', 0.5)
    """
    config = dict(config)
    name = config.pop("name", "adam")
    return keras.optimizers.get({"class_name": name, "config": config})


def player_optimizers_from_preset(
    config: Mapping[str, Any],
) -> tuple[keras.optimizers.Optimizer, keras.optimizers.Optimizer]:
    """Builds the generator's and the discriminator's optimizers from a preset.

    ``optimizer`` is the default of both players; a ``generator_optimizer`` or
    ``discriminator_optimizer`` entry overrides it key by key (e.g.
    ``{"learning_rate": 1e-4}`` slows one player down), or replaces it whole when it names
    another optimizer (``name``).

    Args:
        config: A preset configuration (see ``get_preset``).

    Returns:
        ``(generator_optimizer, discriminator_optimizer)``, two new instances.

    Raises:
        ValueError: If an entry is not a dict.

    Example:
        >>> g, d = player_optimizers_from_preset(
        ...     {"optimizer": {"name": "adam", "learning_rate": 2e-4},
        ...      "discriminator_optimizer": {"learning_rate": 1e-4}})
        >>> round(float(g.learning_rate), 6), round(float(d.learning_rate), 6)
        (0.0002, 0.0001)
    """
    base = config.get("optimizer") or {}
    optimizers = []
    for key in ("optimizer", "generator_optimizer", "discriminator_optimizer"):
        entry = config.get(key)
        if entry is not None and not isinstance(entry, Mapping):
            raise ValueError(
                f"Expected the preset's {key!r} entry to be a dict such as "
                f"{{'name': 'adam', 'learning_rate': 2e-4}}; received {key}={entry!r}."
            )
    for key in ("generator_optimizer", "discriminator_optimizer"):
        entry = dict(config.get(key) or {})
        same = entry.get("name", base.get("name", "adam")) == base.get("name", "adam")
        optimizers.append(optimizer_from_preset({**base, **entry} if same else entry))
    return optimizers[0], optimizers[1]


def gan_from_preset(
    preset: str | Mapping[str, Any],
    *,
    matching: bool = True,
    resolution: int | None = None,
    ema_decay: float | None = None,
    seed: int | None = None,
    compile: bool = True,
    **gan_kwargs: Any,
) -> GAN:
    """Builds the generator, discriminator and GAN a preset describes.

    A progressive preset (family ``"pggan"``) gives a
    :class:`~keras_facegen.models.ProgressiveGAN`, see :func:`progressive_gan_from_preset`.

    The preset's adversarial loss, matching terms (e.g. ``face96``'s feature matching and
    mean-image matching, weight 0.1 each), penalties, latent distribution and optimizers
    (compiled in when ``compile=True``) are all taken from it.

    Args:
        preset: A preset name (see :func:`~keras_facegen.models.preset_names`) or dict.
        matching: Keep the preset's matching terms; ``False`` trains the plain adversarial
            game (to compare, or to reproduce the whitening drift of plain DCGAN training).
        resolution: Override the preset's image size (any size its filters allow).
        ema_decay: Keep an exponential moving average of the generator weights.
        seed: Seed of the train step's random numbers.
        compile: Compile with the preset's optimizers.
        **gan_kwargs: More :class:`~keras_facegen.models.GAN` arguments (``d_steps``,
            ``augment``, ...).

    Returns:
        A :class:`~keras_facegen.models.GAN`, compiled if ``compile`` is true.

    Raises:
        ValueError: On an unknown preset or term name.

    Example:
        >>> gan = gan_from_preset("face64_small", ema_decay=0.999)
        >>> gan.latent_dim, gan.generate(2, seed=0).shape
        (16, (2, 64, 64, 3))
        >>> history = gan.fit(images[:32], batch_size=32, epochs=1, verbose=0)
    """
    config = get_preset(preset) if isinstance(preset, str) else dict(preset)
    if config.get("family") == "pggan":
        return progressive_gan_from_preset(
            config,
            resolution=resolution,
            ema_decay=ema_decay,
            seed=seed,
            compile=compile,
            **gan_kwargs,
        )
    if resolution is not None:
        config["resolution"] = resolution
    generator = dcgan_generator(config)
    discriminator = dcgan_discriminator(config)
    gan = GAN(
        generator,
        discriminator,
        **_objective(config, matching),
        ema_decay=ema_decay,
        seed=seed,
        **gan_kwargs,
    )
    if compile:
        _compile(gan, config)
    return gan


def progressive_gan_from_preset(
    preset: str | Mapping[str, Any],
    *,
    resolution: int | None = None,
    phase_images: int | None = None,
    ema_decay: float | None = None,
    seed: int | None = None,
    compile: bool = True,
    **gan_kwargs: Any,
) -> ProgressiveGAN:
    """Builds the progressive GAN a ``"pggan"`` preset describes.

    Args:
        preset: A progressive preset name (e.g. ``"pggan64_small"``) or dict.
        resolution: Grow to this resolution instead of the preset's (a power of two, 8 to
            1024); the preset's batch sizes above it are dropped.
        phase_images: Images per fade and per stable phase (both), instead of the preset's.
        ema_decay: Generator EMA decay; default the preset's.
        seed: Seed of the train step's random numbers.
        compile: Compile with the preset's optimizers.
        **gan_kwargs: More :class:`~keras_facegen.models.ProgressiveGAN` arguments.

    Returns:
        A :class:`~keras_facegen.models.ProgressiveGAN`, compiled if ``compile`` is true.

    Raises:
        ValueError: On a preset that is not progressive, or bad overrides.

    Example:
        >>> gan = progressive_gan_from_preset("pggan64_small", resolution=16, phase_images=64)
        >>> gan.schedule.total_images, gan.generator.resolutions
        (320, [4, 8, 16])
    """
    config = get_preset(preset) if isinstance(preset, str) else dict(preset)
    if config.get("family") != "pggan":
        raise ValueError(
            "progressive_gan_from_preset needs a progressive preset (family 'pggan'); received "
            f"a preset of family {config.get('family')!r}."
        )
    resolution = config["resolution"] if resolution is None else resolution
    schedule_config = dict(config.get("schedule", {}))
    schedule_config["batch_sizes"] = {
        int(r): b
        for r, b in dict(schedule_config.get("batch_sizes", {})).items()
        if int(r) <= resolution
    }
    if phase_images is not None:
        schedule_config["fade_images"] = schedule_config["stable_images"] = phase_images
    schedule_config.setdefault("learning_rate", config["optimizer"].get("learning_rate", 1e-3))
    schedule = ProgressiveSchedule(resolution, **schedule_config)
    generator = pggan_generator(
        resolution,
        latent_dim=config["latent_dim"],
        channels=config.get("channels", 3),
        **config["generator"],
    )
    discriminator = pggan_discriminator(
        resolution, channels=config.get("channels", 3), **config["discriminator"]
    )
    gan = ProgressiveGAN(
        generator,
        discriminator,
        schedule=schedule,
        **_objective(config),
        ema_decay=config.get("ema_decay") if ema_decay is None else ema_decay,
        seed=seed,
        **gan_kwargs,
    )
    if compile:
        _compile(gan, config)
    return gan
