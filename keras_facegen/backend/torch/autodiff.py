"""Gradients on the PyTorch backend (``torch.autograd.grad`` with ``create_graph``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from keras import ops


def input_gradients(fn: Callable[[Any], Any], x: Any) -> Any:
    """Gradient of ``sum(fn(x))`` w.r.t. ``x``, kept on the graph for double backprop."""
    x = ops.convert_to_tensor(x)
    with torch.enable_grad():
        if not x.requires_grad:
            x = x.detach().requires_grad_(True)
        y = fn(x)
        (grad,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    return grad


def value_and_grad(fn: Callable[[Any], Any]) -> Callable[[Any], tuple[Any, Any]]:
    """Returns ``x -> (fn(x), d fn / d x)``."""

    def wrapped(x: Any) -> tuple[Any, Any]:
        with torch.enable_grad():
            x = ops.convert_to_tensor(x).detach().requires_grad_(True)
            value = fn(x)
            (grad,) = torch.autograd.grad(value, x)
        return value.detach(), grad

    return wrapped
