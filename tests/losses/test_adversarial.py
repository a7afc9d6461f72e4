import json

import helpers
import keras
import numpy as np
import pytest
from keras import ops

from keras_facegen import losses

REAL_1 = np.array([1.5, -0.5, 3.0, 0.0, 40.0], dtype="float32")
FAKE_1 = np.array([-2.0, 0.5, 1.0, -30.0, 0.25], dtype="float32")
# Two-logit outputs whose realness (l1 - l0) is REAL_1 / FAKE_1 shifted by a per-row offset.
REAL_2 = np.stack([np.full(5, 0.7), REAL_1 + 0.7], axis=1).astype("float32")
FAKE_2 = np.stack([np.full(5, -1.3), FAKE_1 - 1.3], axis=1).astype("float32")


def softplus(x):
    return np.logaddexp(0.0, x.astype("float64"))


def cross_entropy(logits, label):
    logits = logits.astype("float64")
    log_z = np.logaddexp(logits[:, 0], logits[:, 1])
    return log_z - logits[:, label]


# name -> (real logits, fake logits, expected d_loss, expected g_loss), written from the formulas.
CASES = {
    "non_saturating": (
        REAL_1,
        FAKE_1,
        np.mean(softplus(-REAL_1)) + np.mean(softplus(FAKE_1)),
        np.mean(softplus(-FAKE_1)),
    ),
    "two_class_softmax": (
        REAL_2,
        FAKE_2,
        np.mean(cross_entropy(REAL_2, 1)) + np.mean(cross_entropy(FAKE_2, 0)),
        np.mean(cross_entropy(FAKE_2, 1)),
    ),
    "wasserstein": (REAL_1, FAKE_1, np.mean(FAKE_1) - np.mean(REAL_1), -np.mean(FAKE_1)),
    "hinge": (
        REAL_1,
        FAKE_1,
        np.mean(np.maximum(0, 1 - REAL_1)) + np.mean(np.maximum(0, 1 + FAKE_1)),
        -np.mean(FAKE_1),
    ),
    "least_squares": (
        REAL_1,
        FAKE_1,
        0.5 * np.mean((REAL_1 - 1) ** 2) + 0.5 * np.mean(FAKE_1**2),
        0.5 * np.mean((FAKE_1 - 1) ** 2),
    ),
}


def test_every_registered_loss_has_a_case():
    assert set(CASES) == set(losses.adversarial._REGISTRY)


@pytest.mark.parametrize("name", sorted(CASES))
def test_registered_loss_matches_hand_computed_values(name):
    real, fake, expected_d, expected_g = CASES[name]
    loss = losses.get(name)
    assert loss.name == name
    d_loss = loss.discriminator_loss(ops.convert_to_tensor(real), ops.convert_to_tensor(fake))
    g_loss = loss.generator_loss(ops.convert_to_tensor(fake), ops.convert_to_tensor(real))
    for value, expected in ((d_loss, expected_d), (g_loss, expected_g)):
        assert tuple(value.shape) == ()
        assert keras.backend.standardize_dtype(value.dtype) == "float32"
        np.testing.assert_allclose(helpers.to_numpy(value), expected, rtol=1e-5, atol=1e-6)
    # The pure functions agree with the class.
    d_fn = getattr(losses, f"{name}_discriminator_loss")
    g_fn = getattr(losses, f"{name}_generator_loss")
    np.testing.assert_allclose(helpers.to_numpy(d_fn(real, fake)), expected_d, rtol=1e-5)
    np.testing.assert_allclose(helpers.to_numpy(g_fn(fake)), expected_g, rtol=1e-5, atol=1e-6)
    if real.ndim == 1:
        # (N, 1) gives the same numbers as (N,).
        column = loss.discriminator_loss(real[:, None], fake[:, None])
        np.testing.assert_allclose(helpers.to_numpy(column), expected_d, rtol=1e-5)


@pytest.mark.parametrize("name", ["non_saturating", "two_class_softmax"])
def test_cross_entropy_losses_are_stable_for_huge_logits(name):
    big = np.array([[500.0], [-500.0]], dtype="float32")
    if name == "two_class_softmax":
        real = np.concatenate([-big, big], axis=1)
        fake = np.concatenate([big, -big], axis=1)
    else:
        real, fake = big, -big
    loss = losses.get(name)
    # Half the samples are classified right with margin 1000, half wrong with margin 1000.
    d_loss = helpers.to_numpy(loss.discriminator_loss(real, fake))
    g_loss = helpers.to_numpy(loss.generator_loss(fake))
    expected_d = 500.0 if name == "non_saturating" else 1000.0
    expected_g = 250.0 if name == "non_saturating" else 500.0
    np.testing.assert_allclose(d_loss, expected_d, rtol=1e-6)
    np.testing.assert_allclose(g_loss, expected_g, rtol=1e-6)


