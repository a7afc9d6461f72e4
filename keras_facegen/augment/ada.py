"""Adaptive discriminator augmentation (Karras et al. 2020): :class:`ADA`.

An :class:`~keras_facegen.augment.Augment` pipeline whose strength ``p`` follows the
discriminator's overfitting heuristic ``r_t = E[sign(D(real))]``, updated inside the train step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from keras_facegen import backend
from keras_facegen._validation import check_int
from keras_facegen.augment.pipeline import Augment, _check_probability


@keras.saving.register_keras_serializable(package="keras_facegen")
class ADA(Augment):
    """Adaptive discriminator augmentation: ``p`` follows the overfitting heuristic ``r_t``.

    Every discriminator step the GAN passes the logits on the augmented reals to
    :meth:`observe`. Every ``interval`` of those steps, ``r_t = E[sign(D(real))]`` over the images
    seen since the last adjustment is compared with ``target``: ``p`` moves up by
    ``images / speed_images`` when ``r_t > target`` (the discriminator is too sure of the reals,
    i.e. it overfits) and down by as much otherwise, clipped to [0, 1]. With the defaults
    (Karras et al. 2020) ``p`` can go from 0 to 1 in 500,000 images. ``p``, ``r_t`` and the
    running sums are variables of the layer: updated inside the compiled train step, saved,
    checkpointed and resumed exactly on every backend. In a training across several processes
    (:mod:`keras_facegen.distributed`) ``r_t`` is taken over the global batch, so every process
    keeps the same ``p`` as a one-process run would.

    Args:
        target: The target value of ``r_t``, in [0, 1].
        pipeline: The transforms (see :class:`Augment`), default ADA's ``"ada"`` set.
        p: The initial strength.
        speed_images: Images over which ``p`` can move by 1.
        interval: Discriminator steps between adjustments.
        mirror: Mirror reals with probability 1/2 (see :class:`Augment`).
        seed: Seed of the layer's random draws.
        **kwargs: Base layer arguments.

    Raises:
        ValueError: If an argument is out of range.

    Example:
        >>> import numpy as np
        >>> ada = ADA(target=0.6, speed_images=64, interval=1)
        >>> ada.observe(np.ones((8, 1), "float32"))  # the discriminator calls every real "real"
        >>> float(ada.p.value), float(ada.r_t.value)
        (0.125, 1.0)
    """

    def __init__(
        self,
        target: float = 0.6,
        pipeline: str | Sequence[str] = "ada",
        p: float = 0.0,
        speed_images: int = 500_000,
        interval: int = 4,
        mirror: bool = False,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("name", "ada")
        super().__init__(pipeline=pipeline, p=p, mirror=mirror, seed=seed, **kwargs)
        self.target = _check_probability(target, "target")
        self.speed_images = check_int(speed_images, "speed_images")
        self.interval = check_int(interval, "interval")

        def state(name: str) -> Any:
            return self.add_weight(
                shape=(),
                initializer="zeros",
                dtype="float32",
                trainable=False,
                aggregation="only_first_replica",
                name=name,
            )

        self.r_t = state("r_t")
        self.sign_sum = state("sign_sum")
        self.sign_count = state("sign_count")
        self.observed_steps = state("observed_steps")

    @property
    def adaptive(self) -> bool:
        """``True``: the train step adjusts ``p``."""
        return True

    def observe(self, real_logits: Any) -> None:
        """Accumulates ``sign(D(real))`` and, every ``interval`` calls, adjusts ``p``.

        Args:
            real_logits: ``(N,)`` or ``(N, 1)`` logits (positive = real), or ``(N, 2)`` logits
                of a two-class discriminator (class 1 = real).
        """
        logits = ops.cast(ops.stop_gradient(ops.convert_to_tensor(real_logits)), "float32")
        if len(logits.shape) == 2 and logits.shape[-1] == 2:
            realness = logits[:, 1] - logits[:, 0]
        else:
            realness = ops.reshape(logits, (-1,))
        # Summed over every replica of a distributed step: each replica then adjusts ``p``
        # from the whole global batch, as one process does, and all replicas keep one ``p``.
        signs = backend.replica_sum(ops.sum(ops.sign(realness)))
        count = backend.replica_sum(ops.cast(ops.shape(realness)[0], "float32"))
        total = self.sign_sum.value + signs
        seen = self.sign_count.value + count
        steps = self.observed_steps.value + 1.0
        due = steps >= float(self.interval)
        r_t = total / ops.maximum(seen, 1.0)
        step = ops.sign(r_t - self.target) * seen / float(self.speed_images)
        new_p = ops.clip(self.p.value + step, 0.0, 1.0)
        zero = ops.zeros_like(total)
        self.p.assign(ops.where(due, new_p, self.p.value))
        self.r_t.assign(ops.where(due, r_t, self.r_t.value))
        self.sign_sum.assign(ops.where(due, zero, total))
        self.sign_count.assign(ops.where(due, zero, seen))
        self.observed_steps.assign(ops.where(due, zero, steps))

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments."""
        config = super().get_config()
        config.update(
            {
                "target": self.target,
                "speed_images": self.speed_images,
                "interval": self.interval,
            }
        )
        return config


def get(augment: str | Augment | None) -> Augment | None:
    """Resolves the ``augment`` argument of ``GAN`` and the CLI's ``--augment``.

    Args:
        augment: ``None`` or ``"none"`` (no augmentation), ``"ada"`` (an :class:`ADA` with its
            defaults), ``"diffaugment"`` (``Augment("diffaugment", p=1)``), or a layer.

    Returns:
        An :class:`Augment` or ``None``.

    Raises:
        ValueError: For anything else.

    Example:
        >>> type(get("ada")).__name__, get("none")
        ('ADA', None)
    """
    if augment is None or augment == "none":
        return None
    if isinstance(augment, Augment):
        return augment
    if augment == "ada":
        return ADA()
    if augment == "diffaugment":
        return Augment("diffaugment")
    raise ValueError(
        "Expected `augment` to be None, 'none', 'ada', 'diffaugment' or a "
        f"keras_facegen.augment.Augment; received augment={augment!r}."
    )
