"""keras-facegen code specific to the torch backend."""

from . import autodiff

__all__ = ["autodiff"]
