"""Differentiable augmentations for the discriminator, at a fixed or adaptive strength.

- :mod:`keras_facegen.augment.transforms`: each augmentation as a function of the images and
  explicit per-image parameters (``keras.ops`` only, exact on TensorFlow, JAX and PyTorch).
- :class:`Augment`: a pipeline (``"ada"``, ``"diffaugment"`` or a list of transforms) applied to
  each image with probability ``p``; :class:`ADA` adjusts ``p`` inside the train step from
  ``r_t = E[sign(D(real))]``.
- :func:`mirror`: the dataset x-flip for reals (NumPy, not differentiable).

Pass a pipeline to ``keras_facegen.models.GAN(..., augment=...)``.
"""

from keras_facegen.augment import transforms
from keras_facegen.augment.pipeline import (
    ADA,
    PIPELINES,
    TRANSFORMS,
    Augment,
    get,
    mirror,
)

__all__ = ["ADA", "PIPELINES", "TRANSFORMS", "Augment", "get", "mirror", "transforms"]
