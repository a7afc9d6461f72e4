"""What a progressive stage sees: its real images, its penalties' inputs, its batches.

Real images are average-pooled to the stage's resolution and, during a fade, blended with their
2x down-and-up-sampled copy (the reference's ``process_reals``). Discriminator terms see the
batches as the reference's critic does, nearest-upsampled to the full resolution and pooled
back inside the critic. Each phase reads a fixed number of batches of its stage's stream.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from keras import ops

from keras_facegen.data.batches import ShuffledBatches
from keras_facegen.losses.base import TermInputs
from keras_facegen.models.schedule import Stage

__all__ = ["CountedBatches", "check_training_images", "full_resolution_inputs", "stage_reals"]


def stage_reals(images: Any, stage: Stage, alpha: Any) -> Any:
    """Real images as ``stage`` shows them to the discriminator.

    Average-pooled to the stage's resolution, then, if the stage fades in,
    ``lerp(upsample(avgpool2(x)), x, alpha)`` (the reference's ``process_reals``).

    Args:
        images: ``(N, S, S, C)``, ``S`` a power-of-two multiple of the stage's resolution.
        stage: The stage.
        alpha: The fade factor (a float or scalar tensor).

    Returns:
        Float32 images ``(N, r, r, C)``, ``r`` the stage's resolution.
    """
    images = ops.cast(images, "float32")
    factor = int(images.shape[1]) // stage.resolution
    if factor > 1:
        images = ops.average_pool(images, factor, factor, padding="valid")
    if stage.fade_images:
        low = ops.average_pool(images, 2, 2, padding="valid")
        low = ops.repeat(ops.repeat(low, 2, axis=1), 2, axis=2)
        images = low + ops.cast(alpha, "float32") * (images - low)
    return images


def full_resolution_inputs(inputs: TermInputs, resolution: int, target: int) -> TermInputs:
    """A discriminator term's inputs as the reference measures them.

    The reference trains every stage on full-resolution images (reals and fakes
    nearest-upsampled from the stage's resolution) and a critic that average-pools them back,
    so its input-gradient penalties differentiate with respect to the full-resolution image.
    The same here: the batches upsampled to ``target`` and a critic that pools them to
    ``resolution`` (exactly the stage's critic on the stage's images), so a penalty's value
    does not jump when the networks grow.

    Args:
        inputs: The step's term inputs at the stage's resolution.
        resolution: The stage's resolution.
        target: The full resolution.

    Returns:
        The inputs at ``target`` (``inputs`` itself at the last stage).
    """
    factor = target // resolution
    critic = inputs.discriminator
    if factor == 1 or critic is None:
        return inputs

    def upsample(images: Any) -> Any:
        images = ops.cast(images, "float32")
        return ops.repeat(ops.repeat(images, factor, axis=1), factor, axis=2)

    def full_resolution_critic(images: Any) -> Any:
        channels = int(images.shape[-1])
        blocks = ops.reshape(images, (-1, resolution, factor, resolution, factor, channels))
        return critic(ops.mean(blocks, axis=(2, 4)))

    return dataclasses.replace(
        inputs,
        real_images=upsample(inputs.real_images),
        fake_images=upsample(inputs.fake_images),
        discriminator=full_resolution_critic,
    )


def check_training_images(x: Any, target: int, channels: int) -> Any:
    """Checks a progressive run's images: ``(N, S, S, C)``, ``S`` a power-of-two multiple.

    Arrays on disk (an image cache, a memmap) are kept as they are, never loaded whole.

    Args:
        x: The images.
        target: The networks' resolution.
        channels: The networks' image channels.

    Returns:
        ``x`` (or ``np.asarray(x)`` for a sequence).

    Raises:
        ValueError: On a bad shape, size or channel count.
    """
    images = x if hasattr(x, "shape") and hasattr(x, "__getitem__") else np.asarray(x)
    shape = tuple(images.shape)
    if len(shape) != 4 or shape[1] != shape[2]:
        raise ValueError(f"Expected images of shape (N, S, S, C); received x of shape {shape}.")
    size = int(shape[1])
    factor = size // target
    if size < target or size % target or factor & (factor - 1):
        raise ValueError(
            f"The images are {size}x{size}; the GAN grows to {target}x{target}, so it needs "
            f"images of {target}x{target} (or a power-of-two multiple, average-pooled). "
            f"Received x of shape {shape}."
        )
    if shape[-1] != channels:
        raise ValueError(f"Expected images with {channels} channels; received x of shape {shape}.")
    return images


class CountedBatches(ShuffledBatches):
    """``ShuffledBatches`` that ends after ``count`` batches.

    With ``steps_per_execution > 1`` Keras pulls that many batches per compiled call and stops
    early only when the data runs out; an endless stream would run extra steps past a phase's
    end (or past ``until``).
    """

    def __init__(self, count: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.count = int(count)

    @property
    def num_batches(self) -> int:  # type: ignore[override]  # a finite stream of the endless one
        """The number of batches this ``fit`` call may use."""
        return self.count

    def __getitem__(self, index: int) -> Any:
        if index >= self.count:
            raise IndexError(f"batch index {index} is past the {self.count} batches of this run.")
        return super().__getitem__(index)
