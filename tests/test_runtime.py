"""``keras_facegen.runtime``: glibc keeps freed memory once ``keras_facegen`` is imported.

Each case runs in a fresh interpreter (the allocator is process-wide): it imports the package,
then maps 64 MiB with ``malloc``, touches every page, frees it and does it again, counting the
minor page faults of the second round. glibc's defaults serve 64 MiB with ``mmap`` and unmap it
on ``free``, so the second round faults every page in again (~16,000 faults of 4 KiB); with the
library's settings the second round reuses the heap's pages (next to no faults).
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
touch_round()
print(json.dumps({"state": runtime.allocator_state(), "faults": touch_round()}))
"""

PAGES = (64 << 20) // 4096


def probe(**env: str) -> dict:
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MALLOC_") and k not in ("GLIBC_TUNABLES", "KERAS_FACEGEN_ALLOCATOR")
    }
    environment.update(env, PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True, check=True
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
