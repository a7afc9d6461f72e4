"""A real explorer server on 127.0.0.1 (a free port, uvicorn in a thread) around small models."""

from __future__ import annotations

import socket
import threading
import time

import keras
import numpy as np
import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")

LATENT_DIM = 16
RESOLUTION = 16


def small_generator(latent_dim: int = LATENT_DIM, seed: int = 0) -> keras.Model:
    """A deterministic latent -> 16x16 RGB model: every coordinate changes the image."""
    keras.utils.set_random_seed(seed)
    z = keras.Input((latent_dim,))
    x = keras.layers.Dense(8 * 8 * 3, activation="tanh")(z)
    x = keras.layers.Reshape((8, 8, 3))(x)
    x = keras.layers.UpSampling2D(2)(x)
    return keras.Model(z, x, name="small_generator")


def small_discriminator(seed: int = 1) -> keras.Model:
    """Two logits (class 1 = real) from the mean brightness: brighter faces score higher."""
    images = keras.Input((RESOLUTION, RESOLUTION, 3))
    mean = keras.layers.GlobalAveragePooling2D()(images)
    logits = keras.layers.Dense(2, use_bias=False)(mean)
    model = keras.Model(images, logits, name="small_discriminator")
    model.layers[-1].set_weights([np.array([[-1.0, 1.0]] * 3, "float32")])
    return model


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RunningServer:
    """uvicorn serving ``app`` on 127.0.0.1 in a daemon thread."""

    def __init__(self, app) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> RunningServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="package")
def make_generator():
    """``make_generator(latent_dim=16)``: a small deterministic generator."""
    return small_generator


@pytest.fixture(scope="package")
def run_server():
    """``with run_server(app) as running:`` serves ``app`` on a free 127.0.0.1 port."""
    return RunningServer


@pytest.fixture(scope="package")
def models():
    return small_generator(), small_discriminator()


@pytest.fixture(scope="package")
def server(models):
    from keras_facegen.explorer import create_app

    generator, discriminator = models
    app = create_app(generator, discriminator, name="small", latent_distribution="uniform")
    with RunningServer(app) as running:
        yield running
