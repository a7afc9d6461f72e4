"""CPU thread settings for PyTorch that hold up when other jobs share the machine.

PyTorch's default uses one intra-op thread per *logical* CPU, and OpenMP's idle threads spin.
On a CPU that other processes keep busy, those threads wait on each other at every parallel
region and the GAN's small convolutions slow down many times over (``docs/training.md``: 33 s
instead of 0.37 s per step on a loaded 2-core machine). The cure is twofold: ``OMP_WAIT_POLICY=
PASSIVE`` before PyTorch loads (the ``keras-facegen`` command sets it), and
:func:`configure_threads`: one intra-op thread per physical core, at most 4, and one inter-op
thread, unless the user already chose.
"""

from __future__ import annotations

import contextlib
import os

import torch

#: The most intra-op threads :func:`default_num_threads` picks.
MAX_DEFAULT_THREADS = 4

#: Environment variables that mean "the user chose the thread count; leave it alone".
USER_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TORCH_NUM_THREADS")


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
    """The intra-op thread count :func:`configure_threads` picks: ``min(physical cores, 4)``.

    Returns:
        A positive integer.

    Example:
        >>> default_num_threads() == min(physical_cores(), MAX_DEFAULT_THREADS)
        True
    """
    return min(physical_cores(), MAX_DEFAULT_THREADS)


def configure_threads(num_threads: int | None = None, force: bool = False) -> int | None:
    """Sets PyTorch's CPU threads: ``num_threads`` intra-op threads and one inter-op thread.

    Without ``force``, nothing changes when the user already chose (one of
    ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` or ``TORCH_NUM_THREADS`` is set). The inter-op
    count can only be set before PyTorch runs its first parallel work; if that has happened it
    is left as it is.

    Args:
        num_threads: Intra-op threads; defaults to :func:`default_num_threads`.
        force: Apply even if the environment names a thread count.

    Returns:
        The intra-op thread count now in effect, or ``None`` if the user's setting was kept.

    Raises:
        ValueError: If ``num_threads`` is not a positive integer.

    Example:
        >>> configure_threads(2, force=True)
        2
    """
    if not force and any(os.environ.get(name) for name in USER_THREAD_VARIABLES):
        return None
    if num_threads is None:
        num_threads = default_num_threads()
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
        raise ValueError(
            f"num_threads must be a positive integer; received num_threads={num_threads!r}."
        )
    torch.set_num_threads(num_threads)
    if torch.get_num_interop_threads() != 1:
        # Once parallel work has started PyTorch refuses; its count then stays.
        with contextlib.suppress(RuntimeError):
            torch.set_num_interop_threads(1)
    return torch.get_num_threads()
