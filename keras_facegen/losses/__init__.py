"""Adversarial losses, discriminator penalties and generator matching terms.

* :func:`get` returns an :class:`AdversarialLoss` by name (``"non_saturating"``,
  ``"two_class_softmax"``, ``"wasserstein"``, ``"hinge"``, ``"least_squares"``); the pure
  functions ``<family>_discriminator_loss`` / ``<family>_generator_loss`` are exported too.
* Penalties (added to the discriminator loss): :class:`GradientPenalty`, :class:`R1Penalty`,
  :class:`Drift`.
* Matching terms (added to the generator loss): :class:`FeatureMatching`,
  :class:`MeanImageMatching`.
"""

from keras_facegen.losses.adversarial import (
    CustomAdversarialLoss,
    HingeLoss,
    LeastSquaresLoss,
    NonSaturatingLoss,
    TwoClassSoftmaxLoss,
    WassersteinLoss,
    deserialize,
    get,
    serialize,
)
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
from keras_facegen.losses.base import (
    AdversarialLoss,
    Term,
    TermInputs,
    TermKind,
    as_term,
    realness,
)
from keras_facegen.losses.matching import DEFAULT_FEATURE_LAYER, FeatureMatching, MeanImageMatching
from keras_facegen.losses.penalties import Drift, GradientPenalty, R1Penalty

__all__ = [
    "DEFAULT_FEATURE_LAYER",
    "AdversarialLoss",
    "CustomAdversarialLoss",
    "Drift",
    "FeatureMatching",
    "GradientPenalty",
    "HingeLoss",
    "LeastSquaresLoss",
    "MeanImageMatching",
    "NonSaturatingLoss",
    "R1Penalty",
    "Term",
    "TermInputs",
    "TermKind",
    "TwoClassSoftmaxLoss",
    "WassersteinLoss",
    "as_term",
    "deserialize",
    "get",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "least_squares_discriminator_loss",
    "least_squares_generator_loss",
    "non_saturating_discriminator_loss",
    "non_saturating_generator_loss",
    "realness",
    "serialize",
    "two_class_softmax_discriminator_loss",
    "two_class_softmax_generator_loss",
    "wasserstein_discriminator_loss",
    "wasserstein_generator_loss",
]
