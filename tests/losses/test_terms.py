import helpers
import keras
import numpy as np
import pytest
from keras import ops

from keras_facegen import losses
from keras_facegen.backend import value_and_grad

RNG = np.random.default_rng(0)
REAL = RNG.normal(size=(3, 2, 2, 1)).astype("float32")
FAKE = RNG.normal(size=(3, 2, 2, 1)).astype("float32")
W = np.array([0.5, -1.0, 2.0, 0.25], "float32").reshape(2, 2, 1)


def linear_discriminator(w):
    """x -> sum(w * x) per sample: its input gradient is w for every sample."""
    return lambda x: ops.sum(x * w, axis=(1, 2, 3))


def quadratic_discriminator(x):
    """x -> sum(x^2) per sample, as (N, 1): its input gradient is 2x."""
    return ops.sum(ops.square(x), axis=(1, 2, 3), keepdims=False)[:, None]


def two_logit_quadratic_discriminator(x):
    """Two logits whose realness (l1 - l0) is sum(x^2)."""
    s = ops.sum(ops.square(x), axis=(1, 2, 3))
    return ops.stack([-0.5 * s, 0.5 * s], axis=1)


def term_inputs(**overrides):
    fields = dict(
        real_images=ops.convert_to_tensor(REAL),
        fake_images=ops.convert_to_tensor(FAKE),
        real_logits=ops.convert_to_tensor(np.array([1.0, -2.0, 0.5], "float32")),
        fake_logits=ops.convert_to_tensor(np.array([0.0, 0.0, 0.0], "float32")),
        seed_generator=keras.random.SeedGenerator(7),
    )
    fields.update(overrides)
    return losses.TermInputs(**fields)


def value(term, inputs):
    result = term(inputs)
    assert tuple(result.shape) == ()
    return helpers.to_numpy(result)


def test_gradient_penalty_with_a_linear_discriminator_does_not_depend_on_eps():
    norm = np.linalg.norm(W)
    term = losses.GradientPenalty(weight=10.0, target=1.0)
    assert (term.name, term.kind, term.feature_layer) == ("gradient_penalty", "discriminator", None)
    inputs = term_inputs(discriminator=linear_discriminator(ops.convert_to_tensor(W)))
    np.testing.assert_allclose(value(term, inputs), 10.0 * (norm - 1.0) ** 2, rtol=1e-5)
    target_3 = losses.GradientPenalty(weight=2.0, target=3.0)
    np.testing.assert_allclose(value(target_3, inputs), 2.0 * (norm - 3.0) ** 2, rtol=1e-5)


@pytest.mark.parametrize(
    "discriminator", [quadratic_discriminator, two_logit_quadratic_discriminator]
)
def test_gradient_penalty_interpolates_with_eps_from_the_seed_generator(discriminator):
    term = losses.GradientPenalty(weight=3.0, target=1.0)
    got = value(
        term,
        term_inputs(discriminator=discriminator, seed_generator=keras.random.SeedGenerator(42)),
    )
    eps = helpers.to_numpy(
        keras.random.uniform((3, 1, 1, 1), 0.0, 1.0, seed=keras.random.SeedGenerator(42))
    )
    mixed = eps * REAL + (1 - eps) * FAKE
    norms = np.sqrt(np.sum((2 * mixed) ** 2, axis=(1, 2, 3)))
    np.testing.assert_allclose(got, 3.0 * np.mean((norms - 1.0) ** 2), rtol=1e-5)


def test_gradient_penalty_with_equal_real_and_fake():
    term = losses.GradientPenalty()
    inputs = term_inputs(
        fake_images=ops.convert_to_tensor(REAL), discriminator=quadratic_discriminator
    )
    norms = np.sqrt(np.sum((2 * REAL) ** 2, axis=(1, 2, 3)))
    np.testing.assert_allclose(value(term, inputs), 10.0 * np.mean((norms - 1.0) ** 2), rtol=1e-5)


def test_gradient_penalty_is_differentiable_in_the_discriminator_weights():
    term = losses.GradientPenalty(weight=10.0)

    def penalty_of_weights(w):
        return term(term_inputs(discriminator=linear_discriminator(w)))

    penalty, grad = value_and_grad(penalty_of_weights)(ops.convert_to_tensor(W))
    norm = np.linalg.norm(W)
    np.testing.assert_allclose(helpers.to_numpy(penalty), 10.0 * (norm - 1.0) ** 2, rtol=1e-5)
    # d/dw 10 (|w| - 1)^2 = 20 (|w| - 1) w / |w|
    np.testing.assert_allclose(
        helpers.to_numpy(grad), 20.0 * (norm - 1.0) * W / norm, rtol=1e-4, atol=1e-6
    )


