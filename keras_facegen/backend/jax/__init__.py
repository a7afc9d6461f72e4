"""keras-facegen code specific to the jax backend."""

from . import autodiff

__all__ = ["autodiff"]
