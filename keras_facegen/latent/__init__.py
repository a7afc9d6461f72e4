"""Latent-space tools: interpolation, hex codes, directions, projection (NumPy in, NumPy out).

Every function accepts NumPy arrays, Python sequences or backend tensors and returns float32
NumPy arrays, so the same code runs on TensorFlow, JAX and PyTorch.

Example:
    >>> from keras_facegen import latent
    >>> code = latent.encode_hex(latent.sample_latents(1, 16, "uniform", seed=0)[0])
    >>> len(code)
    32
"""

from keras_facegen.latent.codec import (
    average_codes,
    bytes_to_hex,
    decode_hex,
    encode_hex,
    hex_to_bytes,
)
from keras_facegen.latent.directions import (
    apply_offset,
    attribute_direction,
    offset_vector,
    truncate,
)
from keras_facegen.latent.distributions import sample_latents
from keras_facegen.latent.generators import as_generator, generate_images
from keras_facegen.latent.interpolation import (
    interpolate_hypersphere,
    lerp,
    morph_path,
    slerp,
)
from keras_facegen.latent.projection import minimize_latents, project, projection_loss

__all__ = [
    "apply_offset",
    "as_generator",
    "attribute_direction",
    "average_codes",
    "bytes_to_hex",
    "decode_hex",
    "encode_hex",
    "generate_images",
    "hex_to_bytes",
    "interpolate_hypersphere",
    "lerp",
    "minimize_latents",
    "morph_path",
    "offset_vector",
    "project",
    "projection_loss",
    "sample_latents",
    "slerp",
    "truncate",
]
