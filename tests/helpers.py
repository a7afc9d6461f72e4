"""Test helpers shared across the suite (importable as ``helpers``)."""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("tensorflow", "jax", "torch")
#: The XLA flags conftest.py gave this test process, for subprocesses that set flags of their own.
TEST_XLA_FLAGS = os.environ.get("XLA_FLAGS", "")


class _NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] == "tensorflow":
            raise ModuleNotFoundError(f"No module named {name!r} (hidden by the test)")


def hide_tensorflow() -> None:
    """Makes TensorFlow unimportable in this process, as on an install without it.

    For JAX and PyTorch subprocesses: TensorFlow is installed for the TensorFlow pass, and Keras
    imports all of it when it can (about 8 s of CPU) only to look at its types when serializing
    an optimizer (``compile``) and to seed it (``keras.utils.set_random_seed``). Call it before
    anything imports TensorFlow; nothing it already imported is unloaded.
    """
    if not any(isinstance(finder, _NoTensorFlow) for finder in sys.meta_path):
        sys.meta_path.insert(0, _NoTensorFlow())


def jax_only_env(folder: str | os.PathLike, env: dict[str, str] | None = None) -> dict[str, str]:
    """An environment for a subprocess that runs Keras on JAX as on an install without TensorFlow.

    For a command the test cannot prepend :func:`hide_tensorflow` to (``python -m ...``, and
    the processes that command starts): a ``sitecustomize.py`` written into ``folder`` (put
    first on ``PYTHONPATH``) makes ``import tensorflow`` fail, which Keras reads as "not
    installed" (about 8 s of CPU saved per process on 2 shared cores).

    Args:
        folder: Where to write ``sitecustomize.py`` (a test's ``tmp_path`` or a folder in it).
        env: The environment to start from (this process's by default).

    Returns:
        The environment, with ``KERAS_BACKEND=jax`` and the folder first on ``PYTHONPATH``.
    """
    site = Path(folder) / "jax-only-site"
    site.mkdir(parents=True, exist_ok=True)
    (site / "sitecustomize.py").write_text("import sys\nsys.modules['tensorflow'] = None\n")
    child_env = dict(os.environ if env is None else env, KERAS_BACKEND="jax")
    paths = [str(site), child_env.get("PYTHONPATH", "")]
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return child_env


def load_benchmark(name: str):
    """Imports ``benchmarks/<name>.py`` as a module, as the script sees itself when run.

    ``benchmarks/`` goes on ``sys.path`` first: the scripts import ``_common`` from there.
    """
    folder = str(REPO_ROOT / "benchmarks")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", f"{folder}/{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def backend() -> str:
    """The Keras backend this test process runs on."""
    return keras.backend.backend()


def run_python(
    code: str,
    *,
    backend: str | None = None,
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike | None = None,
    timeout: float = 600,
    without_tensorflow: bool = False,
) -> subprocess.CompletedProcess:
    """Runs Python source in a fresh interpreter (optionally on another Keras backend).

    The child inherits this environment with ``KERAS_BACKEND`` overridden; a non-zero exit raises
    ``AssertionError`` carrying the child's output, so failures read well in pytest.
    ``without_tensorflow`` runs the source after :func:`hide_tensorflow` (JAX or PyTorch code
    that does not need TensorFlow starts seconds faster).
    """
    if without_tensorflow:
        code = f"import helpers; helpers.hide_tensorflow()\n{textwrap.dedent(code)}"
    child_env = dict(os.environ)
    child_env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    child_env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), str(REPO_ROOT / "tests"), child_env.get("PYTHONPATH", "")]
    )
    if backend is not None:
        child_env["KERAS_BACKEND"] = backend
    if env:
        child_env.update(env)
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=child_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"child python (backend={backend}) exited {result.returncode}\n"
            f"--- stdout ---\n{result.stdout[-5000:]}\n--- stderr ---\n{result.stderr[-8000:]}"
        )
    return result


def to_numpy(x) -> np.ndarray:
    """Any backend tensor (or array-like) as a NumPy array."""
    return np.asarray(keras.ops.convert_to_numpy(x))
