"""The GAN train step's gradient mechanics on the PyTorch backend.

Keras runs ``train_step`` eagerly by default (``jit_compile=True`` wraps it in
``torch.compile``). Gradients come from ``torch.autograd.grad`` with respect to exactly the
variables being trained, so the generator step leaves no stale gradients on the discriminator;
a variable the loss does not reach gets ``None`` and the optimizer leaves it alone.
Forward passes whose outputs are constants of the loss (the fake batch of a discriminator step,
the real features of a generator step) run under ``torch.no_grad()``: no autograd graph is
built or kept alive for them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import keras
import torch

from keras_facegen.backend._trainer import StatefulGANTrainer


class GANTrainer(StatefulGANTrainer):
    """Mixin giving ``GAN`` its PyTorch ``train_step``; the algorithm lives in ``GAN``."""

    def _detached(self, tree: Any) -> Any:
        """``tree`` cut from any gradient computation."""
        return _detach(tree)

    def _minimize(
        self,
        loss_fn: Callable[[], tuple[Any, Any]],
        variables: Sequence[Any],
        optimizer: keras.optimizers.Optimizer,
    ) -> tuple[Any, Any]:
        """One gradient step of ``optimizer`` on ``variables`` for the loss ``loss_fn()``."""
        variables = list(variables)
        with torch.enable_grad():
            loss, aux = loss_fn()
            scaled = optimizer.scale_loss(loss)
            grads = torch.autograd.grad(scaled, [v.value for v in variables], allow_unused=True)
        # A variable the loss does not reach keeps ``None``: Keras' optimizers skip it (no
        # momentum, no weight decay), as Keras' own PyTorch trainer does.
        with torch.no_grad():
            optimizer.apply(grads, variables)
        return loss.detach(), _detach(aux)

    @contextlib.contextmanager
    def _constant_pass(self) -> Iterator[None]:
        """Runs a forward pass whose outputs the loss uses as constants, without autograd."""
        with torch.no_grad():
            yield

    def _live_value(self, variable: Any) -> Any:
        """A variable's current value (the variable holds it at all times here)."""
        return variable.value

    def _global_batch_size(self, batch_size: Any) -> Any:
        """The batch size of the step (one process, one device)."""
        return batch_size

    def _replica_context(self) -> tuple[int, int]:
        return 0, 1


def _detach(tree: Any) -> Any:
    return keras.tree.map_structure(
        lambda x: x.detach() if isinstance(x, torch.Tensor) else x, tree
    )
