"""``GAN``: a generator and a discriminator trained against each other with ``fit``.

The algorithm (latent sampling, loss terms, logging, the generator EMA) is written once here
with ``keras.ops``. The gradient mechanics of each backend come from
``keras_facegen.backend.<name>.gan_trainer.GANTrainer``, picked once when this module is
imported, exactly like ``keras.Model`` picks its own trainer.

This module holds the ``GAN`` class's construction, its counters, the train and test steps and
its serialization. ``compile`` and the two players' optimizers come from
:mod:`~keras_facegen.models.gan_optimizer`, ``generate`` and latent sampling from
:mod:`~keras_facegen.models.gan_generation`, the loss-term helpers from ``_gan_terms`` and
the batch format from ``_gan_batches``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
from keras import ops

from keras_facegen import losses as facegen_losses
from keras_facegen._validation import check_int
from keras_facegen.augment import Augment
from keras_facegen.backend import gan_trainer
from keras_facegen.losses.base import AdversarialLoss, Term, TermInputs
from keras_facegen.models._gan_augment import (
    augment_logs,
    augmented,
    observe_reals,
    resolve_augment,
)
from keras_facegen.models._gan_batches import unpack_batch
from keras_facegen.models._gan_terms import (
    DiscriminatorViews,
    as_terms,
    deserialize_term,
    feature_view,
    generator_latent_dim,
    resolve_loss,
    serialize_term,
    total_loss,
)
from keras_facegen.models.gan_generation import GANGenerationMixin
from keras_facegen.models.gan_optimizer import GANCompileMixin, GANOptimizer, default_optimizer

__all__ = ["COUNTER_DTYPE", "GAN", "GANOptimizer", "LATENT_DISTRIBUTIONS", "default_optimizer"]

LATENT_DISTRIBUTIONS = ("normal", "uniform")
_RESERVED_LOG_NAMES = ("d_loss", "g_loss")
#: dtype of ``GAN.iterations`` / ``GAN.images_seen``: int64, or int32 on JAX (which keeps 64-bit
#: integers off unless ``jax_enable_x64`` is set), as Keras' own optimizer step counter.
COUNTER_DTYPE = "int32" if keras.backend.backend() == "jax" else "int64"

if TYPE_CHECKING:
    # Each backend's GANTrainer has the same methods; type GAN against one of them.
    from keras_facegen.backend.tensorflow.gan_trainer import GANTrainer
else:
    GANTrainer = gan_trainer()


@keras.saving.register_keras_serializable(package="keras_facegen")
class GAN(GANTrainer, GANCompileMixin, GANGenerationMixin, keras.Model):
    """A generator and a discriminator, trained adversarially with ``fit``.

    Each train step (the same on TensorFlow, JAX and PyTorch):

    1. ``d_steps`` times: sample latents, ``fake = G(z)`` (gradient stopped), run the
       discriminator on the real and on the fake batch (two calls, training mode), and take one
       discriminator step on the adversarial loss plus every penalty.
    2. Sample latents, run ``D(G(z))`` (and ``D(real)`` if a term needs real logits or
       features), and take one generator step on the adversarial loss plus every matching term.
    3. If ``ema_decay`` is set, move the EMA copy of the generator weights towards them.
    4. Add 1 to :attr:`iterations` and the batch size to :attr:`images_seen`.

    The GAN counts its own progress: :attr:`iterations` (train steps run, whether or not an
    optimizer skipped its update, e.g. a ``LossScaleOptimizer`` on overflow) and
    :attr:`images_seen` (real images consumed; the global batch under ``tf.distribute``). Both
    are non-trainable variables of the GAN: saved in ``.keras`` files, in checkpoints, and
    threaded through JAX's stateless loop and ``steps_per_execution``. Inside a train step
    (:meth:`_begin_train_step`, the objectives, the terms) they hold the counts *before* the
    step; they are incremented at its very end.

    ``fit`` accepts images (NumPy arrays, ``tf.data.Dataset``, ``keras.utils.PyDataset``), or
    batches ``(images, latents)`` / ``{"images": ..., "latents": ...}``: given latents replace
    the sampled ones in every sub-step of that train step (use them for reproducible runs).

    Args:
        generator: A Keras model ``latents (N, latent_dim) -> images (N, H, W, C)`` in [-1, 1].
        discriminator: A Keras model ``images -> logits`` of shape ``(N,)``, ``(N, 1)`` or
            ``(N, 2)``. Functional, if any term asks for a feature layer.
        loss: An adversarial loss name (see ``keras_facegen.losses.get``) or instance.
        penalties: Discriminator terms (``Term`` with kind ``"discriminator"`` or functions),
            added to the discriminator loss, e.g. ``GradientPenalty(10.0)``.
        matching: Generator terms, added to the generator loss, e.g. ``FeatureMatching(1.0)``.
        d_steps: Discriminator steps per generator step.
        latent_dim: Size of a latent vector; default: the generator's input size.
        latent_distribution: ``"normal"`` (standard normal) or ``"uniform"`` (in [-1, 1]).
        ema_decay: Decay of the exponential moving average of the generator weights, in
            ``[0, 1)``; ``None`` disables it.
        ema_warmup: Ramp the EMA decay up over the first steps: step ``t`` (``iterations``
            before the step, from 0) uses ``min(ema_decay, (1 + t) / (10 + t))``, the
            ``num_updates`` rule of ``tf.train.ExponentialMovingAverage``. Without it, a decay of
            0.999 keeps the EMA close to the initial weights for thousands of steps.
        seed: Seed of the train step's random numbers (latents, term randomness).
        name: Model name.
        augment: Augment what the discriminator sees (reals and fakes, in both players' steps):
            ``"ada"``, ``"diffaugment"``, an ``augment.Augment`` / ``augment.ADA``, or ``None``.
            Logs ``aug_p`` (and ``r_t`` with ADA); terms get the augmented images.

    Raises:
        ValueError: If an argument is out of range or of the wrong kind.

    Example:
        >>> gan = GAN(generator, discriminator, loss="non_saturating", ema_decay=0.999)
        >>> gan.compile()
        >>> history = gan.fit(images, batch_size=32, epochs=1, verbose=0)
        >>> samples = gan.generate(16, seed=0, ema=True)
    """

    # === Construction ===

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        loss: str | AdversarialLoss = "non_saturating",
        penalties: Sequence[Term | Callable[[TermInputs], Any]] = (),
        matching: Sequence[Term | Callable[[TermInputs], Any]] = (),
        d_steps: int = 1,
        latent_dim: int | None = None,
        latent_distribution: str = "normal",
        ema_decay: float | None = None,
        seed: int | None = None,
        name: str = "gan",
        ema_warmup: bool = True,
        augment: str | Augment | None = None,
        **kwargs: Any,
    ) -> None:
        for argument, value in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(value, keras.Model):
                raise ValueError(
                    f"Expected `{argument}` to be a keras.Model; received "
                    f"{argument}={value!r} of type {type(value).__name__}."
                )
        d_steps = check_int(d_steps, "d_steps")
        if latent_distribution not in LATENT_DISTRIBUTIONS:
            raise ValueError(
                f"Expected `latent_distribution` to be one of {LATENT_DISTRIBUTIONS}; "
                f"received latent_distribution={latent_distribution!r}."
            )
        if ema_decay is not None and not (0.0 <= float(ema_decay) < 1.0):
            raise ValueError(
                f"Expected `ema_decay` to be None or in [0, 1); received ema_decay={ema_decay!r}."
            )
        if latent_dim is None:
            latent_dim = generator_latent_dim(generator)
        latent_dim = check_int(latent_dim, "latent_dim")
        adversarial_loss = resolve_loss(loss)
        penalty_terms = as_terms(penalties, "discriminator", "penalties")
        matching_terms = as_terms(matching, "generator", "matching")
        names = [t.name for t in penalty_terms + matching_terms]
        for term_name in names:
            if term_name in _RESERVED_LOG_NAMES or names.count(term_name) > 1:
                raise ValueError(
                    "Every penalty and matching term needs its own log name, other than "
                    f"'d_loss' and 'g_loss'; received names {names}."
                )

        super().__init__(name=name, **kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.adversarial_loss = adversarial_loss
        self.penalties = penalty_terms
        self.matching = matching_terms
        self.d_steps = d_steps
        self._latent_dim = latent_dim
        self._latent_distribution = latent_distribution
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.ema_warmup = bool(ema_warmup)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="gan_seed_generator")
        self.augment = resolve_augment(augment)

        self._views = DiscriminatorViews()
        feature_names = tuple(
            dict.fromkeys(
                t.feature_layer for t in penalty_terms + matching_terms if t.feature_layer
            )
        )
        if feature_names:
            self._views.features = feature_view(discriminator, feature_names)
            self._views.feature_names = feature_names

        self.ema_weights = []
        if self.ema_decay is not None:
            # Non-trainable variables of the GAN, so they are saved, checkpointed and (on
            # JAX) threaded through the stateless train step like every other state.
            self.ema_weights = [
                self.add_weight(
                    shape=tuple(v.shape),
                    initializer="zeros",
                    dtype=v.dtype,
                    trainable=False,
                    aggregation="only_first_replica",
                    name=f"ema_{i}",
                )
                for i, v in enumerate(generator.trainable_variables)
            ]
            for average, weight in zip(self.ema_weights, generator.trainable_variables):
                average.assign(ops.copy(weight.value))  # a buffer of its own (JAX donation)

        # The GAN's own progress counters (after the EMA weights: .keras files written before
        # the counters existed hold only those; see load_own_variables).
        self._gan_iterations, self._gan_images_seen = (
            self.add_weight(
                shape=(),
                initializer="zeros",
                dtype=COUNTER_DTYPE,
                trainable=False,
                aggregation="only_first_replica",
                name=counter,
            )
            for counter in ("iterations", "images_seen")
        )

        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.term_trackers = [keras.metrics.Mean(name=n) for n in names]
        self.built = True

    # === Public attributes ===

    @property
    def latent_dim(self) -> int:
        """Size of one latent vector."""
        return self._latent_dim

    @property
    def latent_distribution(self) -> str:
        """``"normal"`` or ``"uniform"`` (in [-1, 1])."""
        return self._latent_distribution

    @property
    def iterations(self) -> keras.Variable:
        """Train steps run so far (a non-trainable ``int`` variable of the GAN).

        Counts every train step, including steps in which a ``LossScaleOptimizer`` skipped
        its update. Saved, checkpointed and restored with the GAN. Read it inside a train step
        as ``self.iterations`` (the value before the step); outside ``fit`` use
        :meth:`counter_values`.
        """
        return self._gan_iterations

    @property
    def images_seen(self) -> keras.Variable:
        """Real images consumed by train steps so far (a non-trainable ``int`` variable).

        Each train step adds its batch size (the global batch under ``tf.distribute``) at its
        end, so inside a step ``self.images_seen`` is the count before this step's batch.
        """
        return self._gan_images_seen

    def counter_values(self) -> dict[str, int]:
        """The current ``iterations`` and ``images_seen`` as Python ints.

        Cheap to call from callbacks during ``fit``: on JAX it reads the two values from the
        train loop's state without writing the whole state back into the variables.

        Returns:
            ``{"iterations": ..., "images_seen": ...}``.

        Example:
            >>> gan.counter_values()
            {'iterations': 0, 'images_seen': 0}
        """
        return {
            "iterations": int(np.asarray(ops.convert_to_numpy(self._live_value(self.iterations)))),
            "images_seen": int(
                np.asarray(ops.convert_to_numpy(self._live_value(self.images_seen)))
            ),
        }

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        """``d_loss``, ``g_loss``, then one mean per penalty and matching term."""
        return [self.d_loss_tracker, self.g_loss_tracker, *self.term_trackers]

    # === The train step, shared by every backend ===

    def _unpack_batch(self, data: Any) -> tuple[Any, Any]:
        return unpack_batch(data, self.latent_dim)

    def _discriminate(self, images: Any, training: bool = True) -> tuple[Any, dict[str, Any]]:
        view = self._views.features
        if view is None:
            return self.discriminator(images, training=training), {}
        logits, *features = view(images, training=training)
        return logits, dict(zip(self._views.feature_names, features))

    def _pure_discriminator(self, training: bool = True) -> Callable[[Any], Any]:
        discriminator = self.discriminator

        def logits(images: Any) -> Any:
            # Current values, no state updates: safe to differentiate twice, also on JAX.
            outputs, _ = discriminator.stateless_call(
                [v.value for v in discriminator.trainable_variables],
                [v.value for v in discriminator.non_trainable_variables],
                images,
                training=training,
            )
            return outputs

        return logits

    def _evaluate_terms(self, terms: Sequence[Term], inputs: TermInputs) -> dict[str, Any]:
        return {t.name: ops.cast(t(inputs), "float32") for t in terms}

    def _discriminator_objective(
        self, real: Any, latents: Any, training: bool = True
    ) -> tuple[Any, dict[str, Any]]:
        with self._constant_pass():
            fake = ops.stop_gradient(self.generator(latents, training=training))
        real, fake = augmented(self.augment, real, fake, training)
        real_logits, real_features = self._discriminate(real, training=training)
        observe_reals(self.augment, real_logits, training)
        fake_logits, fake_features = self._discriminate(fake, training=training)
        loss = ops.cast(
            self.adversarial_loss.discriminator_loss(real_logits, fake_logits), "float32"
        )
        inputs = TermInputs(
            real_images=real,
            fake_images=fake,
            real_logits=real_logits,
            fake_logits=fake_logits,
            real_features=real_features,
            fake_features=fake_features,
            discriminator=self._pure_discriminator(training),
            seed_generator=self.seed_generator,
            step=self.iterations.value,
        )
        values = self._evaluate_terms(self.penalties, inputs)
        return total_loss(loss, values), values

    def _needs_real_pass(self) -> bool:
        if getattr(self.adversarial_loss, "needs_real_logits", False):
            return True
        return any(
            t.feature_layer is not None or getattr(t, "needs_real_logits", False)
            for t in self.matching
        )

    def _generator_objective(
        self, real: Any, latents: Any, training: bool = True
    ) -> tuple[Any, dict[str, Any]]:
        real, fake = augmented(
            self.augment, real, self.generator(latents, training=training), training
        )
        fake_logits, fake_features = self._discriminate(fake, training=training)
        real_logits, real_features = None, {}
        if self._needs_real_pass():
            with self._constant_pass():
                real_logits, real_features = keras.tree.map_structure(
                    ops.stop_gradient, self._discriminate(real, training=training)
                )
        loss = ops.cast(self.adversarial_loss.generator_loss(fake_logits, real_logits), "float32")
        inputs = TermInputs(
            real_images=real,
            fake_images=fake,
            real_logits=real_logits,
            fake_logits=fake_logits,
            real_features=real_features,
            fake_features=fake_features,
            discriminator=None,
            seed_generator=self.seed_generator,
        )
        values = self._evaluate_terms(self.matching, inputs)
        return total_loss(loss, values), values

    def ema_decay_at(self, step: Any) -> Any:
        """The EMA decay used by the train step that starts at ``iterations == step``.

        ``ema_decay``, or with ``ema_warmup`` ``min(ema_decay, (1 + step) / (10 + step))``.

        Args:
            step: The step index (an int or a scalar tensor).

        Returns:
            A float32 scalar tensor.

        Raises:
            ValueError: If the GAN keeps no EMA.

        Example:
            >>> round(float(gan.ema_decay_at(0)), 6)  # with ema_warmup, at the first step
            0.1
        """
        if self.ema_decay is None:
            raise ValueError("ema_decay_at needs a GAN built with ema_decay=...; it has none.")
        decay = ops.convert_to_tensor(self.ema_decay, "float32")
        if not self.ema_warmup:
            return decay
        step = ops.cast(step, "float32")
        return ops.minimum(decay, (1.0 + step) / (10.0 + step))

    def _update_ema(self) -> None:
        decay = self.ema_decay_at(self.iterations.value)
        for average, weight in zip(self.ema_weights, self.generator.trainable_variables):
            value = ops.cast(ops.stop_gradient(weight.value), average.dtype)
            step_decay = ops.cast(decay, average.dtype)
            average.assign(average.value * step_decay + value * (1.0 - step_decay))

    def _begin_train_step(self, real: Any) -> None:
        """Hook for subclasses, called first in every train step (inside the compiled step).

        ``self.iterations`` and ``self.images_seen`` still hold the counts before this step
        (read them as tensors, e.g. ``ops.cast(self.images_seen.value, "float32")``), so a
        schedule computed here is exact on every backend, in JAX's stateless loop and under
        ``steps_per_execution > 1``. Write state with ``variable.assign(...)`` (e.g. a fade-in
        ``alpha``); the default does nothing.

        Args:
            real: The step's real images, float32 ``(N, H, W, C)``.
        """
        del real

    def _count_step(self, batch_size: Any) -> None:
        self._gan_iterations.assign_add(ops.convert_to_tensor(1, COUNTER_DTYPE))
        images = ops.cast(self._global_batch_size(batch_size), COUNTER_DTYPE)
        self._gan_images_seen.assign_add(images)

    def _gan_train_step(self, data: Any) -> dict[str, Any]:
        real, given_latents = self._unpack_batch(data)
        real = ops.cast(real, "float32")
        batch_size = ops.shape(real)[0]
        self._begin_train_step(real)
        trackers = dict(zip([t.name for t in self.penalties + self.matching], self.term_trackers))

        def latents() -> Any:
            if given_latents is not None:
                return ops.cast(given_latents, "float32")
            return self.sample_latents(batch_size)

        for _ in range(self.d_steps):
            z = latents()
            d_loss, d_terms = self._minimize(
                functools.partial(self._discriminator_objective, real, z),
                self.discriminator.trainable_variables,
                self._discriminator_optimizer,
            )
            self.d_loss_tracker.update_state(d_loss)
            for term_name, value in d_terms.items():
                trackers[term_name].update_state(value)

        z = latents()
        g_loss, g_terms = self._minimize(
            lambda: self._generator_objective(real, z),
            self.generator.trainable_variables,
            self._generator_optimizer,
        )
        self.g_loss_tracker.update_state(g_loss)
        for term_name, value in g_terms.items():
            trackers[term_name].update_state(value)
        if self.ema_decay is not None:
            self._update_ema()
        self._count_step(batch_size)
        return {**{m.name: m.result() for m in self.metrics}, **augment_logs(self.augment)}

    def _gan_test_step(self, data: Any) -> dict[str, Any]:
        """Evaluates the losses and terms on one batch (inference mode) without updating.

        No weight, optimizer, counter or batch-norm statistic changes; the seed generator
        is put back after drawing, so evaluating never alters the training's random numbers
        (each evaluated batch of a given size gets the same sampled latents; pass
        ``(images, latents)`` batches to choose them). Penalties that take input gradients
        still compute them.
        """
        real, given_latents = self._unpack_batch(data)
        real = ops.cast(real, "float32")
        batch_size = ops.shape(real)[0]
        seed_state = ops.copy(self.seed_generator.state.value)

        def latents() -> Any:
            if given_latents is not None:
                return ops.cast(given_latents, "float32")
            return self.sample_latents(batch_size)

        trackers = dict(zip([t.name for t in self.penalties + self.matching], self.term_trackers))
        with self._constant_pass():
            d_loss, d_terms = self._discriminator_objective(real, latents(), training=False)
            g_loss, g_terms = self._generator_objective(real, latents(), training=False)
        d_loss, g_loss, d_terms, g_terms = self._detached((d_loss, g_loss, d_terms, g_terms))
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        for term_name, value in {**d_terms, **g_terms}.items():
            trackers[term_name].update_state(value)
        self.seed_generator.state.assign(seed_state)
        return {m.name: m.result() for m in self.metrics}

    # === Serialization ===

    def load_own_variables(self, store: Any) -> None:
        """Loads the GAN's own variables; accepts files written before the step counters.

        Such files hold only the EMA weights: they are loaded and the counters stay at 0.

        Args:
            store: Keras' variable store for this layer.
        """
        own = self._trainable_variables + self._non_trainable_variables
        counters = {id(self._gan_iterations), id(self._gan_images_seen)}
        older = [v for v in own if id(v) not in counters]
        if len(store.keys()) == len(older) and len(older) < len(own):
            for i, variable in enumerate(older):
                variable.assign(store[f"{i}"])
            return
        super().load_own_variables(store)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, with the models and loss terms serialized."""
        return {
            "name": self.name,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "loss": facegen_losses.serialize(self.adversarial_loss),
            "penalties": [serialize_term(t) for t in self.penalties],
            "matching": [serialize_term(t) for t in self.matching],
            "d_steps": self.d_steps,
            "latent_dim": self.latent_dim,
            "latent_distribution": self.latent_distribution,
            "ema_decay": self.ema_decay,
            "ema_warmup": self.ema_warmup,
            "seed": self.seed,
            "augment": keras.saving.serialize_keras_object(self.augment),
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> GAN:
        """Rebuilds a GAN from :meth:`get_config`'s output.

        Args:
            config: The serialized constructor arguments.

        Returns:
            A new, uncompiled GAN.
        """
        config = dict(config)
        for key in ("generator", "discriminator"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        config["loss"] = facegen_losses.deserialize(config["loss"])
        for key in ("penalties", "matching"):
            config[key] = [deserialize_term(t) for t in config.get(key, [])]
        config["augment"] = keras.saving.deserialize_keras_object(config.get("augment"))
        return cls(**config)
