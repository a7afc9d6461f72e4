"""``keras-facegen serve`` (a real process on 127.0.0.1) and pretrained names on the CLI."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from PIL import Image

httpx = pytest.importorskip("httpx")

from keras_facegen import cli, latent  # noqa: E402


# Tests marked backend_independent run in the TensorFlow pass only: the command's arguments, errors
# and pretrained names (the shipped model is loaded and generates on every backend in
# tests/models/test_pretrained.py). Serving a model file, images compared with the model's output,
# runs on every backend.
def start_serve(*args, port):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    command = [sys.executable, "-m", "keras_facegen.cli", "serve", "--port", str(port), *args]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.stderr.read().decode())
        try:
            return process, httpx.get(f"http://127.0.0.1:{port}/api/info", timeout=1).json()
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("serve did not answer")


def stop(process):
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, models):
    folder = tmp_path_factory.mktemp("run")
    generator, discriminator = models
    generator.save(folder / "generator.keras")
    discriminator.save(folder / "discriminator.keras")
    (folder / "facegen.json").write_text(json.dumps({"latent_distribution": "uniform"}))
    return folder


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.backend_independent
def test_parser_defaults_bind_localhost():
    args = cli.build_parser().parse_args(["serve"])
    assert (args.host, args.port, str(args.model), args.hub) == (
        "127.0.0.1",
        8000,
        "face64_synthetic",
        None,
    )


def test_serve_a_model_file(model_dir, models):
    port = free_port()
    process, info = start_serve("--model", str(model_dir / "generator.keras"), port=port)
    try:
        assert info["latent_dim"] == 16 and info["latent_distribution"] == "uniform"
        assert info["has_discriminator"] is True  # discriminator.keras beside the generator
        assert info["name"] == str(model_dir / "generator.keras")
        url = f"http://127.0.0.1:{port}"
        png = httpx.post(f"{url}/api/generate", json={"code": "80" * 16}).content
        z = latent.decode_hex("80" * 16)[None]
        expected = keras.ops.convert_to_numpy(models[0](z, training=False))
        pixels = np.asarray(Image.open(io.BytesIO(png)), np.float64) / 127.5 - 1
        np.testing.assert_allclose(pixels, expected[0], atol=1 / 127.5 + 1e-6)
        # Only the loopback interface is bound.
        outside = socket.gethostbyname(socket.gethostname())
        if not outside.startswith("127."):
            with pytest.raises(httpx.HTTPError):
                httpx.get(f"http://{outside}:{port}/api/info", timeout=2)
    finally:
        stop(process)
    assert process.returncode in (0, -15)


@pytest.mark.backend_independent
def test_serve_the_shipped_model_by_default():
    port = free_port()
    process, info = start_serve(port=port)
    try:
        assert info["name"] == "face64_synthetic"
        assert (info["latent_dim"], info["resolution"]) == (16, 64)
        assert info["has_discriminator"] is True
    finally:
        stop(process)


@pytest.mark.backend_independent
def test_serve_errors_are_one_line(capsys, model_dir):
    assert cli.main(["serve", "--model", "no_such_model.keras"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "no_such_model.keras" in error
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = cli.main(
            ["serve", "--model", str(model_dir / "generator.keras"), "--port", str(port)]
        )
    assert code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"keras-facegen: error: cannot listen on 127.0.0.1:{port}")
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["serve", "--port", "70000"])
    assert "expected a TCP port in [0, 65535]" in capsys.readouterr().err


@pytest.mark.backend_independent
def test_sample_and_morph_accept_the_pretrained_name(tmp_path, capsys):
    grid = tmp_path / "grid.png"
    assert (
        cli.main(["sample", "--model", "face64_synthetic", "--num", "4", "--out", str(grid)]) == 0
    )
    assert Image.open(grid).size == (2 * 66 + 2, 2 * 66 + 2)
    gif = tmp_path / "morph.gif"
    argv = ["morph", "--model", "face64_synthetic", "--from", "seed:1", "--to", "seed:2"]
    assert cli.main([*argv, "--steps", "3", "--out", str(gif)]) == 0
    assert Image.open(gif).n_frames == 3
    ranked = tmp_path / "ranked.png"
    argv = ["sample", "--model", "face64_synthetic", "--num", "8", "--rank", "--top-k", "2"]
    assert cli.main([*argv, "--out", str(ranked)]) == 0
    assert "highest 'real' probabilities" in capsys.readouterr().out
