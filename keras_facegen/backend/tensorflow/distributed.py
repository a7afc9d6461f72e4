"""Several processes on the TensorFlow backend: ``tf.distribute.MultiWorkerMirroredStrategy``.

Each process (a "worker") runs the train step once per local replica; gradients are summed
over every replica of every worker by the strategy's collectives. Each worker reads only its own
share of every global batch: :func:`prepare_data` turns its local batches into a
``tf.distribute`` dataset with ``distribute_datasets_from_function`` (no auto-sharding, no
re-batching of a global batch).
"""

from __future__ import annotations

import json
import os
from typing import Any

import keras
import numpy as np
import tensorflow as tf

_cluster: dict[str, int] = {"index": 0, "count": 1}


def worker_addresses(coordinator: str, num_processes: int) -> list[str]:
    """One ``HOST:PORT`` per worker, as ``TF_CONFIG`` needs them.

    ``coordinator`` is a comma-separated list with one address per process, or one address
    ``HOST:PORT``: then the workers listen on ``PORT``, ``PORT + 1``, ... of that host (all
    processes on one machine).

    Args:
        coordinator: The address list or the single address.
        num_processes: Processes in the job.

    Returns:
        ``num_processes`` addresses, worker 0 first.

    Raises:
        ValueError: If the list has the wrong length or an address has no port.
    """
    addresses = [a.strip() for a in coordinator.split(",") if a.strip()]
    if len(addresses) == 1 and num_processes > 1:
        host, _, port = addresses[0].rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(
                f"Expected the coordinator as HOST:PORT; received coordinator={coordinator!r}."
            )
        addresses = [f"{host}:{int(port) + i}" for i in range(num_processes)]
    if len(addresses) != num_processes:
        raise ValueError(
            f"TensorFlow needs one address per process: received {len(addresses)} addresses "
            f"({coordinator!r}) for num_processes={num_processes}."
        )
    return addresses


def initialize(
    coordinator: str | None,
    num_processes: int | None,
    process_id: int | None,
    heartbeat_timeout: int,
) -> None:
    """Creates a ``MultiWorkerMirroredStrategy`` and makes it the default strategy.

    Models built afterwards (in any process) get mirrored variables, and ``fit`` runs under
    the strategy, as inside ``with strategy.scope():``.

    Args:
        coordinator: Comma-separated worker addresses, or the first worker's ``HOST:PORT``
            (the others on the next ports of that host). ``None``: ``TF_CONFIG`` if it is set,
            else a SLURM allocation (``SlurmClusterResolver``).
        num_processes: Processes in the job (with ``coordinator``).
        process_id: This process's index (with ``coordinator``).
        heartbeat_timeout: Seconds a collective may wait for the other workers before it fails
            (a dead worker then ends the others with an error instead of a hang).
    """
    resolver = None
    if coordinator is not None:
        if num_processes is None or process_id is None:
            raise ValueError(
                "A coordinator address needs num_processes and process_id too; received "
                f"num_processes={num_processes!r}, process_id={process_id!r}."
            )
        os.environ["TF_CONFIG"] = json.dumps(
            {
                "cluster": {"worker": worker_addresses(coordinator, num_processes)},
                "task": {"type": "worker", "index": int(process_id)},
            }
        )
    elif "TF_CONFIG" not in os.environ:
        resolver = tf.distribute.cluster_resolver.SlurmClusterResolver()
    options = tf.distribute.experimental.CommunicationOptions(
        timeout_seconds=float(heartbeat_timeout)
    )
    strategy = tf.distribute.MultiWorkerMirroredStrategy(
        cluster_resolver=resolver, communication_options=options
    )
    resolver = strategy.cluster_resolver
    spec = resolver.cluster_spec().as_dict()
    _cluster["count"] = len(spec.get("worker", [])) + len(spec.get("chief", []))
    index = int(resolver.task_id or 0)
    _cluster["index"] = index + (1 if resolver.task_type == "worker" and "chief" in spec else 0)
    tf.distribute.experimental_set_strategy(strategy)


def in_multi_worker_mode() -> bool:
    """Whether the current strategy spans several processes."""
    strategy = tf.distribute.get_strategy()
    return (
        isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        and strategy.extended._in_multi_worker_mode()
    )


def process_index() -> int:
    """This worker's index (0 when not distributed)."""
    return _cluster["index"] if in_multi_worker_mode() else 0


def process_count() -> int:
    """Workers in the job (1 when not distributed)."""
    return _cluster["count"] if in_multi_worker_mode() else 1


def barrier(name: str) -> None:
    """Waits until every worker reached this point (one all-reduce over the workers)."""
    del name
    if not in_multi_worker_mode():
        return
    strategy = tf.distribute.get_strategy()
    one = strategy.run(lambda: tf.constant(1.0))
    strategy.reduce(tf.distribute.ReduceOp.SUM, one, axis=None)


def replica_position() -> tuple[Any, int]:
    """``(replica index, replicas in sync)`` inside a replica's step; ``(0, 1)`` outside one."""
    context = tf.distribute.get_replica_context()
    if context is None:
        return 0, 1
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


def replica_sum(x: Any) -> Any:
    """``x`` summed over every replica of every worker (inside a replica's step).

    Statistics that steer training (ADA's ``r_t``) must be the same on every replica, as in
    one process: each replica sees only its share of the batch, so its local sum is all-reduced.
    Outside a strategy (or in its cross-replica context) ``x`` is returned unchanged.

    Args:
        x: A tensor computed from this replica's share of the batch.

    Returns:
        The sum over all replicas, on every replica.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return x
    return context.all_reduce(tf.distribute.ReduceOp.SUM, x)


def prepare_data(x: Any) -> Any:
    """This worker's batches as a ``tf.distribute`` dataset (other data unchanged).

    A ``keras.utils.PyDataset`` (e.g. ``ShuffledBatches``, already holding this process's share
    of each global batch) becomes ``distribute_datasets_from_function``: batch ``i`` of the
    dataset is this worker's part of global step ``i``, split over its local replicas.

    Args:
        x: What ``fit`` was given.

    Returns:
        A distributed dataset in multi-worker mode for a ``PyDataset``; else ``x``.
    """
    if not in_multi_worker_mode() or not isinstance(x, keras.utils.PyDataset):
        return x
    strategy = tf.distribute.get_strategy()
    first = x[0]
    signature = tf.nest.map_structure(
        lambda a: tf.TensorSpec((None, *np.shape(a)[1:]), tf.as_dtype(np.asarray(a).dtype)),
        first,
    )
    local_replicas = max(1, strategy.num_replicas_in_sync // process_count())
    local_batch = int(np.shape(tf.nest.flatten(first)[0])[0])
    if local_batch % local_replicas:
        raise ValueError(
            f"This process's batch of {local_batch} images cannot be split over its "
            f"{local_replicas} replicas; use a global batch divisible by "
            f"{strategy.num_replicas_in_sync}."
        )

    def batches() -> Any:
        count = x.num_batches
        index = 0
        while count is None or index < count:
            yield x[index]
            index += 1

    def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
        del context  # ``x`` already holds this process's share
        dataset = tf.data.Dataset.from_generator(batches, output_signature=signature)
        if local_replicas > 1:
            dataset = dataset.rebatch(local_batch // local_replicas)
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        return dataset.with_options(options).prefetch(2)

    return strategy.distribute_datasets_from_function(dataset_fn)
