"""Process-wide settings that keep training fast on CPUs: the C allocator.

TensorFlow's CPU kernels (and, less so, XLA's and PyTorch's) take the buffers of every op's output
from ``malloc`` and give them back when the op is done. glibc's ``malloc`` serves a large request
with fresh pages from ``mmap`` and returns them to the kernel on ``free``, and it trims the top of
its heap whenever more than 128 KiB is free there: every train step then maps, faults in and
unmaps the same megabytes again. On a 2-core AMD EPYC, ``keras-facegen train --preset
face64_small`` on TensorFlow spent half of its time in the kernel doing exactly that
(``benchmarks/allocator.py``; the numbers are in docs/benchmarks.md).

:func:`tune_allocator` tells glibc to keep what it has (``mallopt``: serve requests below 1 GiB
from the heap, never trim it, grow it 512 MiB at a time) and to serve every thread from its one
main heap. The last setting matters because the frameworks allocate from their own threads
(XLA's executable runs on a worker thread): glibc gives such threads heaps of their own, each
capped at 64 MiB, and a request above the cap is mapped and unmapped on every call whatever the
thresholds say. A JAX train step whose scratch buffer is above 64 MiB (``face64_small`` at batch
64; at batch 32 with ADA's skipped transforms) faulted ~20,000 pages in per step (80 ms of
kernel time) until this setting.

``import keras_facegen`` calls it once, so every user gets it without setting environment
variables; set ``KERAS_FACEGEN_ALLOCATOR=default`` before the import to leave the allocator
alone, or ``KERAS_FACEGEN_ALLOCATOR=arenas`` to keep glibc's per-thread heaps (on a machine with
many cores whose threads all allocate at once, one heap's lock may cost more than the page faults
it saves; measure with ``benchmarks/allocator.py``). The cost: the process keeps the memory of its
largest step (plus up to 512 MiB) until it ends, which a training process needs again at the next
step anyway. Where the allocator is not glibc's (macOS, Windows, musl, or a ``jemalloc`` /
``tcmalloc`` preloaded by the user) nothing is changed. The main-heap setting applies to threads
that first allocate after the import: import ``keras_facegen`` before starting a training.

Example:
    >>> from keras_facegen import runtime
    >>> runtime.allocator_state() in ("tuned", "arenas", "default", "unavailable")
    True
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import warnings

__all__ = ["ALLOCATOR_VARIABLE", "MALLOC_SETTINGS", "allocator_state", "tune_allocator"]

#: Environment variable: ``default`` keeps glibc's own allocator settings; ``arenas`` tunes the
#: thresholds but keeps glibc's per-thread heaps.
ALLOCATOR_VARIABLE = "KERAS_FACEGEN_ALLOCATOR"

# mallopt's parameter numbers (glibc's <malloc.h>).
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

#: What :func:`tune_allocator` sets, ``{name: value}`` (bytes, or heaps for ``M_ARENA_MAX``).
#: ``mallopt`` takes a C ``int``: the trim threshold is the largest one (2 GiB - 1), i.e. the heap
#: is in practice never trimmed. ``M_ARENA_MAX = 1``: every thread allocates from the main heap
#: (no 64 MiB cap per request); ``KERAS_FACEGEN_ALLOCATOR=arenas`` leaves it out.
MALLOC_SETTINGS: dict[str, int] = {
    "M_MMAP_THRESHOLD": 1 << 30,
    "M_TRIM_THRESHOLD": 2**31 - 1,
    "M_TOP_PAD": 512 << 20,
    "M_ARENA_MAX": 1,
}
_PARAMETERS = {
    "M_MMAP_THRESHOLD": _M_MMAP_THRESHOLD,
    "M_TRIM_THRESHOLD": _M_TRIM_THRESHOLD,
    "M_TOP_PAD": _M_TOP_PAD,
    "M_ARENA_MAX": _M_ARENA_MAX,
}
_MODES = ("tuned", "arenas", "default")
# glibc's own environment variables for the same settings: a user who set one chose already.
_GLIBC_VARIABLES = (
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_TOP_PAD_",
    "MALLOC_ARENA_MAX",
    "GLIBC_TUNABLES",
)

_state = {"value": "default"}


def _glibc() -> ctypes.CDLL | None:
    """The process's C library if it is glibc (with ``mallopt``), else ``None``."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        version = libc.gnu_get_libc_version  # glibc only (musl has no such function)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None
    version.restype = ctypes.c_char_p
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return libc


def _other_allocator() -> bool:
    """Whether another allocator was preloaded (``LD_PRELOAD`` of jemalloc, tcmalloc, mimalloc)."""
    preload = os.environ.get("LD_PRELOAD", "").lower()
    return any(name in preload for name in ("jemalloc", "tcmalloc", "mimalloc"))


def _mode() -> str:
    """``KERAS_FACEGEN_ALLOCATOR`` as one of ``tuned``, ``arenas`` or ``default``."""
    value = os.environ.get(ALLOCATOR_VARIABLE, "").strip().lower() or "tuned"
    if value not in _MODES:
        warnings.warn(
            f"{ALLOCATOR_VARIABLE}={value!r} is not one of {', '.join(_MODES)}; using 'tuned'",
            stacklevel=3,
        )
        return "tuned"
    return value


def tune_allocator(force: bool = False) -> bool:
    """Tells glibc's ``malloc`` to keep freed memory for the next train step.

    Called by ``import keras_facegen``. It does nothing (and returns ``False``) where the C
    library is not glibc, where another allocator is preloaded, where the user set glibc's own
    ``MALLOC_*`` variables or ``GLIBC_TUNABLES``, or where ``KERAS_FACEGEN_ALLOCATOR=default``
    (unless ``force``). ``KERAS_FACEGEN_ALLOCATOR=arenas`` applies every setting but
    ``M_ARENA_MAX`` (glibc's per-thread heaps stay).

    Args:
        force: Apply every setting of :data:`MALLOC_SETTINGS` even where a setting of the user's
            would win.

    Returns:
        Whether glibc accepted every setting it was given.
    """
    mode = "tuned" if force else _mode()
    if not force:
        if mode == "default":
            return False
        if _other_allocator() or any(v in os.environ for v in _GLIBC_VARIABLES):
            return False
    libc = _glibc()
    if libc is None:
        _state["value"] = "unavailable"
        return False
    settings = {
        name: value
        for name, value in MALLOC_SETTINGS.items()
        if not (mode == "arenas" and name == "M_ARENA_MAX")
    }
    accepted = all(libc.mallopt(_PARAMETERS[name], value) == 1 for name, value in settings.items())
    if accepted:
        _state["value"] = mode
    return accepted


def allocator_state() -> str:
    """What :func:`tune_allocator` did in this process.

    Returns:
        ``"tuned"`` (the settings are in effect), ``"arenas"`` (in effect but for
        ``M_ARENA_MAX``: ``KERAS_FACEGEN_ALLOCATOR=arenas``), ``"default"`` (left alone:
        switched off, or a user setting wins) or ``"unavailable"`` (the C library is not glibc).
    """
    return _state["value"]
