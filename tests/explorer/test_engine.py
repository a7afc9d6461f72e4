"""The explorer's model worker: concurrent calls merged into padded batches."""

from __future__ import annotations

import threading

import numpy as np
import pytest

pytest.importorskip("fastapi")

from keras_facegen.explorer.engine import BatchedGenerator, FaceEngine  # noqa: E402

# Backend-independent (TensorFlow pass only): the engine's batching and error handling, around
# NumPy stand-in generators.
pytestmark = pytest.mark.backend_independent


class GatedGenerator:
    """z -> images whose pixels are z[:, 0]; the first call waits until released."""

    latent_dim = 4

    def __init__(self):
        self.release = threading.Event()
        self.entered = threading.Event()
        self.batches = []

    def __call__(self, z):
        z = np.asarray(z)
        self.batches.append(z.copy())
        if len(self.batches) == 1:
            self.entered.set()
            self.release.wait(10)
        return np.broadcast_to(z[:, :1, None, None], (len(z), 2, 2, 3)).copy()


def test_queued_calls_merge_into_one_padded_batch():
    generator = GatedGenerator()
    batched = BatchedGenerator(generator, max_batch=8)
    results = {}

    def call(i, rows):
        results[i] = batched(np.full((rows, 4), i, np.float32))

    first = threading.Thread(target=call, args=(0, 1))
    first.start()
    assert generator.entered.wait(10)
    # While the worker is busy, three callers queue 1 + 2 + 2 latents.
    others = [threading.Thread(target=call, args=(i, rows)) for i, rows in ((1, 1), (2, 2), (3, 2))]
    for thread in others:
        thread.start()
    while batched._queue.qsize() < 3:
        threading.Event().wait(0.01)
    generator.release.set()
    for thread in [first, *others]:
        thread.join(10)
    batched.close()
    sizes = [len(b) for b in generator.batches]
    assert sizes == [1, 8]  # 5 queued rows run as one call, padded to 8
    merged = generator.batches[1][:, 0]
    assert sorted(merged[:5].tolist()) == [1, 2, 2, 3, 3] and merged[5:].tolist() == [0, 0, 0]
    for i, rows in ((0, 1), (1, 1), (2, 2), (3, 2)):
        assert results[i].shape == (rows, 2, 2, 3)
        np.testing.assert_array_equal(results[i], i)


def test_padded_sizes():
    generator = GatedGenerator()
    generator.release.set()
    batched = BatchedGenerator(generator, max_batch=64)
    sizes = [batched.padded_size(rows) for rows in (1, 2, 3, 5, 8, 9, 17, 20, 57, 64)]
    assert sizes == [1, 2, 4, 8, 8, 16, 24, 24, 64, 64]
    batched.warm_up()  # a plain callable is not compiled: nothing to trace
    assert generator.batches == []
    batched.compiled = True
    batched.warm_up()
    assert [len(b) for b in generator.batches] == [1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64]
    batched.close()


def test_large_requests_are_split_and_errors_reach_the_caller():
    generator = GatedGenerator()
    generator.release.set()
    batched = BatchedGenerator(generator, max_batch=4)
    out = batched(np.arange(40, dtype=np.float32).reshape(10, 4))
    assert [len(b) for b in generator.batches] == [4, 4, 2]
    np.testing.assert_array_equal(out[:, 0, 0, 0], np.arange(0, 40, 4))

    def broken(z):
        raise RuntimeError("boom")

    broken.latent_dim = 4
    failing = BatchedGenerator(broken)
    with pytest.raises(RuntimeError, match="boom"):
        failing(np.zeros((1, 4), np.float32))
    with pytest.raises(ValueError, match="latent size 3"):
        batched(np.zeros((1, 3), np.float32))
    batched.close()
    with pytest.raises(RuntimeError, match="closed"):
        batched(np.zeros((1, 4), np.float32))


def test_engine_needs_a_latent_size_and_valid_options():
    with pytest.raises(ValueError, match="needs the generator's latent size"):
        FaceEngine(lambda z: z)
    generator = GatedGenerator()
    generator.release.set()
    with pytest.raises(ValueError, match="latent_distribution must be one of"):
        FaceEngine(generator, latent_distribution="cauchy")
    with pytest.raises(ValueError, match="max_batch must be a positive integer"):
        FaceEngine(generator, max_batch=0)


def test_worker_survives_a_cancelled_request():
    import asyncio

    generator = GatedGenerator()
    batched = BatchedGenerator(generator, max_batch=8)
    first = batched.submit(np.full((1, 4), 1, np.float32))
    assert generator.entered.wait(10)  # the worker is busy with the first call

    async def cancel_a_waiting_call():
        task = asyncio.ensure_future(batched.generate_async(np.full((1, 4), 2, np.float32)))
        for _ in range(1000):
            if batched._queue.qsize() == 1:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(asyncio.wait_for(cancel_a_waiting_call(), 10))
    generator.release.set()
    np.testing.assert_array_equal(first[0].result(timeout=10), 1)
    # The cancelled call must not have taken the worker down with it.
    later = batched.submit(np.full((1, 4), 3, np.float32))
    np.testing.assert_array_equal(later[0].result(timeout=10), 3)
    batched.close()
    # The cancelled latents never reached the model.
    assert [float(b[0, 0]) for b in generator.batches] == [1.0, 3.0]


class PoisonedGenerator(GatedGenerator):
    """Like GatedGenerator, but a batch holding a latent with z[1] == 7 raises."""

    def __call__(self, z):
        images = super().__call__(z)
        if np.any(np.asarray(z)[:, 1] == 7):
            raise RuntimeError("poisoned latent")
        return images


def test_one_failing_request_does_not_fail_those_batched_with_it():
    generator = PoisonedGenerator()
    batched = BatchedGenerator(generator, max_batch=8)
    first = batched.submit(np.full((1, 4), 1, np.float32))
    assert generator.entered.wait(10)
    poison = np.zeros((2, 4), np.float32)
    poison[:, 1] = 7
    good = batched.submit(np.full((2, 4), 5, np.float32))[0]
    bad = batched.submit(poison)[0]
    other = batched.submit(np.full((1, 4), 6, np.float32))[0]
    generator.release.set()
    np.testing.assert_array_equal(first[0].result(timeout=10), 1)
    with pytest.raises(RuntimeError, match="poisoned latent"):
        bad.result(timeout=10)
    np.testing.assert_array_equal(good.result(timeout=10), 5)
    np.testing.assert_array_equal(other.result(timeout=10), 6)
    # The merged call failed once; each request then ran alone.
    assert [len(b) for b in generator.batches] == [1, 8, 2, 2, 1]
    batched.close()
