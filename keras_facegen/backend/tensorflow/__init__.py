"""keras-facegen code specific to the tensorflow backend."""

from . import autodiff, gan_trainer

__all__ = ["autodiff", "gan_trainer"]
