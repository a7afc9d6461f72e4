"""Several processes on the JAX backend: ``jax.distributed`` and ``keras.distribution``.

Every process runs the same jitted train step on *global* arrays: Keras' JAX trainer assembles
the global batch from each process's local batch (``DataParallel(auto_shard_dataset=False)``),
so sampled latents, counters and the EMA are computed once for the global batch, exactly as in
one process. On CPUs the collectives go over Gloo (TCP).
"""

from __future__ import annotations

from typing import Any

import jax
import keras
from jax.experimental import multihost_utils


def initialize(
    coordinator: str | None,
    num_processes: int | None,
    process_id: int | None,
    heartbeat_timeout: int,
) -> None:
    """Joins the JAX cluster and makes ``DataParallel`` over all its devices the distribution.

    This is what ``keras.distribution.initialize`` does on JAX, with the heartbeat timeout
    exposed: a process that stops sending heartbeats for that long makes every other process
    exit with an error (instead of waiting forever in a collective).

    Args:
        coordinator: ``HOST:PORT`` of process 0; ``None`` lets JAX detect a cluster (SLURM).
        num_processes: Processes in the job (``None``: detected).
        process_id: This process's index (``None``: detected).
        heartbeat_timeout: Seconds without a heartbeat after which a process counts as dead.
    """
    # Collectives between CPU devices of several processes need an implementation: Gloo, over
    # TCP (accelerators use their own; this setting only concerns CPUs).
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=coordinator,
        num_processes=num_processes,
        process_id=process_id,
        heartbeat_timeout_seconds=int(heartbeat_timeout),
        # A process that fails (an exception) waits this long at exit for the others before
        # it leaves; they then see it gone within the heartbeat timeout.
        shutdown_timeout_seconds=int(heartbeat_timeout),
        initialization_timeout=max(int(heartbeat_timeout), 60),
    )
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=jax.devices(), auto_shard_dataset=False)
    )


def process_index() -> int:
    """This process's index (0 when not distributed)."""
    return int(jax.process_index())


def process_count() -> int:
    """Processes in the job (1 when not distributed)."""
    return int(jax.process_count())


def barrier(name: str) -> None:
    """Waits until every process reached the barrier called ``name``."""
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices(name)


def replica_position() -> tuple[Any, int]:
    """``(0, 1)``: the jitted step draws and reduces over the global batch itself."""
    return 0, 1


def replica_sum(x: Any) -> Any:
    """``x`` unchanged: the jitted step works on global arrays, so its sums are global already."""
    return x


def prepare_data(x: Any) -> Any:
    """This process's data, as ``fit`` takes it (Keras assembles the global batch itself)."""
    return x
