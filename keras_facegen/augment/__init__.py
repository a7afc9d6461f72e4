"""Differentiable augmentations for the discriminator, at a fixed or adaptive strength.

- :mod:`keras_facegen.augment.transforms`: each augmentation as a function of the images and
  explicit per-image parameters (``keras.ops`` only, exact on TensorFlow, JAX and PyTorch).
- :mod:`keras_facegen.augment.colour`: colour steps as affine matrices, applied in one pass.
- :class:`Augment`: a pipeline (``"ada"``, ``"diffaugment"`` or a list of transforms) applied to
  each image with probability ``p``; :class:`ADA` adjusts ``p`` inside the train step from
  ``r_t = E[sign(D(real))]``.
- :func:`mirror`: the dataset x-flip for reals (NumPy, not differentiable).

Pass a pipeline to ``keras_facegen.models.GAN(..., augment=...)``.
"""

from keras_facegen.augment import colour, transforms
from keras_facegen.augment.ada import ADA, get
from keras_facegen.augment.pipeline import (
    PIPELINES,
    TRANSFORMS,
    Augment,
    mirror,
)

__all__ = ["ADA", "PIPELINES", "TRANSFORMS", "Augment", "colour", "get", "mirror", "transforms"]
