"""Matching terms: terms of kind ``"generator"``, added to the generator loss.

Both pull a batch statistic of the generated images towards the same statistic of the real
ones (Salimans et al., 2016): ``weight * 0.5 * sum((mean_batch(fake) - mean_batch(real))^2)``.
The real side is a constant (``stop_gradient``): only the generator is asked to move.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from keras_facegen.losses.base import Term, TermInputs
from keras_facegen.losses.penalties import _check_name, _check_non_negative

__all__ = ["DEFAULT_FEATURE_LAYER", "FeatureMatching", "MeanImageMatching"]

DEFAULT_FEATURE_LAYER = "features"
"""The name the DCGAN and PGGAN discriminators give their last feature activations."""


def _mean_matching(fake: Any, real: Any, weight: float) -> Any:
    fake = ops.cast(fake, "float32")
    real = ops.stop_gradient(ops.cast(real, "float32"))
    difference = ops.mean(fake, axis=0) - ops.mean(real, axis=0)
    return weight * 0.5 * ops.sum(ops.square(difference))


@keras.saving.register_keras_serializable(package="keras_facegen")
class FeatureMatching(Term):
    """Feature matching on a discriminator layer's activations.

    ``weight * 0.5 * sum((mean_batch(fake_features[L]) - mean_batch(real_features[L]))^2)``,
    where ``L`` is ``layer`` or :data:`DEFAULT_FEATURE_LAYER` (``"features"``). The GAN reads
    ``feature_layer`` to know which activations to put in :class:`TermInputs`.

    Args:
        weight: The term's weight, ``>= 0``.
        layer: Name of the discriminator layer to match; ``None`` for ``"features"``.
        name: The log key.

    Raises:
        ValueError: If ``weight`` is negative or ``layer`` is not a non-empty string.

    Example:
        >>> term = FeatureMatching(weight=0.1)
        >>> term.feature_layer, term.kind
        ('features', 'generator')
    """

    kind = "generator"
    feature_layer: str  # always a layer name: `layer` or DEFAULT_FEATURE_LAYER

    def __init__(
        self, weight: float = 0.1, layer: str | None = None, name: str = "feature_matching"
    ) -> None:
        self.weight = _check_non_negative(weight, "weight")
        if layer is not None and (not isinstance(layer, str) or not layer):
            raise ValueError(
                f"layer must be a discriminator layer name or None; received layer={layer!r}."
            )
        self.layer = layer
        self.feature_layer = layer or DEFAULT_FEATURE_LAYER
        self.name = _check_name(name)

    def __call__(self, inputs: TermInputs) -> Any:
        """Returns the weighted term for one step.

        Args:
            inputs: The step's :class:`TermInputs` with ``feature_layer`` in both feature dicts.

        Returns:
            A float32 scalar.

        Raises:
            ValueError: If the feature dicts lack ``feature_layer``.
        """
        for argument, features in (
            ("real_features", inputs.real_features),
            ("fake_features", inputs.fake_features),
        ):
            if self.feature_layer not in features:
                raise ValueError(
                    f"{self!r} needs the discriminator activations of layer "
                    f"{self.feature_layer!r}, but TermInputs.{argument} has only "
                    f"{sorted(features)}. Name a discriminator layer {self.feature_layer!r} or "
                    "pass layer=<name>."
                )
        return _mean_matching(
            inputs.fake_features[self.feature_layer],
            inputs.real_features[self.feature_layer],
            self.weight,
        )

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments."""
        return {"weight": self.weight, "layer": self.layer, "name": self.name}


@keras.saving.register_keras_serializable(package="keras_facegen")
class MeanImageMatching(Term):
    """Matches the batch-mean generated image to the batch-mean real image.

    ``weight * 0.5 * sum((mean_batch(fake_images) - mean_batch(real_images))^2)``.

    Args:
        weight: The term's weight, ``>= 0``.
        name: The log key.

    Raises:
        ValueError: If ``weight`` is negative.

    Example:
        >>> MeanImageMatching(weight=0.1).name
        'mean_image_matching'
    """

    kind = "generator"

    def __init__(self, weight: float = 0.1, name: str = "mean_image_matching") -> None:
        self.weight = _check_non_negative(weight, "weight")
        self.name = _check_name(name)

    def __call__(self, inputs: TermInputs) -> Any:
        """Returns the weighted term for one step.

        Args:
            inputs: The step's :class:`TermInputs`.

        Returns:
            A float32 scalar.
        """
        return _mean_matching(inputs.fake_images, inputs.real_images, self.weight)

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments."""
        return {"weight": self.weight, "name": self.name}
