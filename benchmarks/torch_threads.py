"""PyTorch CPU thread settings: ms per GAN train step, alone and beside a CPU-bound competitor.

Each configuration runs in its own process (``face64_small`` at 32x32, batch 16):

* ``torch default``: PyTorch's own thread count and OpenMP's spinning wait policy;
* ``keras-facegen``: what the CLI sets up (``backend.torch.threads.configure_threads`` and
  ``OMP_WAIT_POLICY=PASSIVE``);
* ``1 thread``: ``OMP_NUM_THREADS=1``.

Usage::

    python benchmarks/torch_threads.py [--steps 20] [--no-competitor]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time

WORKER = r"""
import json, os, sys, time
os.environ["KERAS_BACKEND"] = "torch"
mode, steps = sys.argv[1], int(sys.argv[2])
if mode == "facegen":
    from keras_facegen.backend.torch.threads import configure_threads
    configure_threads()
import keras, numpy as np, torch
from keras_facegen import models
from keras_facegen.data import synthetic_faces
keras.utils.set_random_seed(0)
gan = models.gan_from_preset("face64_small", seed=0, resolution=32)
images, _ = synthetic_faces(64, resolution=32, seed=0)
gan.fit(images[:32], batch_size=16, epochs=1, verbose=0)
batch = np.resize(images, (16 * steps, 32, 32, 3))
start = time.perf_counter()
gan.fit(batch, batch_size=16, epochs=1, verbose=0, shuffle=False)
ms = 1000 * (time.perf_counter() - start) / steps
print(json.dumps({"ms_per_step": ms, "threads": torch.get_num_threads()}))
"""

CONFIGS = {
    "torch default": ("default", {}),
    "keras-facegen": ("facegen", {"OMP_WAIT_POLICY": "PASSIVE"}),
    "1 thread": ("default", {"OMP_NUM_THREADS": "1"}),
}


def _busy(stop_at: float) -> None:
    x = 0
    while time.time() < stop_at:
        x += 1


def run(config: str, steps: int) -> dict:
    mode, extra = CONFIGS[config]
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    env.update(extra, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run(
        [sys.executable, "-c", WORKER, mode, str(steps)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--no-competitor", action="store_true")
    args = parser.parse_args()
    rows = []
    situations = [False] if args.no_competitor else [False, True]
    for competitor in situations:
        for config in CONFIGS:
            proc = None
            if competitor:
                proc = multiprocessing.Process(target=_busy, args=(time.time() + 600,))
                proc.start()
            try:
                result = run(config, args.steps)
            finally:
                if proc is not None:
                    proc.terminate()
                    proc.join()
            rows.append((config, competitor, result))
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    print("| configuration | competitor | threads | ms/step |")
    print("|---|---|---:|---:|")
    for config, competitor, result in rows:
        print(
            f"| {config} | {'yes' if competitor else 'no'} | {result['threads']} "
            f"| {result['ms_per_step']:.0f} |"
        )


if __name__ == "__main__":
    main()
