"""Adversarial losses: one small class per family, custom pairs, and the registry by name.

Each family's class wraps its two pure functions from
:mod:`~keras_facegen.losses.adversarial_functions` (re-exported here), where the formulas are
tabulated. :func:`get`, :func:`serialize` and :func:`deserialize` turn names and configs into
losses and back.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import keras
from keras import ops

from keras_facegen.losses.adversarial_functions import (
    hinge_discriminator_loss,
    hinge_generator_loss,
    least_squares_discriminator_loss,
    least_squares_generator_loss,
    non_saturating_discriminator_loss,
    non_saturating_generator_loss,
    two_class_softmax_discriminator_loss,
    two_class_softmax_generator_loss,
    wasserstein_discriminator_loss,
    wasserstein_generator_loss,
)
from keras_facegen.losses.base import AdversarialLoss

# The pure functions stay importable from here (they were defined here before); their home,
# and their __all__, is adversarial_functions.
__all__ = [
    "CustomAdversarialLoss",
    "HingeLoss",
    "LeastSquaresLoss",
    "NonSaturatingLoss",
    "TwoClassSoftmaxLoss",
    "WassersteinLoss",
    "deserialize",
    "get",
    "serialize",
]


# === Classes ===


class _FunctionPairLoss(AdversarialLoss):
    """A registered family: wraps its two pure functions.

    The families below are written out one class each (not made by a loop): each is a public,
    registered and documented name.
    """

    _discriminator_fn: Callable[[Any, Any], Any]
    _generator_fn: Callable[[Any], Any]

    def discriminator_loss(self, real_logits: Any, fake_logits: Any) -> Any:
        """See :meth:`AdversarialLoss.discriminator_loss`."""
        return type(self)._discriminator_fn(real_logits, fake_logits)

    def generator_loss(self, fake_logits: Any, real_logits: Any = None) -> Any:
        """See :meth:`AdversarialLoss.generator_loss` (``real_logits`` is not used)."""
        del real_logits
        return type(self)._generator_fn(fake_logits)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))


@keras.saving.register_keras_serializable(package="keras_facegen")
class NonSaturatingLoss(_FunctionPairLoss):
    """Sigmoid cross-entropy GAN loss, non-saturating for the generator (1 logit).

    Example:
        >>> loss = NonSaturatingLoss()
        >>> float(loss.generator_loss([0.0]))
        0.693...
    """

    name = "non_saturating"
    _discriminator_fn = staticmethod(non_saturating_discriminator_loss)
    _generator_fn = staticmethod(non_saturating_generator_loss)


@keras.saving.register_keras_serializable(package="keras_facegen")
class TwoClassSoftmaxLoss(_FunctionPairLoss):
    """Softmax cross-entropy GAN loss for a two-logit discriminator (class 1 = real).

    Example:
        >>> loss = TwoClassSoftmaxLoss()
        >>> float(loss.generator_loss([[0.0, 0.0]]))
        0.693...
    """

    name = "two_class_softmax"
    _discriminator_fn = staticmethod(two_class_softmax_discriminator_loss)
    _generator_fn = staticmethod(two_class_softmax_generator_loss)


@keras.saving.register_keras_serializable(package="keras_facegen")
class WassersteinLoss(_FunctionPairLoss):
    """Wasserstein GAN loss; combine with a gradient penalty.

    Example:
        >>> loss = WassersteinLoss()
        >>> float(loss.discriminator_loss([2.0], [0.5]))
        -1.5
    """

    name = "wasserstein"
    _discriminator_fn = staticmethod(wasserstein_discriminator_loss)
    _generator_fn = staticmethod(wasserstein_generator_loss)


@keras.saving.register_keras_serializable(package="keras_facegen")
class HingeLoss(_FunctionPairLoss):
    """Hinge GAN loss (as in SAGAN / BigGAN).

    Example:
        >>> loss = HingeLoss()
        >>> float(loss.discriminator_loss([0.5], [-2.0]))
        0.5
    """

    name = "hinge"
    _discriminator_fn = staticmethod(hinge_discriminator_loss)
    _generator_fn = staticmethod(hinge_generator_loss)


@keras.saving.register_keras_serializable(package="keras_facegen")
class LeastSquaresLoss(_FunctionPairLoss):
    """Least-squares GAN loss (LSGAN, targets 1 for real and 0 for fake).

    Example:
        >>> loss = LeastSquaresLoss()
        >>> float(loss.generator_loss([3.0]))
        2.0
    """

    name = "least_squares"
    _discriminator_fn = staticmethod(least_squares_discriminator_loss)
    _generator_fn = staticmethod(least_squares_generator_loss)


def _accepts_two_positional(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


@keras.saving.register_keras_serializable(package="keras_facegen")
class CustomAdversarialLoss(AdversarialLoss):
    """An adversarial loss made of two user functions.

    Signatures:

    * ``discriminator_fn(real_logits, fake_logits) -> scalar``;
    * ``generator_fn(fake_logits) -> scalar``, or ``generator_fn(fake_logits, real_logits)``
      for relativistic losses (detected from the function's signature; ``real_logits`` is passed
      whenever the function takes a second positional argument).

    Both get the raw discriminator outputs (``(N,)``, ``(N, 1)`` or ``(N, 2)``); use
    :func:`~keras_facegen.losses.realness` for one logit per sample. Write them with
    ``keras.ops`` so that they run on every backend. To save a GAN using this loss, register the
    functions with ``keras.saving.register_keras_serializable``.

    Args:
        discriminator_fn: The discriminator's loss.
        generator_fn: The generator's loss.
        name: A name for logs and ``repr``.

    Raises:
        TypeError: If a function is not callable.
        ValueError: If ``name`` is empty.

    Example:
        >>> from keras import ops
        >>> loss = CustomAdversarialLoss(
        ...     lambda r, f: ops.mean(ops.softplus(f)) + ops.mean(ops.softplus(-r)),
        ...     lambda f: ops.mean(ops.softplus(-f)),
        ...     name="my_gan",
        ... )
        >>> float(loss.generator_loss(ops.zeros((4,))))
        0.693...
    """

    def __init__(
        self,
        discriminator_fn: Callable[[Any, Any], Any],
        generator_fn: Callable[..., Any],
        name: str = "custom",
    ) -> None:
        for arg, fn in (("discriminator_fn", discriminator_fn), ("generator_fn", generator_fn)):
            if not callable(fn):
                raise TypeError(
                    f"{arg} must be a callable; received {arg}={fn!r} of type {type(fn).__name__}."
                )
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string; received name={name!r}.")
        self.discriminator_fn = discriminator_fn
        self.generator_fn = generator_fn
        self.name = name
        self._generator_takes_real = _accepts_two_positional(generator_fn)

    @property
    def needs_real_logits(self) -> bool:
        """``True`` when ``generator_fn`` takes ``real_logits`` (a relativistic loss)."""
        return self._generator_takes_real

    def discriminator_loss(self, real_logits: Any, fake_logits: Any) -> Any:
        """Returns ``discriminator_fn(real_logits, fake_logits)`` as float32."""
        return ops.cast(self.discriminator_fn(real_logits, fake_logits), "float32")

    def generator_loss(self, fake_logits: Any, real_logits: Any = None) -> Any:
        """Returns ``generator_fn(fake_logits[, real_logits])`` as float32."""
        if self._generator_takes_real:
            value = self.generator_fn(fake_logits, real_logits)
        else:
            value = self.generator_fn(fake_logits)
        return ops.cast(value, "float32")

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments (the functions themselves)."""
        return {
            "discriminator_fn": self.discriminator_fn,
            "generator_fn": self.generator_fn,
            "name": self.name,
        }


