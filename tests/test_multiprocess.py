"""Training across two real processes on 127.0.0.1, on JAX and on TensorFlow.

Each test starts ``tests/multiprocess_worker.py`` in fresh interpreters on a named backend (so
they run once per CI, in the TensorFlow pass, like the other ``multibackend`` tests) and checks:

- both processes end with identical weights (bit for bit: every process applies the same
  all-reduced update);
- those weights equal a one-process run on the same global batches, to ``atol=1e-5`` (see
  ``TOLERANCE``);
- only process 0 wrote into the run folders (an audit hook in each worker records every file it
  opened for writing there);
- a two-process run interrupted after 2 steps resumes to the weights of the uninterrupted run;
- adaptive augmentation (ADA) keeps one strength ``p`` on both processes, that of one process,
  and augments the global batch as one process does (same weights);
- a killed worker ends the other one with an error within 60 seconds.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO_ROOT, TEST_XLA_FLAGS

pytestmark = [pytest.mark.multibackend, pytest.mark.slow]

WORKER = REPO_ROOT / "tests" / "multiprocess_worker.py"
ENGINES = ("jax", "tensorflow")
# The one-process run sums each batch's gradient in one reduction, the two-process run sums two
# half-batch sums: the same numbers added in another order, so float32 rounding differs (seen:
# at most 2e-8 after 4 steps). Adam moves a weight by up to its learning rate (2e-4 for the GAN,
# 1e-3 for the progressive GAN) per step, so a wrong batch (data not sharded: the same half
# twice) moves weights by ~1e-4 or more; 1e-5 tells the two apart with room on both sides.
TOLERANCE = {"atol": 1e-5, "rtol": 0.0}
# What the surviving process says when its peer died (JAX's coordination service, TF's collectives).
ERROR_WORDS = ("another task died", "heartbeat", "DeadlineExceeded", "UNAVAILABLE", "Unavailable")


def free_port(span: int = 2) -> int:
    """A port ``p`` such that ``p`` .. ``p + span - 1`` are free on 127.0.0.1 (TF: one each)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port + span > 65535:
            continue
        try:
            for offset in range(span):
                with socket.socket() as other:
                    other.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port range on 127.0.0.1")


