"""``GAN``: a generator and a discriminator trained against each other with ``fit``.

The algorithm (latent sampling, loss terms, logging, the generator EMA) is written once here
with ``keras.ops``. The gradient mechanics of each backend come from
``keras_facegen.backend.<name>.gan_trainer.GANTrainer``, picked once when this module is
imported, exactly like ``keras.Model`` picks its own trainer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from keras_facegen import losses as facegen_losses
from keras_facegen._validation import check_int
from keras_facegen.backend import gan_trainer
from keras_facegen.losses.base import AdversarialLoss, Term, TermInputs, as_term

LATENT_DISTRIBUTIONS = ("normal", "uniform")
_RESERVED_LOG_NAMES = ("d_loss", "g_loss")
#: dtype of ``GAN.iterations`` / ``GAN.images_seen``: int64, or int32 on JAX (which keeps 64-bit
#: integers off unless ``jax_enable_x64`` is set), as Keras' own optimizer step counter.
COUNTER_DTYPE = "int32" if keras.backend.backend() == "jax" else "int64"

GANTrainer = gan_trainer()


def default_optimizer() -> keras.optimizers.Optimizer:
    """The optimizer each player gets by default: ``Adam(2e-4, beta_1=0.5)`` (DCGAN paper).

    Returns:
        A new ``keras.optimizers.Adam``.

    Example:
        >>> round(float(default_optimizer().learning_rate), 6)
        0.0002
    """
    return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)


class GANOptimizer:
    """The generator's and the discriminator's optimizers, seen by Keras as one optimizer.

    ``GAN.compile`` sets ``gan.optimizer`` to one of these. Keras' fit loops only need
    ``variables``, ``built`` and ``build`` from it; on JAX that is what threads both
    optimizers' state through the stateless train step. Each sub-optimizer still updates only
    its own player's variables.

    Args:
        generator_optimizer: Updates the generator.
        discriminator_optimizer: Updates the discriminator.

    Example:
        >>> opt = GANOptimizer(keras.optimizers.Adam(), keras.optimizers.SGD())
        >>> opt.built
        False
    """

    def __init__(
        self,
        generator_optimizer: keras.optimizers.Optimizer,
        discriminator_optimizer: keras.optimizers.Optimizer,
        iterations: Any = None,
    ) -> None:
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        self._iterations = iterations

    @property
    def built(self) -> bool:
        """Whether both sub-optimizers have created their variables."""
        return bool(self.generator_optimizer.built and self.discriminator_optimizer.built)

    def build_players(
        self, generator_variables: Sequence[Any], discriminator_variables: Sequence[Any]
    ) -> None:
        """Creates the slot variables of both sub-optimizers.

        Args:
            generator_variables: The generator's trainable variables.
            discriminator_variables: The discriminator's trainable variables.
        """
        for optimizer, variables in (
            (self.generator_optimizer, generator_variables),
            (self.discriminator_optimizer, discriminator_variables),
        ):
            if not optimizer.built:
                optimizer.build(list(variables))

    def build(self, var_list: Sequence[Any]) -> None:
        """Kept for Keras' fit loop; the GAN builds its optimizers in ``compile``.

        Args:
            var_list: Ignored.

        Raises:
            RuntimeError: If the sub-optimizers were not built by ``GAN.compile``.
        """
        if not self.built:
            raise RuntimeError("GANOptimizer is built by GAN.compile(); call compile() first.")

    @property
    def variables(self) -> list[Any]:
        """The generator optimizer's variables, then the discriminator optimizer's."""
        return list(self.generator_optimizer.variables) + list(
            self.discriminator_optimizer.variables
        )

    @property
    def iterations(self) -> Any:
        """Train steps run: the GAN's own counter (``GAN.iterations``).

        Keras callbacks that read ``model.optimizer.iterations`` (e.g. TensorBoard) see the
        GAN's step count, which also counts steps a ``LossScaleOptimizer`` skipped. A
        ``GANOptimizer`` built without a GAN falls back to the generator optimizer's counter.
        """
        if self._iterations is not None:
            return self._iterations
        return self.generator_optimizer.iterations

    @property
    def learning_rate(self) -> Any:
        """The generator's learning rate; setting it moves both players' rates.

        The setter gives the generator optimizer the new rate and multiplies the
        discriminator's by the same factor, so a ratio between the two (e.g. a two-timescale
        update rule with a faster discriminator) survives ``LearningRateScheduler`` and
        ``ReduceLROnPlateau``; equal rates stay equal. If the generator's rate is 0, both get
        the new value. Both optimizers need a float learning rate (not a schedule) to be set.

        Example:
            >>> opt = GANOptimizer(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(4e-3))
            >>> opt.learning_rate = 5e-4
            >>> round(float(opt.discriminator_optimizer.learning_rate), 6)
            0.002
        """
        return self.generator_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        value = _as_float(value)
        old_g = _as_float(self.generator_optimizer.learning_rate)
        old_d = _as_float(self.discriminator_optimizer.learning_rate)
        new_d = value if old_g == 0.0 else old_d * (value / old_g)
        self.generator_optimizer.learning_rate = value
        self.discriminator_optimizer.learning_rate = new_d

    def scale_loss(self, loss: Any) -> Any:
        """Returns ``loss`` unchanged (each player scales its own loss)."""
        return loss

    def __repr__(self) -> str:
        return (
            f"GANOptimizer(generator_optimizer={self.generator_optimizer!r}, "
            f"discriminator_optimizer={self.discriminator_optimizer!r})"
        )


def _as_float(value: Any) -> float:
    return float(np.asarray(ops.convert_to_numpy(value)))


class _Views:
    """Holds the discriminator's multi-output view outside Keras' layer tracking.

    The view shares the discriminator's layers; tracking it as a sub-model would list those
    layers twice in saved files.
    """

    def __init__(self) -> None:
        self.features: keras.Model | None = None
        self.feature_names: tuple[str, ...] = ()


def _resolve_loss(loss: str | AdversarialLoss) -> AdversarialLoss:
    if isinstance(loss, AdversarialLoss):
        return loss
    if isinstance(loss, str):
        return facegen_losses.get(loss)
    raise ValueError(
        "Expected `loss` to be a loss name (e.g. 'non_saturating') or a "
        f"keras_facegen.losses.AdversarialLoss; received loss={loss!r}."
    )


def _as_terms(terms: Any, kind: str, argument: str) -> list[Term]:
    if terms is None:
        return []
    if isinstance(terms, Term) or (callable(terms) and not isinstance(terms, (list, tuple))):
        terms = [terms]
    if not isinstance(terms, Iterable):
        raise ValueError(
            f"Expected `{argument}` to be a sequence of terms; received {argument}={terms!r}."
        )
    return [as_term(t, kind) for t in terms]


@keras.saving.register_keras_serializable(package="keras_facegen")
class GAN(GANTrainer, keras.Model):
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

    Raises:
        ValueError: If an argument is out of range or of the wrong kind.

    Example:
        >>> gan = GAN(generator, discriminator, loss="non_saturating", ema_decay=0.999)
        >>> gan.compile()
        >>> history = gan.fit(images, batch_size=32, epochs=1, verbose=0)
        >>> samples = gan.generate(16, seed=0, ema=True)
    """

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
            latent_dim = _generator_latent_dim(generator)
        latent_dim = check_int(latent_dim, "latent_dim")
        adversarial_loss = _resolve_loss(loss)
        penalty_terms = _as_terms(penalties, "discriminator", "penalties")
        matching_terms = _as_terms(matching, "generator", "matching")
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

        self._views = _Views()
        feature_names = tuple(
            dict.fromkeys(
                t.feature_layer for t in penalty_terms + matching_terms if t.feature_layer
            )
        )
        if feature_names:
            self._views.features = _feature_view(discriminator, feature_names)
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
        self._gan_iterations = self.add_weight(
            shape=(),
            initializer="zeros",
            dtype=COUNTER_DTYPE,
            trainable=False,
            aggregation="only_first_replica",
            name="iterations",
        )
        self._gan_images_seen = self.add_weight(
            shape=(),
            initializer="zeros",
            dtype=COUNTER_DTYPE,
            trainable=False,
            aggregation="only_first_replica",
            name="images_seen",
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
    def generator_optimizer(self) -> keras.optimizers.Optimizer | None:
        """The generator's optimizer (after ``compile``)."""
        return getattr(self, "_generator_optimizer", None)

    @property
    def discriminator_optimizer(self) -> keras.optimizers.Optimizer | None:
        """The discriminator's optimizer (after ``compile``)."""
        return getattr(self, "_discriminator_optimizer", None)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        """``d_loss``, ``g_loss``, then one mean per penalty and matching term."""
        return [self.d_loss_tracker, self.g_loss_tracker, *self.term_trackers]

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
        """Sets the optimizers and how the train step is compiled.

        Under the ``mixed_float16`` policy each optimizer is wrapped in a
        ``keras.optimizers.LossScaleOptimizer`` (unless ``auto_scale_loss=False``).

        Args:
            generator_optimizer: Optimizer (instance, name or config) for the generator;
                default ``Adam(2e-4, beta_1=0.5)``.
            discriminator_optimizer: The same for the discriminator. Must be a different
                instance from ``generator_optimizer``.
            jit_compile: ``"auto"`` (XLA on JAX; a ``tf.function`` on TensorFlow, with XLA
                where Keras enables it; eager on PyTorch), ``True`` or ``False``.
            run_eagerly: Run the train step eagerly (debugging).
            steps_per_execution: Train steps per compiled call (TensorFlow and JAX).
            auto_scale_loss: Wrap optimizers in loss scaling under ``mixed_float16``.

        Raises:
            ValueError: If both optimizers are the same object.

        Example:
            >>> gan.compile(generator_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.0))
        """
        g_opt = keras.optimizers.get(generator_optimizer) or default_optimizer()
        d_opt = keras.optimizers.get(discriminator_optimizer) or default_optimizer()
        if g_opt is d_opt:
            raise ValueError(
                "The generator and the discriminator need separate optimizer instances; "
                f"received the same object twice: {g_opt!r}."
            )
        if auto_scale_loss and self.dtype_policy.name == "mixed_float16":
            g_opt, d_opt = (
                opt
                if isinstance(opt, keras.optimizers.LossScaleOptimizer)
                else keras.optimizers.LossScaleOptimizer(opt)
                for opt in (g_opt, d_opt)
            )
        super().compile(
            optimizer=None,
            jit_compile=jit_compile,
            run_eagerly=run_eagerly,
            steps_per_execution=steps_per_execution,
            auto_scale_loss=False,
        )
        self._generator_optimizer = g_opt
        self._discriminator_optimizer = d_opt
        self.optimizer = GANOptimizer(g_opt, d_opt, iterations=self.iterations)
        self.optimizer.build_players(
            self.generator.trainable_variables, self.discriminator.trainable_variables
        )
        self._gan_compile_config = {
            "generator_optimizer": keras.optimizers.serialize(g_opt),
            "discriminator_optimizer": keras.optimizers.serialize(d_opt),
            "jit_compile": jit_compile,
            "run_eagerly": run_eagerly,
            "steps_per_execution": steps_per_execution,
            "auto_scale_loss": auto_scale_loss,
        }

    def get_compile_config(self) -> dict[str, Any] | None:
        """The ``compile`` arguments, for saving (``None`` before ``compile``)."""
        return getattr(self, "_gan_compile_config", None)

    def compile_from_config(self, config: Mapping[str, Any]) -> None:
        """Compiles from :meth:`get_compile_config`'s output (used when loading).

        Args:
            config: The saved compile arguments.
        """
        config = dict(config)
        for key in ("generator_optimizer", "discriminator_optimizer"):
            config[key] = keras.optimizers.deserialize(config[key])
        self.compile(**config)

    # === Inference ===

    def call(self, latents: Any, training: bool = False) -> Any:
        """Generates images from latents (the generator's forward pass).

        Args:
            latents: ``(N, latent_dim)``.
            training: Run the generator in training mode.

        Returns:
            Images ``(N, H, W, C)``.
        """
        return self.generator(latents, training=training)

    def sample_latents(self, num: Any) -> Any:
        """Draws ``num`` latents from the seed generator (used inside train steps).

        Args:
            num: Number of latent vectors (may be a symbolic batch size).

        Returns:
            A float32 tensor ``(num, latent_dim)``.
        """
        replica, num_replicas = self._replica_context()
        shape = (num * num_replicas, self.latent_dim)
        if self.latent_distribution == "normal":
            z = keras.random.normal(shape, seed=self.seed_generator, dtype="float32")
        else:
            z = keras.random.uniform(
                shape, minval=-1.0, maxval=1.0, seed=self.seed_generator, dtype="float32"
            )
        if num_replicas > 1:
            # Every replica draws the global batch from the same seed and keeps its own slice,
            # so replicas never share latents and the union matches a one-device run.
            z = z[replica * num : (replica + 1) * num]
        return z

    def generate(
        self,
        n_or_latents: int | np.ndarray,
        seed: int | None = None,
        ema: bool = False,
        batch_size: int = 64,
    ) -> np.ndarray:
        """Generates images, before or after ``fit``.

        Latents drawn here come from NumPy (``np.random.default_rng(seed)``), so the same
        ``seed`` gives the same latents on every backend.

        Args:
            n_or_latents: Number of images, or latents ``(N, latent_dim)``.
            seed: Seed of the latents when a number is given.
            ema: Use the EMA generator weights (requires ``ema_decay``).
            batch_size: Latents per generator call.

        Returns:
            Float32 images ``(N, H, W, C)`` in [-1, 1].

        Raises:
            ValueError: For a bad count, latents of the wrong shape, a bad batch size, or
                ``ema=True`` without ``ema_decay``.

        Example:
            >>> gan.generate(8, seed=0).shape
            (8, 64, 64, 3)
        """
        latents = self._latents_for(n_or_latents, seed)
        batch_size = check_int(batch_size, "batch_size")
        if ema and self.ema_decay is None:
            raise ValueError(
                "generate(ema=True) needs the generator EMA; build the GAN with ema_decay=..., "
                f"received ema={ema!r} on a GAN with ema_decay=None."
            )
        self.sync_state()
        outputs = []
        for start in range(0, len(latents), batch_size):
            z = latents[start : start + batch_size]
            if ema:
                images, _ = self.generator.stateless_call(
                    [v.value for v in self.ema_weights],
                    [v.value for v in self.generator.non_trainable_variables],
                    z,
                    training=False,
                )
            else:
                images = self.generator(z, training=False)
            outputs.append(np.asarray(ops.convert_to_numpy(ops.cast(images, "float32"))))
        if not outputs:
            return np.zeros((0, *self.generator.output_shape[1:]), "float32")
        return np.clip(np.concatenate(outputs), -1.0, 1.0)

    def _latents_for(self, n_or_latents: int | np.ndarray, seed: int | None) -> np.ndarray:
        if isinstance(n_or_latents, (int, np.integer)) and not isinstance(n_or_latents, bool):
            if n_or_latents < 0:
                raise ValueError(
                    "Expected a number of images >= 0 or latents (N, latent_dim); received "
                    f"n_or_latents={n_or_latents!r}."
                )
            rng = np.random.default_rng(seed)
            shape = (int(n_or_latents), self.latent_dim)
            if self.latent_distribution == "normal":
                return rng.standard_normal(shape).astype("float32")
            return rng.uniform(-1.0, 1.0, shape).astype("float32")
        latents = np.asarray(ops.convert_to_numpy(n_or_latents), dtype="float32")
        if latents.ndim != 2 or latents.shape[1] != self.latent_dim:
            raise ValueError(
                f"Expected latents of shape (N, {self.latent_dim}); received n_or_latents of "
                f"shape {latents.shape}."
            )
        return latents

    def sync_state(self) -> None:
        """Writes the train loop's state back into the variables (JAX; a no-op elsewhere).

        During ``fit`` on JAX the variables' values live in the jitted loop's state; call this
        before reading or assigning weights from outside the train step (callbacks,
        checkpoints).
        """
        sync = getattr(self, "jax_state_sync", None)
        if sync is not None:
            sync()

    # === The train step, shared by every backend ===

    def _unpack_batch(self, data: Any) -> tuple[Any, Any]:
        images, latents, _ = keras.utils.unpack_x_y_sample_weight(data)
        if isinstance(images, Mapping):
            if "images" not in images:
                raise ValueError(
                    "A dict batch needs the key 'images' (and optionally 'latents'); received "
                    f"keys {sorted(images)}."
                )
            images, latents = images["images"], images.get("latents", latents)
        if latents is not None:
            self._check_batch_latents(images, latents)
        return images, latents

    def _check_batch_latents(self, images: Any, latents: Any) -> None:
        # Shapes and dtypes are static here on every backend (also in traced graphs), so a
        # wrong second element (labels, most often) is refused before it reaches the generator.
        shape = tuple(getattr(latents, "shape", np.shape(latents)))
        dtype = keras.backend.standardize_dtype(getattr(latents, "dtype", "float32"))
        image_shape = tuple(getattr(images, "shape", ()))
        same_batch = (
            not image_shape
            or not shape
            or shape[0] is None
            or image_shape[0] is None
            or int(shape[0]) == int(image_shape[0])
        )
        if (
            len(shape) != 2
            or shape[1] != self.latent_dim
            or not dtype.startswith(("float", "bfloat"))
            or not same_batch
        ):
            raise ValueError(
                "A GAN batch is images, (images, latents) or {'images': ..., 'latents': ...}; "
                f"latents must be floats of shape (N, {self.latent_dim}) with N the number of "
                f"images ({image_shape[0] if image_shape else 'N'}). Received a second element "
                f"of shape {shape} and dtype {dtype} with images of shape {image_shape}. "
                "GAN.fit takes no labels: fit(images, labels) is not a GAN batch; pass "
                "fit(images) (or latents of the right shape)."
            )

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
        real_logits, real_features = self._discriminate(real, training=training)
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
        )
        values = self._evaluate_terms(self.penalties, inputs)
        return _total(loss, values), values

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
        fake = self.generator(latents, training=training)
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
        return _total(loss, values), values

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
                lambda z=z: self._discriminator_objective(real, z),
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
        return {m.name: m.result() for m in self.metrics}

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
            "penalties": [_serialize_term(t) for t in self.penalties],
            "matching": [_serialize_term(t) for t in self.matching],
            "d_steps": self.d_steps,
            "latent_dim": self.latent_dim,
            "latent_distribution": self.latent_distribution,
            "ema_decay": self.ema_decay,
            "ema_warmup": self.ema_warmup,
            "seed": self.seed,
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
            config[key] = [_deserialize_term(t) for t in config.get(key, [])]
        return cls(**config)


