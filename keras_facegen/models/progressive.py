"""``ProgressiveGAN``: a :class:`~keras_facegen.models.GAN` that grows 4x4 -> 8x8 -> ... .

The full-resolution generator and discriminator exist from the start (as in the reference
code); each stage trains a view of the same layers (:func:`~keras_facegen.models.pggan_stage`).
Everything the GAN core does (losses, penalties, matching terms, EMA, counters, callbacks, the
per-backend ``_minimize``) is inherited unchanged; this class only

* wraps each network in a :class:`StagedNetwork`, a model that runs the view of the current
  resolution but owns *all* the variables (so both optimizers, the EMA and checkpoints always
  see the same variable list, and JAX's stateless state never changes shape);
* computes the fade ``alpha`` inside the train step from ``GAN.images_seen`` and the
  :class:`~keras_facegen.models.schedule.ProgressiveSchedule`, assigns it to the stage's
  ``FadeIn`` layers (non-trainable variables, threaded through JAX's stateless loop) and
  shows the real images at the stage's resolution, blended the same way;
* drives ``fit`` phase by phase: a new stage compiles a new train function (expected); the
  per-step path does not recompile.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from keras_facegen import losses as facegen_losses
from keras_facegen.data.batches import ShuffledBatches
from keras_facegen.losses.base import TermInputs
from keras_facegen.models.gan import GAN
from keras_facegen.models.pggan import fade_layers, pggan_resolutions, pggan_stage
from keras_facegen.models.schedule import ProgressiveSchedule, Stage, steps_until

__all__ = ["Phase", "ProgressiveGAN", "ProgressiveProgress", "StagedNetwork", "phases"]


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


class Phase:
    """One phase of a run: a stage's fade or stable part, as the train steps will run it.

    Attributes:
        stage: The :class:`~keras_facegen.models.schedule.Stage`.
        kind: ``"fade"`` or ``"stable"``.
        first: ``images_seen`` when the phase's first step runs.
        steps: Train steps of the phase.
        stage_first: ``images_seen`` when the stage's first step runs.
    """

    def __init__(self, stage: Stage, kind: str, first: int, steps: int, stage_first: int):
        self.stage, self.kind, self.first, self.steps = stage, kind, first, steps
        self.stage_first = stage_first

    @property
    def end(self) -> int:
        """``images_seen`` after the phase's last step."""
        return self.first + self.steps * self.stage.batch_size

    def __repr__(self) -> str:
        return (
            f"Phase({self.stage.resolution}x{self.stage.resolution} {self.kind}, "
            f"first={self.first}, steps={self.steps}, batch={self.stage.batch_size})"
        )


def phases(schedule: ProgressiveSchedule) -> list[Phase]:
    """The phases a run of ``schedule`` trains, step by step.

    A phase runs ``ceil((phase_end - images_seen) / batch_size)`` steps, so its last step may
    show a few images past the schedule's boundary; the next phase starts there. Phases with no
    step (a stable phase shorter than the fade's overshoot) are left out.

    Args:
        schedule: The schedule.

    Returns:
        Every phase, in order.

    Example:
        >>> s = ProgressiveSchedule(8, fade_images=10, stable_images=10, batch_sizes={4: 4, 8: 4})
        >>> phases(s)
        [Phase(4x4 stable, first=0, steps=3, batch=4), Phase(8x8 fade, first=12, steps=2, \
batch=4), Phase(8x8 stable, first=20, steps=3, batch=4)]
    """
    result, seen = [], 0
    for stage in schedule.stages:
        stage_first = seen
        bounds = []
        if stage.fade_images:
            bounds.append(("fade", stage.start + stage.fade_images))
        bounds.append(("stable", stage.end))
        for kind, end in bounds:
            steps = steps_until(end, seen, stage.batch_size)
            if steps:
                result.append(Phase(stage, kind, seen, steps, stage_first))
                seen += steps * stage.batch_size
    return result


