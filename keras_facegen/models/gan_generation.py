"""Images from a GAN: ``call``, ``sample_latents`` and ``generate``, a base of ``GAN``.

:class:`GANGenerationMixin` holds the generator side of :class:`~keras_facegen.models.GAN` that
the train step does not need to show: latents drawn inside a step (:meth:`sample_latents`,
per replica) and images made outside ``fit`` (:meth:`generate`, from NumPy latents, optionally
with the EMA weights).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras
import numpy as np
from keras import ops

from keras_facegen._validation import check_int
from keras_facegen.latent.distributions import sample_latents

if TYPE_CHECKING:
    # The mixin is only ever a base of GAN, itself a keras.Model: type it against one.
    from keras import Model as _Host
else:
    _Host = object


class GANGenerationMixin(_Host):
    """Latents and images from the generator; a base of :class:`~keras_facegen.models.GAN`.

    It reads the GAN's ``generator``, ``latent_dim``, ``latent_distribution``,
    ``seed_generator``, ``ema_decay`` and ``ema_weights``, and the backend trainer's
    ``_replica_context``.
    """

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
            if n_or_latents == 0:
                return np.zeros((0, self.latent_dim), "float32")
            count = int(n_or_latents)
            return sample_latents(count, self.latent_dim, self.latent_distribution, seed)
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
