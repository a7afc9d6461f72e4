"""keras-facegen: face GANs for Keras 3 on TensorFlow, JAX and PyTorch.

Subpackages load on first use (``keras_facegen.layers``, ``keras_facegen.models``, ...), so
``import keras_facegen`` stays cheap and the optional TF-Hub loader imports TensorFlow only when
asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

from keras_facegen import runtime

__version__ = "0.2.0"

# glibc keeps freed buffers for the next train step instead of unmapping them (see
# keras_facegen.runtime; KERAS_FACEGEN_ALLOCATOR=default switches this off).
runtime.tune_allocator()

_SUBMODULES = (
    "backend",
    "callbacks",
    "data",
    "distributed",
    "explorer",
    "hub",
    "latent",
    "layers",
    "losses",
    "metrics",
    "models",
    "runtime",
    "sampling",
    "training",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