@keras.saving.register_keras_serializable(package="keras_facegen")
class ProgressiveGAN(GAN):
    """A progressive GAN: trains 4x4 first and grows to the networks' resolution.

    Defaults follow Karras et al. (2018) and their reference code: WGAN-GP (lambda 10) plus a
    drift term (0.001), ``Adam(1e-3, beta_1=0, beta_2=0.99, epsilon=1e-8)`` (see
    :meth:`compile`), 600k images per fade and per stable phase, batches shrinking with the
    resolution, a generator EMA of 0.999, Adam's moments reset at every new phase.

    ``fit(images)`` trains from the current ``images_seen`` to the end of the schedule (or to
    ``until`` images), phase by phase; call it again after :func:`~keras_facegen.callbacks.
    resume_from` to continue an interrupted run exactly. Each train step computes ``alpha``
    from ``images_seen`` (the count before the step) and writes it to the stage's ``FadeIn``
    layers; the real batch (any power-of-two multiple of the target resolution) is
    average-pooled to the stage's resolution and, during a fade, blended with its 2x
    down-and-up-sampled version by the same ``alpha``. Logs add ``alpha``, ``resolution`` and
    ``images_seen`` (after the step).

    Args:
        generator: A full-resolution :func:`~keras_facegen.models.pggan_generator` (or a
            :class:`StagedNetwork` of one).
        discriminator: The matching :func:`~keras_facegen.models.pggan_discriminator`.
        schedule: A :class:`~keras_facegen.models.schedule.ProgressiveSchedule` (or its
            config dict); default the paper's, to the networks' resolution.
        reset_optimizers: Reset both optimizers' moments and step count when a phase starts.
        loss: Adversarial loss (default ``"wasserstein"``).
        penalties: Default ``[GradientPenalty(10.0), Drift(0.001)]``.
        matching: Generator terms (default none).
        ema_decay: Generator EMA decay (default 0.999; ``None`` disables it).
        latent_distribution: ``"normal"`` (default) or ``"uniform"``.
        **kwargs: More :class:`~keras_facegen.models.GAN` arguments (``seed``,
            ``ema_warmup``, ``d_steps``, ``name``).

    Raises:
        ValueError: On mismatched networks, a schedule whose resolution differs from theirs,
            or a stage batch size not divisible by the minibatch-stddev group.

    Example:
        >>> from keras_facegen.data import halve, synthetic_faces
        >>> from keras_facegen.models import pggan_discriminator, pggan_generator
        >>> g = pggan_generator(8, latent_dim=8, fmap_base=64, fmap_max=16)
        >>> d = pggan_discriminator(8, fmap_base=64, fmap_max=16)
        >>> schedule = ProgressiveSchedule(8, fade_images=8, stable_images=8,
        ...                                batch_sizes={4: 4, 8: 4})
        >>> gan = ProgressiveGAN(g, d, schedule=schedule, seed=0)
        >>> gan.compile()
        >>> images = halve(synthetic_faces(16, resolution=16)[0])  # 8x8 faces
        >>> history = gan.fit(images, verbose=0)
        >>> gan.counter_values()["images_seen"]
        24
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        schedule: ProgressiveSchedule | Mapping[str, Any] | None = None,
        reset_optimizers: bool = True,
        loss: Any = "wasserstein",
        penalties: Sequence[Any] | None = None,
        matching: Sequence[Any] = (),
        ema_decay: float | None = 0.999,
        latent_distribution: str = "normal",
        **kwargs: Any,
    ) -> None:
        for argument, value in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(value, keras.Model):
                raise ValueError(
                    f"Expected `{argument}` to be a keras.Model from pggan_{argument}; "
                    f"received {argument}={value!r}."
                )
        generator = generator if isinstance(generator, StagedNetwork) else StagedNetwork(generator)
        discriminator = (
            discriminator
            if isinstance(discriminator, StagedNetwork)
            else StagedNetwork(discriminator)
        )
        if generator.resolutions != discriminator.resolutions:
            raise ValueError(
                "The generator and the discriminator must have the same resolution; received "
                f"generator resolution {generator.resolutions[-1]} and discriminator "
                f"resolution {discriminator.resolutions[-1]}."
            )
        resolution = generator.resolutions[-1]
        if schedule is None:
            schedule = ProgressiveSchedule(resolution)
        elif isinstance(schedule, Mapping):
            schedule = ProgressiveSchedule.from_config(schedule)
        if not isinstance(schedule, ProgressiveSchedule):
            raise ValueError(
                "Expected `schedule` to be a ProgressiveSchedule or its config dict; received "
                f"schedule={schedule!r}."
            )
        if schedule.resolution != resolution:
            raise ValueError(
                f"The schedule grows to {schedule.resolution}x{schedule.resolution} but the "
                f"networks are {resolution}x{resolution}; received schedule.resolution="
                f"{schedule.resolution}."
            )
        group = _mbstd_group(discriminator.network)
        for stage in schedule.stages:
            size = stage.batch_size
            if group and size % min(group, size):
                raise ValueError(
                    f"The {stage.resolution}x{stage.resolution} batch size {size} is not "
                    f"divisible by the discriminator's minibatch-stddev group "
                    f"min(group_size={group}, batch)={min(group, size)}; received "
                    f"batch_sizes[{stage.resolution}]={size}."
                )
        if penalties is None:
            penalties = [facegen_losses.GradientPenalty(10.0), facegen_losses.Drift(0.001)]
        kwargs.pop("latent_dim", None)  # always the generator's (from_config passes it)
        kwargs.setdefault("name", "progressive_gan")
        super().__init__(
            generator,
            discriminator,
            loss=loss,
            penalties=penalties,
            matching=matching,
            latent_dim=int(generator.network.input_shape[-1]),
            latent_distribution=latent_distribution,
            ema_decay=ema_decay,
            **kwargs,
        )
        self.schedule = schedule
        self.reset_optimizers = bool(reset_optimizers)
        self._stage = schedule.stages[0]
        self._stage_alpha: Any = None
        self._set_stage(schedule.stages[0], alpha=1.0)

    # === Stages ===

    @property
    def resolution(self) -> int:
        """Resolution of the stage being trained (the networks' views)."""
        return self._stage.resolution

    @property
    def stage(self) -> Stage:
        """The :class:`~keras_facegen.models.schedule.Stage` being trained."""
        return self._stage

    def _set_stage(self, stage: Stage, alpha: float) -> None:
        """Points both networks at ``stage`` and sets every fade's alpha (outside a step)."""
        self.sync_state()
        changed = stage.resolution != self.generator.resolution
        for network in (self.generator, self.discriminator):
            network.resolution = stage.resolution
            for res, layer in network.fade_layers.items():
                if res < stage.resolution:
                    layer.alpha.assign(1.0)
                elif res == stage.resolution:
                    layer.alpha.assign(alpha)
        self._stage = stage
        if changed:
            # A new graph: Keras traces a new train function on the next fit.
            self.train_function = None

    def _alpha(self) -> Any:
        """The stage's fade alpha, from ``images_seen`` (the count before this step)."""
        stage = self._stage
        if not stage.fade_images:
            return ops.convert_to_tensor(1.0, "float32")
        # Integer difference first: exact, whatever the total count (float32 is exact to 2**24).
        into = ops.cast(self.images_seen.value - stage.start, "float32")
        fade = ops.convert_to_tensor(np.float32(stage.fade_images), "float32")
        return ops.clip(ops.divide(into, fade), 0.0, 1.0)

    def _begin_train_step(self, real: Any) -> None:
        alpha = self._alpha()
        self._stage_alpha = alpha
        for network in (self.generator, self.discriminator):
            for res, layer in network.fade_layers.items():
                if res < self._stage.resolution:
                    layer.alpha.assign(ops.ones((), layer.alpha.dtype))
                elif res == self._stage.resolution:
                    layer.alpha.assign(ops.cast(alpha, layer.alpha.dtype))

    def _unpack_batch(self, data: Any) -> tuple[Any, Any]:
        real, latents = super()._unpack_batch(data)
        return self.stage_images(real, self._alpha()), latents

    def stage_images(self, images: Any, alpha: Any) -> Any:
        """Real images as the current stage shows them to the discriminator.

        Average-pooled to the stage's resolution, then, if the stage fades in,
        ``lerp(upsample(avgpool2(x)), x, alpha)`` (the reference's ``process_reals``).

        Args:
            images: ``(N, S, S, C)``, ``S`` a power-of-two multiple of the target resolution.
            alpha: The fade factor (a float or scalar tensor).

        Returns:
            Float32 images ``(N, r, r, C)``, ``r`` the stage's resolution.
        """
        images = ops.cast(images, "float32")
        size = int(images.shape[1])
        factor = size // self._stage.resolution
        if factor > 1:
            images = ops.average_pool(images, factor, factor, padding="valid")
        if self._stage.fade_images:
            low = ops.average_pool(images, 2, 2, padding="valid")
            low = ops.repeat(ops.repeat(low, 2, axis=1), 2, axis=2)
            images = low + ops.cast(alpha, "float32") * (images - low)
        return images

    def _evaluate_terms(self, terms: Sequence[Any], inputs: TermInputs) -> dict[str, Any]:
        if inputs.discriminator is not None and terms:
            inputs = self._full_resolution_inputs(inputs)
        return super()._evaluate_terms(terms, inputs)

    def _full_resolution_inputs(self, inputs: TermInputs) -> TermInputs:
        """The discriminator terms' inputs as the reference measures them.

        The reference trains every stage on full-resolution images (reals and fakes
        nearest-upsampled from the stage's resolution) and a critic that average-pools them
        back, so its input-gradient penalties differentiate with respect to the full-resolution
        image. The same here: the terms see the batches upsampled to the target resolution and
        a critic that pools them to the stage's (exactly the stage's critic on the stage's
        images), so a penalty's value does not jump when the network grows.
        """
        factor = self.schedule.resolution // self._stage.resolution
        if factor == 1:
            return inputs
        size = self._stage.resolution
        critic = inputs.discriminator

        def upsample(images: Any) -> Any:
            images = ops.cast(images, "float32")
            return ops.repeat(ops.repeat(images, factor, axis=1), factor, axis=2)

        def full_resolution_critic(images: Any) -> Any:
            channels = int(images.shape[-1])
            blocks = ops.reshape(images, (-1, size, factor, size, factor, channels))
            return critic(ops.mean(blocks, axis=(2, 4)))

        return dataclasses.replace(
            inputs,
            real_images=upsample(inputs.real_images),
            fake_images=upsample(inputs.fake_images),
            discriminator=full_resolution_critic,
        )

    def _gan_train_step(self, data: Any) -> dict[str, Any]:
        logs = super()._gan_train_step(data)
        return {
            **logs,
            "alpha": self._stage_alpha,
            "resolution": ops.convert_to_tensor(self._stage.resolution, "int32"),
            # A tensor, not the variable: on TensorFlow `.value` is the tf.Variable itself, which
            # eager train functions (run_eagerly=True) cannot return through tf.data's Optional.
            "images_seen": ops.convert_to_tensor(self.images_seen),
        }

    # === Compile ===

    def compile(
        self,
        generator_optimizer: Any = None,
        discriminator_optimizer: Any = None,
        **kwargs: Any,
    ) -> None:
        """Compiles with the paper's optimizers unless others are given.

        Args:
            generator_optimizer: Default ``Adam(lr, beta_1=0, beta_2=0.99, epsilon=1e-8)``
                with the schedule's learning rate (set per stage by ``fit``).
            discriminator_optimizer: The same default.
            **kwargs: :meth:`~keras_facegen.models.GAN.compile` arguments.
        """
        super().compile(
            generator_optimizer=generator_optimizer or self.default_optimizer(),
            discriminator_optimizer=discriminator_optimizer or self.default_optimizer(),
            **kwargs,
        )

    def default_optimizer(self) -> keras.optimizers.Optimizer:
        """``Adam(learning_rate, beta_1=0, beta_2=0.99, epsilon=1e-8)`` (Karras et al.).

        Returns:
            A new optimizer with the first stage's learning rate.
        """
        return keras.optimizers.Adam(
            learning_rate=self.schedule.stages[0].learning_rate,
            beta_1=0.0,
            beta_2=0.99,
            epsilon=1e-8,
        )

    def _reset_optimizers(self) -> None:
        for optimizer in (self.generator_optimizer, self.discriminator_optimizer):
            inner = getattr(optimizer, "inner_optimizer", optimizer)
            rate = getattr(inner, "_learning_rate", None)
            for variable in inner.variables:
                if variable is not rate:
                    variable.assign(ops.zeros(variable.shape, variable.dtype))

    def _set_learning_rate(self, rate: float) -> None:
        for optimizer in (self.generator_optimizer, self.discriminator_optimizer):
            inner = getattr(optimizer, "inner_optimizer", optimizer)
            if isinstance(inner.learning_rate, keras.Variable) or hasattr(
                inner.learning_rate, "assign"
            ):
                inner.learning_rate.assign(rate)
            else:
                inner.learning_rate = rate

    # === Training ===

    def fit(
        self,
        x: Any = None,
        *,
        until: int | None = None,
        steps_per_epoch: int | None = None,
        callbacks: Sequence[keras.callbacks.Callback] | None = None,
        verbose: int | str = "auto",
        data_seed: int = 0,
        **kwargs: Any,
    ) -> keras.callbacks.History:
        """Trains the schedule from the current ``images_seen``, phase by phase.

        Each stage's batches come from :class:`~keras_facegen.data.ShuffledBatches` with the
        stage's batch size (seed ``data_seed * 64 + stage index``, started at the stage's
        step), so a resumed run sees exactly the batches of an uninterrupted one. A phase's
        steps are cut into epochs of ``steps_per_epoch`` (each epoch end is a resume point for
        :class:`~keras_facegen.callbacks.GANCheckpoint`).

        Args:
            x: Images ``(N, S, S, C)`` (floats in [-1, 1] or uint8), ``S`` a power-of-two
                multiple of the target resolution (``S >= resolution``).
            until: Stop once ``images_seen`` reaches this (default: the schedule's end).
            steps_per_epoch: Steps per ``fit`` epoch (default: a whole phase per epoch).
            callbacks: Keras callbacks, given to every phase's ``fit``.
            verbose: 0 silent; otherwise one progress bar over the whole run (stage,
                resolution, alpha, images/s, losses).
            data_seed: Seed of the batch order.
            **kwargs: Not supported (``fit`` arguments such as ``batch_size`` or ``epochs``
                come from the schedule); passing any raises ``ValueError``.

        Returns:
            A ``keras.callbacks.History`` with the logs of every epoch of every phase.

        Raises:
            ValueError: On images smaller than the target resolution or of a bad shape, an
                uncompiled GAN, or unsupported arguments.
        """
        if kwargs:
            raise ValueError(
                "ProgressiveGAN.fit takes its batch sizes and lengths from the schedule; "
                f"unsupported arguments: {sorted(kwargs)}."
            )
        if self.generator_optimizer is None:
            raise ValueError("Call compile() before fit().")
        images = self._check_images(x)
        until = self.schedule.total_images if until is None else int(until)
        callbacks = list(callbacks or [])
        if verbose and verbose != 0:
            callbacks.append(ProgressiveProgress(self.schedule))
        history = keras.callbacks.History()
        history.history = {}
        for phase in phases(self.schedule):
            seen = self.counter_values()["images_seen"]
            if seen >= min(phase.end, until):
                continue
            stage = phase.stage
            batch = stage.batch_size
            steps = steps_until(min(phase.end, until), seen, batch)
            if (seen - phase.first) % batch or seen < phase.first:
                raise ValueError(
                    f"images_seen={seen} is not a step boundary of the schedule's phase {phase}; "
                    "was the GAN trained with another schedule?"
                )
            self._set_stage(stage, alpha=self.schedule(seen).alpha)
            if seen == phase.first:
                if self.reset_optimizers:
                    self._reset_optimizers()
                self._set_learning_rate(stage.learning_rate)
            per_epoch = min(steps_per_epoch or steps, steps)
            full, rest = divmod(steps, per_epoch)
            start = (seen - phase.stage_first) // batch
            for epoch_steps, epochs in ((per_epoch, full), (rest, 1)):
                if not epochs or not epoch_steps:
                    continue
                # Served at the stage's resolution (2x2 box filter per halving; a cache reads
                # its stored level): only r x r images travel to the train step.
                batches = _CountedBatches(
                    epoch_steps * epochs,
                    images,
                    batch,
                    seed=data_seed * 64 + stage.index,
                    start=start,
                    resolution=stage.resolution,
                )
                with warnings.catch_warnings():
                    # Higher resolutions' layers get no gradient until their stage: expected.
                    warnings.filterwarnings("ignore", message="Gradients do not exist for")
                    fitted = super().fit(
                        batches,
                        epochs=epochs,
                        steps_per_epoch=epoch_steps,
                        callbacks=callbacks,
                        verbose=0,
                        shuffle=False,
                    )
                start += epoch_steps * epochs
                for key, values in fitted.history.items():
                    history.history.setdefault(key, []).extend(float(v) for v in values)
            if self.counter_values()["images_seen"] >= until:
                break
        return history

    def _check_images(self, x: Any) -> Any:
        # Arrays on disk (an image cache, a memmap) are kept as they are, never loaded whole.
        images = x if hasattr(x, "shape") and hasattr(x, "__getitem__") else np.asarray(x)
        target = self.schedule.resolution
        shape = tuple(images.shape)
        if len(shape) != 4 or shape[1] != shape[2]:
            raise ValueError(f"Expected images of shape (N, S, S, C); received x of shape {shape}.")
        size = int(shape[1])
        factor = size // target
        if size < target or size % target or factor & (factor - 1):
            raise ValueError(
                f"The images are {size}x{size}; the GAN grows to {target}x{target}, so it needs "
                f"images of {target}x{target} (or a power-of-two multiple, average-pooled). "
                f"Received x of shape {shape}."
            )
        channels = int(self.discriminator.network.input_shape[-1])
        if shape[-1] != channels:
            raise ValueError(
                f"Expected images with {channels} channels; received x of shape {shape}."
            )
        return images

    # === Inference ===

    def generate(
        self,
        n_or_latents: int | np.ndarray,
        seed: int | None = None,
        ema: bool = False,
        batch_size: int = 64,
        resolution: int | None = None,
    ) -> np.ndarray:
        """Generates images at the current stage (or at ``resolution``).

        Args:
            n_or_latents: Number of images, or latents ``(N, latent_dim)``.
            seed: Seed of the latents when a number is given.
            ema: Use the EMA generator weights.
            batch_size: Latents per generator call.
            resolution: A stage resolution (e.g. the final one); default the current stage.

        Returns:
            Float32 images ``(N, r, r, C)`` in [-1, 1].

        Raises:
            ValueError: As :meth:`GAN.generate`, or for a resolution that is not a stage.

        Example:
            >>> from keras_facegen.models import progressive_gan_from_preset
            >>> gan = progressive_gan_from_preset("pggan64_small", resolution=16, ema_decay=0.99)
            >>> gan.generate(4, seed=0, ema=True, resolution=8).shape
            (4, 8, 8, 3)
        """
        current = self.generator.resolution
        if resolution is not None:
            self.generator.resolution = resolution
        try:
            return super().generate(n_or_latents, seed=seed, ema=ema, batch_size=batch_size)
        finally:
            self.generator.resolution = current

    # === Serialization ===

    def get_config(self) -> dict[str, Any]:
        """The GAN's config plus the schedule and ``reset_optimizers``."""
        return {
            **super().get_config(),
            "schedule": self.schedule.get_config(),
            "reset_optimizers": self.reset_optimizers,
        }


class _CountedBatches(ShuffledBatches):
    """``ShuffledBatches`` that ends after ``count`` batches.

    With ``steps_per_execution > 1`` Keras pulls that many batches per compiled call and stops
    early only when the data runs out; an endless stream would run extra steps past a phase's
    end (or past ``until``).
    """

    def __init__(self, count: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.count = int(count)

    @property
    def num_batches(self) -> int:
        """The number of batches this ``fit`` call may use."""
        return self.count

    def __getitem__(self, index: int) -> Any:
        if index >= self.count:
            raise IndexError(f"batch index {index} is past the {self.count} batches of this run.")
        return super().__getitem__(index)


def _mbstd_group(discriminator: keras.Model) -> int | None:
    try:
        return int(discriminator.get_layer("d_4x4_minibatch_stddev").group_size)
    except ValueError:
        return None


class ProgressiveProgress(keras.callbacks.Callback):
    """One progress line for a progressive run: images, stage, resolution, alpha, images/s.

    Read from each step's logs, so the values are exact on every backend (also inside JAX's
    stateless loop). On a terminal the line is redrawn in place (at most 10 times a second);
    otherwise a line is printed every ``interval`` seconds and whenever the stage changes.

    Args:
        schedule: The run's :class:`~keras_facegen.models.schedule.ProgressiveSchedule`.
        interval: Seconds between lines when the output is not a terminal.
        stream: Where to write (default ``sys.stdout``).

    Example:
        >>> schedule = ProgressiveSchedule(8, fade_images=10, stable_images=10)
        >>> progress = ProgressiveProgress(schedule)  # gan.fit(..., callbacks=[progress])
        >>> progress.line({"images_seen": 15, "resolution": 8, "alpha": 0.5, "d_loss": 1.0})
        '15/30 images [#####.....] stage 2/2 8x8 fade alpha 0.500 0 img/s d_loss 1.000'
    """

    def __init__(self, schedule: ProgressiveSchedule, interval: float = 10.0, stream=None):
        super().__init__()
        self.schedule = schedule
        self.interval = float(interval)
        self.stream = stream
        self._start: tuple[float, int] | None = None
        self._last = (-math.inf, None)

    def _out(self):
        return self.stream or sys.stdout

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Starts the images/s clock."""
        self._start = None

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Redraws (terminal) or prints (log file) the line."""
        logs = logs or {}
        if "images_seen" not in logs:
            return
        seen = int(float(logs["images_seen"]))
        now = time.perf_counter()
        if self._start is None:
            self._start = (now, seen)
            return
        resolution = int(float(logs["resolution"]))
        tty = self._out().isatty()
        last_time, last_resolution = self._last
        if now - last_time < (0.1 if tty else self.interval) and resolution == last_resolution:
            return
        self._last = (now, resolution)
        self._out().write(("\r" if tty else "") + self.line(logs, now) + ("" if tty else "\n"))
        self._out().flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """Ends the terminal line."""
        if self._out().isatty() and self._last[1] is not None:
            self._out().write("\n")
            self._out().flush()
        self._last = (-math.inf, None)

    def line(self, logs: Mapping[str, Any], now: float | None = None) -> str:
        """The progress line for one step's logs.

        Args:
            logs: The step's logs (``images_seen``, ``resolution``, ``alpha``, losses).
            now: The current ``time.perf_counter()`` (for images/s).

        Returns:
            E.g. ``"  1,200/6,000 images [####......] stage 2/5 8x8 fade alpha 0.333
            412 img/s d_loss 1.23 g_loss -0.45"``.
        """
        total = self.schedule.total_images
        seen = int(float(logs["images_seen"]))
        resolution = int(float(logs["resolution"]))
        alpha = float(logs["alpha"])
        index = self.schedule.resolutions.index(resolution) + 1
        filled = int(10 * min(seen, total) / total)
        rate = 0.0
        if self._start is not None and now is not None and now > self._start[0]:
            rate = (seen - self._start[1]) / (now - self._start[0])
        phase = "fade" if alpha < 1.0 else "stable"
        losses = " ".join(
            f"{key} {float(logs[key]):.3f}" for key in ("d_loss", "g_loss") if key in logs
        )
        return (
            f"{seen:,}/{total:,} images [{'#' * filled}{'.' * (10 - filled)}] "
            f"stage {index}/{len(self.schedule.stages)} {resolution}x{resolution} {phase} "
            f"alpha {alpha:.3f} {rate:,.0f} img/s {losses}"
        )
