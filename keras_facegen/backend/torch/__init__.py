"""keras-facegen code specific to the torch backend."""

from . import autodiff, checks, distributed, gan_trainer

__all__ = ["autodiff", "checks", "distributed", "gan_trainer"]
