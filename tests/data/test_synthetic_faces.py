"""Tests for keras_facegen.data.synthetic_faces: shapes, determinism, attributes driving pixels."""

import importlib

import numpy as np
import pytest

from keras_facegen.data import HAIR_PALETTE, IRIS_PALETTE, synthetic_faces

# Backend-independent (TensorFlow pass only): synthetic_faces draws with NumPy only.
pytestmark = pytest.mark.backend_independent

# The module, not the function of the same name that keras_facegen.data re-exports.
sf_module = importlib.import_module("keras_facegen.data.synthetic_faces")

ATTRIBUTE_RANGES = {
    "yaw": (-1.0, 1.0),
    "smile": (-1.0, 1.0),
    "hair_length": (0.0, 1.0),
    "skin_tone": (0.0, 1.0),
    "fringe": (0.0, 1.0),
    "lighting": (-1.0, 1.0),
    "eye_open": (0.0, 1.0),
    "face_width": (0.0, 1.0),
    "face_height": (0.0, 1.0),
}


@pytest.fixture(scope="module")
def faces64():
    return synthetic_faces(600, resolution=64, seed=3)


def luminance(images):
    return images @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


@pytest.mark.parametrize("resolution", [16, 64, 256])
def test_shape_dtype_range(resolution):
    images, attributes = synthetic_faces(5, resolution=resolution, seed=1)
    assert images.shape == (5, resolution, resolution, 3)
    assert images.dtype == np.float32
    assert images.flags["C_CONTIGUOUS"]
    assert images.min() >= -1.0 and images.max() <= 1.0
    # A real picture, not a flat fill: both dark and bright pixels, many distinct values.
    assert images.min() < -0.5 and images.max() > 0.5
    assert len(np.unique(images[0])) > 50
    assert all(len(v) == 5 for v in attributes.values())


def test_attributes_present_with_ranges(faces64):
    _, attributes = faces64
    for name, (low, high) in ATTRIBUTE_RANGES.items():
        values = attributes[name]
        assert values.shape == (600,) and values.dtype == np.float32, name
        assert values.min() >= low and values.max() <= high, name
        # Spread over the range, not stuck in a corner of it.
        assert values.max() - values.min() > 0.8 * (high - low), name
    for name, palette in (("hair_color", HAIR_PALETTE), ("eye_color", IRIS_PALETTE)):
        values = attributes[name]
        assert values.dtype == np.int32 and values.shape == (600,)
        np.testing.assert_array_equal(np.unique(values), np.arange(len(palette)))


def test_same_seed_identical_and_other_seed_differs():
    images_a, attrs_a = synthetic_faces(12, resolution=32, seed=7)
    images_b, attrs_b = synthetic_faces(12, resolution=32, seed=7)
    images_c, attrs_c = synthetic_faces(12, resolution=32, seed=8)
    np.testing.assert_array_equal(images_a, images_b)
    for name in attrs_a:
        np.testing.assert_array_equal(attrs_a[name], attrs_b[name])
    assert np.abs(images_a - images_c).mean() > 0.1
    assert not np.allclose(attrs_a["yaw"], attrs_c["yaw"])


def test_prefix_and_chunking_do_not_change_faces(monkeypatch):
    images, attributes = synthetic_faces(40, resolution=32, seed=5)
    first, first_attrs = synthetic_faces(3, resolution=32, seed=5)
    np.testing.assert_array_equal(images[:3], first)
    np.testing.assert_array_equal(attributes["smile"][:3], first_attrs["smile"])

    # One image per chunk instead of all 40 in one: every pixel must come out the same.
    monkeypatch.setattr(sf_module, "_MIN_CHUNK", 1)
    monkeypatch.setattr(sf_module, "_CHUNK_PIXELS", 1)
    one_by_one, _ = synthetic_faces(40, resolution=32, seed=5)
    np.testing.assert_allclose(one_by_one, images, atol=1e-6, rtol=0)


def test_features_scale_with_resolution():
    small, _ = synthetic_faces(6, resolution=64, seed=2)
    large, _ = synthetic_faces(6, resolution=128, seed=2)
    # Area-downsampling the 128 px faces by 2 lands close to the 64 px drawing.
    pooled = large.reshape(6, 64, 2, 64, 2, 3).mean(axis=(2, 4))
    assert np.abs(pooled - small).mean() < 0.02


