"""CPU thread settings for JAX.

XLA's CPU client sizes its thread pool from the CPUs it may run on when it starts (the first
computation) and reads ``XLA_FLAGS`` then; nothing changes it afterwards. Its idle workers
block instead of spinning, so it shares a busy CPU without help (docs/benchmarks.md, "Training
on a shared CPU"): :func:`configure_threads` changes nothing and reports what is in effect.
"""

from __future__ import annotations

import os

from keras_facegen.backend.cpu import check_num_threads, physical_cores


def configure_threads(num_threads: int | None = None, force: bool = False) -> int | None:
    """Leaves XLA's CPU threads as they are (they hold up on a shared CPU as they come).

    Args:
        num_threads: Accepted for a common signature with the other backends; XLA's pool size
            is set by the ``XLA_FLAGS`` of the process before its first computation.
        force: Accepted for a common signature; nothing to force.

    Returns:
        ``None``: XLA's own setting is kept.

    Raises:
        ValueError: If ``num_threads`` is given and is not a positive integer.
    """
    del force
    check_num_threads(num_threads)
    return None


def thread_settings() -> dict[str, int | str]:
    """XLA's CPU thread settings: the cores it sees and the ``XLA_FLAGS`` of this process.

    Returns:
        ``physical_cores``, ``logical_cpus`` and ``xla_flags`` (``""`` when unset).
    """
    return {
        "physical_cores": physical_cores(),
        "logical_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0,
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }
