"""``StagedNetwork``: a progressive-GAN network that runs the view of its current stage.

The full-resolution generator or discriminator owns every variable; a stage view
(:func:`~keras_facegen.models.pggan_stage`) wires the same layers into the model of one
resolution. ``StagedNetwork`` holds the network and runs the current stage's view, so an
optimizer, the EMA and a checkpoint always see the whole network's variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras

from keras_facegen.models.pggan import fade_layers, pggan_resolutions, pggan_stage

__all__ = ["StagedNetwork"]


class _StageViews:
    """Holds stage views outside Keras' tracking (they share the network's layers)."""

    def __init__(self) -> None:
        self.models: dict[int, keras.Model] = {}


@keras.saving.register_keras_serializable(package="keras_facegen")
class StagedNetwork(keras.Model):
    """A progressive-GAN network that runs the stage view of its current resolution.

    Its variables are those of the full network (every resolution), in the full network's
    order, whatever the current stage; calling it runs
    ``pggan_stage(network, resolution)``. Changing :attr:`resolution` changes what a new trace
    computes (``ProgressiveGAN`` compiles a new train function per stage).

    Args:
        network: A model from :func:`~keras_facegen.models.pggan_generator` or
            :func:`~keras_facegen.models.pggan_discriminator`.
        resolution: The current stage; default the full resolution.
        **kwargs: ``keras.Model`` arguments (``name``).

    Raises:
        ValueError: If ``network`` is not a progressive-GAN network or ``resolution`` is not
            one of its stages.

    Example:
        >>> from keras_facegen.models import pggan_generator
        >>> g = StagedNetwork(pggan_generator(16, latent_dim=8, fmap_base=64, fmap_max=16), 8)
        >>> tuple(g(np.zeros((2, 8), "float32")).shape)
        (2, 8, 8, 3)
    """

    def __init__(self, network: keras.Model, resolution: int | None = None, **kwargs: Any) -> None:
        self.resolutions = pggan_resolutions(network)
        kwargs.setdefault("name", f"{network.name}_staged")
        super().__init__(**kwargs)
        self.network = network
        self._views = _StageViews()
        self._resolution = self.resolutions[-1]
        self.resolution = self.resolutions[-1] if resolution is None else resolution
        self.built = True

    @property
    def resolution(self) -> int:
        """The current stage's resolution."""
        return self._resolution

    @resolution.setter
    def resolution(self, value: int) -> None:
        if value not in self.resolutions:
            raise ValueError(
                f"resolution must be one of the network's stages {self.resolutions}; "
                f"received resolution={value!r}."
            )
        self._resolution = int(value)

    @property
    def fade_layers(self) -> dict[int, Any]:
        """The ``FadeIn`` layer of every resolution above 4x4."""
        return fade_layers(self.network)

    def stage(self, resolution: int | None = None) -> keras.Model:
        """The stage view of ``resolution`` (default: the current one), built once.

        Args:
            resolution: A stage resolution.

        Returns:
            A functional model sharing this network's layers.
        """
        resolution = self.resolution if resolution is None else resolution
        if resolution == self.resolutions[-1]:
            return self.network
        if resolution not in self._views.models:
            self._views.models[resolution] = pggan_stage(self.network, resolution)
        return self._views.models[resolution]

    def call(self, inputs: Any, training: bool = False) -> Any:
        """Runs the current stage's view.

        Args:
            inputs: Latents (generator) or images at the stage's resolution (discriminator).
            training: Training mode.

        Returns:
            The view's output.
        """
        return self.stage()(inputs, training=training)

    def compute_output_spec(self, inputs: Any, training: bool = False) -> Any:
        """The current view's output spec."""
        return self.stage().compute_output_spec(inputs)

    def get_config(self) -> dict[str, Any]:
        """The wrapped network (serialized) and the current resolution."""
        return {
            "name": self.name,
            "network": keras.saving.serialize_keras_object(self.network),
            "resolution": self.resolution,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> StagedNetwork:
        """Rebuilds from :meth:`get_config`'s output."""
        config = dict(config)
        config["network"] = keras.saving.deserialize_keras_object(config["network"])
        return cls(**config)
