"""One process of a multi-process test run (started by tests/test_multiprocess.py).

Usage: ``python multiprocess_worker.py MODE NUM_PROCESSES PROCESS_ID PORT FOLDER``.

- ``train``: a tiny GAN through :func:`keras_facegen.training.train` (4 steps, checkpoints every
  2), the same GAN interrupted after 2 steps and resumed to 4 (from a fresh model with other
  weights), then a tiny ProgressiveGAN across a fade (:func:`train_progressive`). Weights go to
  ``FOLDER/weights_<process>.npz``; every file this process opened for writing (an audit hook)
  to ``FOLDER/writes_<process>.json``.
- ``kill``: trains until killed; prints ``step N`` lines.

``NUM_PROCESSES == 1`` runs alone (the reference run), without joining anything.
"""

from __future__ import annotations

import json
import os
import sys

MODE, NUM, INDEX, PORT, FOLDER = sys.argv[1:6]
# Seconds without a heartbeat before a process counts as dead: long for training on a busy
# machine (a starved process must not be declared dead), short for the kill test.
HEARTBEAT = 25 if MODE == "kill" else 120
NUM, INDEX = int(NUM), int(INDEX)
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


if NUM > 1:
    from keras_facegen import distributed

    distributed.initialize(f"127.0.0.1:{PORT}", NUM, INDEX, heartbeat_timeout=HEARTBEAT)

import gan_fixtures as F  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_facegen import augment  # noqa: E402
from keras_facegen.models import GAN, progressive_gan_from_preset  # noqa: E402
from keras_facegen.training import train, train_progressive  # noqa: E402

sys.addaudithook(_audit)
IMAGES = F.face_like_images(32, size=8)


def tiny_gan(seed: int = 3) -> GAN:
    # No BatchNorm and no batch-mean term: on TensorFlow those are per replica (see the guide).
    g = F.tiny_generator(seed=seed, batch_norm=False)
    d = F.tiny_discriminator(seed=seed + 1)
    gan = GAN(g, d, penalties=[], ema_decay=0.5, seed=1)
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
    keras.utils.set_random_seed(0)
    gan = tiny_gan()
    out.update({f"init_{i}": w for i, w in enumerate(weights(gan))})
    result = train(
        gan,
        IMAGES,
        os.path.join(RUNS, "gan"),
        steps=4,
        batch_size=8,
        checkpoint_every=2,
        num_samples=4,
        verbose=0,
    )
    out.update({f"gan_{i}": w for i, w in enumerate(weights(gan))})
    out["gan_steps"] = np.array(result.steps)
    out["gan_counters"] = np.array(list(gan.counter_values().values()))

    keras.utils.set_random_seed(0)
    first = tiny_gan()
    train(
        first,
        IMAGES,
        os.path.join(RUNS, "resumed"),
        steps=2,
        batch_size=8,
        checkpoint_every=2,
        num_samples=4,
        verbose=0,
    )
    keras.utils.set_random_seed(0)
    resumed = tiny_gan(seed=7)  # other weights: everything must come from the checkpoint
    train(
        resumed,
        IMAGES,
        os.path.join(RUNS, "resumed"),
        steps=4,
        batch_size=8,
        checkpoint_every=2,
        num_samples=4,
        verbose=0,
        resume=True,
    )
    out.update({f"resumed_{i}": w for i, w in enumerate(weights(resumed))})

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
    out.update({f"pggan_{i}": w for i, w in enumerate(weights(pggan))})
    out["pggan_counters"] = np.array(list(pggan.counter_values().values()))

    # Adaptive augmentation from the first step (p = 0.5), moving by 8 / 64 per step: its
    # statistic, its draws and so its weights must be those of one process.
    keras.utils.set_random_seed(0)
    ada = augment.ADA(target=0.6, p=0.5, speed_images=64, interval=1, seed=5)
    augmented = GAN(
        F.tiny_generator(seed=3, batch_norm=False),
        F.tiny_discriminator(seed=4),
        penalties=[],
        seed=1,
        augment=ada,
    )
    augmented.compile()
    train(augmented, IMAGES, os.path.join(RUNS, "ada"), steps=6, batch_size=8, verbose=0)
    out.update({f"ada_{i}": w for i, w in enumerate(weights(augmented))})
    out["ada_p"] = np.asarray(keras.ops.convert_to_numpy(augmented._live_value(ada.p)))
    np.savez(os.path.join(FOLDER, f"weights_{NUM}_{INDEX}.npz"), **out)
    with open(os.path.join(FOLDER, f"writes_{NUM}_{INDEX}.json"), "w") as handle:
        json.dump(WRITES, handle)
    print("done", flush=True)


def main_kill() -> None:
    keras.utils.set_random_seed(0)
    gan = tiny_gan()

    class Steps(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            print(f"step {batch}", flush=True)

    local = IMAGES[INDEX * 16 : (INDEX + 1) * 16]
    gan.fit(local, batch_size=4, epochs=10**6, shuffle=False, verbose=0, callbacks=[Steps()])


if __name__ == "__main__":
    {"train": main_train, "kill": main_kill}[MODE]()
