"""Data for face GANs: procedural synthetic faces and folders of images.

- :func:`synthetic_faces` draws labelled cartoon faces with NumPy (no download, no TensorFlow).
- :func:`load_images` reads a folder of images into a uint8 NumPy array.
- :func:`image_folder` serves the same images as a batched ``tf.data.Dataset`` in [-1, 1]; it is
  the one place outside ``keras_facegen.backend`` that imports TensorFlow, lazily.
- :class:`ShuffledBatches` serves an in-memory array as an endless, seeded stream of batches, so a
  resumed run sees exactly the batches an uninterrupted one would.
"""

from keras_facegen.data.batches import ShuffledBatches
from keras_facegen.data.image_folder import (
    IMAGE_EXTENSIONS,
    image_folder,
    list_image_files,
    load_images,
)
from keras_facegen.data.synthetic_faces import HAIR_PALETTE, IRIS_PALETTE, synthetic_faces

__all__ = [
    "HAIR_PALETTE",
    "IMAGE_EXTENSIONS",
    "IRIS_PALETTE",
    "ShuffledBatches",
    "image_folder",
    "list_image_files",
    "load_images",
    "synthetic_faces",
]
