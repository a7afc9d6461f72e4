"""keras-facegen code specific to the torch backend."""

from . import autodiff, gan_trainer

__all__ = ["autodiff", "gan_trainer"]