def start(backend: str, mode: str, num: int, index: int, port: int, folder: Path):
    env = dict(os.environ)
    env.update(
        KERAS_BACKEND=backend,
        TF_CPP_MIN_LOG_LEVEL="2",
        PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "tests")]),
        XLA_FLAGS=TEST_XLA_FLAGS,
        PYTHONUNBUFFERED="1",
    )
    log = open(folder / f"{mode}_{num}_{index}.log", "w")  # noqa: SIM115 (closed by finish)
    process = subprocess.Popen(
        [sys.executable, str(WORKER), mode, str(num), str(index), str(port), str(folder)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=folder,
    )
    process.log = log  # type: ignore[attr-defined]
    process.log_path = Path(log.name)  # type: ignore[attr-defined]
    return process


def finish(processes: list, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    try:
        for process in processes:
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.log.close()
    for process in processes:
        if process.returncode != 0:
            raise AssertionError(
                f"worker exited {process.returncode}:\n{_tail(process.log_path.read_text())}"
            )


def _tail(text: str, lines: int = 40) -> str:
    kept = [line for line in text.splitlines() if not line.startswith(("I0000", "W0000"))]
    return "\n".join(kept[-lines:])


@pytest.mark.parametrize("backend", ENGINES)
def test_two_processes_train_like_one_and_only_process_0_writes(tmp_path, backend):
    port = free_port()
    processes = [start(backend, "train", 1, 0, 0, tmp_path)]
    processes += [start(backend, "train", 2, i, port, tmp_path) for i in range(2)]
    finish(processes, timeout=1500)

    alone = dict(np.load(tmp_path / "weights_1_0.npz"))
    first = dict(np.load(tmp_path / "weights_2_0.npz"))
    second = dict(np.load(tmp_path / "weights_2_1.npz"))
    assert set(first) == set(second)
    assert set(alone) == {k for k in first if not k.startswith("interrupted_")}
    # Bit for bit the same in both processes: after the interruption (2 steps), after the
    # resumed run (4 steps), the progressive run, ADA's p and the counters.
    for key in first:
        np.testing.assert_array_equal(first[key], second[key], err_msg=f"{key}: processes differ")
    # Interrupted after 2 steps and resumed (from a GAN with other weights) to 4, on two
    # processes: the weights of the uninterrupted one-process run, EMA and ADA state included.
    for key in alone:
        np.testing.assert_allclose(first[key], alone[key], **TOLERANCE, err_msg=key)
    # Training moved the weights well beyond the tolerance (the comparison is not vacuous):
    # 4 Adam steps at 2e-4 must move the largest weight by more than 50 x the tolerance.
    floats = [k for k in first if k[:5] == "init_" and first[k].dtype.kind == "f"]
    moved = max(np.abs(alone[k] - alone["gan" + k[4:]]).max() for k in floats)
    assert moved > 50 * TOLERANCE["atol"]
    np.testing.assert_array_equal(first["gan_counters"], [4, 32])
    np.testing.assert_array_equal(first["pggan_counters"], alone["pggan_counters"])
    # The progressive run crossed the fade to 8x8: 16 + 16 + 16 images (three phases).
    assert first["pggan_counters"][1] == 48
    # ADA: p moved (0.5 is where it started; each step moves it by 8 / 64) to the one-process
    # value on both processes (r_t over the global batch; the loops above cover the weights,
    # which depend on p and on the augmentation's draws).
    assert float(alone["ada_p"]) != 0.5
    assert float(first["ada_p"]) == float(second["ada_p"]) == float(alone["ada_p"])

    # One writer: process 1 opened nothing for writing in the run folders; process 0 wrote the
    # same files a one-process run writes.
    writes_0 = json.loads((tmp_path / "writes_2_0.json").read_text())
    writes_1 = json.loads((tmp_path / "writes_2_1.json").read_text())
    assert writes_1 == []
    assert any(w.endswith("generator.keras") for w in writes_0)
    for run in ("gan", "pggan"):
        two = sorted(
            p.relative_to(tmp_path / "runs_2") for p in (tmp_path / "runs_2" / run).rglob("*")
        )
        one = sorted(
            p.relative_to(tmp_path / "runs_1") for p in (tmp_path / "runs_1" / run).rglob("*")
        )
        assert two == one
    info = json.loads((tmp_path / "runs_2" / "gan" / "facegen.json").read_text())
    assert (info["processes"], info["global_batch_size"], info["steps"]) == (2, 8, 4)
    info = json.loads((tmp_path / "runs_1" / "gan" / "facegen.json").read_text())
    assert (info["processes"], info["global_batch_size"]) == (1, 8)


def _trained_a_step(process) -> bool:
    return any(line.endswith("] step 0") for line in process.log_path.read_text().splitlines())


@pytest.mark.parametrize("backend", ENGINES)
def test_a_killed_worker_ends_the_other_with_an_error_within_60_s(tmp_path, backend):
    port = free_port()
    processes = [start(backend, "kill", 2, i, port, tmp_path) for i in range(2)]
    try:
        # Killed as soon as both processes trained a step: the survivor is in its training
        # loop, waiting for the dead one in the next step's all-reduce.
        deadline = time.monotonic() + 600
        while not all(_trained_a_step(p) for p in processes):
            if any(p.poll() is not None for p in processes):
                raise AssertionError(_tail(processes[0].log_path.read_text()))
            if time.monotonic() > deadline:
                raise AssertionError("the workers did not start training within 600 s")
            time.sleep(0.2)
        processes[1].send_signal(signal.SIGKILL)
        killed = time.monotonic()
        processes[0].wait(timeout=60)
        elapsed = time.monotonic() - killed
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.log.close()
    output = processes[0].log_path.read_text()
    assert processes[0].returncode != 0, _tail(output)
    assert elapsed < 60
    assert any(word in output for word in ERROR_WORDS), _tail(output)
