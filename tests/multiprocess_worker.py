"""One process of a multi-process test run (started by tests/test_multiprocess.py).

Usage: ``python multiprocess_worker.py MODE NUM_PROCESSES PROCESS_ID PORT FOLDER``.

- ``train``: a tiny GAN with a generator EMA and adaptive augmentation (ADA) through
  :func:`keras_facegen.training.train` (4 steps, checkpoints every 2), then a tiny
  ProgressiveGAN across a fade (:func:`train_progressive`). Alone (``NUM_PROCESSES == 1``: the
  reference run, which joins nothing) the GAN trains its 4 steps in one go; across processes it
  is interrupted after 2 steps and a fresh GAN with other weights resumes the run to 4. Weights
  go to ``FOLDER/weights_<NUM>_<ID>.npz``; every file this process opened for writing in the run
  folders (an audit hook) to ``FOLDER/writes_<NUM>_<ID>.json``.
- ``kill``: trains until killed; prints ``step N`` lines.

Lines ``[  12.34 s] ...`` time-stamp start-up, joining and each sub-run: where a test's time goes.
"""

from __future__ import annotations

import json
import os
import sys
import time

T0 = time.monotonic()


def stamp(what: str) -> None:
    """A line ``[seconds since start] what`` in the worker's log."""
    print(f"[{time.monotonic() - T0:7.2f} s] {what}", flush=True)


if os.environ.get("KERAS_BACKEND") == "jax":
    # As on a JAX-only install (see helpers.hide_tensorflow): seconds faster.
    from helpers import hide_tensorflow

    hide_tensorflow()
else:
    # As on a TensorFlow-only install: Keras imports JAX whenever it is installed (for a
    # checkpoint callback this run does not use); hiding it cut a TensorFlow worker's imports
    # from 7.8-8.6 s to 6.5-6.9 s (2 cores). A worker that did need JAX would fail loudly.
    sys.modules.setdefault("jax", None)

MODE, NUM, INDEX, PORT, FOLDER = sys.argv[1:6]
NUM, INDEX = int(NUM), int(INDEX)
# Seconds without a heartbeat before a process counts as dead: long for training on a busy
# machine (a starved process must not be declared dead), short for the kill test. JAX's
# heartbeats come from a thread of their own; on TensorFlow the setting is also how long a
# collective waits for the other worker (which may still be tracing its step on a loaded machine),
# so the kill test keeps 25 s there (TensorFlow's coordination service notices a dead worker by
# its own heartbeats).
KILL_HEARTBEAT = {"jax": 8, "tensorflow": 25}
HEARTBEAT = KILL_HEARTBEAT[os.environ["KERAS_BACKEND"]] if MODE == "kill" else 120
RUNS = os.path.join(FOLDER, f"runs_{NUM}")
WRITES: list[str] = []


def _audit(event: str, args: tuple) -> None:
    # Every file opened for writing (or created, moved, removed) under the run folders.
    path = None
    if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
        mode, flags = args[1], args[2]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
        )
        path = os.fsdecode(args[0]) if writing else None
    elif event in ("os.mkdir", "os.rename", "os.remove", "shutil.rmtree", "tempfile.mkstemp"):
        path = os.fsdecode(args[0]) if args and isinstance(args[0], (str, bytes)) else None
    if path is not None and os.path.abspath(path).startswith(RUNS):
        WRITES.append(f"{event} {path}")


stamp(f"started ({os.environ.get('KERAS_BACKEND')})")
if NUM > 1:
    from keras_facegen import distributed

    stamp("imported keras_facegen.distributed")
    distributed.initialize(f"127.0.0.1:{PORT}", NUM, INDEX, heartbeat_timeout=HEARTBEAT)
    stamp("joined")

import gan_fixtures as F  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_facegen import augment  # noqa: E402
from keras_facegen.models import GAN, progressive_gan_from_preset  # noqa: E402
from keras_facegen.training import train, train_progressive  # noqa: E402

sys.addaudithook(_audit)
stamp("imported")
IMAGES = F.face_like_images(32, size=8)
# Two of ADA's transforms: per-image draws (uniform and normal) and a moving p, at a fraction of
# the cost of tracing the full "ada" set into the train step (which dominated the whole test).
ADA_PIPELINE = ("xflip", "brightness")


