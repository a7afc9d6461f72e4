"""The GAN train step's gradient mechanics on the TensorFlow backend.

Keras traces ``train_step`` into a ``tf.function`` (XLA when ``jit_compile=True``) and runs it
once per replica under a ``tf.distribute`` strategy. Gradients come from a ``GradientTape``;
under a strategy each replica's loss is divided by the number of replicas, because the
optimizer sums gradients over replicas (as Keras' own trainer does).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import keras
import tensorflow as tf

from keras_facegen.backend._trainer import StatefulGANTrainer
from keras_facegen.backend.tensorflow import distributed


class GANTrainer(StatefulGANTrainer):
    """Mixin giving ``GAN`` its TensorFlow ``train_step``; the algorithm lives in ``GAN``."""

    def train_step(self, data: Any) -> dict[str, Any]:
        """Runs one GAN train step (D steps, G step, EMA) on one batch.

        Args:
            data: One batch (see ``GAN.fit``).

        Returns:
            The logs: ``d_loss``, ``g_loss`` and one entry per term.
        """
        logs = super().train_step(data)
        if distributed.in_multi_worker_mode():
            # Keras reduces a multi-worker step's outputs with ``strategy.reduce(MEAN, axis=0)``,
            # which needs an axis: each replica's value becomes a 1-vector, the mean a scalar.
            logs = {key: tf.reshape(value, (1,)) for key, value in logs.items()}
        return logs

    def fit(self, x: Any = None, *args: Any, **kwargs: Any) -> Any:
        """``keras.Model.fit``; across several workers a ``PyDataset`` feeds this worker only.

        Args:
            x: The training data (see ``GAN.fit``).
            *args: ``keras.Model.fit``'s other arguments.
            **kwargs: ``keras.Model.fit``'s other arguments.

        Returns:
            The ``History``.
        """
        return super().fit(distributed.prepare_data(x), *args, **kwargs)  # type: ignore[misc]

    def _detached(self, tree: Any) -> Any:
        """``tree`` cut from any gradient computation."""
        return tree

    def _minimize(
        self,
        loss_fn: Callable[[], tuple[Any, Any]],
        variables: Sequence[Any],
        optimizer: keras.optimizers.Optimizer,
    ) -> tuple[Any, Any]:
        """One gradient step of ``optimizer`` on ``variables`` for the loss ``loss_fn()``."""
        _, num_replicas = self._replica_context()
        with tf.GradientTape() as tape:
            loss, aux = loss_fn()
            scaled = optimizer.scale_loss(loss / num_replicas if num_replicas > 1 else loss)
        grads = tape.gradient(scaled, list(variables))
        optimizer.apply(grads, list(variables))
        return loss, aux

    def _constant_pass(self) -> contextlib.AbstractContextManager[None]:
        """Context for a forward pass whose outputs the loss uses as constants."""
        # ``ops.stop_gradient`` already keeps these outputs out of the gradient, and the
        # traced graph only differentiates what the loss depends on: nothing to switch off.
        return contextlib.nullcontext()

    def _live_value(self, variable: Any) -> Any:
        """A variable's current value (the variable holds it at all times here).

        Read through ``tf.identity``: under ``MultiWorkerMirroredStrategy`` a scalar mirrored
        variable cannot be converted to NumPy directly, its tensor value can.
        """
        return tf.identity(variable.value)

    def _global_batch_size(self, batch_size: Any) -> Any:
        """The batch size summed over replicas (the local one outside a strategy)."""
        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            return batch_size
        local = tf.cast(batch_size, tf.float32)
        return tf.cast(context.all_reduce(tf.distribute.ReduceOp.SUM, local), tf.int64)

    def _replica_context(self) -> tuple[Any, int]:
        return distributed.replica_position()