def test_one_logit_losses_read_two_logits_through_realness():
    logits = np.array([[0.0, 2.0], [1.0, -1.0]], dtype="float32")
    expected = np.mean(softplus(-np.array([2.0, -2.0])))
    np.testing.assert_allclose(
        helpers.to_numpy(losses.non_saturating_generator_loss(logits)), expected, rtol=1e-6
    )


def test_two_class_softmax_needs_two_logits():
    with pytest.raises(ValueError, match=r"fake_logits of shape \(3, 1\)"):
        losses.two_class_softmax_generator_loss(np.zeros((3, 1), "float32"))
    with pytest.raises(ValueError, match=r"real_logits of shape \(3,\)"):
        losses.get("two_class_softmax").discriminator_loss(
            np.zeros((3,), "float32"), np.zeros((3, 2), "float32")
        )


def test_one_logit_losses_reject_other_shapes():
    with pytest.raises(ValueError, match=r"\(N,\), \(N, 1\) or \(N, 2\)"):
        losses.hinge_generator_loss(np.zeros((2, 3), "float32"))


def test_get_returns_instances_unchanged_and_rejects_unknown_names():
    hinge = losses.HingeLoss()
    assert losses.get(hinge) is hinge
    with pytest.raises(ValueError, match="'wgan'.*'non_saturating'.*'least_squares'"):
        losses.get("wgan")
    with pytest.raises(ValueError, match="identifier=3"):
        losses.get(3)


@pytest.mark.parametrize("name", sorted(CASES))
def test_serialize_round_trip(name):
    config = losses.serialize(losses.get(name))
    assert config == {"class_name": name, "config": {}}
    restored = losses.get(json.loads(json.dumps(config)))
    assert type(restored) is type(losses.get(name))
    assert losses.deserialize(config) == losses.get(name)


@keras.saving.register_keras_serializable(package="keras_facegen_tests")
def _my_discriminator_loss(real_logits, fake_logits):
    return ops.mean(fake_logits) - 2.0 * ops.mean(real_logits)


@keras.saving.register_keras_serializable(package="keras_facegen_tests")
def _my_relativistic_generator_loss(fake_logits, real_logits):
    return ops.mean(real_logits) - ops.mean(fake_logits)


def test_custom_adversarial_loss_values_and_round_trip():
    loss = losses.CustomAdversarialLoss(
        _my_discriminator_loss, _my_relativistic_generator_loss, name="mine"
    )
    real = np.array([1.0, 3.0], "float32")
    fake = np.array([0.5, -1.5], "float32")
    np.testing.assert_allclose(helpers.to_numpy(loss.discriminator_loss(real, fake)), -4.5)
    # The generator function takes two arguments, so it receives the real logits.
    np.testing.assert_allclose(helpers.to_numpy(loss.generator_loss(fake, real)), 2.5)
    config = json.loads(json.dumps(losses.serialize(loss)))
    assert config["class_name"] == "custom"
    restored = losses.get(config)
    assert isinstance(restored, losses.CustomAdversarialLoss)
    assert restored.name == "mine"
    np.testing.assert_allclose(helpers.to_numpy(restored.generator_loss(fake, real)), 2.5)


def test_custom_adversarial_loss_with_one_argument_generator():
    loss = losses.CustomAdversarialLoss(
        losses.hinge_discriminator_loss, losses.least_squares_generator_loss
    )
    fake = np.array([3.0, 1.0], "float32")
    # 0.5 * mean([4, 0]) = 1.0, and real_logits is not passed on.
    np.testing.assert_allclose(helpers.to_numpy(loss.generator_loss(fake, fake * 0)), 1.0)
    assert loss.name == "custom"


def test_custom_adversarial_loss_and_deserialize_bad_input():
    with pytest.raises(TypeError, match="generator_fn=1"):
        losses.CustomAdversarialLoss(losses.hinge_discriminator_loss, 1)
    with pytest.raises(ValueError, match="name=''"):
        losses.CustomAdversarialLoss(
            losses.hinge_discriminator_loss, losses.hinge_generator_loss, name=""
        )
    with pytest.raises(ValueError, match="'class_name' key"):
        losses.deserialize({"config": {}})
    with pytest.raises(ValueError, match="class_name='nope'.*'hinge'"):
        losses.deserialize({"class_name": "nope", "config": {}})
    with pytest.raises(TypeError, match="AdversarialLoss"):
        losses.serialize("hinge")
