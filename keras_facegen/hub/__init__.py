"""Pretrained ProGAN generators from TF-Hub, usable with every keras-facegen latent tool.

`load_progan` loads a TF-Hub module (the TF1-hub-format ``progan-128`` or any TF2 SavedModel that
maps a batch of latents to a batch of images) through ``tensorflow_hub.load`` and wraps it in a
`HubGenerator`: a plain callable ``gen(z) -> images`` returning NumPy float32 images in [-1, 1].

TensorFlow always computes, whatever the Keras backend: this module is the design's one exception
to "only ``backend/`` imports TensorFlow", and it imports TensorFlow and ``tensorflow_hub`` only
inside functions, so ``import keras_facegen.hub`` stays cheap. NumPy arrays cross between the
backends, so the generator works the same when Keras runs on JAX or PyTorch.
"""

from keras_facegen.hub.generator import HubGenerator, ProjectionResult
from keras_facegen.hub.loading import (
    DEFAULT_PROGAN_HANDLE,
    HubModuleUnavailableError,
    load_progan,
    module_cache_dir,
)

__all__ = [
    "DEFAULT_PROGAN_HANDLE",
    "HubGenerator",
    "HubModuleUnavailableError",
    "ProjectionResult",
    "load_progan",
    "module_cache_dir",
]
