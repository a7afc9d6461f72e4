"""Quiet start-up: framework logs and warnings hidden unless ``--verbose``, threads set up."""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO

#: Modules whose Python warnings and log records are hidden unless ``--verbose``.
NOISY_MODULES = ("tensorflow", "tensorflow_hub", "keras", "jax", "jaxlib", "absl", "torch")


@contextlib.contextmanager
def _stderr_to_file() -> Iterator[IO[bytes]]:
    """Sends the process's file descriptor 2 (C++ logging too) to a temporary file."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield capture
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def import_quietly(*modules: str, verbose: bool = False) -> None:
    """Imports modules with their start-up chatter hidden (shown again if an import fails).

    TensorFlow writes its oneDNN and CUDA-probe lines before its logging is configured, so
    ``TF_CPP_MIN_LOG_LEVEL`` cannot hide them; the import runs with file descriptor 2
    redirected instead.

    Args:
        *modules: Module names, e.g. ``"keras"`` (which imports the Keras backend).
        verbose: Import normally, chatter included.

    Raises:
        ImportError: As the import does; the hidden output is printed first.
    """
    if verbose:
        for module in modules:
            importlib.import_module(module)
        return
    with _stderr_to_file() as capture:
        try:
            for module in modules:
                importlib.import_module(module)
        except BaseException:
            failed = True
        else:
            failed = False
    if failed:
        capture_text = ""
        with contextlib.suppress(OSError, ValueError):
            capture.seek(0)
            capture_text = capture.read().decode(errors="replace")
        sys.stderr.write(capture_text)
        for module in modules:
            importlib.import_module(module)


def quiet_environment(verbose: bool) -> None:
    """Environment settings read by TensorFlow/JAX at import time (user settings win)."""
    if not verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("GRPC_VERBOSITY", "ERROR")


def selected_backend() -> str:
    """The Keras backend a fresh ``import keras`` will pick, read without importing Keras.

    Returns:
        ``$KERAS_BACKEND``, else the ``backend`` of ``$KERAS_HOME/keras.json`` (default
        ``~/.keras``), else ``"tensorflow"``.
    """
    if "keras" in sys.modules:
        return str(sys.modules["keras"].backend.backend())
    name = os.environ.get("KERAS_BACKEND")
    if name:
        return name
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    try:
        return str(json.loads((home / "keras.json").read_text()).get("backend", "tensorflow"))
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def thread_environment() -> None:
    """Before PyTorch loads OpenMP: idle OpenMP threads sleep instead of spinning.

    Spinning threads compete with the threads doing work whenever other jobs share the CPU
    (33 s instead of 0.37 s per step measured on a loaded 2-core machine, docs/training.md).
    ``OMP_WAIT_POLICY`` set by the user wins.
    """
    if selected_backend() == "torch" and "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@contextlib.contextmanager
def quiet(verbose: bool) -> Iterator[None]:
    """Hides framework warnings and log records (not keras-facegen's own) unless verbose."""
    if verbose:
        yield
        return
    loggers = [logging.getLogger(name) for name in NOISY_MODULES]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        for module in NOISY_MODULES:
            warnings.filterwarnings("ignore", module=rf"{module}(\.|$)")
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)


def configure_backend_threads(verbose: bool = False) -> None:
    """Sets the backend's CPU threads (keras is imported by now): ``backend.configure_threads``.

    On TensorFlow this can start the runtime, whose platform probes (CUDA on a machine without a
    GPU) log to file descriptor 2 before TensorFlow's logging is set up; like
    :func:`import_quietly`, the call runs with that output hidden unless ``verbose`` (and shown
    if it fails).

    Args:
        verbose: Let the framework's start-up output through.
    """
    from keras_facegen.backend import configure_threads

    if verbose:
        configure_threads()
        return
    error: BaseException | None = None
    with _stderr_to_file() as capture:
        try:
            configure_threads()
        except BaseException as caught:  # shown with the hidden output, after fd 2 is back
            error = caught
        if error is not None:
            capture.seek(0)
            hidden = capture.read().decode(errors="replace")
    if error is not None:
        sys.stderr.write(hidden)
        raise error
