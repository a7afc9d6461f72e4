"""Progressive-GAN building blocks (Karras et al., 2018) as Keras 3 layers.

All layers are channels-last, written with ``keras.ops`` only (TensorFlow, JAX and PyTorch) and
registered for ``.keras`` serialization under the ``keras_facegen`` package.
"""

from keras_facegen.layers.equalized_conv2d import EqualizedConv2D
from keras_facegen.layers.equalized_dense import EqualizedDense
from keras_facegen.layers.fade_in import FadeIn
from keras_facegen.layers.minibatch_std_dev import MinibatchStdDev
from keras_facegen.layers.pixel_norm import PixelNorm
from keras_facegen.layers.space_to_depth_conv2d import SpaceToDepthConv2D
from keras_facegen.layers.subpixel_conv2d_transpose import SubpixelConv2DTranspose

__all__ = [
    "EqualizedConv2D",
    "EqualizedDense",
    "FadeIn",
    "MinibatchStdDev",
    "PixelNorm",
    "SpaceToDepthConv2D",
    "SubpixelConv2DTranspose",
]
