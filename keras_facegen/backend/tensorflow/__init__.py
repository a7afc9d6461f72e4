"""keras-facegen code specific to the tensorflow backend."""

from . import autodiff

__all__ = ["autodiff"]
