"""The loss terms of a ``GAN``: resolving them, the discriminator view they read, saving them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import keras

from keras_facegen import losses as facegen_losses
from keras_facegen.losses.base import AdversarialLoss, Term, TermInputs, TermKind, as_term

# === Construction ===


def resolve_loss(loss: str | AdversarialLoss) -> AdversarialLoss:
    if isinstance(loss, AdversarialLoss):
        return loss
    if isinstance(loss, str):
        return facegen_losses.get(loss)
    raise ValueError(
        "Expected `loss` to be a loss name (e.g. 'non_saturating') or a "
        f"keras_facegen.losses.AdversarialLoss; received loss={loss!r}."
    )


def as_terms(terms: Any, kind: TermKind, argument: str) -> list[Term]:
    if terms is None:
        return []
    if isinstance(terms, Term) or (callable(terms) and not isinstance(terms, (list, tuple))):
        terms = [terms]
    if not isinstance(terms, Iterable):
        raise ValueError(
            f"Expected `{argument}` to be a sequence of terms; received {argument}={terms!r}."
        )
    return [as_term(t, kind) for t in terms]


class DiscriminatorViews:
    """Holds the discriminator's multi-output view outside Keras' layer tracking.

    The view shares the discriminator's layers; tracking it as a sub-model would list those
    layers twice in saved files.
    """

    def __init__(self) -> None:
        self.features: keras.Model | None = None
        self.feature_names: tuple[str, ...] = ()


def feature_view(discriminator: keras.Model, names: Sequence[str]) -> keras.Model:
    try:
        outputs = [discriminator.get_layer(name).output for name in names]
    except (ValueError, AttributeError) as error:
        raise ValueError(
            f"Feature terms need discriminator layers {list(names)}, and a functional "
            f"discriminator to read them from; discriminator={discriminator.name!r} "
            f"({type(discriminator).__name__}) failed: {error}"
        ) from error
    return keras.Model(discriminator.inputs, [discriminator.output, *outputs])


# === Serialization ===


def serialize_term(term: Term) -> dict[str, Any]:
    fn = getattr(term, "fn", None)
    if fn is not None and type(term).__name__ == "_FunctionTerm":
        # A plain function made into a term by as_term: save the function (it must be
        # registered with keras.saving.register_keras_serializable) and its log name.
        return {
            "function": keras.saving.serialize_keras_object(getattr(fn, "__wrapped__", fn)),
            "kind": term.kind,
            "name": term.name,
        }
    return keras.saving.serialize_keras_object(term)


def deserialize_term(config: Mapping[str, Any]) -> Term:
    if "function" in config:
        fn = keras.saving.deserialize_keras_object(config["function"])
        return as_term(_NamedFunction(fn, config["name"]), config["kind"])
    return keras.saving.deserialize_keras_object(dict(config))


class _NamedFunction:
    """A saved function term's function, under the log name it was saved with."""

    def __init__(self, fn: Callable[[TermInputs], Any], name: str) -> None:
        self.name = name
        self.feature_layer = getattr(fn, "feature_layer", None)
        self.__wrapped__ = fn  # what serialize_term saves again

    def __call__(self, inputs: TermInputs) -> Any:
        return self.__wrapped__(inputs)