def test_r1_penalty():
    term = losses.R1Penalty(gamma=4.0)
    assert (term.name, term.kind) == ("r1_penalty", "discriminator")
    linear = term_inputs(discriminator=linear_discriminator(ops.convert_to_tensor(W)))
    np.testing.assert_allclose(value(term, linear), 2.0 * np.sum(W**2), rtol=1e-5)
    quadratic = term_inputs(discriminator=quadratic_discriminator)
    expected = 2.0 * np.mean(np.sum((2 * REAL) ** 2, axis=(1, 2, 3)))
    np.testing.assert_allclose(value(term, quadratic), expected, rtol=1e-5)
    assert losses.R1Penalty().gamma == 10.0


def test_lazy_r1_penalty_runs_every_k_steps_weighted_k_times():
    term = losses.R1Penalty(gamma=4.0, every=3)
    w = ops.convert_to_tensor(W)
    once = 2.0 * np.sum(W**2)  # R1 of the linear discriminator, as above

    def at(step):
        inputs = term_inputs(discriminator=linear_discriminator(w), step=step)
        return value(term, inputs)

    np.testing.assert_allclose(at(ops.convert_to_tensor(0, "int64")), 3 * once, rtol=1e-5)
    np.testing.assert_allclose(at(ops.convert_to_tensor(6, "int32")), 3 * once, rtol=1e-5)
    assert at(ops.convert_to_tensor(1, "int32")) == 0.0
    assert at(ops.convert_to_tensor(5, "int32")) == 0.0
    with pytest.raises(ValueError, match=r"every=3 needs the train step's counter"):
        term(term_inputs(discriminator=linear_discriminator(w)))


@pytest.mark.parametrize("every", [0, -2, 1.5, True, "16"])
def test_lazy_r1_penalty_rejects_a_bad_interval(every):
    with pytest.raises(ValueError, match=rf"R1Penalty: every={every!r}; expected an integer >= 1"):
        losses.R1Penalty(every=every)


def test_drift():
    term = losses.Drift()
    assert (term.name, term.kind, term.epsilon) == ("drift", "discriminator", 0.001)
    np.testing.assert_allclose(value(term, term_inputs()), 0.001 * (1 + 4 + 0.25) / 3, rtol=1e-6)
    two_logits = term_inputs(real_logits=np.array([[1.0, 3.0], [0.0, -1.0]], "float32"))
    np.testing.assert_allclose(value(losses.Drift(0.5), two_logits), 0.5 * (4 + 1) / 2, rtol=1e-6)


def matching_expected(fake, real, weight):
    return weight * 0.5 * np.sum((fake.mean(axis=0) - real.mean(axis=0)) ** 2)


def test_feature_matching_uses_the_default_or_given_layer():
    real = RNG.normal(size=(4, 3, 3, 5)).astype("float32")
    fake = RNG.normal(size=(4, 3, 3, 5)).astype("float32")
    other = RNG.normal(size=(4, 7)).astype("float32")
    inputs = term_inputs(
        real_features={"features": real, "dense": other},
        fake_features={"features": fake, "dense": other * 2},
    )
    term = losses.FeatureMatching(weight=0.1)
    assert losses.DEFAULT_FEATURE_LAYER == "features"
    assert (term.name, term.kind, term.feature_layer) == (
        "feature_matching",
        "generator",
        "features",
    )
    np.testing.assert_allclose(value(term, inputs), matching_expected(fake, real, 0.1), rtol=1e-5)
    dense = losses.FeatureMatching(weight=2.0, layer="dense")
    assert dense.feature_layer == "dense"
    np.testing.assert_allclose(
        value(dense, inputs), matching_expected(other * 2, other, 2.0), rtol=1e-5
    )


def test_matching_gradients_flow_to_fake_only():
    term = losses.MeanImageMatching(weight=0.5)
    delta = ops.convert_to_tensor(FAKE - REAL)

    def of_images(x):
        # Real and fake move together: only the fake side must carry a gradient.
        return term(term_inputs(real_images=x, fake_images=x + delta))

    penalty, grad = value_and_grad(of_images)(ops.convert_to_tensor(REAL))
    np.testing.assert_allclose(
        helpers.to_numpy(penalty), matching_expected(FAKE, REAL, 0.5), rtol=1e-5
    )
    expected = 0.5 * (FAKE.mean(axis=0) - REAL.mean(axis=0)) / 3
    np.testing.assert_allclose(
        helpers.to_numpy(grad), np.broadcast_to(expected, FAKE.shape), rtol=1e-5, atol=1e-7
    )


