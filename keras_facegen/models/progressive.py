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
(``staged``, ``phases``, ``progress``) and are importable from here as before.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from keras_facegen import losses as facegen_losses
from keras_facegen.losses.base import TermInputs
from keras_facegen.models.gan import GAN
from keras_facegen.models.phases import Phase, phases, resolve_schedule
from keras_facegen.models.progress import ProgressiveProgress
from keras_facegen.models.schedule import ProgressiveSchedule, Stage, steps_until
from keras_facegen.models.stage_io import (
    CountedBatches,
    check_training_images,
    full_resolution_inputs,
    stage_reals,
)
from keras_facegen.models.stage_optimizers import (
    check_rescalable,
    learning_rate_of,
    progressive_adam,
    reset_optimizer,
    stage_learning_rate,
)
from keras_facegen.models.staged import StagedNetwork, staged_pair

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
        generator, discriminator = staged_pair(generator, discriminator)
        schedule = resolve_schedule(schedule, generator.resolutions[-1], discriminator.network)
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

        See :func:`~keras_facegen.models.stage_io.stage_reals` (the reference's
        ``process_reals``).

        Args:
            images: ``(N, S, S, C)``, ``S`` a power-of-two multiple of the target resolution.
            alpha: The fade factor (a float or scalar tensor).

        Returns:
            Float32 images ``(N, r, r, C)``, ``r`` the stage's resolution.
        """
        return stage_reals(images, self._stage, alpha)

    def _evaluate_terms(self, terms: Sequence[Any], inputs: TermInputs) -> dict[str, Any]:
        if inputs.discriminator is not None and terms:
            inputs = full_resolution_inputs(
                inputs, self._stage.resolution, self.schedule.resolution
            )
        return super()._evaluate_terms(terms, inputs)

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
        generator_optimizer: keras.optimizers.Optimizer | str | dict | None = None,
        discriminator_optimizer: keras.optimizers.Optimizer | str | dict | None = None,
        jit_compile: bool | str = "auto",
        run_eagerly: bool = False,
        steps_per_execution: int = 1,
        auto_scale_loss: bool = True,
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
            jit_compile: As :meth:`~keras_facegen.models.GAN.compile`.
            run_eagerly: As :meth:`~keras_facegen.models.GAN.compile`.
            steps_per_execution: As :meth:`~keras_facegen.models.GAN.compile`.
            auto_scale_loss: As :meth:`~keras_facegen.models.GAN.compile`.

        Raises:
            ValueError: If an optimizer runs on a ``LearningRateSchedule`` while the
                schedule gives a stage a rate other than its base ``learning_rate``.
        """
        given = {"generator": generator_optimizer, "discriminator": discriminator_optimizer}
        for player, optimizer in given.items():
            if optimizer is not None and not isinstance(optimizer, (str, dict)):
                check_rescalable(player, optimizer, self.schedule)
        super().compile(
            generator_optimizer=generator_optimizer or self.default_optimizer(),
            discriminator_optimizer=discriminator_optimizer or self.default_optimizer(),
            jit_compile=jit_compile,
            run_eagerly=run_eagerly,
            steps_per_execution=steps_per_execution,
            auto_scale_loss=auto_scale_loss,
        )
        g, d = (
            None if option is None else learning_rate_of(optimizer)
            for option, optimizer in zip(given.values(), self._optimizers())
        )
        self._keep_base_rates(g, d)

    def _keep_base_rates(self, generator: float | None, discriminator: float | None) -> None:
        self._base_rates = (generator, discriminator)
        self._gan_compile_config["base_learning_rates"] = [generator, discriminator]

    def compile_from_config(self, config: Mapping[str, Any]) -> None:
        """Compiles from :meth:`get_compile_config`'s output (used when loading).

        Args:
            config: The saved compile arguments, with each player's own base rate.
        """
        config = dict(config)
        base_rates = config.pop("base_learning_rates", None)
        super().compile_from_config(config)
        if base_rates is not None:
            # The saved optimizers are the players' own; which rate each follows is saved.
            self._keep_base_rates(base_rates[0], base_rates[1])

    def default_optimizer(self) -> keras.optimizers.Optimizer:
        """``Adam(learning_rate, beta_1=0, beta_2=0.99, epsilon=1e-8)`` (Karras et al.).

        Returns:
            A new optimizer with the first stage's learning rate.
        """
        return progressive_adam(self.schedule.stages[0].learning_rate)

    def _optimizers(self) -> list[Any]:
        return [self.generator_optimizer, self.discriminator_optimizer]

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
        g, d = (
            stage_learning_rate(optimizer, base, stage, self.schedule)
            for optimizer, base in zip(self._optimizers(), self._base_rates)
        )
        return g, d

    def _start_phase(self, stage: Stage) -> None:
        """Fresh Adam moments (``reset_optimizers``) and the stage's learning rates."""
        rates = self.stage_learning_rates(stage)
        for optimizer, rate in zip(self._optimizers(), rates):
            if self.reset_optimizers:
                reset_optimizer(optimizer)
            if rate is not None:
                getattr(optimizer, "inner_optimizer", optimizer).learning_rate = rate

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
        channels = int(self.discriminator.network.input_shape[-1])
        images = check_training_images(x, self.schedule.resolution, channels)
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
                self._start_phase(phase.stage)
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
            batches = CountedBatches(
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
