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

from keras_facegen.backend.cpu import (
    MAX_DEFAULT_THREADS,
    check_num_threads,
    default_num_threads,
    physical_cores,
)

__all__ = [
    "MAX_DEFAULT_THREADS",
    "USER_THREAD_VARIABLES",
    "configure_threads",
    "default_num_threads",
    "physical_cores",
    "thread_settings",
]

#: Environment variables that mean "the user chose the thread count; leave it alone".
USER_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TORCH_NUM_THREADS")


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
    check_num_threads(num_threads)
    if not force and any(os.environ.get(name) for name in USER_THREAD_VARIABLES):
        return None
    if num_threads is None:
        num_threads = default_num_threads()
    torch.set_num_threads(num_threads)
    if torch.get_num_interop_threads() != 1:
        # Once parallel work has started PyTorch refuses; its count then stays.
        with contextlib.suppress(RuntimeError):
            torch.set_num_interop_threads(1)
    return torch.get_num_threads()


def thread_settings() -> dict[str, int | str]:
    """PyTorch's CPU thread settings now in effect.

    Returns:
        ``intra_op`` and ``inter_op`` thread counts and OpenMP's ``wait_policy``
        (``OMP_WAIT_POLICY``, ``"default"`` when unset).

    Example:
        >>> sorted(thread_settings())
        ['inter_op', 'intra_op', 'wait_policy']
    """
    return {
        "intra_op": torch.get_num_threads(),
        "inter_op": torch.get_num_interop_threads(),
        "wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
    }
