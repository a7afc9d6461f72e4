"""keras_facegen.distributed in one process, and the per-process shards of ShuffledBatches."""

from __future__ import annotations

import numpy as np
import pytest

from keras_facegen import distributed
from keras_facegen.backend import backend_module
from keras_facegen.data import ShuffledBatches


def test_one_process_is_the_writer_and_initialize_does_nothing(monkeypatch):
    for name in (
        "KERAS_DISTRIBUTION_JOB_ADDRESSES",
        "KERAS_DISTRIBUTION_NUM_PROCESSES",
        "KERAS_DISTRIBUTION_PROCESS_ID",
        "SLURM_NTASKS",
        "SLURM_PROCID",
    ):
        monkeypatch.delenv(name, raising=False)
    assert distributed.initialize() is False
    assert distributed.initialize(num_processes=1, process_id=0) is False
    assert (distributed.process_count(), distributed.process_index()) == (1, 0)
    assert distributed.is_writer()
    distributed.barrier("alone")  # returns at once


def test_cluster_from_environment_reads_keras_variables_then_slurm():
    env = {
        "KERAS_DISTRIBUTION_JOB_ADDRESSES": "10.0.0.1:1234,10.0.0.2:1234",
        "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
        "KERAS_DISTRIBUTION_PROCESS_ID": "1",
        "SLURM_NTASKS": "8",
        "SLURM_PROCID": "5",
    }
    assert distributed.cluster_from_environment(env) == ("10.0.0.1:1234,10.0.0.2:1234", 2, 1)
    slurm = {"SLURM_NTASKS": "8", "SLURM_PROCID": "5"}
    assert distributed.cluster_from_environment(slurm) == (None, 8, 5)
    assert distributed.cluster_from_environment({"SLURM_NTASKS": "1"}) == (None, None, None)
    with pytest.raises(ValueError, match="KERAS_DISTRIBUTION_NUM_PROCESSES"):
        distributed.cluster_from_environment({"KERAS_DISTRIBUTION_NUM_PROCESSES": "two"})


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_processes": 0}, "num_processes"),
        ({"num_processes": 2, "process_id": 2}, "process_id=2"),
        ({"num_processes": 2, "process_id": -1}, "process_id=-1"),
        ({"coordinator": "127.0.0.1:1", "num_processes": 2}, "process_id"),
        ({"num_processes": 2, "heartbeat_timeout": 0}, "heartbeat_timeout"),
    ],
)
def test_initialize_refuses_bad_settings(monkeypatch, kwargs, match):
    monkeypatch.delenv("KERAS_DISTRIBUTION_PROCESS_ID", raising=False)
    with pytest.raises(ValueError, match=match):
        distributed.initialize(**kwargs)


def test_torch_backend_refuses_to_distribute_with_one_clear_error():
    with pytest.raises(ValueError, match="not available on the PyTorch backend.*jax"):
        backend_module("torch").distributed.initialize("127.0.0.1:1", 2, 0, 10)


def test_local_batch_size():
    assert distributed.local_batch_size(32, num_processes=4) == 8
    assert distributed.local_batch_size(32) == 32
    with pytest.raises(ValueError, match="batch_size=30 must be a multiple"):
        distributed.local_batch_size(30, num_processes=4)


def test_tensorflow_worker_addresses():
    addresses = backend_module("tensorflow").distributed.worker_addresses
    assert addresses("10.0.0.1:2000", 3) == ["10.0.0.1:2000", "10.0.0.1:2001", "10.0.0.1:2002"]
    assert addresses("a:1, b:2", 2) == ["a:1", "b:2"]
    with pytest.raises(ValueError, match="one address per process"):
        addresses("a:1,b:2", 3)


@pytest.mark.parametrize("shards", [2, 4])
def test_shards_of_each_batch_make_up_the_one_process_batch(shards):
    images = np.arange(40 * 2 * 2 * 1, dtype=np.float32).reshape(40, 2, 2, 1) / 160.0
    alone = ShuffledBatches(images, batch_size=8, seed=3, start=5)
    parts = [
        ShuffledBatches(images, 8, seed=3, start=5, num_shards=shards, shard_index=i)
        for i in range(shards)
    ]
    for step in range(7):  # across a pass boundary (5 batches per pass)
        pass_index, offset = divmod(5 + step, 5)
        order = np.random.default_rng([3, pass_index]).permutation(40)
        rows = np.sort(order[offset * 8 : (offset + 1) * 8])
        np.testing.assert_array_equal(alone.batch_indices(5 + step), rows)
        np.testing.assert_array_equal(alone[step], images[rows])
        together = np.concatenate([part[step] for part in parts])
        np.testing.assert_array_equal(together, alone[step])
        assert all(len(part[step]) == 8 // shards for part in parts)
        # Each process reads only its rows: disjoint, in order.
        shard_rows = [part.shard_indices(5 + step) for part in parts]
        np.testing.assert_array_equal(np.concatenate(shard_rows), rows)


def test_shards_refuse_bad_settings():
    images = np.zeros((16, 2, 2, 1), np.float32)
    with pytest.raises(ValueError, match="batch_size=6 must be a multiple of num_shards=4"):
        ShuffledBatches(images, 6, num_shards=4, shard_index=0)
    with pytest.raises(ValueError, match="shard_index=2"):
        ShuffledBatches(images, 8, num_shards=2, shard_index=2)
