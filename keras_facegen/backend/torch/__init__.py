"""keras-facegen code specific to the torch backend."""

from . import autodiff, checks, gan_trainer

__all__ = ["autodiff", "checks", "gan_trainer"]
