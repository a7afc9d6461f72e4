"""Gradients on the JAX backend (``jax.grad``, traceable inside an outer ``jax.grad``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp


def input_gradients(fn: Callable[[Any], Any], x: Any) -> Any:
    """Gradient of ``sum(fn(x))`` w.r.t. ``x``; ``fn`` must be pure (no variable assignments)."""
    return jax.grad(lambda v: jnp.sum(fn(v)))(jnp.asarray(x))


def value_and_grad(fn: Callable[[Any], Any]) -> Callable[[Any], tuple[Any, Any]]:
    """Returns ``x -> (fn(x), d fn / d x)``."""
    grad_fn = jax.value_and_grad(fn)

    def wrapped(x: Any) -> tuple[Any, Any]:
        return grad_fn(jnp.asarray(x))

    return wrapped
