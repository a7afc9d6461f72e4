"""``keras-facegen train`` across processes: the options, --local-processes, PyTorch's refusal."""

import json
import os
import subprocess
import sys

import pytest
from helpers import REPO_ROOT, jax_only_env

from keras_facegen import cli


# Tests marked backend_independent run in the TensorFlow pass only: option checking before any
# worker starts.
def _cli(backend, *argv, timeout=900, env=None):
    env = dict(env or os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "keras_facegen.cli", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.backend_independent
@pytest.mark.parametrize("flag", [["--process-id", "0"], ["--coordinator", "127.0.0.1:1"]])
def test_local_processes_refuses_job_options(tmp_path, capsys, flag):
    argv = ["train", "--steps", "1", "--out", str(tmp_path / "run"), "--local-processes", "2"]
    assert cli.main([*argv, *flag]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"keras-facegen: error: --local-processes starts its own workers; drop {flag[0]}"
    assert not (tmp_path / "run").exists()


# The command in a fresh interpreter, reporting which frameworks it imported.
_REPORT_IMPORTS = (
    "import sys; from keras_facegen.cli import main; code = main(sys.argv[1:]); "
    "frameworks = sorted({'keras', 'tensorflow', 'jax', 'torch'} & set(sys.modules)); "
    "print('imported:', frameworks, file=sys.stderr); sys.exit(code)"
)


@pytest.mark.multibackend
@pytest.mark.parametrize(
    "extra", [["--local-processes", "2"], ["--num-processes", "2", "--process-id", "1"]]
)
def test_torch_refuses_several_processes_in_one_line(tmp_path, extra):
    env = dict(os.environ, KERAS_BACKEND="torch", TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")])
    argv = ["train", "--steps", "1", "--out", str(tmp_path / "run"), *extra]
    result = subprocess.run(
        [sys.executable, "-c", _REPORT_IMPORTS, *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("keras-facegen")]
    assert len(lines) == 1 and "not available on the PyTorch backend" in lines[0], result.stderr
    assert f"{extra[0]} 2: " in lines[0]
    # Refused before the framework loads (at once, not after seconds of importing it).
    assert "imported: []" in result.stderr.splitlines(), result.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.multibackend
@pytest.mark.slow
def test_local_processes_train_two_jax_workers_with_one_writer(tmp_path):
    # The command and its workers run as on a JAX-only install (helpers.jax_only_env): Keras
    # would otherwise import TensorFlow in all three processes.
    out = tmp_path / "run"
    result = _cli(
        "jax", "train", "--preset", "face64_small", "--resolution", "32", "--steps", "2",
        "--batch-size", "4", "--num-images", "16", "--checkpoint-every", "2", "--quiet",
        "--out", str(out), "--local-processes", "2", env=jax_only_env(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    # Worker 0 alone reports (worker 1's output is kept back unless it fails).
    assert result.stdout.count("trained 2 steps") == 1
    info = json.loads((out / "facegen.json").read_text())
    assert (info["processes"], info["global_batch_size"], info["steps"]) == (2, 4, 2)
    assert (out / "generator.keras").is_file() and (out / "checkpoint" / "checkpoint.npz").is_file()
