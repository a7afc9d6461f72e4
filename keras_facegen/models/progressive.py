"""``ProgressiveGAN``: a :class:`~keras_facegen.models.GAN` that grows 4x4 -> 8x8 -> ... .

The full-resolution generator and discriminator exist from the start (as in the reference
code); each stage trains a view of the same layers (:class:`~keras_facegen.models.staged.
StagedNetwork`). Everything the GAN core does (losses, penalties, matching terms, EMA,
counters, callbacks, the per-backend ``_minimize``) is inherited unchanged; this class only

* follows the :class:`~keras_facegen.models.schedule.ProgressiveSchedule` from
  ``GAN.images_seen``: the stage (resolution, learning rate) of every use, and the fade
  ``alpha`` computed inside the train step and written to the stage's ``FadeIn`` layers;
* shows the real images at the stage's resolution, blended the same way, and measures the
  discriminator's penalties at the full resolution, as the reference does;
* drives ``fit`` phase by phase (:func:`~keras_facegen.models.phases.phases`): a new stage
  compiles a new train function (expected); the per-step path does not recompile.

``StagedNetwork``, ``Phase``, ``phases`` and ``ProgressiveProgress`` live in their own modules
(:mod:`~keras_facegen.models.staged`, :mod:`~keras_facegen.models.phases`,
:mod:`~keras_facegen.models.progress`) and are importable from here as before.
"""

from __future__ import annotations

import dataclasses
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
from keras_facegen.models.phases import Phase, check_fades, phases
from keras_facegen.models.progress import ProgressiveProgress
from keras_facegen.models.schedule import ProgressiveSchedule, Stage, steps_until
from keras_facegen.models.staged import StagedNetwork

__all__ = ["Phase", "ProgressiveGAN", "ProgressiveProgress", "StagedNetwork", "phases"]