# === Registry and (de)serialization ===

_REGISTRY: dict[str, type[_FunctionPairLoss]] = {
    cls.name: cls
    for cls in (
        NonSaturatingLoss,
        TwoClassSoftmaxLoss,
        WassersteinLoss,
        HingeLoss,
        LeastSquaresLoss,
    )
}
_CUSTOM = "custom"


def _valid_names() -> str:
    return ", ".join(repr(name) for name in _REGISTRY)


def serialize(loss: AdversarialLoss) -> dict[str, Any]:
    """Turns an adversarial loss into a JSON-friendly dict (for a model's ``get_config``).

    Registered families serialize to ``{"class_name": <name>, "config": {}}``; a
    :class:`CustomAdversarialLoss` to ``{"class_name": "custom", "config": ...}`` with its
    functions serialized by ``keras.saving.serialize_keras_object``; any other
    :class:`AdversarialLoss` subclass through ``keras.saving.serialize_keras_object`` (register
    it with ``keras.saving.register_keras_serializable`` and give it a ``from_config``).

    Args:
        loss: The loss.

    Returns:
        A dict that :func:`deserialize` and :func:`get` accept.

    Raises:
        TypeError: If ``loss`` is not an :class:`AdversarialLoss`.

    Example:
        >>> serialize(get("hinge"))
        {'class_name': 'hinge', 'config': {}}
    """
    if not isinstance(loss, AdversarialLoss):
        raise TypeError(
            f"Expected a keras_facegen.losses.AdversarialLoss; received loss={loss!r} of type "
            f"{type(loss).__name__}."
        )
    registered = _REGISTRY.get(loss.name)
    if registered is not None and type(loss) is registered:
        return {"class_name": loss.name, "config": loss.get_config()}
    if isinstance(loss, CustomAdversarialLoss):
        return {
            "class_name": _CUSTOM,
            "config": {
                key: keras.saving.serialize_keras_object(value)
                for key, value in loss.get_config().items()
            },
        }
    return keras.saving.serialize_keras_object(loss)


