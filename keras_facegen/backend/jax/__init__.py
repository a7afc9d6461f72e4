"""keras-facegen code specific to the jax backend."""

from . import autodiff, gan_trainer

__all__ = ["autodiff", "gan_trainer"]
