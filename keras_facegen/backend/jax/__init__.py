"""keras-facegen code specific to the jax backend."""

from . import autodiff, checks, distributed, gan_trainer

__all__ = ["autodiff", "checks", "distributed", "gan_trainer"]
