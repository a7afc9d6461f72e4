"""CPU thread settings per backend (``keras_facegen.backend.configure_threads``)."""

import json
import os
import subprocess
import sys

import pytest
from helpers import REPO_ROOT

PROBE = """
import json
from keras_facegen import backend
from keras_facegen.backend.cpu import physical_cores
returned = backend.configure_threads()
print(json.dumps({"returned": returned, "settings": backend.thread_settings(),
                  "cores": physical_cores()}))
"""


def _probe(backend, **env):
    """configure_threads() in a fresh process (TensorFlow takes thread counts only at start).

    The process runs as on an install of its backend alone: the other of TensorFlow and JAX
    cannot be imported (Keras imports both when it can; seconds of each probe's start-up).
    """
    hidden = sorted({"tensorflow", "jax"} - {backend})
    code = f"import sys\nfor name in {hidden!r}:\n    sys.modules[name] = None\n{PROBE}"
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TF_NUM_", "OMP_NUM_", "MKL_NUM_", "TORCH_NUM_"))
    }
    environment.update(KERAS_BACKEND=backend, PYTHONPATH=str(REPO_ROOT), **env)
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.multibackend
def test_tensorflow_gets_one_intra_op_thread_per_core_and_one_inter_op_thread():
    result = _probe("tensorflow")
    expected = min(result["cores"], 4)
    assert result["returned"] == expected
    assert result["settings"] == {"intra_op": expected, "inter_op": 1}


@pytest.mark.multibackend
def test_tensorflow_keeps_the_users_thread_counts():
    result = _probe("tensorflow", TF_NUM_INTEROP_THREADS="3")
    assert result["returned"] is None
    assert result["settings"] == {"intra_op": 0, "inter_op": 0}  # TensorFlow's own defaults


@pytest.mark.multibackend
def test_jax_keeps_xlas_pool_and_reports_it():
    result = _probe("jax", XLA_FLAGS="--xla_cpu_use_thunk_runtime=true")
    assert result["returned"] is None
    assert result["settings"]["physical_cores"] == result["cores"]
    assert result["settings"]["xla_flags"] == "--xla_cpu_use_thunk_runtime=true"


def test_a_thread_count_that_is_not_a_positive_integer_is_refused():
    from keras_facegen import backend

    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match=r"num_threads must be a positive integer"):
            backend.configure_threads(bad)