def test_yaw_moves_the_pupils(faces64):
    images, attributes = faces64
    # Pupils, irises and lids are the darkest pixels in the eye band once black hair is excluded.
    dark = luminance(images) < -0.75
    dark[:, :20] = False
    dark[:, 34:] = False
    columns = np.arange(64)[None, None, :]
    not_black = attributes["hair_color"] != 0

    def mean_column(selected):
        mask = dark & selected[:, None, None]
        assert mask.sum() > 50
        return (mask * columns).sum() / mask.sum()

    right = mean_column(not_black & (attributes["yaw"] > 0.5))
    left = mean_column(not_black & (attributes["yaw"] < -0.5))
    straight = mean_column(not_black & (np.abs(attributes["yaw"]) < 0.2))
    # Positive yaw faces the image's right: its eyes sit right of centre.
    assert right - left > 8, (left, straight, right)
    assert left < straight < right


def test_hair_color_sets_hair_pixels(faces64):
    images, attributes = faces64
    # Just above the forehead, in the middle, every face has hair (cap or fringe).
    crown = images[:, 13:17, 29:35].reshape(600, -1, 3).mean(axis=1)
    for index, (name, rgb) in enumerate(HAIR_PALETTE):
        mean = crown[attributes["hair_color"] == index].mean(axis=0)
        expected = np.asarray(rgb) * 2 - 1
        assert np.abs(mean - expected).max() < 0.1, (name, mean, expected)
    black = crown[attributes["hair_color"] == 0].mean()
    blonde = crown[attributes["hair_color"] == 4].mean()
    assert blonde - black > 1.0


def test_hair_length_puts_hair_beside_the_neck(faces64):
    images, attributes = faces64
    # Below the ears and beside the neck: background for short hair, hair for long hair. The
    # background gradient is vertical, so the leftmost columns of the same rows are the reference.
    rows = images[:, 40:52]
    reference = rows[:, :, :2].mean(axis=2, keepdims=True)
    strips = np.concatenate([rows[:, :, 10:18], rows[:, :, 46:54]], axis=2)
    covered = (np.abs(strips - reference).max(axis=-1) > 0.1).mean(axis=(1, 2))
    long_hair = covered[attributes["hair_length"] > 0.75].mean()
    short_hair = covered[attributes["hair_length"] < 0.25].mean()
    assert long_hair > 0.6 and short_hair < 0.25, (short_hair, long_hair)


def test_smile_bends_the_mouth():
    # The same face drawn twice, differing only in smile (the public API cannot pin the other
    # parameters, so this goes through the module's parameter table).
    uniforms = np.random.default_rng(0).random((1, sf_module._NUM_PARAMS))
    params = sf_module._params_from_uniforms(np.repeat(uniforms, 2, axis=0))
    params["yaw"][:] = 0.0
    params["smile"][:] = [0.9, -0.9]
    out = np.empty((64, 64, 3, 2), dtype=np.float32)
    sf_module._render(params, 64, out)
    lum = luminance(out.transpose(3, 0, 1, 2))
    smiling, frowning = lum

    rows = np.arange(36, 56)

    def darkest_row(image, cols):
        return rows[np.argmin(image[36:56, cols].mean(axis=1))]

    centre, corners = [31, 32], [27, 36]
    # y grows downwards: a smile's middle sits lower than a frown's, its corners higher.
    assert darkest_row(smiling, centre) > darkest_row(frowning, centre)
    assert darkest_row(smiling, corners) < darkest_row(frowning, corners)
    # The upper face barely changes (only the brows tilt); the mouth region changes most.
    diff = np.abs(smiling - frowning)
    assert diff[36:56, 20:44].mean() > 3 * diff[:20].mean()


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"num_images": 0}, "num_images"),
        ({"num_images": 2.0}, "num_images"),
        ({"num_images": True}, "num_images"),
        ({"num_images": 2, "resolution": 15}, "resolution"),
        ({"num_images": 2, "resolution": 32.0}, "resolution"),
        ({"num_images": 2, "seed": -1}, "seed"),
        ({"num_images": 2, "seed": "a"}, "seed"),
    ],
)
def test_bad_arguments_raise(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}` must be an int"):
        synthetic_faces(**kwargs)


def test_numpy_integers_accepted():
    images, _ = synthetic_faces(np.int64(2), resolution=np.int32(16), seed=np.uint8(3))
    assert images.shape == (2, 16, 16, 3)
