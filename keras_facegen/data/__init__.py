"""Data for face GANs: procedural synthetic faces and folders of images.

- :func:`synthetic_faces` draws labelled cartoon faces with NumPy (no download, no TensorFlow).
- :func:`load_images` reads a folder of images into a uint8 NumPy array.
- :func:`image_folder` serves the same images as a batched ``tf.data.Dataset`` in [-1, 1]; it is
  the one place outside ``keras_facegen.backend`` that imports TensorFlow, lazily.
- :class:`ShuffledBatches` serves an in-memory array (or a cache) as an endless, seeded stream of
  batches, so a resumed run sees exactly the batches an uninterrupted one would.
- :func:`prepare_cache` writes a folder once into a multi-resolution cache on disk (4×4 up to the
  target, sharded ``.npy`` files); :class:`ImageCache` streams it batch by batch, for datasets
  bigger than memory.
- :func:`softened_copies` / :func:`soften` blur, resample or add noise to faces, so that an
  attribute classifier reads soft generated faces as it reads sharp real ones.
"""

from keras_facegen.data.batches import ShuffledBatches, halve
from keras_facegen.data.cache import (
    CACHE_VERSION,
    MANIFEST_FILE,
    CachedImages,
    ImageCache,
    cache_resolutions,
    is_cache,
    open_cache,
)
from keras_facegen.data.cache_writer import prepare_cache
from keras_facegen.data.image_folder import (
    IMAGE_EXTENSIONS,
    image_folder,
    list_image_files,
    load_images,
)
from keras_facegen.data.softening import SOFTENINGS, soften, softened_copies
from keras_facegen.data.synthetic_faces import HAIR_PALETTE, IRIS_PALETTE, synthetic_faces

__all__ = [
    "CACHE_VERSION",
    "HAIR_PALETTE",
    "IMAGE_EXTENSIONS",
    "IRIS_PALETTE",
    "MANIFEST_FILE",
    "SOFTENINGS",
    "CachedImages",
    "ImageCache",
    "ShuffledBatches",
    "cache_resolutions",
    "halve",
    "image_folder",
    "is_cache",
    "list_image_files",
    "load_images",
    "open_cache",
    "prepare_cache",
    "soften",
    "softened_copies",
    "synthetic_faces",
]
