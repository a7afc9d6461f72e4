"""MS-SSIM against a reference written from the paper, plus the diversity figure and errors."""

import keras
import numpy as np
import pytest

from keras_facegen.data import synthetic_faces
from keras_facegen.metrics import MS_SSIM_WEIGHTS, mean_ms_ssim, ms_ssim


def _reference_ms_ssim(x, y, max_val=2.0, shrink=False):
    """Wang, Simoncelli & Bovik (2003), written out: l, c and s from Gaussian-weighted local
    statistics (11x11, sigma 1.5, valid windows), C1 = (0.01 L)^2, C2 = (0.03 L)^2, C3 = C2 / 2;
    contrast x structure at scales 1..M-1, luminance x contrast x structure at scale M; 2x2
    average then subsample between scales; per colour channel, terms clipped at 0 (TF's choice),
    channels averaged last. ``shrink`` uses the PGGAN reference's window shrinking for scales
    smaller than the window."""
    c1, c2 = (0.01 * max_val) ** 2, (0.03 * max_val) ** 2
    c3 = c2 / 2
    result = []
    for ch in range(x.shape[-1]):
        a, b = x[:, :, ch].astype(np.float64), y[:, :, ch].astype(np.float64)
        terms = []
        for scale in range(5):
            size = min(11, a.shape[0]) if shrink else 11
            sigma = 1.5 * size / 11
            coords = np.arange(size) - (size - 1) / 2
            g = np.exp(-(coords[:, None] ** 2 + coords[None, :] ** 2) / (2 * sigma**2))
            g /= g.sum()
            wa = np.lib.stride_tricks.sliding_window_view(a, (size, size))
            wb = np.lib.stride_tricks.sliding_window_view(b, (size, size))
            mu_a = np.einsum("ijkl,kl->ij", wa, g)
            mu_b = np.einsum("ijkl,kl->ij", wb, g)
            var_a = np.einsum("ijkl,kl->ij", (wa - mu_a[..., None, None]) ** 2, g)
            var_b = np.einsum("ijkl,kl->ij", (wb - mu_b[..., None, None]) ** 2, g)
            cov = np.einsum(
                "ijkl,kl->ij", (wa - mu_a[..., None, None]) * (wb - mu_b[..., None, None]), g
            )
            sd_a, sd_b = np.sqrt(var_a), np.sqrt(var_b)
            lum = (2 * mu_a * mu_b + c1) / (mu_a**2 + mu_b**2 + c1)
            con = (2 * sd_a * sd_b + c2) / (var_a + var_b + c2)
            struct = (cov + c3) / (sd_a * sd_b + c3)
            if scale < 4:
                terms.append(max(np.mean(con * struct), 0.0))
                a = (a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]) / 4
                b = (b[0::2, 0::2] + b[1::2, 0::2] + b[0::2, 1::2] + b[1::2, 1::2]) / 4
            else:
                terms.append(max(np.mean(lum * con * struct), 0.0))
        result.append(np.prod(np.array(terms) ** np.array(MS_SSIM_WEIGHTS)))
    return float(np.mean(result))


@pytest.fixture(scope="module")
def large_pair():
    faces, _ = synthetic_faces(2, resolution=176, seed=5)
    noisy = np.clip(faces[0] + np.random.default_rng(0).normal(0, 0.15, faces[0].shape), -1, 1)
    return faces[0], faces[1], noisy


def test_identity_is_one():
    faces, _ = synthetic_faces(3, resolution=32, seed=0)
    assert ms_ssim(faces[0], faces[0]) == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(ms_ssim(faces, faces), [1.0, 1.0, 1.0], atol=1e-12)


def test_matches_the_paper_reference_on_large_images(large_pair):
    face, other, noisy = large_pair
    for b in (other, noisy):
        assert ms_ssim(face, b) == pytest.approx(_reference_ms_ssim(face, b), abs=1e-9)
    assert 0.5 < ms_ssim(face, noisy) < 0.99


def test_matches_the_reference_with_shrunk_windows_on_small_images():
    faces, _ = synthetic_faces(4, resolution=64, seed=7)
    noisy = np.clip(faces + np.random.default_rng(1).normal(0, 0.2, faces.shape), -1, 1)
    batch = ms_ssim(faces, noisy)
    assert batch.shape == (4,)
    for i in range(4):
        expected = _reference_ms_ssim(faces[i], noisy[i], shrink=True)
        assert batch[i] == pytest.approx(expected, abs=1e-9)


def test_matches_tf_image_ssim_multiscale(large_pair):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("checked once, in the TensorFlow run")
    import tensorflow as tf

    face, other, noisy = large_pair
    a = np.stack([face, face]).astype("float32")
    b = np.stack([other, noisy]).astype("float32")
    expected = tf.image.ssim_multiscale(a, b, max_val=2.0).numpy()
    np.testing.assert_allclose(ms_ssim(a, b), expected, atol=1e-5)


def test_decreases_with_noise():
    faces, _ = synthetic_faces(1, resolution=64, seed=3)
    noise = np.random.default_rng(0).normal(size=faces.shape)
    values = [ms_ssim(faces[0], faces[0] + s * noise[0]) for s in (0.0, 0.05, 0.1, 0.3)]
    assert np.all(np.diff(values) < 0), values


def test_uint8_inputs_use_range_255():
    faces, _ = synthetic_faces(2, resolution=32, seed=0)
    as_uint8 = np.round((faces + 1) * 127.5).astype(np.uint8)
    as_float = as_uint8.astype(np.float64) / 127.5 - 1
    assert ms_ssim(as_uint8[0], as_uint8[1]) == pytest.approx(ms_ssim(as_float[0], as_float[1]))


def test_mean_ms_ssim_is_diversity():
    faces, _ = synthetic_faces(32, resolution=32, seed=0)
    diverse = mean_ms_ssim(faces, num_pairs=100, seed=0)
    collapsed = np.repeat(faces[:2], 16, axis=0) + 0.01 * np.random.default_rng(0).normal(
        size=faces.shape
    )
    assert mean_ms_ssim(collapsed, num_pairs=100, seed=0) > diverse + 0.2
    assert mean_ms_ssim(faces, num_pairs=100, seed=0) == diverse  # seeded
    # The mean of the per-pair values, pairs of distinct images.
    rng = np.random.default_rng(0)
    first = rng.integers(0, 32, 100)
    second = (first + rng.integers(1, 32, 100)) % 32
    assert np.all(first != second)
    assert diverse == pytest.approx(float(np.mean(ms_ssim(faces[first], faces[second]))))


def test_bad_inputs_give_clear_errors():
    faces, _ = synthetic_faces(2, resolution=32, seed=0)
    with pytest.raises(ValueError, match="a and b must have the same shape"):
        ms_ssim(faces[0], faces[1, :16, :16])
    with pytest.raises(ValueError, match="at least 16x16"):
        ms_ssim(faces[0, :8, :8], faces[1, :8, :8])
    bad = faces[1].copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="b contains 1 NaN"):
        ms_ssim(faces[0], bad)
    with pytest.raises(ValueError, match="images must hold at least 2 image"):
        mean_ms_ssim(faces[:1])
    with pytest.raises(ValueError, match="num_pairs must be a positive integer"):
        mean_ms_ssim(faces, num_pairs=0)
    with pytest.raises(ValueError, match="max_val must be a positive number"):
        ms_ssim(faces[0], faces[1], max_val=0.0)
