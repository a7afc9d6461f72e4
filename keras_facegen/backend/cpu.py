"""Facts about this machine's CPUs that the per-backend thread settings share (no framework)."""

from __future__ import annotations

import os

__all__ = ["MAX_DEFAULT_THREADS", "check_num_threads", "default_num_threads", "physical_cores"]

#: The most intra-op threads :func:`default_num_threads` picks.
MAX_DEFAULT_THREADS = 4


def physical_cores() -> int:
    """The number of physical CPU cores this process may run on (at least 1).

    Reads ``/proc/cpuinfo`` (Linux) for distinct ``(physical id, core id)`` pairs among the CPUs
    in the process's affinity mask; elsewhere, or if that fails, counts the usable logical CPUs.

    Returns:
        A positive integer.

    Example:
        >>> physical_cores() >= 1
        True
    """
    try:
        allowed = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        allowed = set(range(os.cpu_count() or 1))
    cores = set()
    try:
        with open("/proc/cpuinfo", encoding="utf8") as file:
            processor = package = core = None
            for line in [*file, "\n"]:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "processor":
                    processor = int(value)
                elif key == "physical id":
                    package = value
                elif key == "core id":
                    core = value
                elif not key and processor is not None:
                    if processor in allowed:
                        cores.add((package, core if core is not None else processor))
                    processor = package = core = None
    except (OSError, ValueError):
        cores = set()
    return max(1, len(cores) or len(allowed))


def default_num_threads() -> int:
    """The intra-op thread count the backends' ``configure_threads`` pick: ``min(cores, 4)``.

    Returns:
        ``min(physical_cores(), MAX_DEFAULT_THREADS)``, a positive integer.

    Example:
        >>> default_num_threads() == min(physical_cores(), MAX_DEFAULT_THREADS)
        True
    """
    return min(physical_cores(), MAX_DEFAULT_THREADS)


def check_num_threads(num_threads: object) -> None:
    """Refuses a thread count that is given and is not a positive integer.

    Args:
        num_threads: ``None`` (the default count) or the count asked for.

    Raises:
        ValueError: Naming the value, if it is not a positive ``int`` (``bool`` included).
    """
    if num_threads is not None and (
        isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1
    ):
        raise ValueError(
            f"num_threads must be a positive integer; received num_threads={num_threads!r}."
        )