def deserialize(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuilds an adversarial loss from :func:`serialize`'s output.

    Args:
        config: A dict made by :func:`serialize`.
        custom_objects: Passed on to ``keras.saving.deserialize_keras_object`` for
            user-defined functions and classes.

    Returns:
        An :class:`AdversarialLoss`.

    Raises:
        ValueError: If ``config`` is not such a dict or names an unknown loss.

    Example:
        >>> deserialize({"class_name": "hinge", "config": {}})
        HingeLoss()
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "config must be a dict made by keras_facegen.losses.serialize, with a 'class_name' "
            f"key; received config={config!r}."
        )
    class_name = config["class_name"]
    inner = dict(config.get("config") or {})
    if class_name in _REGISTRY:
        return _REGISTRY[class_name].from_config(inner)
    if class_name == _CUSTOM:
        return CustomAdversarialLoss.from_config(
            {
                key: keras.saving.deserialize_keras_object(value, custom_objects=custom_objects)
                for key, value in inner.items()
            }
        )
    try:
        loss = keras.saving.deserialize_keras_object(config, custom_objects=custom_objects)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"Unknown adversarial loss class_name={class_name!r}. Registered names: "
            f"{_valid_names()}; other AdversarialLoss subclasses must be registered with "
            f"keras.saving.register_keras_serializable. ({error})"
        ) from error
    if not isinstance(loss, AdversarialLoss):
        raise ValueError(
            f"config describes {loss!r}, which is not a keras_facegen.losses.AdversarialLoss."
        )
    return loss


def get(identifier: str | AdversarialLoss | dict[str, Any]) -> AdversarialLoss:
    """Returns an adversarial loss from a name, an instance or a serialized dict.

    Args:
        identifier: One of ``"non_saturating"``, ``"two_class_softmax"``, ``"wasserstein"``,
            ``"hinge"``, ``"least_squares"``; an :class:`AdversarialLoss` (returned as is); or a
            dict made by :func:`serialize`.

    Returns:
        An :class:`AdversarialLoss`.

    Raises:
        ValueError: If the name is unknown (the message lists the valid names) or the
            identifier is of another type.

    Example:
        >>> get("wasserstein")
        WassersteinLoss()
    """
    if isinstance(identifier, AdversarialLoss):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _REGISTRY:
            raise ValueError(
                f"Unknown adversarial loss identifier={identifier!r}. Valid names: "
                f"{_valid_names()}."
            )
        return _REGISTRY[identifier]()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(
        "identifier must be a loss name, a keras_facegen.losses.AdversarialLoss or a dict "
        f"from keras_facegen.losses.serialize; received identifier={identifier!r} of type "
        f"{type(identifier).__name__}. Valid names: {_valid_names()}."
    )
