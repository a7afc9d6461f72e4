"""``keras-facegen train`` across several processes: the options, joining the job, local workers.

The work itself is :mod:`keras_facegen.distributed`'s (Keras' own engines); this module only maps
the command line onto it and, for ``--local-processes N``, starts ``N`` copies of the same
command on 127.0.0.1 and waits for them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

from keras_facegen.cli._args import CommandError, positive_int, seed_int
from keras_facegen.cli._quiet import selected_backend

#: The options that join a job (``--local-processes`` sets them for each worker itself).
JOB_OPTIONS = ("--num-processes", "--process-id", "--coordinator")

#: Why PyTorch refuses several processes (what ``keras_facegen.distributed.initialize`` raises
#: there, said here without importing the backend: the command checks it before any import).
TORCH_REFUSAL = (
    "training across several processes is not available on the PyTorch backend (Keras' torch "
    "trainer has no multi-process support); use KERAS_BACKEND=jax or KERAS_BACKEND=tensorflow, "
    "or train in one process"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the several-processes options to ``train``.

    Args:
        parser: The ``train`` parser.
    """
    group = parser.add_argument_group(
        "several processes",
        "Train across processes and machines (JAX or TensorFlow; see the 'Several machines' "
        "guide). Without these options the KERAS_DISTRIBUTION_* variables or a SLURM step are "
        "used if set. --batch-size is the global batch; process 0 writes the run folder.",
    )
    group.add_argument(
        "--num-processes", type=positive_int, default=None, metavar="N", help="processes in the job"
    )
    group.add_argument(
        "--process-id", type=seed_int, default=None, metavar="I", help="this process's index"
    )
    group.add_argument(
        "--coordinator",
        default=None,
        metavar="HOST:PORT",
        help="process 0's address (TensorFlow: one per process, comma-separated, or one host "
        "whose next ports the other workers use)",
    )
    group.add_argument(
        "--heartbeat-timeout",
        type=positive_int,
        default=60,
        metavar="SECONDS",
        help="a process silent this long counts as dead; the others then stop with an error",
    )
    group.add_argument(
        "--local-processes",
        type=positive_int,
        default=None,
        metavar="N",
        help="start N workers of this command on this machine (127.0.0.1) and wait for them",
    )


def check(args: argparse.Namespace) -> None:
    """Refuses option combinations that cannot run, before Keras and its backend are imported.

    ``--local-processes`` with a job option (it sets those for each worker itself), and several
    processes on PyTorch: both are answered at once instead of after the framework's start-up
    (seconds). A job described only by the environment is refused on PyTorch when it is joined.

    Args:
        args: The parsed ``train`` options (with ``_given``, the options on the command line).

    Raises:
        CommandError: For a combination that cannot run.
    """
    several = [
        (flag, value)
        for flag, value in (
            ("--local-processes", args.local_processes),
            ("--num-processes", args.num_processes),
        )
        if value is not None and value > 1
    ]
    if args.local_processes is not None and args.local_processes > 1:
        given = [flag for flag in JOB_OPTIONS if flag.lstrip("-").replace("-", "_") in args._given]
        if given:
            raise CommandError(f"--local-processes starts its own workers; drop {', '.join(given)}")
    if several and selected_backend() == "torch":
        raise CommandError(f"{several[0][0]} {several[0][1]}: {TORCH_REFUSAL}")


def join(args: argparse.Namespace) -> bool:
    """Joins the job the options (or the environment) describe; nothing for one process.

    Args:
        args: The parsed ``train`` options.

    Returns:
        Whether several processes were joined.
    """
    from keras_facegen import distributed

    return distributed.initialize(
        args.coordinator,
        args.num_processes,
        args.process_id,
        heartbeat_timeout=args.heartbeat_timeout,
        seed=args.seed,
    )


def _free_ports(count: int) -> int:
    """A port ``p`` with ``p .. p + count - 1`` free on 127.0.0.1 (TensorFlow: one per worker)."""
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port + count > 65535:
            continue
        try:
            for offset in range(1, count):
                with socket.socket() as other:
                    other.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        return port
    raise CommandError(f"--local-processes: found no {count} free ports on 127.0.0.1")


def _without_local(argv: list[str]) -> list[str]:
    kept: list[str] = []
    skip = False
    for item in argv:
        if skip:
            skip = False
            continue
        if item == "--local-processes":
            skip = True
            continue
        if item.startswith("--local-processes="):
            continue
        kept.append(item)
    return kept


def _last_line(path: str) -> str:
    with open(path, errors="replace") as handle:
        lines = [line.strip() for line in handle if line.strip()]
    return lines[-1] if lines else "(no output)"


def launch_local(args: argparse.Namespace) -> None:
    """Runs the same ``train`` command in ``--local-processes`` workers on 127.0.0.1.

    Worker 0's output is shown (progress, the final line); the others are quiet unless one
    fails, then its last line is the error. All workers are stopped if one fails. The launcher
    itself needs no framework: the command runs it before importing Keras, after :func:`check`.

    Args:
        args: The parsed ``train`` options (with ``_argv``, the command line), checked.

    Raises:
        CommandError: If a worker fails.
    """
    count = int(args.local_processes)
    port = _free_ports(count)
    base = _without_local(list(args._argv))
    code = "import sys; from keras_facegen.cli import main; sys.exit(main())"
    workers: list[tuple[subprocess.Popen[Any], str | None]] = []
    logs = tempfile.mkdtemp(prefix="keras-facegen-workers-")
    try:
        for index in range(count):
            command = [
                sys.executable,
                "-c",
                code,
                *base,
                "--num-processes",
                str(count),
                "--process-id",
                str(index),
                "--coordinator",
                f"127.0.0.1:{port}",
            ]
            if index == 0:
                workers.append((subprocess.Popen(command), None))
                continue
            log = os.path.join(logs, f"worker_{index}.log")
            with open(log, "w") as handle:
                process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=handle)
            workers.append((process, log))
        while True:
            codes = [process.poll() for process, _ in workers]
            failed = [i for i, code in enumerate(codes) if code not in (None, 0)]
            if failed:
                index = failed[0]
                failed_log = workers[index][1]
                detail = _last_line(failed_log) if failed_log else "see its output above"
                raise CommandError(
                    f"--local-processes: worker {index} of {count} failed "
                    f"(exit {codes[index]}): {detail}"
                )
            if all(code == 0 for code in codes):
                return
            time.sleep(0.2)
    finally:
        for process, _ in workers:
            if process.poll() is None:
                process.terminate()
        for process, _ in workers:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(logs, ignore_errors=True)
