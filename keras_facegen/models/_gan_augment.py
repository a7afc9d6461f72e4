"""A ``GAN``'s discriminator augmentation: what the discriminator sees, ADA's statistic, logs.

Both players' passes run the reals and the fakes through the same :class:`~keras_facegen.augment.
Augment` layer before the discriminator, so the generator is trained through the (differentiable)
augmentation. Penalties and matching terms receive the *augmented* images: an R1 or gradient
penalty then regularizes the discriminator where it is actually evaluated, as in StyleGAN2-ADA.
Evaluation (``training=False``) sees the images as they are.
"""

from __future__ import annotations

from typing import Any

from keras import ops

from keras_facegen import augment as facegen_augment
from keras_facegen.augment import Augment


def resolve_augment(augment: str | Augment | None) -> Augment | None:
    """``GAN``'s ``augment`` argument as a layer (or ``None``); see ``augment.get``."""
    return facegen_augment.get(augment)


def augmented(augment: Augment | None, real: Any, fake: Any, training: bool) -> tuple[Any, Any]:
    """The reals and fakes as the discriminator sees them in a train step."""
    if augment is None or not training:
        return real, fake
    return augment(real, training=True, real=True), augment(fake, training=True)


def observe_reals(augment: Augment | None, real_logits: Any, training: bool) -> None:
    """Feeds ADA's ``r_t = E[sign(D(real))]`` (a fixed pipeline ignores it)."""
    if augment is not None and training:
        augment.observe(real_logits)


def augment_logs(augment: Augment | None) -> dict[str, Any]:
    """``aug_p`` (and ``r_t`` for ADA) after the step, as tensors (not variables)."""
    if augment is None:
        return {}
    logs = {"aug_p": ops.convert_to_tensor(augment.p)}
    r_t = getattr(augment, "r_t", None)
    if r_t is not None:
        logs["r_t"] = ops.convert_to_tensor(r_t)
    return logs
