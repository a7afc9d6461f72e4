"""Each augmentation against an independent NumPy reference (run once per backend)."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from keras_facegen.augment import transforms as t

RNG = np.random.RandomState(7)
IMAGES = RNG.uniform(-1, 1, (4, 9, 9, 3)).astype("float32")


def _np(x):
    return keras.ops.convert_to_numpy(x)


# === NumPy references, written from the definitions, not from the implementation ===


def _ref_translate(images, sx, sy, mode):
    out = []
    pad = 2 * max(images.shape[1:3])
    for img, dx, dy in zip(images, sx, sy):
        kwargs = {"mode": "reflect"} if mode == "reflect" else {"mode": "constant"}
        padded = np.pad(img, ((pad, pad), (pad, pad), (0, 0)), **kwargs)
        h, w = img.shape[:2]
        out.append(padded[pad - dy : pad - dy + h, pad - dx : pad - dx + w])
    return np.stack(out)


def _keys(d, a=-0.5):
    d = abs(d)
    if d <= 1:
        return (a + 2) * d**3 - (a + 3) * d**2 + 1
    if d < 2:
        return a * d**3 - 5 * a * d**2 + 8 * a * d - 4 * a
    return 0.0


def _ref_warp(images, matrices):
    n, h, w, c = images.shape
    pad = 3 * max(h, w)
    out = np.zeros_like(images, dtype="float64")
    for i in range(n):
        padded = np.pad(images[i].astype("float64"), ((pad, pad), (pad, pad), (0, 0)), "reflect")
        for r in range(h):
            for q in range(w):
                pos = matrices[i] @ np.array([q - (w - 1) / 2, r - (h - 1) / 2, 1.0])
                sx, sy = pos[0] + (w - 1) / 2, pos[1] + (h - 1) / 2
                x0, y0 = math.floor(sx), math.floor(sy)
                acc = np.zeros(c)
                for yy in range(y0 - 1, y0 + 3):
                    for xx in range(x0 - 1, x0 + 3):
                        weight = _keys(sx - xx) * _keys(sy - yy)
                        acc += weight * padded[yy + pad, xx + pad]
                out[i, r, q] = acc
    return out


def _ref_hue(images, angles):
    k = np.ones(3) / np.sqrt(3)
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    out = []
    for img, a in zip(images, angles):
        rot = np.eye(3) + np.sin(a) * cross + (1 - np.cos(a)) * cross @ cross
        out.append(np.einsum("ij,hwj->hwi", rot, img))
    return np.stack(out)


def _ref_saturation(images, factors):
    v = np.ones((3, 1)) / np.sqrt(3)
    out = []
    for img, s in zip(images, factors):
        m = v @ v.T + s * (np.eye(3) - v @ v.T)
        out.append(np.einsum("ij,hwj->hwi", m, img))
    return np.stack(out)


def _ref_cutout(images, cx, cy, size):
    out = images.copy()
    n, h, w, _ = images.shape
    for i in range(n):
        for r in range(h):
            for q in range(w):
                if abs((q + 0.5) / w - cx[i]) < size / 2 and abs((r + 0.5) / h - cy[i]) < size / 2:
                    out[i, r, q] = 0
    return out


# === Pixel blitting ===


def test_xflip_matches_numpy():
    flip = np.array([True, False, True, False])
    expected = np.where(flip[:, None, None, None], IMAGES[:, :, ::-1], IMAGES)
    np.testing.assert_array_equal(_np(t.xflip(IMAGES, flip)), expected)


def test_rotate90_matches_np_rot90():
    turns = np.array([0, 1, 2, 3])
    expected = np.stack([np.rot90(img, k, axes=(0, 1)) for img, k in zip(IMAGES, turns)])
    np.testing.assert_array_equal(_np(t.rotate90(IMAGES, turns)), expected)


@pytest.mark.parametrize("padding", ["reflect", "zeros"])
def test_translate_integer_matches_numpy_padding(padding):
    sx, sy = np.array([2, -3, 0, 9]), np.array([-1, 4, 0, -10])
    expected = _ref_translate(IMAGES, sx, sy, "reflect" if padding == "reflect" else "zeros")
    np.testing.assert_array_equal(_np(t.translate_integer(IMAGES, sx, sy, padding)), expected)


def test_translate_integer_refuses_an_unknown_padding():
    with pytest.raises(ValueError, match="padding='wrap'"):
        t.translate_integer(IMAGES, [0] * 4, [0] * 4, padding="wrap")


# === Geometric ===


def test_warp_matches_the_bicubic_reference_for_composed_matrices():
    angles = np.array([0.3, -1.2, 2.5, 0.0], "float32")
    scales = np.array([1.3, 0.7, 1.0, 1.1], "float32")
    shifts = np.array([0.4, -2.7, 1.25, 0.0], "float32")
    matrix = keras.ops.matmul(
        keras.ops.matmul(t.scale_matrix(scales, 1 / scales), t.rotation_matrix(angles)),
        t.translation_matrix(shifts, -shifts),
    )
    got = _np(t.warp(IMAGES, matrix))
    np.testing.assert_allclose(got, _ref_warp(IMAGES, _np(matrix)), atol=2e-5)


def test_warp_by_a_quarter_turn_is_np_rot90():
    got = _np(t.warp(IMAGES, t.rotation_matrix(np.full(4, np.pi / 2, "float32"))))
    np.testing.assert_allclose(got, np.rot90(IMAGES, 1, axes=(1, 2)), atol=1e-5)


def test_warp_by_whole_pixels_is_the_reflected_integer_translation():
    sx, sy = np.array([1, -2, 3, 0]), np.array([0, 2, -1, 4])
    got = _np(t.warp(IMAGES, t.translation_matrix(sx, sy)))
    np.testing.assert_allclose(got, _ref_translate(IMAGES, sx, sy, "reflect"), atol=1e-6)


def test_fractional_translation_of_a_ramp_is_exact_inside():
    # Keys' cubic (a = -0.5) reproduces polynomials up to degree 2: no blur on a linear ramp.
    ramp = np.tile(np.arange(12, dtype="float32")[None, None, :, None], (1, 12, 1, 1))
    got = _np(t.warp(ramp, t.translation_matrix([0.3], [0.0])))
    np.testing.assert_allclose(got[0, :, 3:-3, 0], ramp[0, :, 3:-3, 0] - 0.3, atol=1e-5)


def test_scale_matrix_isotropic_and_anisotropic():
    iso = _np(t.scale_matrix([2.0]))[0]
    aniso = _np(t.scale_matrix([2.0], [4.0]))[0]
    np.testing.assert_allclose(iso, np.diag([0.5, 0.5, 1.0]))
    np.testing.assert_allclose(aniso, np.diag([0.5, 0.25, 1.0]))


# === Colour ===


def test_brightness_contrast_mean_contrast_match_numpy():
    b = np.array([0.1, -0.3, 0.0, 0.5], "float32")
    c = np.array([0.5, 2.0, 1.0, 1.5], "float32")
    np.testing.assert_allclose(_np(t.brightness(IMAGES, b)), IMAGES + b[:, None, None, None])
    np.testing.assert_allclose(_np(t.contrast(IMAGES, c)), IMAGES * c[:, None, None, None])
    mean = IMAGES.mean(axis=(1, 2, 3), keepdims=True)
    expected = mean + (IMAGES - mean) * c[:, None, None, None]
    np.testing.assert_allclose(_np(t.mean_contrast(IMAGES, c)), expected, atol=1e-6)


def test_luma_flip_is_the_householder_reflection_of_the_grey_axis():
    v = np.ones((3, 1)) / np.sqrt(3)
    reflect = np.eye(3) - 2 * v @ v.T
    flip = np.array([1, 0, 1, 0])
    expected = np.where(
        flip[:, None, None, None] > 0, np.einsum("ij,nhwj->nhwi", reflect, IMAGES), IMAGES
    )
    np.testing.assert_allclose(_np(t.luma_flip(IMAGES, flip)), expected, atol=1e-6)


def test_hue_rotation_matches_rodrigues():
    angles = np.array([0.0, 1.0, -2.0, np.pi], "float32")
    np.testing.assert_allclose(
        _np(t.hue_rotation(IMAGES, angles)), _ref_hue(IMAGES, angles), atol=1e-5
    )


def test_saturation_matches_the_ada_matrix():
    s = np.array([0.0, 0.5, 1.0, 3.0], "float32")
    np.testing.assert_allclose(_np(t.saturation(IMAGES, s)), _ref_saturation(IMAGES, s), atol=1e-5)


def test_cutout_matches_numpy():
    cx, cy = np.array([0.5, 0.0, 0.9, 0.3]), np.array([0.5, 0.2, 1.0, 0.7])
    got = _np(t.cutout(IMAGES, cx, cy, 0.5))
    np.testing.assert_array_equal(got, _ref_cutout(IMAGES, cx, cy, 0.5))


# === Gradients: every transform is differentiable in the pixels (finite differences) ===

FIXED = {
    "xflip": lambda x: t.xflip(x, [1, 0, 1, 0]),
    "rotate90": lambda x: t.rotate90(x, [1, 2, 3, 0]),
    "xint": lambda x: t.translate_integer(x, [1, -2, 0, 3], [2, 0, -1, 1]),
    "translation": lambda x: t.translate_integer(x, [1, -2, 0, 3], [2, 0, -1, 1], "zeros"),
    "warp": lambda x: t.warp(
        x,
        keras.ops.matmul(
            t.rotation_matrix([0.3, 1.0, -0.5, 2.0]),
            t.translation_matrix([0.4, 0.1, -1.3, 0.0], [0.0, 0.6, 0.2, -0.7]),
        ),
    ),
    "brightness": lambda x: t.brightness(x, [0.1, 0.2, -0.3, 0.0]),
    "contrast": lambda x: t.contrast(x, [0.5, 2.0, 1.5, 1.0]),
    "mean_contrast": lambda x: t.mean_contrast(x, [0.5, 2.0, 1.5, 1.0]),
    "luma_flip": lambda x: t.luma_flip(x, [1, 1, 0, 1]),
    "hue": lambda x: t.hue_rotation(x, [0.5, -1.0, 2.0, 3.0]),
    "saturation": lambda x: t.saturation(x, [0.0, 0.5, 2.0, 1.5]),
    "cutout": lambda x: t.cutout(x, [0.5, 0.1, 0.8, 0.4], [0.5, 0.9, 0.3, 0.4], 0.5),
}


@pytest.mark.parametrize("name", sorted(FIXED))
def test_gradient_matches_finite_differences(name):
    from keras_facegen.backend import value_and_grad

    fn = FIXED[name]
    weights = RNG.normal(size=IMAGES.shape).astype("float32")

    def loss(x):
        return keras.ops.sum(keras.ops.multiply(fn(x), weights))

    _, grad = value_and_grad(loss)(IMAGES)
    grad = _np(grad)
    assert np.abs(grad).sum() > 0
    eps = 0.5  # every transform is linear in the pixels: a large step has no truncation error
    for index in [(0, 0, 0, 0), (1, 4, 3, 1), (2, 8, 8, 2), (3, 2, 7, 0), (0, 4, 4, 1)]:
        plus, minus = IMAGES.copy(), IMAGES.copy()
        plus[index] += eps
        minus[index] -= eps
        numeric = (float(_np(loss(plus))) - float(_np(loss(minus)))) / (2 * eps)
        assert grad[index] == pytest.approx(numeric, abs=2e-3), index
