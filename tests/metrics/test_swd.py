"""Sliced Wasserstein distance: known answers, the pyramid, and input errors."""

import numpy as np
import pytest

from keras_facegen.data import synthetic_faces
from keras_facegen.metrics import (
    laplacian_pyramid,
    pyramid_resolutions,
    sliced_wasserstein_distance,
)
from keras_facegen.metrics.swd import _pyr_up

# Small settings keep each SWD at a fraction of a second; the figures' behaviour is the same.
FAST = {"num_neighbourhoods": 32, "num_projections": 64, "num_repeats": 2}


@pytest.fixture(scope="module")
def faces():
    real, _ = synthetic_faces(48, resolution=32, seed=1)
    other, _ = synthetic_faces(48, resolution=32, seed=2)
    return real, other


def _box_blur(images, radius):
    """A (2r+1) box blur with edge padding: a known, growing loss of detail."""
    if radius == 0:
        return images
    padded = np.pad(images, ((0, 0), (radius, radius), (radius, radius), (0, 0)), mode="edge")
    size = 2 * radius + 1
    h, w = images.shape[1:3]
    out = np.zeros_like(images)
    for dy in range(size):
        for dx in range(size):
            out += padded[:, dy : dy + h, dx : dx + w]
    return out / size**2


def test_identical_sets_give_zero(faces):
    real, _ = faces
    result = sliced_wasserstein_distance(real, real.copy(), **FAST)
    assert result.per_level == {32: 0.0, 16: 0.0}
    assert result.mean == 0.0
    assert float(result) == 0.0


def test_levels_mean_and_names(faces):
    real, other = faces
    result = sliced_wasserstein_distance(real, other, **FAST)
    assert list(result.per_level) == [32, 16]
    assert result.mean == pytest.approx(np.mean(list(result.per_level.values())))
    assert list(result.as_dict()) == ["swd_32", "swd_16", "swd"]
    assert all(v > 0 for v in result.per_level.values())


def test_seeded_and_symmetric_in_expectation(faces):
    real, other = faces
    first = sliced_wasserstein_distance(real, other, seed=3, **FAST)
    again = sliced_wasserstein_distance(real, other, seed=3, **FAST)
    assert first == again
    different = sliced_wasserstein_distance(real, other, seed=4, **FAST)
    assert different.mean != first.mean
    assert different.mean == pytest.approx(first.mean, rel=0.3)


def test_grows_monotonically_with_blur(faces):
    real, other = faces
    values = [
        sliced_wasserstein_distance(real, _box_blur(other, r), **FAST).per_level[32]
        for r in (0, 1, 2, 3)
    ]
    assert np.all(np.diff(values) > 0), values
    assert values[-1] > 2 * values[0]


def test_grows_monotonically_with_added_noise(faces):
    real, other = faces
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(other.shape)
    values = [
        sliced_wasserstein_distance(real, other + s * noise, **FAST).mean
        for s in (0.0, 0.05, 0.1, 0.2, 0.4)
    ]
    assert np.all(np.diff(values) > 0), values


def test_per_channel_normalization_hides_a_constant_colour_shift(faces):
    # As in the reference: each set is normalized by its own per-channel statistics.
    real, other = faces
    plain = sliced_wasserstein_distance(real, other, **FAST)
    shifted = sliced_wasserstein_distance(real, other * 0.5 + 0.3, **FAST)
    for res in plain.per_level:
        assert shifted.per_level[res] == pytest.approx(plain.per_level[res], rel=1e-4)


def test_scale_of_the_inputs_does_not_matter(faces):
    real, other = faces
    as_float = sliced_wasserstein_distance(real, other, **FAST)
    as_uint8_range = sliced_wasserstein_distance((real + 1) * 127.5, (other + 1) * 127.5, **FAST)
    assert as_uint8_range.mean == pytest.approx(as_float.mean, rel=1e-4)


def test_laplacian_pyramid_matches_a_direct_computation():
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (2, 16, 16, 3))
    levels = laplacian_pyramid(images, 2)
    # Direct 2-D convolution with the 5x5 binomial kernel and mirrored ('reflect') borders.
    k1 = np.array([1, 4, 6, 4, 1]) / 16.0
    kernel = np.outer(k1, k1)
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect")
    blurred = np.zeros_like(images)
    for i in range(5):
        for j in range(5):
            blurred += kernel[i, j] * padded[:, i : i + 16, j : j + 16]
    np.testing.assert_allclose(levels[1], blurred[:, ::2, ::2], atol=1e-12)
    # The levels sum back to the images.
    np.testing.assert_allclose(levels[0] + _pyr_up(levels[1], images.shape), images, atol=1e-12)


def test_pyramid_resolutions():
    assert pyramid_resolutions(128) == [128, 64, 32, 16]
    assert pyramid_resolutions(96) == [96, 48, 24]
    assert pyramid_resolutions(16) == [16]
    with pytest.raises(ValueError, match="at least 16x16"):
        pyramid_resolutions(8)


def test_bad_inputs_give_clear_errors(faces):
    real, other = faces
    with pytest.raises(ValueError, match=r"real and fake must have the same shape"):
        sliced_wasserstein_distance(real, other[:40], **FAST)
    with pytest.raises(ValueError, match=r"real and fake must have the same shape"):
        sliced_wasserstein_distance(real, np.zeros((48, 16, 16, 3)), **FAST)
    with pytest.raises(ValueError, match=r"real must hold at least 2 image"):
        sliced_wasserstein_distance(real[:1], other[:1], **FAST)
    with pytest.raises(ValueError, match=r"at least 16x16"):
        sliced_wasserstein_distance(real[:, :8, :8], other[:, :8, :8], **FAST)
    bad = other.copy()
    bad[3, 2, 1, 0] = np.nan
    with pytest.raises(ValueError, match=r"fake contains 1 NaN"):
        sliced_wasserstein_distance(real, bad, **FAST)
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        sliced_wasserstein_distance(real[0], other[0], **FAST)
    with pytest.raises(ValueError, match=r"neighbourhood_size must be odd"):
        sliced_wasserstein_distance(real, other, neighbourhood_size=6)
    with pytest.raises(ValueError, match=r"num_projections must be a positive integer"):
        sliced_wasserstein_distance(real, other, num_projections=0)
    with pytest.raises(ValueError, match=r"seed must be None or an int"):
        sliced_wasserstein_distance(real, other, seed=-1, **FAST)


def test_each_channel_is_normalized_on_its_own(faces):
    # Channels of very different scales in both sets (one 100x, one 0.01x): per-channel
    # normalization (the reference's `finalize_descriptors`, statistics over all axes but the
    # channel) makes every level's distance the same as for the unscaled images; one
    # normalization over all channels would let the large channel drown the others.
    real, other = faces
    scale = np.array([100.0, 1.0, 0.01], "float32")
    plain = sliced_wasserstein_distance(real, other, **FAST)
    scaled = sliced_wasserstein_distance(real * scale, other * scale, **FAST)
    for res in plain.per_level:
        assert scaled.per_level[res] == pytest.approx(plain.per_level[res], rel=1e-3)
