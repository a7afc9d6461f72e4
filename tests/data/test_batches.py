"""ShuffledBatches: a seeded endless stream of batches, indexable from any start."""

import numpy as np
import pytest

from keras_facegen.data import ShuffledBatches

# Backend-independent (TensorFlow pass only): ShuffledBatches indexes NumPy arrays; GAN.fit over it
# runs on every backend in tests/data/test_cache.py and tests/test_training.py.
pytestmark = pytest.mark.backend_independent


def images(n=10, size=2):
    return np.arange(n * size * size * 3, dtype="float32").reshape(n, size, size, 3)


def test_each_pass_is_a_seeded_permutation_of_full_batches():
    x = images(10)
    stream = ShuffledBatches(x, batch_size=3, seed=7)
    assert stream.num_batches is None and stream.batches_per_pass == 3
    rows = [stream.batch_indices(i) for i in range(3)]
    used = np.concatenate(rows)
    assert len(set(used)) == 9  # one image of the 10 is left out of each pass
    order = np.random.default_rng([7, 0]).permutation(10)
    np.testing.assert_array_equal(rows[1], np.sort(order[3:6]))
    np.testing.assert_array_equal(
        stream.batch_indices(4), np.sort(np.random.default_rng([7, 1]).permutation(10)[3:6])
    )
    np.testing.assert_array_equal(stream[1], x[rows[1]])


def test_start_offsets_the_stream_exactly():
    x = images(10)
    whole = ShuffledBatches(x, batch_size=4, seed=1)
    resumed = ShuffledBatches(x, batch_size=4, seed=1, start=5)
    for i in range(6):
        np.testing.assert_array_equal(resumed[i], whole[5 + i])


def test_seed_changes_the_order():
    x = images(40)
    a = ShuffledBatches(x, batch_size=8, seed=0)
    b = ShuffledBatches(x, batch_size=8, seed=1)
    assert any(not np.array_equal(a.batch_indices(i), b.batch_indices(i)) for i in range(5))


def test_uint8_batches_become_floats_in_minus_one_one():
    x = np.array([0, 255, 51], dtype=np.uint8).reshape(3, 1, 1, 1).repeat(3, axis=-1)
    batch = ShuffledBatches(x, batch_size=3, seed=0)[0]
    assert batch.dtype == np.float32
    np.testing.assert_allclose(np.sort(batch[:, 0, 0, 0]), [-1.0, 51 / 127.5 - 1.0, 1.0])


def test_resolution_halves_per_batch_rounding_uint8_like_the_cache():
    # One 4x4 image, channel 0 by hand; the 2x2 block means are 1.5, 2.5, 10.5 and 254.5.
    channel = np.array([[0, 1, 2, 3], [2, 3, 2, 3], [10, 11, 254, 255], [10, 11, 254, 254]])
    x = np.repeat(channel[None, :, :, None], 3, axis=-1).astype(np.uint8)
    means = np.array([[1.5, 2.5], [10.5, 254.25]])
    half = ShuffledBatches(x, batch_size=1, resolution=2)[0]
    np.testing.assert_allclose(half[0, :, :, 0], np.rint(means) / 127.5 - 1.0, atol=1e-6)
    np.testing.assert_array_equal(np.rint(means), [[2, 2], [10, 254]])  # round half to even
    quarter = ShuffledBatches(x, batch_size=1, resolution=1)[0]
    assert quarter.shape == (1, 1, 1, 3)
    np.testing.assert_allclose(quarter[0, 0, 0, 0], np.rint(means.mean()) / 127.5 - 1.0)
    # Float images are averaged, not rounded.
    floats = x.astype("float32") / 127.5 - 1.0
    np.testing.assert_allclose(
        ShuffledBatches(floats, batch_size=1, resolution=2)[0][0, :, :, 0],
        means / 127.5 - 1.0,
        atol=1e-6,
    )


def test_prefetch_threads_give_the_same_batches_in_any_order():
    x = np.random.default_rng(0).integers(0, 256, (40, 4, 4, 3), dtype=np.uint8)
    plain = ShuffledBatches(x, batch_size=6, seed=4)
    ahead = ShuffledBatches(x, batch_size=6, seed=4, prefetch=3)
    assert plain.prefetch == 0 and ahead.prefetch == 3
    for i in [0, 1, 0, 1, 2, 3, 9, 4, 5, 6, 20]:
        np.testing.assert_array_equal(ahead[i], plain[i])
    assert set(ahead._pending) == {21, 22, 23}
    ahead.close()
    assert not ahead._pending and ahead._pool is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"images": np.zeros((4, 2, 2))}, r"\(N, H, W, C\)"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 11}, "larger than the 10 images"),
        ({"start": -1}, "start"),
        ({"prefetch": -1}, "prefetch"),
        ({"resolution": 3}, "resolution=3 cannot be reached"),
        ({"resolution": 0}, "resolution"),
    ],
)
def test_bad_arguments(kwargs, message):
    arguments = {"images": images(10), "batch_size": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        ShuffledBatches(**arguments)


def test_negative_index_is_refused():
    with pytest.raises(IndexError):
        ShuffledBatches(images(4), batch_size=2)[-1]