@keras.saving.register_keras_serializable(package="keras_facegen")
class ProgressiveGAN(GAN):
    """A progressive GAN: trains 4x4 first and grows to the networks' resolution.

    Defaults follow Karras et al. (2018) and their reference code: WGAN-GP (lambda 10) plus a
    drift term (0.001), ``Adam(1e-3, beta_1=0, beta_2=0.99, epsilon=1e-8)`` (see
    :meth:`compile`), 600k images per fade and per stable phase, batches shrinking with the
    resolution, a generator EMA of 0.999 (ramped up over the first steps, see ``ema_warmup``),
    Adam's moments reset at every new phase.

    The stage always follows ``images_seen``: after ``fit``, after loading a saved GAN and
    after :func:`~keras_facegen.callbacks.resume_from`, :attr:`resolution`, ``generate``,
    ``predict`` and ``evaluate`` use the stage (and fade ``alpha``) of the restored count.

    Discriminator penalties (``GradientPenalty``, ``R1Penalty``, any term that takes input
    gradients) are measured as in the reference: on the real and generated batches
    nearest-upsampled to the target resolution, through a critic that average-pools them back
    to the stage's. The penalty then aims at the same gradient norm at every stage and does not
    jump when the networks grow (at ``alpha = 0`` it equals the previous stage's exactly).

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
        ema_warmup: Ramp the EMA decay up as ``min(ema_decay, (1 + t) / (10 + t))`` at step
            ``t`` (default; it reaches 0.999 after 8,991 steps, so short runs end below it:
            0.9927 after 1,219 steps). ``False`` uses ``ema_decay`` from the first step, as
            the reference does (its runs are hundreds of thousands of steps long).
        **kwargs: More :class:`~keras_facegen.models.GAN` arguments (``seed``, ``d_steps``,
            ``name``).

    Raises:
        ValueError: On mismatched networks, a schedule whose resolution differs from theirs,
            a stage batch size not divisible by the minibatch-stddev group, or a fade that
            would run no train step (see :func:`~keras_facegen.models.phases.check_fades`).

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
        ema_warmup: bool = True,
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
        check_fades(schedule)
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
            ema_warmup=ema_warmup,
            **kwargs,
        )
        self.schedule = schedule
        self.reset_optimizers = bool(reset_optimizers)
        self._stage = schedule.stages[0]
        self._stage_alpha: Any = None
        self._fitting = False
        # Per player: None follows the schedule's rates (the default optimizers); a float is
        # the user's own rate, scaled by each stage's rate relative to the schedule's base.
        self._base_rates: tuple[float | None, float | None] = (None, None)
        self._set_stage(schedule.stages[0], alpha=1.0)

    # === Stages ===

    @property
    def resolution(self) -> int:
        """Resolution of the current stage (the networks' views), from ``images_seen``."""
        self.follow_schedule()
        return self._stage.resolution

    @property
    def stage(self) -> Stage:
        """The current :class:`~keras_facegen.models.schedule.Stage`, from ``images_seen``."""
        self.follow_schedule()
        return self._stage

    def follow_schedule(self) -> None:
        """Puts the networks at the stage and fade ``alpha`` of the current ``images_seen``.

        Called by every public use (``resolution``, ``generate``, ``predict``, ``evaluate``)
        and after loading, so a restored or reloaded GAN is at its stage at once; a no-op
        during ``fit`` (which sets the stage phase by phase) and when nothing changed.
        """
        if self._fitting:
            return
        state = self.schedule(self.counter_values()["images_seen"])
        if state.stage != self._stage or self._current_alpha() != state.alpha:
            self._set_stage(state.stage, alpha=state.alpha)

    def _current_alpha(self) -> float:
        fade = self.generator.fade_layers.get(self._stage.resolution)
        if fade is None:
            return 1.0
        return float(np.asarray(ops.convert_to_numpy(fade.alpha)))

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
            # A new graph: Keras traces new functions on the next fit, predict or evaluate.
            self.train_function = None
            self.predict_function = None
            self.test_function = None

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

        Learning rates per stage: an optimizer made here (the default) runs at each stage's
        ``schedule`` rate. An optimizer you pass keeps its own rate, multiplied by each stage's
        rate relative to the schedule's ``learning_rate`` (so with the default schedule, where
        every stage has the same rate, it is never changed; ``Adam(1e-4)`` for the generator
        and ``Adam(4e-4)`` for the discriminator keep their ratio at every stage). ``fit``
        applies the rate when a phase starts (a callback's change lasts until the next phase).
        An optimizer built on a ``LearningRateSchedule`` works with a schedule whose stages
        all have the base rate; its step count restarts at every phase when
        ``reset_optimizers`` is on (the reference starts a new optimizer per phase).

        Args:
            generator_optimizer: Default ``Adam(lr, beta_1=0, beta_2=0.99, epsilon=1e-8)``
                with the schedule's learning rate (set per stage by ``fit``).
            discriminator_optimizer: The same default.
            **kwargs: :meth:`~keras_facegen.models.GAN.compile` arguments.

        Raises:
            ValueError: If an optimizer runs on a ``LearningRateSchedule`` while the
                schedule gives a stage a rate other than its base ``learning_rate``.
        """
        base_rates = kwargs.pop("_base_rates", None)
        given = (generator_optimizer, discriminator_optimizer)
        super().compile(
            generator_optimizer=generator_optimizer or self.default_optimizer(),
            discriminator_optimizer=discriminator_optimizer or self.default_optimizer(),
            **kwargs,
        )
        if base_rates is None:
            base_rates = [
                None if option is None else _rate_of(optimizer)
                for option, optimizer in zip(given, self._optimizers())
            ]
        self._base_rates = (base_rates[0], base_rates[1])
        self._gan_compile_config = {**self._gan_compile_config, "_base_rates": base_rates}
        scaled = [s for s in self.schedule.stages if s.learning_rate != self.schedule.learning_rate]
        for player, optimizer, base in zip(("generator", "discriminator"), given, base_rates):
            if optimizer is not None and base is None and scaled:
                raise ValueError(
                    f"The {player} optimizer runs on a LearningRateSchedule, which ProgressiveGAN"
                    f" cannot scale to the {scaled[0].resolution}x{scaled[0].resolution} stage's "
                    f"rate {scaled[0].learning_rate} (the schedule's base learning_rate is "
                    f"{self.schedule.learning_rate}); received {player}_optimizer={optimizer!r}. "
                    "Give it a float learning rate, or give every stage the base rate."
                )

    def compile_from_config(self, config: Mapping[str, Any]) -> None:
        """Compiles from :meth:`get_compile_config`'s output (used when loading).

        Args:
            config: The saved compile arguments, with each player's own base rate.
        """
        config = dict(config)
        base_rates = config.pop("_base_rates", None)
        for key in ("generator_optimizer", "discriminator_optimizer"):
            config[key] = keras.optimizers.deserialize(config[key])
        if base_rates is not None:
            # The saved optimizers are the players' own; which rate each follows is saved.
            config["_base_rates"] = base_rates
        self.compile(**config)

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

    def _optimizers(self) -> list[Any]:
        return [
            getattr(optimizer, "inner_optimizer", optimizer)
            for optimizer in (self.generator_optimizer, self.discriminator_optimizer)
        ]

    def _reset_optimizers(self) -> None:
        for optimizer in self._optimizers():
            rate = getattr(optimizer, "_learning_rate", None)
            for variable in optimizer.variables:
                if variable is not rate:
                    variable.assign(ops.zeros(variable.shape, variable.dtype))

    def stage_learning_rates(self, stage: Stage) -> tuple[float | None, float | None]:
        """The generator's and the discriminator's learning rate during ``stage``.

        Args:
            stage: A stage of the schedule.

        Returns:
            ``(generator, discriminator)``: the stage's rate for a default optimizer, the
            optimizer's own rate times ``stage.learning_rate / schedule.learning_rate`` for
            one given to :meth:`compile`, ``None`` for one left as it is (a
            ``LearningRateSchedule``).
        """
        factor = stage.learning_rate / self.schedule.learning_rate
        rates = []
        for base, optimizer in zip(self._base_rates, self._optimizers()):
            if base is not None:
                rates.append(base * factor)
            elif _rate_of(optimizer) is None:
                rates.append(None)
            else:
                rates.append(stage.learning_rate)
        return rates[0], rates[1]

    def _set_learning_rates(self, stage: Stage) -> None:
        for optimizer, rate in zip(self._optimizers(), self.stage_learning_rates(stage)):
            if rate is not None:
                optimizer.learning_rate = rate

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
        # The paper's schedule: 4x4 stable, then per resolution a fade and a stable phase; a
        # new phase starts with fresh Adam moments and the stage's learning rate.
        for phase in phases(self.schedule):
            seen = self.counter_values()["images_seen"]
            if seen >= until:
                break
            if seen >= phase.end:
                continue
            self._check_phase_position(phase, seen)
            self._set_stage(phase.stage, alpha=self.schedule(seen).alpha)
            if seen == phase.first:
                if self.reset_optimizers:
                    self._reset_optimizers()
                self._set_learning_rates(phase.stage)
            steps = steps_until(min(phase.end, until), seen, phase.stage.batch_size)
            for key, values in self._fit_phase(
                images, phase, seen, steps, steps_per_epoch, callbacks, data_seed
            ).items():
                history.history.setdefault(key, []).extend(values)
        return history

    def _check_phase_position(self, phase: Phase, seen: int) -> None:
        if (seen - phase.first) % phase.stage.batch_size or seen < phase.first:
            raise ValueError(
                f"images_seen={seen} is not a step boundary of the schedule's phase {phase}; "
                "was the GAN trained with another schedule?"
            )

    def _fit_phase(
        self,
        images: Any,
        phase: Phase,
        seen: int,
        steps: int,
        steps_per_epoch: int | None,
        callbacks: list[keras.callbacks.Callback],
        data_seed: int,
    ) -> dict[str, list[float]]:
        """Runs ``steps`` steps of ``phase`` from ``seen``, in epochs of ``steps_per_epoch``."""
        stage = phase.stage
        history: dict[str, list[float]] = {}
        per_epoch = min(steps_per_epoch or steps, steps)
        full, rest = divmod(steps, per_epoch)
        # The data position counts from the stage's first step (fade and stable phases read
        # one stream), so a resumed or split run reads the same images.
        start = (seen - phase.stage_first) // stage.batch_size
        for epoch_steps, epochs in ((per_epoch, full), (rest, 1)):
            if not epochs or not epoch_steps:
                continue
            # Served at the stage's resolution (2x2 box filter per halving; a cache reads its
            # stored level): only r x r images travel to the train step.
            batches = _CountedBatches(
                epoch_steps * epochs,
                images,
                stage.batch_size,
                seed=data_seed * 64 + stage.index,
                start=start,
                resolution=stage.resolution,
            )
            self._fitting = True
            try:
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
            finally:
                self._fitting = False
            start += epoch_steps * epochs
            for key, values in fitted.history.items():
                history.setdefault(key, []).extend(float(v) for v in values)
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
        self.follow_schedule()
        current = self.generator.resolution
        if resolution is not None:
            self.generator.resolution = resolution
        try:
            return super().generate(n_or_latents, seed=seed, ema=ema, batch_size=batch_size)
        finally:
            self.generator.resolution = current

    def predict(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        """``keras.Model.predict`` (latents to images) at the current stage.

        Args:
            x: Latents ``(N, latent_dim)``.
            *args: ``keras.Model.predict`` arguments.
            **kwargs: ``keras.Model.predict`` keyword arguments.

        Returns:
            Images ``(N, r, r, C)`` at the stage's resolution.
        """
        self.follow_schedule()
        return super().predict(x, *args, **kwargs)

    def evaluate(self, x: Any = None, *args: Any, **kwargs: Any) -> Any:
        """``GAN.evaluate`` at the current stage (reals pooled and blended as in training).

        Args:
            x: Images (or ``{"images": ..., "latents": ...}``) at the target resolution or a
                power-of-two multiple.
            *args: ``keras.Model.evaluate`` arguments.
            **kwargs: ``keras.Model.evaluate`` keyword arguments.

        Returns:
            As ``keras.Model.evaluate``.
        """
        self.follow_schedule()
        return super().evaluate(x, *args, **kwargs)

    # === Serialization ===

    def load_own_variables(self, store: Any) -> None:
        """Loads the GAN's own variables, then moves to the stage of the loaded count.

        Args:
            store: Keras' variable store for this layer.
        """
        super().load_own_variables(store)
        self.follow_schedule()

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


def _rate_of(optimizer: Any) -> float | None:
    """An optimizer's float learning rate, or ``None`` if it runs on a schedule."""
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)
    if isinstance(
        getattr(optimizer, "_learning_rate", None), keras.optimizers.schedules.LearningRateSchedule
    ):
        return None
    return float(np.asarray(ops.convert_to_numpy(optimizer.learning_rate)))


def _mbstd_group(discriminator: keras.Model) -> int | None:
    try:
        return int(discriminator.get_layer("d_4x4_minibatch_stddev").group_size)
    except ValueError:
        return None