def _serialize_term(term: Term) -> dict[str, Any]:
    fn = getattr(term, "fn", None)
    if fn is not None and type(term).__name__ == "_FunctionTerm":
        # A plain function made into a term by as_term: save the function (it must be
        # registered with keras.saving.register_keras_serializable) and its log name.
        return {
            "function": keras.saving.serialize_keras_object(getattr(fn, "__wrapped__", fn)),
            "kind": term.kind,
            "name": term.name,
        }
    return keras.saving.serialize_keras_object(term)


def _deserialize_term(config: Mapping[str, Any]) -> Term:
    if "function" in config:
        fn = keras.saving.deserialize_keras_object(config["function"])
        return as_term(_named(fn, config["name"]), config["kind"])
    return keras.saving.deserialize_keras_object(dict(config))


def _named(fn: Callable[[TermInputs], Any], name: str) -> Callable[[TermInputs], Any]:
    def term(inputs: TermInputs) -> Any:
        return fn(inputs)

    term.name = name
    term.feature_layer = getattr(fn, "feature_layer", None)
    term.__wrapped__ = fn
    return term


def _total(loss: Any, values: Mapping[str, Any]) -> Any:
    for value in values.values():
        loss = loss + value
    return loss


def _generator_latent_dim(generator: keras.Model) -> int:
    try:
        shape = generator.input_shape
    except (AttributeError, ValueError) as error:
        raise ValueError(
            "Could not read the latent size from the generator's input; pass latent_dim=... "
            f"(generator={generator.name!r})."
        ) from error
    if isinstance(shape, list) or len(shape) != 2 or shape[-1] is None:
        raise ValueError(
            "Expected a generator with one input of shape (None, latent_dim); received input "
            f"shape {shape}. Pass latent_dim=... explicitly."
        )
    return int(shape[-1])


def _feature_view(discriminator: keras.Model, names: Sequence[str]) -> keras.Model:
    try:
        outputs = [discriminator.get_layer(name).output for name in names]
    except (ValueError, AttributeError) as error:
        raise ValueError(
            f"Feature terms need discriminator layers {list(names)}, and a functional "
            f"discriminator to read them from; discriminator={discriminator.name!r} "
            f"({type(discriminator).__name__}) failed: {error}"
        ) from error
    return keras.Model(discriminator.inputs, [discriminator.output, *outputs])
