"""Progressive GAN generator and discriminator builders (Karras et al., 2018).

Both builders return the *full-resolution* functional model, built once from this library's
layers (``EqualizedConv2D``, ``EqualizedDense``, ``PixelNorm``, ``MinibatchStdDev``, ``FadeIn``
from :mod:`keras_facegen.layers`) and parameter-free Keras layers. Every resolution
``r`` has its own output / input layer (``toRGB`` / ``fromRGB``) and a ``FadeIn`` that blends
the new block with the previous resolution, as in the reference's "linear" structure:

* generator: ``rgb_r = fade_r([upsample(rgb_{r/2}), toRGB_r(block_r(x))])``;
* discriminator: ``x = fade_r([fromRGB_{r/2}(avgpool(image)), block_r(x)])``.

:func:`pggan_stage` wires the same layer objects into the model of any intermediate
resolution (a "stage view"): its weights *are* the full model's weights. Training a stage sets
the stage's ``FadeIn`` alpha (0 -> 1) and keeps every lower one at 1; built models have every
alpha at 1 (the full-resolution networks).

Channels at resolution ``2**res`` follow the reference, ``nf(stage) = min(fmap_base /
2**(stage * fmap_decay), fmap_max)``: a generator block and the discriminator's ``fromRGB`` and
first conv use ``nf(res - 1)``, the discriminator's second conv ``nf(res - 2)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import keras

from keras_facegen._validation import check_int
from keras_facegen.layers import (
    EqualizedConv2D,
    EqualizedDense,
    FadeIn,
    MinibatchStdDev,
    PixelNorm,
)
from keras_facegen.models.schedule import check_resolution

__all__ = [
    "ChannelBias",
    "fade_layers",
    "pggan_discriminator",
    "pggan_generator",
    "pggan_resolutions",
    "pggan_stage",
]

_ACTIVATION = "leaky_relu"  # keras.activations.leaky_relu: negative slope 0.2, as in the paper
_GENERATOR_INPUT = "latents"
_DISCRIMINATOR_INPUT = "images"


@keras.saving.register_keras_serializable(package="keras_facegen")
class ChannelBias(keras.layers.Layer):
    """Adds one learned bias per channel (the last axis), then an optional activation.

    The reference's ``apply_bias``: the generator's 4x4 dense output, reshaped to ``(4, 4,
    C)``, gets ``C`` biases, shared by the 16 positions.

    Args:
        activation: A Keras activation (name or callable), or ``None``.
        **kwargs: Layer arguments (``name``, ``dtype``).

    Example:
        >>> layer = ChannelBias(name="bias")
        >>> tuple(layer(np.zeros((2, 4, 4, 8), "float32")).shape), layer.bias.shape
        ((2, 4, 4, 8), (8,))
    """

    def __init__(self, activation: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Creates ``bias``, one zero per channel."""
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                f"ChannelBias needs a known channel count; received input_shape={input_shape}."
            )
        self.bias = self.add_weight(shape=(int(channels),), initializer="zeros", name="bias")

    def call(self, inputs: Any) -> Any:
        """Returns ``activation(inputs + bias)``."""
        return self.activation(inputs + self.bias)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """The input shape."""
        return input_shape

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments."""
        return {
            **super().get_config(),
            "activation": keras.activations.serialize(self.activation),
        }


def _tag(resolution: int) -> str:
    return f"{resolution}x{resolution}"


def _num_features(fmap_base: int, fmap_max: int, fmap_decay: float):
    def nf(stage: int) -> int:
        return max(1, min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max))

    return nf


def _check_fmaps(fmap_base: Any, fmap_max: Any, fmap_decay: Any) -> tuple[int, int, float]:
    fmap_base = check_int(fmap_base, "fmap_base")
    fmap_max = check_int(fmap_max, "fmap_max")
    if isinstance(fmap_decay, bool) or not isinstance(fmap_decay, (int, float)) or fmap_decay < 0:
        raise ValueError(f"fmap_decay must be a number >= 0; received fmap_decay={fmap_decay!r}.")
    return fmap_base, fmap_max, float(fmap_decay)


def _resolutions(resolution: int) -> list[int]:
    return [4 * 2**i for i in range(int(math.log2(resolution)) - 1)]


# === Generator ===


def pggan_generator(
    resolution: int = 128,
    latent_dim: int = 512,
    fmap_base: int = 8192,
    fmap_max: int = 512,
    fmap_decay: float = 1.0,
    channels: int = 3,
    normalize_latents: bool = True,
    pixel_norm: bool = True,
    name: str = "pggan_generator",
) -> keras.Model:
    """Builds the full-resolution progressive-GAN generator.

    ``latents -> PixelNorm -> dense to 4x4 -> 3x3 conv``, then per resolution ``nearest x2
    upsample -> 3x3 conv -> 3x3 conv`` (each conv with leaky ReLU 0.2 and pixel norm) and a
    linear 1x1 ``toRGB`` (gain 1) blended by ``FadeIn`` with the upsampled output of the
    resolution below. Every conv and dense uses the equalized learning rate (gain sqrt 2; the
    first dense sqrt(2) / 4, as in the reference). Layers are named ``g_<r>x<r>_<part>``.

    Args:
        resolution: Output height and width, a power of two from 8 to 1024.
        latent_dim: Size of a latent vector, >= 1.
        fmap_base: Channel base of ``nf``.
        fmap_max: Largest channel count.
        fmap_decay: Channel decay per doubling (1 halves them).
        channels: Image channels.
        normalize_latents: Pixel-normalize the latents first.
        pixel_norm: Pixel-normalize after every conv.
        name: Model name.

    Returns:
        A functional ``keras.Model``: ``(N, latent_dim) -> (N, resolution, resolution,
        channels)``, linear outputs (images in about [-1, 1] once trained).

    Raises:
        ValueError: If an argument is out of range.

    Example:
        >>> g = pggan_generator(16, latent_dim=8, fmap_base=64, fmap_max=16)
        >>> tuple(g.output.shape)
        (None, 16, 16, 3)
    """
    resolution = check_resolution(resolution)
    latent_dim = check_int(latent_dim, "latent_dim")
    channels = check_int(channels, "channels")
    nf = _num_features(*_check_fmaps(fmap_base, fmap_max, fmap_decay))

    # === Layers ===
    layers: dict[str, keras.layers.Layer] = {}

    def add(layer: keras.layers.Layer) -> None:
        layers[layer.name] = layer

    if normalize_latents:
        add(PixelNorm(name="g_latent_norm"))
    # As the reference's `dense -> reshape -> apply_bias`: one bias per channel of the 4x4
    # map, not one per dense unit (nf x 16).
    add(EqualizedDense(nf(1) * 16, gain=math.sqrt(2.0) / 4, use_bias=False, name="g_4x4_dense"))
    add(keras.layers.Reshape((4, 4, nf(1)), name="g_4x4_reshape"))
    add(ChannelBias(activation=_ACTIVATION, name="g_4x4_bias"))
    add(EqualizedConv2D(nf(1), 3, activation=_ACTIVATION, name="g_4x4_conv"))
    if pixel_norm:
        add(PixelNorm(name="g_4x4_dense_norm"))
        add(PixelNorm(name="g_4x4_conv_norm"))
    add(EqualizedConv2D(channels, 1, gain=1.0, name="g_4x4_to_rgb"))
    for res in _resolutions(resolution)[1:]:
        tag, stage = _tag(res), int(math.log2(res)) - 1
        add(keras.layers.UpSampling2D(2, interpolation="nearest", name=f"g_{tag}_upsample"))
        for i in (0, 1):
            add(EqualizedConv2D(nf(stage), 3, activation=_ACTIVATION, name=f"g_{tag}_conv{i}"))
            if pixel_norm:
                add(PixelNorm(name=f"g_{tag}_conv{i}_norm"))
        add(EqualizedConv2D(channels, 1, gain=1.0, name=f"g_{tag}_to_rgb"))
        add(keras.layers.UpSampling2D(2, interpolation="nearest", name=f"g_{tag}_rgb_upsample"))
        add(FadeIn(alpha=1.0, name=f"g_{tag}_fade"))

    # === Functional Model ===
    return _wire_generator(layers, latent_dim, resolution, name)


def _wire_generator(
    layers: Mapping[str, keras.layers.Layer], latent_dim: int, resolution: int, name: str
) -> keras.Model:
    def norm(x: Any, layer_name: str) -> Any:
        return layers[layer_name](x) if layer_name in layers else x

    latents = keras.Input((latent_dim,), name=_GENERATOR_INPUT)
    x = norm(latents, "g_latent_norm")
    x = layers["g_4x4_reshape"](layers["g_4x4_dense"](x))
    if "g_4x4_bias" in layers:  # absent from generators saved by 0.2 (a bias per unit)
        x = layers["g_4x4_bias"](x)
    x = norm(x, "g_4x4_dense_norm")
    x = norm(layers["g_4x4_conv"](x), "g_4x4_conv_norm")
    rgb = layers["g_4x4_to_rgb"](x)
    for res in _resolutions(resolution)[1:]:
        tag = _tag(res)
        x = layers[f"g_{tag}_upsample"](x)
        for i in (0, 1):
            x = norm(layers[f"g_{tag}_conv{i}"](x), f"g_{tag}_conv{i}_norm")
        new = layers[f"g_{tag}_to_rgb"](x)
        old = layers[f"g_{tag}_rgb_upsample"](rgb)
        rgb = layers[f"g_{tag}_fade"]([old, new])
    return keras.Model(latents, rgb, name=name)


# === Discriminator ===


def pggan_discriminator(
    resolution: int = 128,
    fmap_base: int = 8192,
    fmap_max: int = 512,
    fmap_decay: float = 1.0,
    channels: int = 3,
    mbstd_group_size: int = 4,
    name: str = "pggan_discriminator",
) -> keras.Model:
    """Builds the full-resolution progressive-GAN discriminator (it mirrors the generator).

    Per resolution a 1x1 ``fromRGB`` (leaky ReLU), two 3x3 convs (leaky ReLU 0.2) and a 2x2
    average pool, blended by ``FadeIn`` with ``fromRGB`` of the average-pooled image of the
    resolution below; the 4x4 block is minibatch standard deviation, a 3x3 conv, a dense layer
    and a linear one-unit dense output (gain 1). Equalized learning rate everywhere. Layers are
    named ``d_<r>x<r>_<part>``.

    Args:
        resolution: Input height and width, a power of two from 8 to 1024.
        fmap_base: Channel base of ``nf``.
        fmap_max: Largest channel count.
        fmap_decay: Channel decay per doubling.
        channels: Image channels.
        mbstd_group_size: Group size of the minibatch standard deviation (batches must be
            divisible by ``min(group_size, batch)``).
        name: Model name.

    Returns:
        A functional ``keras.Model``: ``(N, resolution, resolution, channels) -> (N, 1)``
        scores (logits).

    Raises:
        ValueError: If an argument is out of range.

    Example:
        >>> d = pggan_discriminator(16, fmap_base=64, fmap_max=16)
        >>> tuple(d.output.shape)
        (None, 1)
    """
    resolution = check_resolution(resolution)
    channels = check_int(channels, "channels")
    mbstd_group_size = check_int(mbstd_group_size, "mbstd_group_size")
    nf = _num_features(*_check_fmaps(fmap_base, fmap_max, fmap_decay))

    # === Layers ===
    layers: dict[str, keras.layers.Layer] = {}

    def add(layer: keras.layers.Layer) -> None:
        layers[layer.name] = layer

    for res in _resolutions(resolution):
        tag, stage = _tag(res), int(math.log2(res)) - 1
        add(EqualizedConv2D(nf(stage), 1, activation=_ACTIVATION, name=f"d_{tag}_from_rgb"))
        if res > 4:
            add(EqualizedConv2D(nf(stage), 3, activation=_ACTIVATION, name=f"d_{tag}_conv0"))
            add(EqualizedConv2D(nf(stage - 1), 3, activation=_ACTIVATION, name=f"d_{tag}_conv1"))
            add(keras.layers.AveragePooling2D(2, name=f"d_{tag}_downsample"))
            add(keras.layers.AveragePooling2D(2, name=f"d_{tag}_image_downsample"))
            add(FadeIn(alpha=1.0, name=f"d_{tag}_fade"))
    add(MinibatchStdDev(group_size=mbstd_group_size, name="d_4x4_minibatch_stddev"))
    add(EqualizedConv2D(nf(1), 3, activation=_ACTIVATION, name="d_4x4_conv"))
    add(keras.layers.Flatten(name="d_4x4_flatten"))
    add(EqualizedDense(nf(0), activation=_ACTIVATION, name="d_4x4_dense"))
    add(EqualizedDense(1, gain=1.0, name="d_4x4_output"))

    # === Functional Model ===
    return _wire_discriminator(layers, channels, resolution, name)


def _wire_discriminator(
    layers: Mapping[str, keras.layers.Layer], channels: int, resolution: int, name: str
) -> keras.Model:
    images = keras.Input((resolution, resolution, channels), name=_DISCRIMINATOR_INPUT)
    x = layers[f"d_{_tag(resolution)}_from_rgb"](images)
    image = images
    for res in reversed(_resolutions(resolution)[1:]):
        tag, lower = _tag(res), _tag(res // 2)
        x = layers[f"d_{tag}_conv1"](layers[f"d_{tag}_conv0"](x))
        new = layers[f"d_{tag}_downsample"](x)
        image = layers[f"d_{tag}_image_downsample"](image)
        old = layers[f"d_{lower}_from_rgb"](image)
        x = layers[f"d_{tag}_fade"]([old, new])
    x = layers["d_4x4_conv"](layers["d_4x4_minibatch_stddev"](x))
    x = layers["d_4x4_dense"](layers["d_4x4_flatten"](x))
    return keras.Model(images, layers["d_4x4_output"](x), name=name)


# === Stage views ===


def _kind(model: keras.Model) -> str:
    names = {layer.name for layer in model.layers}
    if "g_4x4_dense" in names:
        return "generator"
    if "d_4x4_output" in names:
        return "discriminator"
    raise ValueError(
        "Expected a model built by pggan_generator or pggan_discriminator (layers named "
        f"'g_4x4_dense' / 'd_4x4_output'); received model={model.name!r}."
    )


def pggan_resolutions(model: keras.Model) -> list[int]:
    """The stage resolutions of a progressive-GAN network, 4 up to its full resolution.

    Args:
        model: A model from :func:`pggan_generator` or :func:`pggan_discriminator` (or a stage
            view of one).

    Returns:
        ``[4, 8, ..., resolution]``.

    Raises:
        ValueError: If ``model`` is not a progressive-GAN network.

    Example:
        >>> pggan_resolutions(pggan_generator(16, latent_dim=8, fmap_base=64, fmap_max=16))
        [4, 8, 16]
    """
    _kind(model)
    resolutions = [4]
    names = {layer.name for layer in model.layers}
    prefix = "g" if "g_4x4_dense" in names else "d"
    while f"{prefix}_{_tag(resolutions[-1] * 2)}_fade" in names:
        resolutions.append(resolutions[-1] * 2)
    return resolutions


def pggan_stage(model: keras.Model, resolution: int) -> keras.Model:
    """The network of one intermediate resolution, sharing the full network's layers.

    The returned model is wired from the very layer objects of ``model`` (found by name), so
    training it trains ``model`` and vice versa. The stage's own ``FadeIn`` (absent at 4x4)
    blends the new block with the resolution below; lower resolutions' ``FadeIn`` layers are
    in the graph too and should stay at alpha 1 (as after their fade).

    Args:
        model: A model from :func:`pggan_generator` or :func:`pggan_discriminator`.
        resolution: One of :func:`pggan_resolutions` of ``model``.

    Returns:
        A functional ``keras.Model`` named ``<model.name>_<r>x<r>``: latents -> ``r x r``
        images, or ``r x r`` images -> scores.

    Raises:
        ValueError: If ``model`` is not a progressive-GAN network or ``resolution`` is not
            one of its stages.

    Example:
        >>> g = pggan_generator(16, latent_dim=8, fmap_base=64, fmap_max=16)
        >>> g8 = pggan_stage(g, 8)
        >>> tuple(g8.output.shape), g8.get_layer("g_4x4_conv") is g.get_layer("g_4x4_conv")
        ((None, 8, 8, 3), True)
    """
    kind = _kind(model)
    resolutions = pggan_resolutions(model)
    if resolution not in resolutions:
        raise ValueError(
            f"resolution must be one of the network's stages {resolutions}; received "
            f"resolution={resolution!r}."
        )
    layers = {layer.name: layer for layer in model.layers}
    name = f"{model.name}_{_tag(resolution)}"
    if kind == "generator":
        return _wire_generator(layers, int(model.input_shape[-1]), resolution, name)
    return _wire_discriminator(layers, int(model.input_shape[-1]), resolution, name)


def fade_layers(model: keras.Model) -> dict[int, FadeIn]:
    """The ``FadeIn`` layer of every resolution above 4x4, by resolution.

    Args:
        model: A progressive-GAN network.

    Returns:
        ``{8: FadeIn, 16: FadeIn, ...}``.

    Example:
        >>> sorted(fade_layers(pggan_discriminator(16, fmap_base=64, fmap_max=16)))
        [8, 16]
    """
    prefix = "g" if _kind(model) == "generator" else "d"
    return {
        res: model.get_layer(f"{prefix}_{_tag(res)}_fade") for res in pggan_resolutions(model)[1:]
    }
