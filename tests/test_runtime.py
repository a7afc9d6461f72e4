"""``keras_facegen.runtime``: glibc keeps freed memory once ``keras_facegen`` is imported.

Each case runs in a fresh interpreter (the allocator is process-wide): it imports the package,
then maps 64 MiB with ``malloc``, touches every page, frees it and does it again, counting the
minor page faults of the second round. glibc's defaults serve 64 MiB with ``mmap`` and unmap it
on ``free``, so the second round faults every page in again (~16,000 faults of 4 KiB); with the
library's settings the second round reuses the heap's pages (next to no faults).

The thread cases do the same with 96 MiB from a thread that is not the main one, as XLA's and
TensorFlow's executors do: glibc gives such a thread a heap of its own capped at 64 MiB, so a
larger request is mapped and unmapped on every call whatever the thresholds say, unless every
thread shares the main heap (``M_ARENA_MAX = 1``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from helpers import REPO_ROOT

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="glibc's malloc (Linux) only"
)

PROBE = r"""
import ctypes, json, resource
import keras_facegen
from keras_facegen import runtime
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
size = 64 << 20
def touch_round():
    pointer = libc.malloc(size)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    ctypes.memset(pointer, 1, size)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    libc.free(pointer)
    return faults
import sys, threading
result = {}
def rounds():
    touch_round()
    result["faults"] = touch_round()
if sys.argv[1:] == ["thread"]:
    size = 96 << 20
    worker = threading.Thread(target=rounds)
    worker.start()
    worker.join()
else:
    rounds()
print(json.dumps({"state": runtime.allocator_state(), **result}))
"""

PAGES = (64 << 20) // 4096
THREAD_PAGES = (96 << 20) // 4096


def probe(*args: str, **env: str) -> dict:
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MALLOC_") and k not in ("GLIBC_TUNABLES", "KERAS_FACEGEN_ALLOCATOR")
    }
    environment.update(env, PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_keeps_freed_memory_for_the_next_step():
    result = probe()
    assert result["state"] == "tuned"
    assert result["faults"] < PAGES // 10, result


def test_switched_off_glibc_unmaps_and_faults_every_page_again():
    result = probe(KERAS_FACEGEN_ALLOCATOR="default")
    assert result["state"] == "default"
    assert result["faults"] > PAGES // 2, result


def test_a_users_glibc_setting_wins():
    # The user's own (default-like) mmap threshold: the library leaves the allocator alone.
    result = probe(MALLOC_MMAP_THRESHOLD_="131072")
    assert result["state"] == "default"
    assert result["faults"] > PAGES // 2, result


def test_a_threads_request_above_64_mib_reuses_the_main_heap():
    result = probe("thread")
    assert result["state"] == "tuned"
    assert result["faults"] < THREAD_PAGES // 10, result


def test_with_per_thread_heaps_a_threads_large_request_faults_every_page_again():
    # KERAS_FACEGEN_ALLOCATOR=arenas: the thresholds are tuned, the thread's own heap is capped.
    result = probe("thread", KERAS_FACEGEN_ALLOCATOR="arenas")
    assert result["state"] == "arenas"
    assert result["faults"] > THREAD_PAGES // 2, result
    assert probe(KERAS_FACEGEN_ALLOCATOR="arenas")["faults"] < PAGES // 10


def test_an_unknown_setting_warns_and_tunes():
    environment = {**os.environ, "KERAS_FACEGEN_ALLOCATOR": "fast", "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [
            sys.executable,
            "-W",
            "always",
            "-c",
            "import keras_facegen.runtime as r; print(r.allocator_state())",
        ],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "tuned"
    assert "KERAS_FACEGEN_ALLOCATOR='fast' is not one of tuned, arenas, default" in done.stderr
