"""Augment / ADA pipelines: exact identity at p = 0, per-image probability, ADA's p update."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from keras_facegen import augment
from keras_facegen.augment import ADA, TRANSFORMS, Augment

IMAGES = np.random.RandomState(3).uniform(-1, 1, (16, 8, 8, 3)).astype("float32")


def _np(x):
    return keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize("pipeline", ["ada", "diffaugment", *[[n] for n in TRANSFORMS]])
def test_p_zero_is_exactly_the_identity(pipeline):
    out = _np(Augment(pipeline, p=0.0, seed=1)(IMAGES, training=True))
    np.testing.assert_array_equal(out, IMAGES)


@pytest.mark.parametrize("name", TRANSFORMS)
def test_p_one_changes_images(name):
    out = _np(Augment([name], p=1.0, seed=2)(IMAGES, training=True))
    changed = np.abs(out - IMAGES).max(axis=(1, 2, 3)) > 1e-6
    assert changed.sum() >= 4, name


def test_each_image_is_augmented_with_probability_p():
    images = np.ones((400, 8, 8, 3), "float32")
    out = _np(Augment(["cutout"], p=0.3, seed=0)(images, training=True))
    fraction = (out.min(axis=(1, 2, 3)) == 0).mean()
    assert 0.22 < fraction < 0.38


def test_training_false_and_mirror_only_on_reals():
    aug = Augment("none", mirror=True, seed=0)
    np.testing.assert_array_equal(_np(aug(IMAGES, training=False)), IMAGES)
    np.testing.assert_array_equal(_np(aug(IMAGES, training=True)), IMAGES)
    reals = _np(aug(IMAGES, training=True, real=True))
    flipped = [np.array_equal(r, x[:, ::-1]) for r, x in zip(reals, IMAGES)]
    same = [np.array_equal(r, x) for r, x in zip(reals, IMAGES)]
    assert all(f or s for f, s in zip(flipped, same)) and 3 <= sum(flipped) <= 13


def test_mirror_appends_flipped_copies():
    out = augment.mirror(IMAGES)
    np.testing.assert_array_equal(out[16:], IMAGES[:, :, ::-1])
    with pytest.raises(ValueError, match="shape"):
        augment.mirror(IMAGES[0])


def _observe(ada, realness, times):
    for _ in range(times):
        ada.observe(np.full((8, 1), realness, "float32"))


def test_ada_p_rises_when_d_calls_reals_real_and_falls_otherwise():
    ada = ADA(target=0.6, speed_images=320, interval=4)
    _observe(ada, 3.0, 3)
    assert float(_np(ada.p)) == 0.0  # no adjustment before `interval` steps
    _observe(ada, 3.0, 1)  # r_t = 1 > 0.6: p += 32 / 320
    assert float(_np(ada.p)) == pytest.approx(0.1)
    assert float(_np(ada.r_t)) == pytest.approx(1.0)
    _observe(ada, 3.0, 40)
    assert float(_np(ada.p)) == pytest.approx(1.0)  # clipped
    _observe(ada, -1.0, 4)  # r_t = -1 < 0.6: p -= 0.1
    assert float(_np(ada.p)) == pytest.approx(0.9)
    assert float(_np(ada.r_t)) == pytest.approx(-1.0)
    _observe(ada, -1.0, 80)
    assert float(_np(ada.p)) == 0.0


def test_ada_reads_the_real_class_of_a_two_logit_discriminator():
    ada = ADA(target=0.6, speed_images=8, interval=1)
    ada.observe(np.array([[0.0, 1.0]] * 8, "float32"))
    assert float(_np(ada.r_t)) == 1.0 and float(_np(ada.p)) == 1.0
    ada.observe(np.array([[2.0, 1.0]] * 6 + [[0.0, 1.0]] * 2, "float32"))
    assert float(_np(ada.r_t)) == pytest.approx(-0.5) and float(_np(ada.p)) == 0.0


def test_serialization_round_trip_keeps_config():
    ada = ADA(target=0.7, speed_images=1000, interval=2, mirror=True, seed=5)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(ada))
    assert isinstance(clone, ADA)
    assert (clone.target, clone.speed_images, clone.interval, clone.mirror, clone.seed) == (
        0.7,
        1000,
        2,
        True,
        5,
    )
    fixed = Augment(["xflip", "cutout"], p=0.25)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(fixed))
    assert clone.transforms == ("xflip", "cutout") and float(_np(clone.p)) == 0.25


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pipeline": "bgcfnc"}, "pipeline='bgcfnc'"),
        ({"pipeline": ["xflip", "blur"]}, "pipeline="),
        ({"p": 1.5}, "p=1.5"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Augment(**kwargs)


def test_get_resolves_names():
    assert augment.get(None) is None and augment.get("none") is None
    assert isinstance(augment.get("ada"), ADA)
    assert float(_np(augment.get("diffaugment").p)) == 1.0
    with pytest.raises(ValueError, match="augment='bgc'"):
        augment.get("bgc")