def tiny_gan(seed: int = 3) -> GAN:
    """The GAN of the run, with ADA from the first step (p = 0.5, moving by 8 / 64 per step).

    No BatchNorm and no batch-mean term: on TensorFlow those are per replica (see the guide).
    """
    g = F.tiny_generator(seed=seed, batch_norm=False)
    d = F.tiny_discriminator(seed=seed + 1)
    ada = augment.ADA(target=0.6, pipeline=ADA_PIPELINE, p=0.5, speed_images=64, interval=1, seed=5)
    gan = GAN(g, d, penalties=[], ema_decay=0.5, seed=1, augment=ada)
    gan.compile()
    return gan


def tiny_progressive() -> keras.Model:
    preset = {
        "family": "pggan",
        "latent_dim": 8,
        "latent_distribution": "normal",
        "resolution": 8,
        "channels": 3,
        "generator": {"fmap_base": 16, "fmap_max": 4},
        # Groups of one: a per-replica group would differ from the one-process batch on TF.
        "discriminator": {"fmap_base": 16, "fmap_max": 4, "mbstd_group_size": 1},
        "schedule": {"fade_images": 16, "stable_images": 16, "batch_sizes": {4: 8, 8: 8}},
        "optimizer": {"learning_rate": 1e-3, "beta_1": 0.0, "beta_2": 0.99},
        "loss": "wasserstein",
        "matching": {},
        "penalties": {"drift": 0.001},
        "ema_decay": 0.9,
    }
    return progressive_gan_from_preset(preset, seed=2)


def weights(model: keras.Model) -> list[np.ndarray]:
    model.sync_state()
    return [np.asarray(keras.ops.convert_to_numpy(model._live_value(v))) for v in model.weights]


def main_train() -> None:
    out = {}
    folder = os.path.join(RUNS, "gan")
    settings = {"batch_size": 8, "checkpoint_every": 2, "num_samples": 4, "verbose": 0}
    keras.utils.set_random_seed(0)
    gan = tiny_gan()
    out.update({f"init_{i}": w for i, w in enumerate(weights(gan))})
    if NUM == 1:
        train(gan, IMAGES, folder, steps=4, **settings)
        stamp("gan trained")
    else:
        # Interrupted after 2 steps, then resumed to 4 from a fresh GAN with other weights
        # (everything must come from the checkpoint): the weights of the uninterrupted run.
        train(gan, IMAGES, folder, steps=2, **settings)
        out.update({f"interrupted_{i}": w for i, w in enumerate(weights(gan))})
        stamp("gan trained 2 steps")
        keras.utils.set_random_seed(0)
        gan = tiny_gan(seed=7)
        train(gan, IMAGES, folder, steps=4, resume=True, **settings)
        stamp("gan resumed to 4 steps")
    out.update({f"gan_{i}": w for i, w in enumerate(weights(gan))})
    out["gan_counters"] = np.array(list(gan.counter_values().values()))
    out["ada_p"] = np.asarray(keras.ops.convert_to_numpy(gan._live_value(gan.augment.p)))

    keras.utils.set_random_seed(0)
    pggan = tiny_progressive()
    train_progressive(
        pggan,
        IMAGES,
        os.path.join(RUNS, "pggan"),
        checkpoint_every=2,
        num_samples=4,
        progression_samples=2,
        verbose=0,
    )
    stamp("pggan trained")
    out.update({f"pggan_{i}": w for i, w in enumerate(weights(pggan))})
    out["pggan_counters"] = np.array(list(pggan.counter_values().values()))

    np.savez(os.path.join(FOLDER, f"weights_{NUM}_{INDEX}.npz"), **out)
    with open(os.path.join(FOLDER, f"writes_{NUM}_{INDEX}.json"), "w") as handle:
        json.dump(WRITES, handle)
    stamp("done")


def main_kill() -> None:
    keras.utils.set_random_seed(0)
    g, d = F.tiny_generator(seed=3, batch_norm=False), F.tiny_discriminator(seed=4)
    gan = GAN(g, d, penalties=[], seed=1)
    gan.compile()

    class Steps(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            stamp(f"step {batch}")

    local = IMAGES[INDEX * 16 : (INDEX + 1) * 16]
    gan.fit(local, batch_size=4, epochs=10**6, shuffle=False, verbose=0, callbacks=[Steps()])


if __name__ == "__main__":
    {"train": main_train, "kill": main_kill}[MODE]()
