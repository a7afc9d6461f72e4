"""Augmentation pipelines for the discriminator: fixed strength (:class:`Augment`) and ADA.

A pipeline is a list of named transforms, each applied to an image with probability ``p``
(independently per image and per transform), with its parameters drawn from the distribution of
the paper it comes from. Geometric transforms are composed into one matrix per image and
resampled once. The strength ``p`` is a non-trainable variable of the layer, so it is saved in
``.keras`` files and checkpoints and, on JAX, threaded through ``fit``'s stateless loop like every
other piece of state. :class:`ADA` updates it inside the train step from the discriminator's
outputs on the reals (:meth:`ADA.observe`).
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from keras_facegen import backend
from keras_facegen.augment import colour, transforms

#: Every transform a pipeline can name, in the order a pipeline applies them.
TRANSFORMS = (
    # ADA's pixel blitting (reflection padding for the integer translation).
    "xflip",
    "rotate90",
    "xint",
    # ADA's geometric transforms: one bicubic resampling of the composed matrix.
    "scale",
    "rotate",
    "aniso",
    "xfrac",
    # ADA's colour transforms.
    "brightness",
    "contrast",
    "lumaflip",
    "hue",
    "saturation",
    # DiffAugment's colour, translation (zero padding, 1/8 of the side) and cutout (1/2).
    "diff_brightness",
    "diff_saturation",
    "diff_contrast",
    "translation",
    "cutout",
)
_GEOMETRIC = ("scale", "rotate", "aniso", "xfrac")
# ADA's and DiffAugment's colour steps: one affine matrix per image.
_COLOUR = TRANSFORMS[TRANSFORMS.index("brightness") : TRANSFORMS.index("translation")]

#: Named pipelines: ADA's default ``bgc`` set and DiffAugment's ``color,translation,cutout``.
PIPELINES: dict[str, tuple[str, ...]] = {
    "ada": (
        "xflip",
        "rotate90",
        "xint",
        "scale",
        "rotate",
        "aniso",
        "xfrac",
        "brightness",
        "contrast",
        "lumaflip",
        "hue",
        "saturation",
    ),
    "diffaugment": ("diff_brightness", "diff_saturation", "diff_contrast", "translation", "cutout"),
    "none": (),
}

# Strengths of ADA's transforms (Karras et al. 2020, appendix B.2) and DiffAugment's ranges.
_XINT_MAX = 0.125
_SCALE_STD = 0.2
_ROTATE_MAX = math.pi
_ANISO_STD = 0.2
_XFRAC_STD = 0.125
_BRIGHTNESS_STD = 0.2
_CONTRAST_STD = 0.5
_HUE_MAX = math.pi
_SATURATION_STD = 1.0
_TRANSLATION_RATIO = 0.125
_CUTOUT_SIZE = 0.5
# Columns per block of random draws (see Augment._column): ADA's pipeline and the mirror coin
# take 20 uniforms and 7 normals per image, DiffAugment's 12 uniforms.
_BLOCK = {"uniform": 20, "normal": 8}


def _resolve_pipeline(pipeline: str | Sequence[str]) -> tuple[str, ...]:
    if isinstance(pipeline, str):
        if pipeline not in PIPELINES:
            raise ValueError(
                f"Expected `pipeline` to be one of {sorted(PIPELINES)} or a list of transforms "
                f"from {list(TRANSFORMS)}; received pipeline={pipeline!r}."
            )
        return PIPELINES[pipeline]
    names = tuple(pipeline)
    unknown = [n for n in names if n not in TRANSFORMS]
    if unknown or len(set(names)) != len(names):
        raise ValueError(
            f"Expected `pipeline` to list distinct transforms from {list(TRANSFORMS)}; "
            f"received pipeline={list(names)!r}."
        )
    return tuple(n for n in TRANSFORMS if n in names)


def _check_probability(value: Any, argument: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not (0.0 <= number <= 1.0):
        raise ValueError(f"Expected `{argument}` in [0, 1]; received {argument}={value!r}.")
    return number


def _any_of(applies: Sequence[Any]) -> Any:
    """Per image: whether any of the (non-empty) boolean ``(N,)`` masks picked it."""
    return functools.reduce(operator.or_, applies)


def _unless_none(applied: Any, augment: Any, images: Any) -> Any:
    """``augment()`` unless no image of the batch picked the step: then the images, uncomputed.

    ADA starts at ``p = 0`` and on large data sets stays near it; a branch (``keras.ops.cond``,
    one real branch at run time on every backend) keeps those steps at no cost.
    """
    return ops.cond(ops.any(applied), augment, lambda: images)


@keras.saving.register_keras_serializable(package="keras_facegen")
class Augment(keras.layers.Layer):
    """Differentiable augmentations of everything the discriminator sees, at strength ``p``.

    ``GAN(..., augment=Augment("diffaugment"))`` runs the reals and the fakes through this layer
    before every discriminator call, in the discriminator's and in the generator's step; the
    gradient flows through it to the generator, so the generator learns the un-augmented
    distribution (Karras et al. 2020; Zhao et al. 2020). Each transform is applied to each image
    with probability ``p``; ``p = 0`` returns the images exactly. Called with ``training=False``
    the layer is the identity.

    Args:
        pipeline: ``"ada"`` (ADA's ``bgc`` set: x-flip, 90-degree rotations, integer translation,
            isotropic and anisotropic scaling, rotation, fractional translation, brightness,
            contrast, luma flip, hue rotation, saturation), ``"diffaugment"`` (DiffAugment's
            colour, translation and cutout), ``"none"``, or a list of names from
            :data:`TRANSFORMS`.
        p: The probability of each transform, in [0, 1]; default 1 for ``"diffaugment"`` (as
            in its paper), 0 otherwise.
        mirror: Also mirror each *real* image left to right with probability 1/2 (the dataset
            x-flip of the Progressive GAN paper; not applied to fakes, not part of ``p``).
        seed: Seed of the layer's random draws.
        **kwargs: Base layer arguments (``name``, ...).

    Raises:
        ValueError: If ``pipeline`` or ``p`` is not valid.

    Example:
        >>> import numpy as np
        >>> aug = Augment("diffaugment", p=1.0, seed=0)
        >>> x = np.zeros((2, 8, 8, 3), "float32")
        >>> tuple(aug(x, training=True).shape)
        (2, 8, 8, 3)
        >>> bool(np.array_equal(keras.ops.convert_to_numpy(Augment("ada", p=0.0)(x)), x))
        True
    """

    def __init__(
        self,
        pipeline: str | Sequence[str] = "ada",
        p: float | None = None,
        mirror: bool = False,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("name", "augment")
        super().__init__(**kwargs)
        self.pipeline = pipeline if isinstance(pipeline, str) else list(pipeline)
        self.transforms = _resolve_pipeline(pipeline)
        if p is None:
            p = 1.0 if pipeline == "diffaugment" else 0.0
        self.initial_p = _check_probability(p, "p")
        self.mirror = bool(mirror)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="augment_seed_generator")
        self.p = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(self.initial_p),
            dtype="float32",
            trainable=False,
            aggregation="only_first_replica",
            name="p",
        )
        self._blocks: dict[str, tuple[Any, int]] = {}
        self.built = True

    @property
    def adaptive(self) -> bool:
        """Whether the train step adjusts ``p`` (``False`` here; see :class:`ADA`)."""
        return False

    def observe(self, real_logits: Any) -> None:
        """Called by the GAN with the discriminator's logits on the (augmented) reals.

        A fixed-strength pipeline ignores them.

        Args:
            real_logits: ``(N,)``, ``(N, 1)`` or ``(N, 2)`` logits.
        """
        del real_logits

    def call(self, images: Any, training: bool | None = True, real: bool = False) -> Any:
        """Augments ``images`` (``training=False``: returns them unchanged).

        Args:
            images: ``(N, H, W, C)`` float images.
            training: Whether to augment.
            real: Whether the batch holds real images (only reals are mirrored).

        Returns:
            The augmented batch, same shape and dtype.
        """
        if training is False:
            return images
        images = ops.convert_to_tensor(images)
        self._blocks = {}
        try:
            if self.mirror and real:
                images = transforms.xflip(images, self._coin(images, 0.5))
            if not self.transforms:
                return images
            return self._apply(images, ops.cast(self.p.value, "float32"))
        finally:
            self._blocks = {}

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """The input shape.

        Args:
            input_shape: Shape of the inputs.

        Returns:
            The same shape.
        """
        return input_shape

    # === Random draws ===

    def _batch(self, images: Any) -> Any:
        return ops.shape(images)[0]

    def _per_image(self, images: Any, draw: Any) -> Any:
        """``draw((N, ...))``, a row per image; distributed: this replica's rows of the global draw.

        Every replica draws for the global batch from the same seed state and keeps its own
        rows, so the images of all replicas together are augmented as in one process.
        """
        batch = self._batch(images)
        replica, replicas = backend.replica_position()
        if replicas == 1:
            return draw((batch,))
        return draw((batch * replicas,))[replica * batch : (replica + 1) * batch]

    def _column(self, images: Any, kind: str) -> Any:
        """The next unused column of this call's block of ``kind`` draws, one value per image.

        A call draws its random numbers in blocks of :data:`_BLOCK` columns (a new block when
        one is spent), not one random operation per value: ADA's pipeline takes 26 values per
        image, and each random operation cost about 0.3 ms on PyTorch's CPU backend, most of a
        pass at ``p = 0``.
        """
        width = _BLOCK[kind]
        block, used = self._blocks.get(kind, (None, width))
        if used == width:
            sample = keras.random.uniform if kind == "uniform" else keras.random.normal
            block = self._per_image(
                images,
                lambda shape: sample(shape + (width,), dtype="float32", seed=self.seed_generator),
            )
            used = 0
        self._blocks[kind] = (block, used + 1)
        return block[:, used]

    def _uniform(self, images: Any, low: float = 0.0, high: float = 1.0) -> Any:
        return low + (high - low) * self._column(images, "uniform")

    def _normal(self, images: Any, stddev: float) -> Any:
        return stddev * self._column(images, "normal")

    def _coin(self, images: Any, p: Any) -> Any:
        return self._uniform(images) < p

    def _integers(self, images: Any, low: int, high: int) -> Any:
        """Uniform integers in ``[low, high]`` (both ends included)."""
        draws = ops.floor(self._uniform(images) * (high - low + 1))
        return ops.cast(ops.minimum(draws, high - low), "int32") + low

    # === The pipeline ===

    def _apply(self, images: Any, p: Any) -> Any:
        height, width = transforms._static_hw(images)
        names = self.transforms
        geometric = [n for n in names if n in _GEOMETRIC]
        if geometric:
            # The pixel blitting joins the geometric matrix: one resampling for all of them
            # (pixel-aligned positions resample exactly), as in the ADA paper's implementation.
            images = self._geometric(images, p, names, height, width)
        else:
            images = self._blit(images, p, names, height, width)
        colour_steps = [n for n in names if n in _COLOUR]
        if colour_steps:
            images = self._colour(images, p, colour_steps)
        if "translation" in names or "cutout" in names:
            images = self._translate_and_cut(images, p, names, height, width)
        return images

    def _blit(self, images: Any, p: Any, names: Sequence[str], height: int, width: int) -> Any:
        """Pixel blitting on its own (a pipeline without geometric transforms)."""
        t = transforms
        if "xflip" in names:
            images = t.xflip(images, self._coin(images, p) & self._coin(images, 0.5))
        if "rotate90" in names:
            turns = self._integers(images, 0, 3)
            images = t.rotate90(images, ops.where(self._coin(images, p), turns, 0))
        if "xint" in names:
            apply = self._coin(images, p)
            shift_x, shift_y = self._xint_shifts(images, height, width)
            zero = ops.zeros_like(shift_x)
            images = t.translate_integer(
                images, ops.where(apply, shift_x, zero), ops.where(apply, shift_y, zero)
            )
        return images

    def _xint_shifts(self, images: Any, height: int, width: int) -> tuple[Any, Any]:
        shift_x = self._integers(images, -round(_XINT_MAX * width), round(_XINT_MAX * width))
        shift_y = self._integers(images, -round(_XINT_MAX * height), round(_XINT_MAX * height))
        return shift_x, shift_y

    def _geometric(self, images: Any, p: Any, names: Sequence[str], height: int, width: int) -> Any:
        """Blitting and geometric transforms as one composed matrix, one bicubic resampling.

        The draws come first; the matrices are built inside the branch, so a batch no step
        picked (ADA at ``p = 0``) pays for the draws only.
        """
        steps: list[tuple[str, Any, tuple[Any, ...]]] = []  # (name, apply, parameters), in order
        if "xflip" in names:
            steps.append(("xflip", self._coin(images, p) & self._coin(images, 0.5), ()))
        if "rotate90" in names:
            turns = self._integers(images, 0, 3)
            steps.append(("rotate90", self._coin(images, p), (turns,)))
        if "xint" in names:
            apply = self._coin(images, p)
            steps.append(("xint", apply, self._xint_shifts(images, height, width)))
        if "scale" in names:
            apply = self._coin(images, p)
            steps.append(("scale", apply, (self._normal(images, _SCALE_STD),)))
        if "rotate" in names:
            apply = self._coin(images, p)
            steps.append(("rotate", apply, (self._uniform(images, -_ROTATE_MAX, _ROTATE_MAX),)))
        if "aniso" in names:
            apply = self._coin(images, p)
            steps.append(("aniso", apply, (self._normal(images, _ANISO_STD),)))
        if "xfrac" in names:
            apply = self._coin(images, p)
            shift_x = self._normal(images, _XFRAC_STD) * width
            steps.append(("xfrac", apply, (shift_x, self._normal(images, _XFRAC_STD) * height)))
        any_applied = _any_of([apply for _, apply, _ in steps])

        def resample() -> Any:
            matrix = self._geometric_matrix(steps, self._batch(images))
            # Images no transform picked keep their exact pixels (no resampling round trip).
            return transforms._select(any_applied, transforms.warp(images, matrix), images)

        return _unless_none(any_applied, resample, images)

    @staticmethod
    def _geometric_matrix(steps: Sequence[tuple[str, Any, Any]], batch: Any) -> Any:
        """The inverse maps of ``steps`` composed on the right, identity where not applied."""
        t = transforms
        identity = ops.broadcast_to(ops.eye(3, dtype="float32"), (batch, 3, 3))
        matrix = identity
        for name, apply, parameters in steps:
            if name == "xflip":
                flip = ops.convert_to_tensor(np.diag([-1.0, 1.0, 1.0]).astype("float32"))
                step = ops.broadcast_to(flip, (batch, 3, 3))
            elif name == "rotate90":
                # Exact entries (0, +-1): a quarter turn of the matrix, not cos(pi / 2) ~ 4e-8.
                (turns,) = parameters
                cos = ops.take(ops.convert_to_tensor([1.0, 0.0, -1.0, 0.0]), turns)
                sin = ops.take(ops.convert_to_tensor([0.0, 1.0, 0.0, -1.0]), turns)
                zero, one = ops.zeros_like(cos), ops.ones_like(cos)
                rows = [[cos, -sin, zero], [sin, cos, zero], [zero, zero, one]]
                step = ops.stack([ops.stack(r, axis=-1) for r in rows], axis=-2)
            elif name in ("xint", "xfrac"):
                step = t.translation_matrix(*parameters)
            elif name == "scale":
                step = t.scale_matrix(ops.exp2(parameters[0]))
            elif name == "rotate":
                step = t.rotation_matrix(parameters[0])
            else:  # aniso
                s = ops.exp2(parameters[0])
                step = t.scale_matrix(s, 1.0 / s)
            chosen = ops.where(ops.reshape(apply, (-1, 1, 1)), step, identity)
            matrix = ops.matmul(matrix, chosen)
        return matrix

    def _colour(self, images: Any, p: Any, names: Sequence[str]) -> Any:
        """Every colour step composed into one affine matrix per image, applied in one pass.

        Images no step picked get the identity matrix, which :func:`colour.colour_transform`
        applies exactly. DiffAugment's contrast scales about the image mean *at that step*: the
        composed matrix so far maps the input's channel means to it exactly (an affine map
        commutes with the mean).
        """
        batch = self._batch(images)
        channels = int(images.shape[-1])
        size = channels + 1
        identity = ops.broadcast_to(ops.eye(size, dtype="float32"), (batch, size, size))

        def channel_means() -> Any:
            means = ops.cast(ops.mean(images, axis=(1, 2)), "float32")
            return ops.concatenate([means, ops.ones((batch, 1), "float32")], axis=-1)

        def then(matrix: Any, step: Any, apply: Any) -> Any:
            chosen = ops.where(ops.reshape(apply, (-1, 1, 1)), step, identity)
            return ops.matmul(chosen, matrix)

        def draw(name: str) -> tuple[str, Any, Any]:
            if name == "brightness":
                return "brightness", self._normal(images, _BRIGHTNESS_STD), self._coin(images, p)
            if name == "contrast":
                factor = ops.exp2(self._normal(images, _CONTRAST_STD))
                return "contrast", factor, self._coin(images, p)
            if name == "lumaflip":
                apply = self._coin(images, p) & self._coin(images, 0.5)
                return "lumaflip", ops.ones((batch,), "float32"), apply
            if name == "hue":
                angle = self._uniform(images, -_HUE_MAX, _HUE_MAX)
                return "hue", angle, self._coin(images, p)
            if name == "saturation":
                factor = ops.exp2(self._normal(images, _SATURATION_STD))
                return "saturation", factor, self._coin(images, p)
            if name == "diff_brightness":
                return "brightness", self._uniform(images, -0.5, 0.5), self._coin(images, p)
            if name == "diff_saturation":
                return "saturation", self._uniform(images, 0.0, 2.0), self._coin(images, p)
            return "mean_contrast", self._uniform(images, 0.5, 1.5), self._coin(images, p)

        drawn = [draw(name) for name in names]  # the draws first; the matrices in the branch
        any_applied = _any_of([apply for _, _, apply in drawn])
        if "hue" in names or channels == 1:
            apply_matrix = colour.colour_transform
        else:  # without hue every step keeps the colour block in the span of I and 1 1^T
            apply_matrix = colour._grey_colour_transform

        def transform() -> Any:
            matrix = identity
            for step, value, apply in drawn:
                mean = None
                if step == "mean_contrast":
                    current = ops.matmul(matrix, ops.expand_dims(channel_means(), -1))
                    mean = ops.mean(current[:, :channels, 0], axis=-1)
                step_matrix = colour.colour_matrix(step, value, channels=channels, mean=mean)
                matrix = then(matrix, step_matrix, apply)
            # Only the offset column can depend on the images (through DiffAugment's mean);
            # the colour block's derivative is zero, and telling autograd so saves a product
            # and a reduction over the whole batch per channel in the backward pass.
            matrix = ops.concatenate(
                [ops.stop_gradient(matrix[:, :, :channels]), matrix[:, :, channels:]], axis=-1
            )
            return apply_matrix(images, matrix)

        return _unless_none(any_applied, transform, images)

    def _translate_and_cut(
        self, images: Any, p: Any, names: Sequence[str], height: int, width: int
    ) -> Any:
        """DiffAugment's translation and cutout as one gather (no mask products).

        Pixels shifted in from outside and pixels in the cut square read a zero pixel.
        """
        t = transforms
        zero = ops.zeros((self._batch(images),), "int32")
        shift_x = shift_y = zero
        any_applied = ops.zeros((self._batch(images),), "bool")
        if "translation" in names:
            apply = self._coin(images, p)
            any_applied = any_applied | apply
            max_x, max_y = int(width * _TRANSLATION_RATIO), int(height * _TRANSLATION_RATIO)
            shift_x = ops.where(apply, self._integers(images, -max_x, max_x), zero)
            shift_y = ops.where(apply, self._integers(images, -max_y, max_y), zero)
        rows, cols = t._shifted_grid(images, shift_x, shift_y)
        valid = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
        if "cutout" in names:
            apply = self._coin(images, p)
            any_applied = any_applied | apply
            center_x, center_y = self._uniform(images), self._uniform(images)
            cut = t._cut(images, center_x, center_y, _CUTOUT_SIZE)
            valid = valid & ~(cut & ops.reshape(apply, (-1, 1, 1)))
        rows, cols = ops.clip(rows, 0, height - 1), ops.clip(cols, 0, width - 1)
        return _unless_none(any_applied, lambda: t._gather(images, rows, cols, valid), images)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments."""
        config = super().get_config()
        config.update(
            {
                "pipeline": self.pipeline,
                "p": self.initial_p,
                "mirror": self.mirror,
                "seed": self.seed,
            }
        )
        return config


def mirror(images: np.ndarray) -> np.ndarray:
    """Appends each image's left-right mirror to a NumPy batch (a dataset x-flip, for reals only).

    Not differentiable and not for fakes: it doubles a training set in memory. Inside ``fit``,
    ``Augment(..., mirror=True)`` flips reals at random instead.

    Args:
        images: ``(N, H, W, C)`` array.

    Returns:
        ``(2N, H, W, C)``: the images, then their mirrors.

    Raises:
        ValueError: If ``images`` is not a batch of images.

    Example:
        >>> import numpy as np
        >>> mirror(np.arange(2, dtype="float32").reshape(1, 1, 2, 1))[:, 0, :, 0].tolist()
        [[0.0, 1.0], [1.0, 0.0]]
    """
    array = np.asarray(images)
    if array.ndim != 4:
        raise ValueError(f"mirror takes images of shape (N, H, W, C); received {array.shape}.")
    return np.concatenate([array, array[:, :, ::-1]], axis=0)
