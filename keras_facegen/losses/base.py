"""The interfaces every adversarial loss, penalty and matching term implements.

A GAN train step computes discriminator outputs for a real and a generated batch, then asks
the terms for scalars:

* an :class:`AdversarialLoss` gives the discriminator's and the generator's adversarial loss;
* a **penalty** (:class:`Term` with ``kind="discriminator"``) is added to the discriminator loss
  (gradient penalty, R1, drift);
* a **matching term** (:class:`Term` with ``kind="generator"``) is added to the generator loss
  (feature matching, mean-image matching).

Every term receives one :class:`TermInputs` and returns a scalar that is already weighted. A
plain function ``fn(inputs: TermInputs) -> scalar`` works too (see :func:`as_term`).
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar

import keras
from keras import ops

#: Which network a loss term trains: ``"discriminator"`` or ``"generator"``.
TermKind = Literal["discriminator", "generator"]
_Loss = TypeVar("_Loss", bound="AdversarialLoss")
_Term = TypeVar("_Term", bound="Term")


@dataclasses.dataclass(frozen=True)
class TermInputs:
    """What a train step hands to every loss term.

    Attributes:
        real_images: The real batch, ``(N, H, W, C)``.
        fake_images: The generated batch, ``(N, H, W, C)``. Gradients flow to the generator
            in the generator step and are stopped in the discriminator step.
        real_logits: Discriminator outputs on ``real_images``: ``(N,)``, ``(N, 1)`` or ``(N, 2)``.
        fake_logits: Discriminator outputs on ``fake_images``.
        real_features: Discriminator activations on the real batch, by layer name (only the
            layers the terms asked for through ``feature_layer``).
        fake_features: The same activations on the generated batch.
        discriminator: ``images -> logits``, the discriminator in training mode. It is pure
            (safe to differentiate through again, also on JAX); use it for input-gradient
            penalties.
        seed_generator: Random state for terms that sample (e.g. interpolation weights).
        step: The GAN's train-step counter before this step (``GAN.iterations``, an integer
            scalar tensor), for terms that run every few steps (``R1Penalty(every=16)``);
            ``None`` outside a GAN's train step.
    """

    real_images: Any
    fake_images: Any
    real_logits: Any
    fake_logits: Any
    real_features: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    fake_features: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    discriminator: Callable[[Any], Any] | None = None
    seed_generator: keras.random.SeedGenerator | None = None
    step: Any = None


def realness(logits: Any) -> Any:
    """The discriminator's "this is real" logit, one per sample.

    One-logit outputs ``(N,)`` / ``(N, 1)`` are returned flat; two-logit outputs ``(N, 2)``
    (softmax, class 1 = real) become ``logits[:, 1] - logits[:, 0]``, whose sigmoid equals the
    softmax probability of "real".

    Args:
        logits: Discriminator outputs.

    Returns:
        A float32 tensor of shape ``(N,)``.

    Raises:
        ValueError: If the outputs are not ``(N,)``, ``(N, 1)`` or ``(N, 2)``.
    """
    logits = ops.cast(logits, "float32")
    shape = tuple(logits.shape)
    if len(shape) == 1:
        return logits
    if len(shape) == 2 and shape[-1] == 1:
        return ops.reshape(logits, (-1,))
    if len(shape) == 2 and shape[-1] == 2:
        return logits[:, 1] - logits[:, 0]
    raise ValueError(
        "Expected discriminator outputs of shape (N,), (N, 1) or (N, 2) (two-class softmax, "
        f"class 1 = real); received logits of shape {shape}."
    )


class AdversarialLoss(abc.ABC):
    """Base class of adversarial losses: one objective for each player.

    Subclasses implement :meth:`discriminator_loss` and :meth:`generator_loss`; both return a
    float32 scalar averaged over the batch.
    """

    name: str = "adversarial"

    @property
    def needs_real_logits(self) -> bool:
        """Whether :meth:`generator_loss` uses ``real_logits`` (relativistic losses).

        The GAN computes the discriminator's outputs on the real batch in the generator step
        only when this is ``True`` (or a matching term needs them). Default: ``False``.
        """
        return False

    @abc.abstractmethod
    def discriminator_loss(self, real_logits: Any, fake_logits: Any) -> Any:
        """The discriminator's loss (lower when it tells real from fake).

        Args:
            real_logits: Discriminator outputs on real images.
            fake_logits: Discriminator outputs on generated images.

        Returns:
            A scalar tensor.
        """

    @abc.abstractmethod
    def generator_loss(self, fake_logits: Any, real_logits: Any = None) -> Any:
        """The generator's loss (lower when its images pass as real).

        Args:
            fake_logits: Discriminator outputs on generated images.
            real_logits: Discriminator outputs on real images (used by relativistic losses).

        Returns:
            A scalar tensor.
        """

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments."""
        return {}

    @classmethod
    def from_config(cls: type[_Loss], config: dict[str, Any]) -> _Loss:
        """Rebuilds the loss from :meth:`get_config` (``cls(**config)``)."""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Term(abc.ABC):
    """Base class of penalty and matching terms.

    Attributes:
        name: The key the term is logged under.
        kind: ``"discriminator"`` (added to the discriminator loss) or ``"generator"``.
        feature_layer: Name of a discriminator layer whose activations the term needs in
            ``TermInputs.real_features`` / ``fake_features``, or ``None``.
    """

    name: str = "term"
    kind: TermKind = "generator"
    feature_layer: str | None = None

    @abc.abstractmethod
    def __call__(self, inputs: TermInputs) -> Any:
        """Returns the weighted scalar value of this term for one step."""

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments."""
        return {}

    @classmethod
    def from_config(cls: type[_Term], config: dict[str, Any]) -> _Term:
        """Rebuilds the term from :meth:`get_config` (``cls(**config)``)."""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _FunctionTerm(Term):
    def __init__(self, fn: Callable[[TermInputs], Any], kind: TermKind, name: str) -> None:
        self.fn = fn
        self.kind = kind
        self.name = name
        self.feature_layer = getattr(fn, "feature_layer", None)

    def __call__(self, inputs: TermInputs) -> Any:
        return self.fn(inputs)

    def get_config(self) -> dict[str, Any]:
        return {"fn": self.fn, "kind": self.kind, "name": self.name}


def as_term(term: Term | Callable[[TermInputs], Any], kind: TermKind) -> Term:
    """Turns a :class:`Term` or a plain function into a term of the given kind.

    A function ``fn(inputs: TermInputs) -> scalar`` is logged under its ``name`` attribute or
    ``__name__``; give it a ``feature_layer`` attribute to receive discriminator activations.

    Args:
        term: A :class:`Term` instance or a callable.
        kind: ``"discriminator"`` for penalties, ``"generator"`` for matching terms.

    Returns:
        A :class:`Term`.

    Raises:
        TypeError: If ``term`` is neither a Term nor callable.
        ValueError: If a Term of the other kind is given.
    """
    if kind not in ("discriminator", "generator"):
        raise ValueError(f"kind must be 'discriminator' or 'generator'; received kind={kind!r}.")
    if isinstance(term, Term):
        if term.kind != kind:
            raise ValueError(
                f"{term!r} is a {term.kind} term; it cannot be used where {kind} terms go "
                f"({'penalties' if kind == 'discriminator' else 'matching'})."
            )
        return term
    if callable(term):
        name = getattr(term, "name", None) or getattr(term, "__name__", None) or "custom_term"
        return _FunctionTerm(term, kind, str(name))
    raise TypeError(
        f"Expected a keras_facegen.losses.Term or a callable fn(TermInputs) -> scalar; "
        f"received {term!r} of type {type(term).__name__}."
    )
