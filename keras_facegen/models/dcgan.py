"""DCGAN generator and discriminator builders (Radford et al., 2016), with named presets.

Both builders return functional ``keras.Model`` objects. A preset (see
:mod:`keras_facegen.models.presets`) gives every argument a value; keyword arguments override
it. Without a preset the classic ``"dcgan64"`` values are used.

The resolution ladder: the generator starts from a ``base x base`` map with
``base = resolution / 2 ** len(filters)`` and doubles it once per filter count (the last
block maps to the image channels); the discriminator halves the resolution once per filter
count, ending on the same ``base x base`` map. ``base`` must be an integer >= 2.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras

from keras_facegen._validation import check_int
from keras_facegen.layers.minibatch_std_dev import MinibatchStdDev
from keras_facegen.layers.space_to_depth_conv2d import SpaceToDepthConv2D
from keras_facegen.layers.subpixel_conv2d_transpose import SubpixelConv2DTranspose
from keras_facegen.losses.matching import DEFAULT_FEATURE_LAYER
from keras_facegen.models.presets import PRESETS, get_preset

__all__ = ["FEATURE_LAYER", "dcgan_discriminator", "dcgan_generator"]

FEATURE_LAYER = DEFAULT_FEATURE_LAYER
"""Name of the discriminator layer whose output feature matching compares (last conv block)."""

NORMALIZATIONS = ("batch", "pixel", "layer", None)
UPSAMPLE_MODES = ("transpose", "nearest")
_DEFAULT_PRESET = "dcgan64"
_LEAKY_RELU_SLOPE = 0.2


class _FromPreset:
    """Marks an argument left out, so that ``normalization=None`` can mean "none"."""

    def __repr__(self) -> str:
        return "<from preset>"


_FROM_PRESET: Any = _FromPreset()


# === Argument checks ===


def _resolve(preset: str | Mapping[str, Any] | None, role: str, **overrides: Any) -> dict:
    if preset is None:
        base = get_preset(_DEFAULT_PRESET)
    elif isinstance(preset, str):
        base = get_preset(preset)
    elif isinstance(preset, Mapping):
        base = dict(preset)
    else:
        raise ValueError(
            f"preset must be a preset name ({', '.join(repr(n) for n in PRESETS)}), a preset "
            f"dict or None; received preset={preset!r} of type {type(preset).__name__}."
        )
    if role not in base:
        raise ValueError(
            f"The preset dict has no {role!r} entry; received preset keys {sorted(base)}. "
            "Start from keras_facegen.models.get_preset(name)."
        )
    config = {
        "latent_dim": base.get("latent_dim"),
        "resolution": base.get("resolution"),
        "channels": base.get("channels", 3),
        **base[role],
    }
    for key, value in overrides.items():
        if key == "normalization":
            if value is not _FROM_PRESET:
                config[key] = value
        elif value is not None:
            config[key] = value
    return config


def _filters(value: Any) -> tuple[int, ...]:
    if (
        isinstance(value, (str, bytes))
        or not isinstance(value, Sequence)
        or not value
        or any(isinstance(f, bool) or not isinstance(f, int) or f < 1 for f in value)
    ):
        raise ValueError(
            "filters must be a non-empty sequence of positive integers (one per stride-2 "
            f"block); received filters={value!r}."
        )
    return tuple(value)


def _kernel_size(value: Any) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return (value, value)
    if (
        isinstance(value, Sequence)
        and len(value) == 2
        and all(isinstance(k, int) and not isinstance(k, bool) and k >= 1 for k in value)
    ):
        return (value[0], value[1])
    raise ValueError(
        f"kernel_size must be a positive integer or a pair of them; received kernel_size={value!r}."
    )


def _normalization(value: Any) -> str | None:
    if value == "none":
        return None
    if value not in NORMALIZATIONS:
        raise ValueError(
            "normalization must be 'batch', 'pixel', 'layer' or None; "
            f"received normalization={value!r}."
        )
    return value


def _base_size(resolution: Any, filters: tuple[int, ...]) -> int:
    resolution = check_int(resolution, "resolution")
    factor = 2 ** len(filters)
    if resolution % factor or resolution // factor < 2:
        examples = ", ".join(str(factor * b) for b in range(2, 7))
        raise ValueError(
            f"resolution={resolution} does not work with {len(filters)} filters "
            f"(filters={list(filters)}): the network doubles or halves the resolution once "
            f"per filter count, so resolution / 2**{len(filters)} must be an integer >= 2. "
            f"With {len(filters)} filters use a multiple of {factor} from {2 * factor} "
            f"({examples}, ...), or change the number of filters."
        )
    return resolution // factor


# === Blocks ===


def _normalization_layer(normalization: str | None, name: str) -> keras.layers.Layer | None:
    if normalization == "batch":
        return keras.layers.BatchNormalization(name=name)
    if normalization == "layer":
        # Normalizes over height, width and channels with per-channel scale and offset, as the
        # "layer norm" of WGAN-GP critics; keras' LayerNormalization(axis=-1) would be per pixel.
        return keras.layers.GroupNormalization(groups=1, name=name)
    if normalization == "pixel":
        # Imported here: `layers` may be absent in trimmed installs that never use PixelNorm.
        from keras_facegen.layers import PixelNorm

        return PixelNorm(name=name)
    return None


def _normalize(x: Any, normalization: str | None, name: str) -> Any:
    layer = _normalization_layer(normalization, name)
    return x if layer is None else layer(x)


def _uses_bias(normalization: str | None) -> bool:
    # Batch and layer normalization add their own offset right after, which makes a bias moot.
    return normalization not in ("batch", "layer")


# === Builders ===


def dcgan_generator(
    preset: str | Mapping[str, Any] | None = None,
    *,
    latent_dim: int | None = None,
    resolution: int | None = None,
    filters: Sequence[int] | None = None,
    kernel_size: int | Sequence[int] | None = None,
    normalization: str | None = _FROM_PRESET,
    upsample: str | None = None,
    channels: int | None = None,
    name: str | None = None,
) -> keras.Model:
    """Builds a DCGAN generator: latent vector -> image in [-1, 1].

    ``Dense -> (base, base, filters[0])``, normalization, ReLU; then one upsampling block per
    remaining filter count and a last one to ``channels``, each doubling the resolution
    (normalization + ReLU, ``tanh`` on the last). Layer names: ``"dense"``, ``"reshape"``,
    ``"block{i}_conv"``, ``"block{i}_norm"``, ``"images"`` (the output).

    Args:
        preset: A preset name (``"dcgan64"``, ``"face96"``, ``"face64_small"``), a preset dict
            (e.g. a modified :func:`~keras_facegen.models.get_preset`), or ``None`` for the
            ``"dcgan64"`` values. The other arguments override it; ``None`` keeps its value.
        latent_dim: Length of the latent vector.
        resolution: Output height and width; ``resolution / 2**len(filters)`` must be an
            integer >= 2 (e.g. 32 to 256, including 96, with 4 filters).
        filters: Channels of the initial map and of each upsampling block but the last
            (e.g. ``[216, 144, 96, 64]`` gives 6x6x216 -> 12x12x144 -> ... -> 96x96x3).
        kernel_size: Convolution kernel size.
        normalization: ``"batch"``, ``"pixel"`` (:class:`keras_facegen.layers.PixelNorm`),
            ``"layer"`` (over height, width and channels) or ``None`` for none. Left out: the
            preset's value.
        upsample: ``"transpose"`` (stride-2 transposed convolutions,
            :class:`keras_facegen.layers.SubpixelConv2DTranspose`: ``Conv2DTranspose``'s
            weights and function, computed sub-pixel on JAX where XLA differentiates
            ``conv_transpose`` slowly on CPU) or ``"nearest"`` (``UpSampling2D`` + stride-1
            ``Conv2D``; free of checkerboard artifacts).
        channels: Output image channels (3 for RGB).
        name: The model's name; defaults to ``"<preset>_generator"``.

    Returns:
        A functional ``keras.Model`` mapping ``(N, latent_dim)`` to
        ``(N, resolution, resolution, channels)``, float32 output in [-1, 1].

    Raises:
        ValueError: If an argument is invalid (the message names it), the resolution does
            not fit the filters, or the preset is unknown.

    Example:
        >>> generator = dcgan_generator("face96")
        >>> generator.output_shape
        (None, 96, 96, 3)
    """
    config = _resolve(
        preset,
        "generator",
        latent_dim=latent_dim,
        resolution=resolution,
        filters=filters,
        kernel_size=kernel_size,
        normalization=normalization,
        upsample=upsample,
        channels=channels,
    )
    latent_dim = check_int(config["latent_dim"], "latent_dim")
    filters = _filters(config["filters"])
    base = _base_size(config["resolution"], filters)
    kernel_size = _kernel_size(config["kernel_size"])
    normalization = _normalization(config.get("normalization"))
    upsample = config.get("upsample", "transpose")
    if upsample not in UPSAMPLE_MODES:
        raise ValueError(
            f"upsample must be 'transpose' or 'nearest'; received upsample={upsample!r}."
        )
    channels = check_int(config["channels"], "channels")
    if name is None:
        name = f"{preset}_generator" if isinstance(preset, str) else "dcgan_generator"
    use_bias = _uses_bias(normalization)

    # === Functional Model ===
    latent = keras.Input(shape=(latent_dim,), name="latent")
    x = keras.layers.Dense(base * base * filters[0], use_bias=use_bias, name="dense")(latent)
    x = keras.layers.Reshape((base, base, filters[0]), name="reshape")(x)
    x = _normalize(x, normalization, "dense_norm")
    x = keras.layers.ReLU(name="dense_relu")(x)
    block_filters = (*filters[1:], channels)
    for i, block_channels in enumerate(block_filters, start=1):
        last = i == len(block_filters)
        bias = True if last else use_bias
        if upsample == "transpose":
            x = SubpixelConv2DTranspose(
                block_channels,
                kernel_size,
                strides=2,
                padding="same",
                use_bias=bias,
                name=f"block{i}_conv",
            )(x)
        else:
            x = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"block{i}_upsample")(x)
            x = keras.layers.Conv2D(
                block_channels, kernel_size, padding="same", use_bias=bias, name=f"block{i}_conv"
            )(x)
        if not last:
            x = _normalize(x, normalization, f"block{i}_norm")
            x = keras.layers.ReLU(name=f"block{i}_relu")(x)
    # float32 output whatever the dtype policy, so images compare and save the same way.
    images = keras.layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model(latent, images, name=name)


def dcgan_discriminator(
    preset: str | Mapping[str, Any] | None = None,
    *,
    resolution: int | None = None,
    filters: Sequence[int] | None = None,
    kernel_size: int | Sequence[int] | None = None,
    normalization: str | None = _FROM_PRESET,
    logits: int | None = None,
    channels: int | None = None,
    minibatch_std: int | None = _FROM_PRESET,
    name: str | None = None,
) -> keras.Model:
    """Builds a DCGAN discriminator: image -> logits.

    One stride-2 ``Conv2D`` block per filter count (normalization, leaky ReLU with slope 0.2),
    then ``Flatten`` and a ``Dense`` layer to the logits. The convolutions are
    :class:`keras_facegen.layers.SpaceToDepthConv2D`: ``Conv2D``'s weights and function,
    computed as space-to-depth + a stride-1 convolution on JAX, where XLA differentiates
    strided convolutions slowly on CPU. Following the DCGAN paper, the first
    block has no normalization (normalizing the raw images hurt training). The last block's
    activation is the layer named ``"features"`` (:data:`FEATURE_LAYER`), the default layer of
    :class:`keras_facegen.losses.FeatureMatching`. Layer names: ``"block{i}_conv"``,
    ``"block{i}_norm"``, ``"block{i}_lrelu"`` (the last one is ``"features"``), ``"flatten"``,
    ``"logits"`` (the output). With ``minibatch_std``, a
    :class:`keras_facegen.layers.MinibatchStdDev` layer named ``"minibatch_std"`` sits between
    ``"features"`` and ``"flatten"``: the logits see how varied the batch is (Karras et al.'s
    remedy for mode collapse), while feature matching still reads ``"features"``.

    Args:
        preset: A preset name (``"dcgan64"``, ``"face96"``, ``"face64_small"``), a preset dict,
            or ``None`` for the ``"dcgan64"`` values. The other arguments override it; ``None``
            keeps its value.
        resolution: Input height and width; ``resolution / 2**len(filters)`` must be an
            integer >= 2.
        filters: Channels of each downsampling block (e.g. ``[64, 96, 144, 216]``).
        kernel_size: Convolution kernel size.
        normalization: ``"batch"``, ``"pixel"``, ``"layer"`` (over height, width and channels;
            the choice for gradient penalties, which batch normalization breaks) or ``None``.
            Left out: the preset's value.
        logits: 1 (sigmoid / Wasserstein / hinge losses, output ``(N, 1)``) or 2 (two-class
            softmax, class 1 = real, output ``(N, 2)``).
        channels: Input image channels.
        minibatch_std: Group size of a minibatch standard-deviation layer before the logits
            (the batch must then be divisible by ``min(group, batch)``), or ``None`` for none.
            Left out: the preset's value.
        name: The model's name; defaults to ``"<preset>_discriminator"``.

    Returns:
        A functional ``keras.Model`` mapping ``(N, resolution, resolution, channels)`` to float32
        logits ``(N, logits)``.

    Raises:
        ValueError: If an argument is invalid (the message names it), the resolution does
            not fit the filters, or the preset is unknown.

    Example:
        >>> discriminator = dcgan_discriminator("face96")
        >>> discriminator.get_layer("features").output.shape
        (None, 6, 6, 216)
    """
    config = _resolve(
        preset,
        "discriminator",
        resolution=resolution,
        filters=filters,
        kernel_size=kernel_size,
        normalization=normalization,
        logits=logits,
        channels=channels,
    )
    if minibatch_std is not _FROM_PRESET:
        config["minibatch_std"] = minibatch_std
    group_size = config.get("minibatch_std")
    if group_size is not None:
        group_size = check_int(group_size, "minibatch_std")
    filters = _filters(config["filters"])
    resolution = config["resolution"]
    _base_size(resolution, filters)
    kernel_size = _kernel_size(config["kernel_size"])
    normalization = _normalization(config.get("normalization"))
    logits = config.get("logits", 1)
    if logits not in (1, 2) or isinstance(logits, bool):
        raise ValueError(
            "logits must be 1 (one realness logit) or 2 (two-class softmax, class 1 = real); "
            f"received logits={logits!r}."
        )
    channels = check_int(config["channels"], "channels")
    if name is None:
        name = f"{preset}_discriminator" if isinstance(preset, str) else "dcgan_discriminator"

    # === Functional Model ===
    images = keras.Input(shape=(resolution, resolution, channels), name="images")
    x = images
    for i, block_channels in enumerate(filters, start=1):
        block_normalization = None if i == 1 else normalization
        x = SpaceToDepthConv2D(
            block_channels,
            kernel_size,
            strides=2,
            padding="same",
            use_bias=_uses_bias(block_normalization),
            name=f"block{i}_conv",
        )(x)
        x = _normalize(x, block_normalization, f"block{i}_norm")
        activation_name = FEATURE_LAYER if i == len(filters) else f"block{i}_lrelu"
        x = keras.layers.LeakyReLU(negative_slope=_LEAKY_RELU_SLOPE, name=activation_name)(x)
    if group_size is not None:
        x = MinibatchStdDev(group_size=group_size, name="minibatch_std")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(logits, dtype="float32", name="logits")(x)
    return keras.Model(images, outputs, name=name)
