"""Scaling across processes: images/s of 2 processes x 1 thread against 1 process x 1 thread.

Per backend (JAX: ``jax.distributed`` + ``keras.distribution.DataParallel``; TensorFlow:
``MultiWorkerMirroredStrategy``), every configuration trains the same GAN on the same global
batch in fresh processes on 127.0.0.1, each process limited to one compute thread; process 0
reports the images/s of the timed steps (after warm-up steps that compile). Scaling efficiency is
``images/s (2 processes) / (2 x images/s (1 process))``: 1.0 would be perfect scaling. PyTorch is
listed as not supported (Keras' torch trainer has no multi-process support).

On a CPU machine the processes share the cores with everything else: the load average before and
after each backend is printed with the table; quote it with any figure.

Usage::

    python benchmarks/multiprocess.py [--backends jax,tensorflow] [--steps 30] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

WORKER = r"""
import json, os, sys, time
num, index, port, steps, batch, resolution, preset = sys.argv[1:8]
num, index, steps, batch, resolution = int(num), int(index), int(steps), int(batch), int(resolution)
for name in {"tensorflow", "jax"} - {os.environ["KERAS_BACKEND"]}:
    sys.modules.setdefault(name, None)  # as _common.block_other_frameworks: seconds of start-up
from keras_facegen import distributed
if num > 1:
    distributed.initialize(f"127.0.0.1:{port}", num, index, heartbeat_timeout=120)
import keras
from keras_facegen.data import ShuffledBatches, synthetic_faces
from keras_facegen.models import gan_from_preset
keras.utils.set_random_seed(0)
if preset == "tiny":
    sys.path.insert(0, "tests")
    import gan_fixtures as F
    from keras_facegen.models import GAN
    gan = GAN(F.tiny_generator(size=resolution), F.tiny_discriminator(size=resolution), seed=0)
    gan.compile()
else:
    gan = gan_from_preset(preset, resolution=resolution, seed=0)
images, _ = synthetic_faces(max(4 * batch, 64), resolution=resolution, seed=0)
warmup = 3
gan.fit(ShuffledBatches(images, batch, seed=0), steps_per_epoch=warmup, epochs=1, verbose=0,
        shuffle=False)
distributed.barrier("timed steps")
start = time.perf_counter()
gan.fit(ShuffledBatches(images, batch, seed=0, start=warmup), steps_per_epoch=steps, epochs=1,
        verbose=0, shuffle=False)
seconds = time.perf_counter() - start
if distributed.is_writer():
    print("RESULT " + json.dumps({"images_per_s": steps * batch / seconds, "seconds": seconds}))
"""

ONE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="jax,tensorflow,torch")
    parser.add_argument("--preset", default="face64_small")
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32, help="the global batch")
    parser.add_argument("--steps", type=int, default=30, help="timed steps")
    parser.add_argument("--quick", action="store_true", help="tiny GAN, 3 steps (smoke test)")
    args = parser.parse_args(argv)
    if args.quick:
        args.preset, args.resolution, args.batch_size, args.steps = "tiny", 16, 8, 3
    return args


def _free_port() -> int:
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        try:
            with socket.socket() as other:
                other.bind(("127.0.0.1", port + 1))  # TensorFlow: one port per worker
        except OSError:
            continue
        return port
    raise RuntimeError("no free pair of ports on 127.0.0.1")


def run(backend: str, num: int, args: argparse.Namespace) -> dict:
    """Starts ``num`` processes on ``backend``; returns process 0's measurement."""
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2", **ONE_THREAD)
    # The caller's XLA flags (the test suite's optimisation level, say) go first: flags after
    # ONE_THREAD's bare `intra_op_parallelism_threads=1` were seen to have no effect.
    env["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {ONE_THREAD['XLA_FLAGS']}".strip()
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    port = _free_port()
    settings = [str(args.steps), str(args.batch_size), str(args.resolution), args.preset]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(num), str(i), str(port), *settings],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(num)
    ]
    outputs = [p.communicate(timeout=1800) for p in processes]
    for process, (_, err) in zip(processes, outputs):
        if process.returncode:
            raise RuntimeError(f"{backend} x{num} failed ({process.returncode}):\n{err[-3000:]}")
    line = [x for x in outputs[0][0].splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


def table(results: list[dict]) -> str:
    """A Markdown table of the results."""
    lines = [
        "| backend | 1 process (img/s) | 2 processes (img/s) | scaling efficiency | load avg |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        if "skipped" in r:
            lines.append(f"| {r['backend']} | - | - | {r['skipped']} | - |")
            continue
        efficiency = r["two"] / (2 * r["one"])
        lines.append(
            f"| {r['backend']} | {r['one']:.1f} | {r['two']:.1f} | {efficiency:.2f} | "
            f"{r['load_before']:.1f} -> {r['load_after']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    results = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        if backend == "torch":
            results.append({"backend": "torch", "skipped": "not supported (Keras' torch trainer)"})
            continue
        load_before = os.getloadavg()[0]
        one = run(backend, 1, args)["images_per_s"]
        two = run(backend, 2, args)["images_per_s"]
        results.append(
            {
                "backend": backend,
                "one": one,
                "two": two,
                "efficiency": two / (2 * one),
                "load_before": load_before,
                "load_after": os.getloadavg()[0],
            }
        )
    print(
        f"{args.preset} at {args.resolution}x{args.resolution}, global batch {args.batch_size}, "
        f"{args.steps} timed steps, 1 compute thread per process, {os.cpu_count()} CPUs"
    )
    print(table(results))
    return results


if __name__ == "__main__":
    main()
