"""A ready-to-train :class:`~keras_facegen.models.GAN` from a named preset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras

from keras_facegen import losses
from keras_facegen.models.dcgan import dcgan_discriminator, dcgan_generator
from keras_facegen.models.gan import GAN
from keras_facegen.models.presets import get_preset

__all__ = ["TERM_CLASSES", "gan_from_preset", "optimizer_from_preset"]

#: Term names used in presets' ``matching`` / ``penalties`` dicts -> the term classes.
TERM_CLASSES: dict[str, type[losses.Term]] = {
    "feature_matching": losses.FeatureMatching,
    "mean_image_matching": losses.MeanImageMatching,
    "gradient_penalty": losses.GradientPenalty,
    "r1_penalty": losses.R1Penalty,
    "drift": losses.Drift,
}


def _terms(weights: Mapping[str, float], kind: str) -> list[losses.Term]:
    terms = []
    for name, weight in weights.items():
        if name not in TERM_CLASSES:
            raise ValueError(
                f"Unknown {kind} term {name!r} in the preset; known terms: "
                f"{', '.join(sorted(TERM_CLASSES))}."
            )
        terms.append(TERM_CLASSES[name](weight))
    return terms


def optimizer_from_preset(config: Mapping[str, Any]) -> keras.optimizers.Optimizer:
    """Builds a fresh optimizer from a preset's ``optimizer`` entry.

    Args:
        config: A dict with ``name`` (a Keras optimizer name) and its arguments, e.g.
            ``{"name": "adam", "learning_rate": 2e-4, "beta_1": 0.5}``.

    Returns:
        A new optimizer instance.

    Example:
        >>> optimizer_from_preset({"name": "adam", "learning_rate": 2e-4, "beta_1": 0.5})
        ... # doctest: +SKIP
    """
    config = dict(config)
    name = config.pop("name", "adam")
    return keras.optimizers.get({"class_name": name, "config": config})


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
        **gan_kwargs: More :class:`~keras_facegen.models.GAN` arguments (``d_steps``, ...).

    Returns:
        A :class:`~keras_facegen.models.GAN`, compiled if ``compile`` is true.

    Raises:
        ValueError: On an unknown preset or term name.

    Example:
        >>> gan = gan_from_preset("face64_small", ema_decay=0.999)  # doctest: +SKIP
        >>> gan.fit(images, batch_size=64, epochs=1)  # doctest: +SKIP
    """
    config = get_preset(preset) if isinstance(preset, str) else dict(preset)
    if resolution is not None:
        config["resolution"] = resolution
    generator = dcgan_generator(config)
    discriminator = dcgan_discriminator(config)
    gan = GAN(
        generator,
        discriminator,
        loss=config["loss"],
        penalties=_terms(config.get("penalties", {}), "penalty"),
        matching=_terms(config.get("matching", {}), "matching") if matching else (),
        latent_distribution=config["latent_distribution"],
        ema_decay=ema_decay,
        seed=seed,
        **gan_kwargs,
    )
    if compile:
        gan.compile(
            generator_optimizer=optimizer_from_preset(config["optimizer"]),
            discriminator_optimizer=optimizer_from_preset(config["optimizer"]),
        )
    return gan
