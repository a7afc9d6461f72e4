"""softened_copies / soften: blur, resampling and noise, on [-1, 1] faces."""

import numpy as np
import pytest

from keras_facegen.data import soften, softened_copies

# Backend-independent (TensorFlow pass only): soften and softened_copies are NumPy and Pillow code.
pytestmark = pytest.mark.backend_independent

# Alternating rows of +1 and -1: any blur or resampling pulls every pixel towards 0.
STRIPES = np.where(np.arange(16)[:, None] % 2 == 0, 1.0, -1.0) * np.ones((16, 16, 3))


def test_blur_matches_a_gaussian_reference():
    # A single bright pixel on black: Pillow's Gaussian blur spreads it symmetrically, keeps
    # the total (up to 8-bit rounding) and peaks at the centre.
    image = -np.ones((15, 15, 1), "float32")
    image[7, 7] = 1.0
    out = soften(image, "blur", 1.5)
    mass = (out + 1.0).sum()
    assert mass == pytest.approx(2.0, abs=0.2)
    assert out[7, 7, 0] == out.max() < 0.0
    np.testing.assert_allclose(out[:, :, 0], out[:, ::-1, 0], atol=1 / 127.5)
    np.testing.assert_allclose(out[:, :, 0], out[::-1, :, 0], atol=1 / 127.5)


def test_resample_averages_and_noise_has_the_asked_std():
    resampled = soften(STRIPES, "resample", 0.25)
    assert resampled.shape == STRIPES.shape and resampled.dtype == np.float32
    assert np.abs(resampled).max() < 0.7
    flat = np.full((64, 64, 3), 0.2)
    noisy = soften(flat, "noise", 0.1, np.random.default_rng(0))
    assert np.std(noisy - flat) == pytest.approx(0.1, rel=0.05)
    assert np.mean(noisy - flat) == pytest.approx(0.0, abs=0.005)


def test_softened_copies_keep_about_the_sharp_fraction_and_the_input():
    batch = np.stack([STRIPES] * 200).astype("float32")
    copies = softened_copies(batch, seed=0, sharp_fraction=0.4)
    sharp = np.array([np.array_equal(c, STRIPES) for c in copies])
    assert 0.3 < sharp.mean() < 0.5
    assert np.all(np.abs(copies[~sharp]).max(axis=(1, 2, 3)) < 1.0 + 1e-6)
    np.testing.assert_array_equal(batch[0], STRIPES)  # the input is not modified
    np.testing.assert_array_equal(copies, softened_copies(batch, seed=0, sharp_fraction=0.4))
    assert np.array_equal(softened_copies(batch[:3], sharp_fraction=1.0), batch[:3])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: soften(STRIPES, "sharpen", 1.0), "kind='sharpen'"),
        (lambda: soften(STRIPES, "resample", 1.5), r"strength=1.5"),
        (lambda: soften(STRIPES, "blur", 0.0), r"strength=0.0"),
        (lambda: soften(STRIPES[0], "blur", 1.0), r"received shape \(16, 3\)"),
        (lambda: softened_copies(STRIPES), r"received shape \(16, 16, 3\)"),
        (lambda: softened_copies(STRIPES[None], sharp_fraction=2), "sharp_fraction=2"),
        (lambda: softened_copies(STRIPES[None], seed=-1), "seed=-1"),
    ],
)
def test_bad_input_names_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()
