"""Sample-quality metrics: sliced Wasserstein distance, MS-SSIM, Fréchet and kernel distances.

NumPy in, floats out; every metric is seeded and gives the same figures on every backend (only
the optional feature extractors run a Keras model). :class:`EvaluateQuality` logs them during
training (also available as ``keras_facegen.callbacks.EvaluateQuality``).
"""

from keras_facegen.metrics.callback import METRIC_NAMES, EvaluateQuality
from keras_facegen.metrics.frechet import (
    extract_features,
    frechet_distance,
    frechet_inception_distance,
    gaussian_frechet_distance,
    inception_feature_extractor,
    kernel_distance,
)
from keras_facegen.metrics.ms_ssim import MS_SSIM_WEIGHTS, mean_ms_ssim, ms_ssim
from keras_facegen.metrics.swd import (
    SWDResult,
    laplacian_pyramid,
    pyramid_resolutions,
    sliced_wasserstein_distance,
)

__all__ = [
    "METRIC_NAMES",
    "MS_SSIM_WEIGHTS",
    "EvaluateQuality",
    "SWDResult",
    "extract_features",
    "frechet_distance",
    "frechet_inception_distance",
    "gaussian_frechet_distance",
    "inception_feature_extractor",
    "kernel_distance",
    "laplacian_pyramid",
    "mean_ms_ssim",
    "ms_ssim",
    "pyramid_resolutions",
    "sliced_wasserstein_distance",
]
