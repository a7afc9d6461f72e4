"""Training across several processes (and machines) on Keras' own distribution engines.

One call, :func:`initialize`, at the top of every process joins the job:

- **JAX**: ``jax.distributed`` (what ``keras.distribution.initialize`` starts), then
  ``keras.distribution.DataParallel`` over every device of every process, with
  ``auto_shard_dataset=False``: each process feeds its own part of each global batch and
  Keras assembles the global batch in the jitted step.
- **TensorFlow**: ``tf.distribute.MultiWorkerMirroredStrategy`` (``TF_CONFIG`` written from the
  addresses), made the default strategy.
- **PyTorch**: refused with one clear error (Keras' torch trainer has no multi-process support).

After it, :class:`~keras_facegen.data.ShuffledBatches` gives each process its share of every
global batch (rows ``[i * B / N, (i + 1) * B / N)`` of the one-process batch), so ``GAN.fit``,
``ProgressiveGAN.fit``, :func:`~keras_facegen.training.train` and ``keras-facegen train``
train on exactly the global batches (and latents) of a one-process run. Process 0 is the only
writer (:func:`is_writer`): sample grids, checkpoints, ``facegen.json`` and the final models.

The addresses and indices come from the arguments, else from the environment variables Keras
defines (``KERAS_DISTRIBUTION_JOB_ADDRESSES``, ``KERAS_DISTRIBUTION_NUM_PROCESSES``,
``KERAS_DISTRIBUTION_PROCESS_ID``), else from a SLURM allocation, detected by the engine.

Example:
    >>> from keras_facegen import distributed
    >>> distributed.process_count(), distributed.process_index(), distributed.is_writer()
    (1, 0, True)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import keras

from keras_facegen.backend import backend_module

__all__ = [
    "DEFAULT_HEARTBEAT_TIMEOUT",
    "barrier",
    "cluster_from_environment",
    "initialize",
    "is_writer",
    "local_batch_size",
    "process_count",
    "process_index",
]

#: Seconds after which a silent process counts as dead and the others stop with an error.
DEFAULT_HEARTBEAT_TIMEOUT = 60

ENV_ADDRESSES = "KERAS_DISTRIBUTION_JOB_ADDRESSES"
ENV_NUM_PROCESSES = "KERAS_DISTRIBUTION_NUM_PROCESSES"
ENV_PROCESS_ID = "KERAS_DISTRIBUTION_PROCESS_ID"


def _int_or_none(value: Any, argument: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"Expected `{argument}` to be an integer; received {value!r}.") from error
    if isinstance(value, float) and number != value:
        raise ValueError(f"Expected `{argument}` to be an integer; received {value!r}.")
    return number


def cluster_from_environment(
    environ: Mapping[str, str] | None = None,
) -> tuple[str | None, int | None, int | None]:
    """The job's ``(addresses, num_processes, process_id)`` from environment variables.

    Keras' own variables first (``KERAS_DISTRIBUTION_JOB_ADDRESSES``,
    ``KERAS_DISTRIBUTION_NUM_PROCESSES``, ``KERAS_DISTRIBUTION_PROCESS_ID``); without them, a SLURM
    step with several tasks gives ``(None, SLURM_NTASKS, SLURM_PROCID)`` (the engine then finds
    the coordinator itself).

    Args:
        environ: Variables to read; default ``os.environ``.

    Returns:
        The three values, each ``None`` where nothing is set.

    Raises:
        ValueError: If a count or index is not an integer.

    Example:
        >>> cluster_from_environment({"KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
        ...                           "KERAS_DISTRIBUTION_PROCESS_ID": "1",
        ...                           "KERAS_DISTRIBUTION_JOB_ADDRESSES": "10.0.0.1:1234"})
        ('10.0.0.1:1234', 2, 1)
    """
    env = os.environ if environ is None else environ
    addresses = env.get(ENV_ADDRESSES) or None
    num = _int_or_none(env.get(ENV_NUM_PROCESSES), ENV_NUM_PROCESSES)
    index = _int_or_none(env.get(ENV_PROCESS_ID), ENV_PROCESS_ID)
    if addresses is None and num is None and index is None:
        tasks = _int_or_none(env.get("SLURM_NTASKS"), "SLURM_NTASKS")
        if tasks is not None and tasks > 1:
            return None, tasks, _int_or_none(env.get("SLURM_PROCID"), "SLURM_PROCID")
    return addresses, num, index


def initialize(
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    *,
    heartbeat_timeout: int = DEFAULT_HEARTBEAT_TIMEOUT,
    seed: int | None = 0,
) -> bool:
    """Joins a job of several processes; call it first in every process, with the same settings.

    Nothing happens for one process (no argument and no environment variable, or
    ``num_processes=1``): the same script then runs alone. Call it before anything runs on the
    backend (before building models or reading data through it).

    Args:
        coordinator: ``HOST:PORT`` of process 0, or a comma-separated address per process
            (TensorFlow needs one per process; given one, it uses ``PORT``, ``PORT + 1``, ...
            of that host). Default: ``KERAS_DISTRIBUTION_JOB_ADDRESSES``, else the engine's
            own detection (SLURM).
        num_processes: Processes in the job; default ``KERAS_DISTRIBUTION_NUM_PROCESSES``
            (or ``SLURM_NTASKS``).
        process_id: This process's index, ``0 <= process_id < num_processes``; default
            ``KERAS_DISTRIBUTION_PROCESS_ID`` (or ``SLURM_PROCID``).
        heartbeat_timeout: Seconds after which a process that stopped answering (crashed,
            killed) counts as dead: the others then exit with an error instead of waiting.
        seed: The Keras random seed every process sets (``keras.utils.set_random_seed``), so
            models built afterwards start from the same weights everywhere; ``None`` leaves it.

    Returns:
        Whether several processes were joined (``False``: one process, nothing done).

    Raises:
        ValueError: For a bad count, index or address, or on PyTorch (Keras' torch trainer
            cannot train across processes).

    Example:
        >>> initialize(num_processes=1)  # one process: nothing to join
        False
    """
    env_addresses, env_num, env_index = cluster_from_environment()
    coordinator = coordinator if coordinator is not None else env_addresses
    num = _int_or_none(num_processes, "num_processes")
    num = env_num if num is None else num
    index = _int_or_none(process_id, "process_id")
    index = env_index if index is None else index
    heartbeat = _int_or_none(heartbeat_timeout, "heartbeat_timeout")
    if heartbeat is None or heartbeat < 1:
        raise ValueError(
            f"Expected `heartbeat_timeout` >= 1 second; received {heartbeat_timeout!r}."
        )
    if num is not None and num < 1:
        raise ValueError(f"Expected `num_processes` >= 1; received num_processes={num}.")
    if index is not None and (index < 0 or (num is not None and index >= num)):
        raise ValueError(
            f"Expected 0 <= process_id < num_processes={num}; received process_id={index}."
        )
    if num is None and coordinator is None and index is None:
        return False
    if num == 1:
        return False
    if coordinator is not None and (num is None or index is None):
        raise ValueError(
            f"coordinator={coordinator!r} needs num_processes and process_id too; received "
            f"num_processes={num!r}, process_id={index!r}."
        )
    backend_module().distributed.initialize(coordinator, num, index, heartbeat)
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    return True


def process_index() -> int:
    """This process's index in the job (0 when running alone).

    Returns:
        An int in ``[0, process_count())``.

    Example:
        >>> process_index()
        0
    """
    return int(backend_module().distributed.process_index())


def process_count() -> int:
    """Processes in the job (1 when running alone).

    Returns:
        An int >= 1.

    Example:
        >>> process_count()
        1
    """
    return int(backend_module().distributed.process_count())


def is_writer() -> bool:
    """Whether this process writes the run's files (process 0; always when alone).

    Returns:
        ``process_index() == 0``.

    Example:
        >>> is_writer()
        True
    """
    return process_index() == 0


def barrier(name: str) -> None:
    """Waits until every process of the job reached the barrier ``name`` (nothing when alone).

    Args:
        name: The barrier's name (the same in every process).

    Example:
        >>> barrier("data ready")
    """
    backend_module().distributed.barrier(name)


def local_batch_size(global_batch: int, num_processes: int | None = None) -> int:
    """Images each process feeds per step for a global batch.

    Args:
        global_batch: Images per step over all processes.
        num_processes: Processes; default :func:`process_count`.

    Returns:
        ``global_batch // num_processes``.

    Raises:
        ValueError: If the global batch is not a multiple of the number of processes.

    Example:
        >>> local_batch_size(32, num_processes=4)
        8
    """
    count = process_count() if num_processes is None else int(num_processes)
    if count < 1 or global_batch % count:
        raise ValueError(
            f"The global batch_size={global_batch} must be a multiple of the number of "
            f"processes ({count}): each process feeds an equal share of every batch."
        )
    return global_batch // count