def test_mean_image_matching():
    term = losses.MeanImageMatching(weight=0.1)
    assert (term.name, term.kind, term.feature_layer) == ("mean_image_matching", "generator", None)
    np.testing.assert_allclose(
        value(term, term_inputs()), matching_expected(FAKE, REAL, 0.1), rtol=1e-5
    )


def test_custom_callables_through_as_term():
    def image_gap(inputs):
        return ops.mean(ops.abs(inputs.fake_images - inputs.real_images))

    image_gap.feature_layer = "features"
    term = losses.as_term(image_gap, "generator")
    assert (term.name, term.kind, term.feature_layer) == ("image_gap", "generator", "features")
    np.testing.assert_allclose(value(term, term_inputs()), np.mean(np.abs(FAKE - REAL)), rtol=1e-5)

    def penalty(inputs):
        return 2.0 * ops.mean(losses.realness(inputs.real_logits))

    penalty.name = "mean_real_logit"
    d_term = losses.as_term(penalty, "discriminator")
    assert (d_term.name, d_term.kind) == ("mean_real_logit", "discriminator")
    np.testing.assert_allclose(value(d_term, term_inputs()), 2.0 * (-0.5 / 3), rtol=1e-5)
    drift = losses.Drift()
    assert losses.as_term(drift, "discriminator") is drift


def test_as_term_rejects_wrong_kinds_and_non_callables():
    with pytest.raises(ValueError, match="discriminator term"):
        losses.as_term(losses.GradientPenalty(), "generator")
    with pytest.raises(ValueError, match="generator term"):
        losses.as_term(losses.FeatureMatching(), "discriminator")
    with pytest.raises(ValueError, match="kind='both'"):
        losses.as_term(losses.Drift(), "both")
    with pytest.raises(TypeError, match="int"):
        losses.as_term(3, "generator")


@pytest.mark.parametrize(
    "factory, argument",
    [
        (lambda: losses.GradientPenalty(weight=-1.0), "weight"),
        (lambda: losses.GradientPenalty(target=-0.5), "target"),
        (lambda: losses.R1Penalty(gamma=-10.0), "gamma"),
        (lambda: losses.Drift(epsilon=-0.001), "epsilon"),
        (lambda: losses.FeatureMatching(weight=-0.1), "weight"),
        (lambda: losses.MeanImageMatching(weight=-0.1), "weight"),
        (lambda: losses.MeanImageMatching(weight=float("nan")), "weight"),
        (lambda: losses.Drift(epsilon="0.1"), "epsilon"),
        (lambda: losses.FeatureMatching(layer=""), "layer"),
        (lambda: losses.R1Penalty(name=""), "name"),
    ],
)
def test_bad_constructor_arguments(factory, argument):
    with pytest.raises(ValueError, match=f"{argument}="):
        factory()


def test_terms_report_missing_inputs():
    with pytest.raises(ValueError, match="seed_generator=None"):
        losses.GradientPenalty()(
            term_inputs(discriminator=quadratic_discriminator, seed_generator=None)
        )
    with pytest.raises(ValueError, match="discriminator=None"):
        losses.GradientPenalty()(term_inputs())
    with pytest.raises(ValueError, match="discriminator=None"):
        losses.R1Penalty()(term_inputs())
    with pytest.raises(ValueError, match=r"'dense'.*has only \['features'\]"):
        losses.FeatureMatching(layer="dense")(
            term_inputs(real_features={"features": REAL}, fake_features={"features": FAKE})
        )


@pytest.mark.parametrize(
    "term",
    [
        losses.GradientPenalty(weight=5.0, target=0.5),
        losses.R1Penalty(gamma=1.0),
        losses.R1Penalty(gamma=2.0, every=16, name="lazy_r1"),
        losses.Drift(epsilon=0.01),
        losses.FeatureMatching(weight=0.2, layer="conv3"),
        losses.MeanImageMatching(weight=0.3),
    ],
)
def test_term_config_round_trip(term):
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(term))
    assert type(restored) is type(term)
    assert restored.get_config() == term.get_config()
