"""Several processes on the PyTorch backend: not supported by Keras' torch trainer."""

from __future__ import annotations

from typing import Any

TORCH_MESSAGE = (
    "Training across several processes is not available on the PyTorch backend: Keras' torch "
    "trainer has no multi-process support (no DistributedDataParallel integration in "
    "keras.Model.fit). Use KERAS_BACKEND=jax (keras.distribution) or KERAS_BACKEND=tensorflow "
    "(tf.distribute.MultiWorkerMirroredStrategy), or train in one process."
)


def initialize(
    coordinator: str | None,
    num_processes: int | None,
    process_id: int | None,
    heartbeat_timeout: int,
) -> None:
    """Refuses: Keras' PyTorch trainer cannot run across processes.

    Raises:
        ValueError: Always, naming the backends that can.
    """
    raise ValueError(
        f"{TORCH_MESSAGE} Received num_processes={num_processes!r}, process_id={process_id!r}."
    )


def process_index() -> int:
    """Always 0 (one process)."""
    return 0


def process_count() -> int:
    """Always 1 (one process)."""
    return 1


def barrier(name: str) -> None:
    """Nothing to wait for in one process."""
    del name


def replica_position() -> tuple[Any, int]:
    """``(0, 1)``: one process, one replica."""
    return 0, 1


def replica_sum(x: Any) -> Any:
    """``x`` unchanged (one process, one replica)."""
    return x


def prepare_data(x: Any) -> Any:
    """``x`` unchanged."""
    return x
