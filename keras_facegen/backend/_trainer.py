"""What the backends' ``GANTrainer`` mixins share.

The GAN hooks they call, and (TensorFlow, PyTorch) Keras' stateful ``train_step(data)`` /
``test_step(data)`` entry points.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # The mixins are only ever bases of GAN, a keras.Model: type them against one.
    from keras import Model as _Host
else:
    _Host = object


class GANTrainerBase(_Host):
    """Base of every backend's ``GANTrainer``; ``GAN`` defines the algorithm it calls.

    Each backend writes ``_detached``, ``_minimize``, ``_constant_pass``, ``_live_value``,
    ``_global_batch_size`` and ``_replica_context``: the same signatures, its own mechanics.
    """

    if TYPE_CHECKING:  # the shared algorithm, defined by GAN

        def _gan_train_step(self, data: Any) -> dict[str, Any]: ...

        def _gan_test_step(self, data: Any) -> dict[str, Any]: ...


class StatefulGANTrainer(GANTrainerBase):
    """Keras' stateful entry points (TensorFlow, PyTorch): the variables hold the state."""

    def train_step(self, data: Any) -> dict[str, Any]:
        """Runs one GAN train step (D steps, G step, EMA) on one batch.

        Args:
            data: One batch (see ``GAN.fit``).

        Returns:
            The logs: ``d_loss``, ``g_loss`` and one entry per term.
        """
        return self._gan_train_step(data)

    def test_step(self, data: Any) -> dict[str, Any]:
        """Evaluates the losses and terms on one batch without updating anything.

        Args:
            data: One batch (see ``GAN.fit``).

        Returns:
            The logs: ``d_loss``, ``g_loss`` and one entry per term.
        """
        return self._gan_test_step(data)
