"""Shared pytest set-up: quiet TensorFlow, fixed seeds, the active backend in the header."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# XLA (JAX) compiles the tests' programs at LLVM optimisation level 0: a test checks what is
# computed (the same HLO, the same float semantics), not how fast the machine code runs, and the
# JAX suite spends most of its time compiling many small programs. Level 0 cut the two slowest JAX
# tests from 154 s to 103 s. Set before the first import of JAX; subprocesses inherit it
# (``helpers.TEST_XLA_FLAGS`` for those that set flags of their own).
_TEST_XLA_FLAGS = "--xla_backend_optimization_level=0"
if _TEST_XLA_FLAGS not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{_TEST_XLA_FLAGS} {os.environ.get('XLA_FLAGS', '')}".strip()

# Under pytest-xdist, each worker gets its share of the cores for OpenMP (PyTorch's CPU threads):
# with a thread per core in every worker, the workers' threads wait for cores the other workers
# hold, and the PyTorch pass on 2 cores with 2 workers took 1.7x as long (148 s, not 86 s; the
# TensorFlow and JAX passes were not slower, they do not use OpenMP). A value the user set wins;
# subprocesses inherit it (tests/test_threads.py removes it to probe the defaults).
_XDIST_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _XDIST_WORKERS > 1:
    _CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (_CORES or 1) // _XDIST_WORKERS)))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


def pytest_report_header(config):
    return f"keras {keras.__version__}, backend: {keras.backend.backend()}"


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Each test starts with float32 policy, a clean session and seeded global RNGs."""
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(1234)
    np.random.seed(1234)
    yield
    keras.config.set_dtype_policy("float32")
    # free_memory=False: a gc.collect() per test costs seconds with TensorFlow loaded.
    keras.backend.clear_session(free_memory=False)
