"""keras-facegen code specific to the tensorflow backend."""

from . import autodiff, checks, gan_trainer

__all__ = ["autodiff", "checks", "gan_trainer"]
