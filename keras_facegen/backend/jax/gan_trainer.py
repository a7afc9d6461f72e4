"""The GAN train step's gradient mechanics on the JAX backend.

The train step is a pure function of ``(state, data)``. It maps every variable of the model
(and of both optimizers and the metrics) to its value in ``state`` inside one
:class:`keras.StatelessScope`, runs the shared algorithm (``GAN._gan_train_step``) in that scope,
and reads the new state back out. Each gradient step differentiates a nested scope with
``jax.value_and_grad`` and applies the optimizer with ``stateless_apply``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import jax
import keras

from keras_facegen.backend._trainer import GANTrainerBase


class GANTrainer(GANTrainerBase):
    """Mixin giving ``GAN`` its JAX ``train_step``; the algorithm itself lives in ``GAN``."""

    def _state_variables(self) -> tuple[list[Any], ...]:
        return (
            self.trainable_variables,
            self.non_trainable_variables,
            self.optimizer.variables,
            self.metrics_variables,
        )

    def train_step(self, state: Sequence[Any], data: Any) -> tuple[dict[str, Any], tuple]:
        """Runs one GAN train step statelessly.

        Args:
            state: ``(trainable, non_trainable, optimizer, metrics)`` variable values, in the
                order of ``_state_variables``.
            data: One batch (see ``GAN.fit``).

        Returns:
            ``(logs, new_state)``.
        """
        groups = self._state_variables()
        mapping = [(v, x) for vs, xs in zip(groups, state) for v, x in zip(vs, xs)]
        with keras.StatelessScope(state_mapping=mapping) as scope:
            self._gan_scope = scope
            try:
                logs = self._gan_train_step(data)
            finally:
                self._gan_scope = None
        new_state = tuple(
            [_value_in(scope, v, x) for v, x in zip(vs, xs)] for vs, xs in zip(groups, state)
        )
        return logs, new_state

    def test_step(self, state: Sequence[Any], data: Any) -> tuple[dict[str, Any], tuple]:
        """Evaluates the losses and terms on one batch statelessly, updating nothing.

        Args:
            state: ``(trainable, non_trainable, metrics)`` variable values.
            data: One batch (see ``GAN.fit``).

        Returns:
            ``(logs, new_state)``; only the metrics' values change.
        """
        groups = (self.trainable_variables, self.non_trainable_variables, self.metrics_variables)
        mapping = [(v, x) for vs, xs in zip(groups, state) for v, x in zip(vs, xs)]
        with keras.StatelessScope(state_mapping=mapping) as scope:
            logs = self._gan_test_step(data)
        new_state = tuple(
            [_value_in(scope, v, x) for v, x in zip(vs, xs)] for vs, xs in zip(groups, state)
        )
        return logs, new_state

    def _detached(self, tree: Any) -> Any:
        """``tree`` unchanged: nothing is differentiated outside ``_minimize`` on JAX."""
        return tree

    def _minimize(
        self,
        loss_fn: Callable[[], tuple[Any, Any]],
        variables: Sequence[Any],
        optimizer: keras.optimizers.Optimizer,
    ) -> tuple[Any, Any]:
        """One gradient step of ``optimizer`` on ``variables`` for the loss ``loss_fn()``."""
        outer = self._gan_scope
        if outer is None:
            raise RuntimeError("GAN._minimize must run inside the JAX train step.")
        all_vars = [v for vs in self._state_variables() for v in vs]
        current = [_value_in(outer, v, None) for v in all_vars]
        trained_ids = {id(v) for v in variables}
        position = {id(v): i for i, v in enumerate(all_vars)}

        def scaled_loss(train_values: list[Any]) -> tuple[Any, tuple]:
            values = list(current)
            for v, x in zip(variables, train_values):
                values[position[id(v)]] = x
            with keras.StatelessScope(state_mapping=list(zip(all_vars, values))) as inner:
                loss, aux = loss_fn()
                scaled = optimizer.scale_loss(loss)
            # Side effects of the forward pass (BatchNorm statistics, seed state) leave the
            # differentiated function as auxiliary outputs, never as leaked tracers.
            updates = {}
            for i, v in enumerate(all_vars):
                new = inner.get_current_value(v)
                if id(v) not in trained_ids and new is not values[i]:
                    updates[i] = new
            return scaled, (loss, aux, updates)

        train_values = [current[position[id(v)]] for v in variables]
        (_, (loss, aux, updates)), grads = jax.value_and_grad(scaled_loss, has_aux=True)(
            train_values
        )
        # jax.grad gives zeros for variables the loss does not reach; Keras' optimizers skip
        # a ``None`` gradient (no momentum, no weight decay), as on TensorFlow and PyTorch.
        reached = _reached_inputs(lambda values: scaled_loss(values)[0], train_values)
        grads = [g if used else None for g, used in zip(grads, reached)]
        for i, new in updates.items():
            all_vars[i].assign(new)
        opt_values = [_value_in(outer, v, None) for v in optimizer.variables]
        new_train, new_opt = optimizer.stateless_apply(opt_values, grads, train_values)
        for v, x in zip(variables, new_train):
            v.assign(x)
        for v, x in zip(optimizer.variables, new_opt):
            v.assign(x)
        return loss, aux

    def _constant_pass(self) -> contextlib.AbstractContextManager[None]:
        """Context for a forward pass whose outputs the loss uses as constants."""
        # ``ops.stop_gradient`` already keeps these outputs out of the gradient, and the
        # traced graph only differentiates what the loss depends on: nothing to switch off.
        return contextlib.nullcontext()

    def _global_batch_size(self, batch_size: Any) -> Any:
        """The batch size of the step (keras.distribution runs one global program)."""
        return batch_size

    def _live_value(self, variable: Any) -> Any:
        """A variable's value, read from ``fit``'s loop state if it is newer than the variable.

        During ``fit`` the values live in the jitted loop's state (the variables themselves are
        emptied); this reads one value without writing the whole state back.
        """
        state = getattr(self, "_jax_state", None)
        if state and not getattr(self, "_jax_state_synced", True):
            groups = (
                ("trainable_variables", self.trainable_variables),
                ("non_trainable_variables", self.non_trainable_variables),
                ("optimizer_variables", self.optimizer.variables if self.optimizer else []),
                ("metrics_variables", self.metrics_variables),
            )
            for key, variables in groups:
                values = state.get(key)
                if not values:
                    continue
                for candidate, value in zip(variables, values):
                    if candidate is variable:
                        return value
        return variable.value

    def _replica_context(self) -> tuple[int, int]:
        # keras.distribution shards one global program; latents are drawn for the global batch.
        return 0, 1


def _reached_inputs(fn: Callable[[list[Any]], Any], values: list[Any]) -> list[bool]:
    """Which of ``values`` the output of ``fn`` depends on (a liveness pass over its jaxpr).

    Nested calls (``pjit``, control flow) count as using all their inputs, so the answer may
    say "used" for a variable that is not, never the reverse.
    """
    closed = jax.make_jaxpr(fn)(values)
    jaxpr = closed.jaxpr
    live = {id(v) for v in jaxpr.outvars if not _is_literal(v)}
    for eqn in reversed(jaxpr.eqns):
        if any(id(v) in live for v in eqn.outvars):
            live.update(id(v) for v in eqn.invars if not _is_literal(v))
    return [id(v) in live for v in jaxpr.invars]


def _is_literal(atom: Any) -> bool:
    return type(atom).__name__ == "Literal"


def _value_in(scope: keras.StatelessScope, variable: Any, default: Any) -> Any:
    value = scope.get_current_value(variable)
    return default if value is None else value
