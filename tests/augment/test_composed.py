"""The pipelines' composed passes against the transforms applied one by one.

The pipelines compose steps for speed: every colour step into one affine matrix per image,
pixel blitting into the geometric matrix (one resampling), DiffAugment's translation and cutout
into one gather. Each test records the layer's random draws and rebuilds its output from the
public transform functions (checked against NumPy in test_transforms.py), applied in order.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from keras_facegen.augment import Augment
from keras_facegen.augment import colour as col
from keras_facegen.augment import transforms as t

IMAGES = np.random.RandomState(11).uniform(-1, 1, (16, 8, 8, 3)).astype("float32")


def _np(x):
    return keras.ops.convert_to_numpy(x)


class _Recorder(Augment):
    """Records every uniform and normal draw in order (normals optionally replaced by 0)."""

    def __init__(self, *args, zero_normals=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.draws = []
        self.zero_normals = zero_normals

    def _uniform(self, images, low=0.0, high=1.0):
        value = super()._uniform(images, low, high)
        self.draws.append(_np(value))
        return value

    def _normal(self, images, stddev):
        value = super()._normal(images, stddev)
        if self.zero_normals:
            value = keras.ops.zeros_like(value)
        self.draws.append(_np(value))
        return value


def _where(apply, changed, images):
    return np.where(np.asarray(apply)[:, None, None, None], _np(changed), images)


def _integers(u, low, high):
    return (np.minimum(np.floor(u * (high - low + 1)), high - low) + low).astype("int32")


@pytest.mark.parametrize("p", [1.0, 0.5])
def test_diffaugment_colour_is_brightness_then_saturation_then_mean_contrast(p):
    aug = _Recorder(["diff_brightness", "diff_saturation", "diff_contrast"], p=p, seed=3)
    got = _np(aug(IMAGES, training=True))
    b, b_on, s, s_on, c, c_on = aug.draws
    x = _where(b_on < p, t.brightness(IMAGES, b), IMAGES)
    x = _where(s_on < p, t.saturation(x, s), x)
    # The contrast's mean is the mean after brightness and saturation, not the input's.
    x = _where(c_on < p, t.mean_contrast(x, c), x)
    np.testing.assert_allclose(got, x, atol=2e-6)


def test_ada_colour_steps_compose_in_order():
    p = 0.6
    names = ["brightness", "contrast", "lumaflip", "hue", "saturation"]
    aug = _Recorder(names, p=p, seed=4)
    got = _np(aug(IMAGES, training=True))
    (b, b_on, c, c_on, l_on, l_half, h, h_on, s, s_on) = aug.draws
    x = _where(b_on < p, t.brightness(IMAGES, b), IMAGES)
    x = _where(c_on < p, t.contrast(x, np.exp2(c)), x)
    x = _np(t.luma_flip(x, (l_on < p) & (l_half < 0.5)))
    x = _where(h_on < p, t.hue_rotation(x, h), x)
    x = _where(s_on < p, t.saturation(x, np.exp2(s)), x)
    assert 4 <= (b_on < p).sum() <= 14  # some images changed, some not
    np.testing.assert_allclose(got, x, atol=1e-5)


def test_pixel_blitting_in_the_geometric_matrix_is_exact():
    # xfrac joins the pipeline (so the blits ride on the warp) with zero shifts.
    aug = _Recorder(["xflip", "rotate90", "xint", "xfrac"], p=1.0, seed=5, zero_normals=True)
    got = _np(aug(IMAGES, training=True))
    f_on, f_half, turns, r_on, x_on, sx, sy, _, _, _ = aug.draws
    shift = round(0.125 * 8)
    x = _np(t.xflip(IMAGES, (f_on < 1.0) & (f_half < 0.5)))
    x = _np(t.rotate90(x, np.where(r_on < 1.0, _integers(turns, 0, 3), 0)))
    x = _np(t.translate_integer(x, _integers(sx, -shift, shift), _integers(sy, -shift, shift)))
    assert len(np.unique(_integers(turns, 0, 3))) > 1
    np.testing.assert_array_equal(got, x)


def test_translation_and_cutout_in_one_gather_are_exact():
    p = 0.5
    aug = _Recorder(["translation", "cutout"], p=p, seed=6)
    got = _np(aug(IMAGES, training=True))
    t_on, sx, sy, c_on, cx, cy = aug.draws
    moved = t.translate_integer(IMAGES, _integers(sx, -1, 1), _integers(sy, -1, 1), "zeros")
    x = _where(t_on < p, moved, IMAGES)
    x = _where(c_on < p, t.cutout(x, cx, cy, 0.5), x)
    np.testing.assert_array_equal(got, x)


# === Colour matrices ===

STEPS = {
    "brightness": (t.brightness, np.array([0.1, -0.3, 0.0, 0.5], "float32")),
    "contrast": (t.contrast, np.array([0.5, 2.0, 1.0, 1.5], "float32")),
    "lumaflip": (t.luma_flip, np.array([1, 0, 1, 0], "float32")),
    "hue": (t.hue_rotation, np.array([0.0, 1.0, -2.0, math.pi], "float32")),
    "saturation": (t.saturation, np.array([0.0, 0.5, 1.0, 3.0], "float32")),
    "mean_contrast": (t.mean_contrast, np.array([0.5, 2.0, 1.0, 1.5], "float32")),
}


@pytest.mark.parametrize("step", sorted(STEPS))
def test_each_colour_matrix_applies_its_transform(step):
    function, value = STEPS[step]
    images = IMAGES[:4]
    mean = images.mean(axis=(1, 2, 3))
    matrix = col.colour_matrix(step, value, channels=3, mean=mean)
    expected = _np(function(images, value))
    np.testing.assert_allclose(_np(col.colour_transform(images, matrix)), expected, atol=2e-6)
    if step != "hue":
        grey = _np(col._grey_colour_transform(images, matrix))
        np.testing.assert_allclose(grey, expected, atol=2e-6)


def test_colour_transform_matches_numpy_and_keeps_the_identity_exact():
    matrix = np.random.RandomState(2).normal(size=(16, 4, 4)).astype("float32")
    expected = np.einsum("ndc,nhwc->nhwd", matrix[:, :3, :3], IMAGES) + matrix[:, None, None, :3, 3]
    np.testing.assert_allclose(_np(col.colour_transform(IMAGES, matrix)), expected, atol=1e-5)
    identity = np.broadcast_to(np.eye(4, dtype="float32"), (16, 4, 4))
    np.testing.assert_array_equal(_np(col.colour_transform(IMAGES, identity)), IMAGES)
    np.testing.assert_array_equal(_np(col._grey_colour_transform(IMAGES, identity)), IMAGES)


def test_colour_matrix_refuses_bad_arguments():
    with pytest.raises(ValueError, match="step='sharpen'"):
        col.colour_matrix("sharpen", [1.0])
    with pytest.raises(ValueError, match="channels=1"):
        col.colour_matrix("hue", [1.0], channels=1)
    with pytest.raises(ValueError, match="mean=None"):
        col.colour_matrix("mean_contrast", [1.0])


def test_the_draws_of_a_call_are_distinct_independent_columns_of_few_blocks():
    """A call draws its values in blocks (few random operations), each value its own column."""
    batch = np.zeros((512, 8, 8, 3), "float32")
    aug = _Recorder("ada", p=1.0, mirror=True, seed=5)
    aug(batch, training=True, real=True)
    draws = np.stack(aug.draws)  # (27, 512): 20 uniform and 7 normal values per image
    assert draws.shape == (27, 512)
    # No two draws share a column (a reused column would pass every other test here).
    correlation = np.corrcoef(draws)
    assert np.abs(correlation[~np.eye(len(draws), dtype=bool)]).max() < 0.2
    first = aug.draws[0]
    assert first.min() >= 0.0 and first.max() < 1.0 and abs(first.mean() - 0.5) < 0.05
    aug.draws.clear()
    aug(batch, training=True, real=True)
    assert not np.allclose(aug.draws[0], first)  # the seed state moves on between calls
