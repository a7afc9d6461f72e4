"""Server faults, foreign Host headers and ranked seeds, against a real uvicorn server."""

from __future__ import annotations

import io
import logging
import threading

import numpy as np
import pytest
from PIL import Image

httpx = pytest.importorskip("httpx")

from keras_facegen.explorer import create_app  # noqa: E402
from keras_facegen.explorer.app import INTERNAL_ERROR  # noqa: E402
from keras_facegen.explorer.engine import MAX_SEED  # noqa: E402

# Backend-independent (TensorFlow pass only): the HTTP layer's fault handling and Host checks
# around NumPy stand-in generators and the served seeds; generation through a Keras model on the
# active backend is tested on every backend in tests/explorer/test_api.py and test_cli_serve.py
# (test_serve_a_model_file).
pytestmark = pytest.mark.backend_independent

LATENT_DIM = 16
SECRET = "/home/someone/secret-model-path.keras"


class FaultyGenerator:
    """z -> 4x4 images of z[:, 0]; latents with z[1] == 0.5 hold the worker until released.

    ``z[2] == 0.75`` makes the model raise an error naming :data:`SECRET`; ``z[2] == -0.75``
    or ``z[3] == -1`` (code byte ``00``) makes it return NaN for that latent's image.
    """

    latent_dim = LATENT_DIM
    latent_distribution = "uniform"

    def __init__(self):
        self.entered = threading.Event()
        self.release = threading.Event()
        self.batches = []

    def __call__(self, z):
        z = np.asarray(z, np.float32)
        self.batches.append(len(z))
        if np.any(z[:, 1] == 0.5):
            self.entered.set()
            self.release.wait(20)
        if np.any(z[:, 2] == 0.75):
            raise OSError(f"cannot read weights from {SECRET}")
        images = np.broadcast_to(z[:, :1, None, None], (len(z), 4, 4, 3)).copy()
        images[(z[:, 2] == -0.75) | (z[:, 3] == -1)] = np.nan
        return images


def latent_with(**coordinates) -> list[float]:
    z = [0.0] * LATENT_DIM
    for index, value in coordinates.items():
        z[int(index.removeprefix("z"))] = value
    return z


@pytest.fixture
def faulty(run_server):
    generator = FaultyGenerator()
    app = create_app(generator, name="faulty")
    with run_server(app) as running, httpx.Client(base_url=running.url, timeout=30) as http:
        yield generator, app, running, http
    generator.release.set()


@pytest.mark.parametrize(
    "body",
    [
        {"z": latent_with(z2=0.75)},  # the model raises
        {"z": latent_with(z2=-0.75)},  # one image of NaN
        {"z": [latent_with(z0=0.1), latent_with(z2=-0.75)]},  # a grid with a NaN image
        {"z": [latent_with(z0=0.1), latent_with(z2=0.75)]},  # a grid the model raises on
    ],
)
def test_server_faults_are_500_with_a_generic_message(faulty, body, caplog):
    generator, _, _, http = faulty
    generator.release.set()
    with caplog.at_level(logging.ERROR, logger="keras_facegen.explorer"):
        response = http.post("/api/generate", json=body)
    assert response.status_code == 500
    assert response.json() == {"detail": INTERNAL_ERROR}
    assert INTERNAL_ERROR == (
        "Internal server error: the model failed on this request; see the server's log."
    )
    assert SECRET not in response.text and "NaN" not in response.text
    # The details are in the server's log.
    assert SECRET in caplog.text or "non-finite" in caplog.text
    assert http.post("/api/generate", json={"z": latent_with(z0=0.2)}).status_code == 200


def test_nan_in_a_morph_or_a_ranking_is_a_server_fault(faulty):
    generator, _, _, http = faulty
    generator.release.set()
    centre, poisoned = "80" * LATENT_DIM, "80" * 3 + "00" + "80" * (LATENT_DIM - 4)
    body = {"from": centre, "to": poisoned, "steps": 3, "method": "lerp"}
    morph = http.post("/api/morph", json=body)
    assert morph.status_code == 500, morph.text  # not 422: the request was valid
    assert morph.json() == {"detail": INTERNAL_ERROR}
    body["to"] = "90" * LATENT_DIM
    fine = http.post("/api/morph", json=body)
    assert fine.status_code == 200


@pytest.mark.parametrize("poison", [0.75, -0.75], ids=["raises", "nan"])
def test_only_the_failing_request_fails(faulty, poison):
    generator, app, _, http = faulty
    results: dict[str, httpx.Response] = {}

    def post(name, body):
        results[name] = http.post("/api/generate", json=body)

    hold = threading.Thread(target=post, args=("hold", {"z": latent_with(z1=0.5)}))
    hold.start()
    assert generator.entered.wait(20)  # the worker is busy: the next requests queue up
    bodies = {
        "good": {"z": latent_with(z0=0.25)},
        "poisoned": {"z": latent_with(z0=0.5, z2=poison)},
        "grid": {"z": [latent_with(z0=-0.5), latent_with(z0=1.0)]},
    }
    threads = [threading.Thread(target=post, args=item) for item in bodies.items()]
    for thread in threads:
        thread.start()
    queue = app.state.engine.generator._queue
    for _ in range(2000):
        if queue.qsize() == 3:
            break
        threading.Event().wait(0.01)
    assert queue.qsize() == 3
    generator.release.set()
    for thread in [hold, *threads]:
        thread.join(30)
    # The probe at start-up, the held request, then the three requests merged (4 rows).
    assert generator.batches[:3] == [1, 1, 4]
    # A merged batch the model raises on runs again one request at a time.
    assert sorted(generator.batches[3:]) == ([1, 1, 2] if poison > 0 else [])
    assert results["poisoned"].status_code == 500
    assert results["hold"].status_code == 200
    assert results["good"].status_code == 200
    image = np.asarray(Image.open(io.BytesIO(results["good"].content)).convert("RGB"))
    np.testing.assert_array_equal(image, round((0.25 + 1) * 127.5))  # to_uint8's half-up
    assert results["grid"].status_code == 200


def test_foreign_host_headers_are_refused(server):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.get("/api/info").status_code == 200  # Host: 127.0.0.1:port
        port = server.port
        assert http.get("/api/info", headers={"host": f"localhost:{port}"}).status_code == 200
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example"):
            refused = http.get("/api/info", headers={"host": host})
            assert refused.status_code == 400, host
        body = {"code": "80" * LATENT_DIM}
        refused = http.post("/api/generate", json=body, headers={"host": "evil.example"})
        assert refused.status_code == 400
        assert http.get("/", headers={"host": "evil.example"}).status_code == 400


def test_allowed_hosts_can_be_named_and_extended(make_generator, run_server):
    from keras_facegen.explorer.app import allow_hosts

    app = create_app(make_generator(), allowed_hosts=["faces.lan", "::1"])
    assert app.state.allowed_hosts == ["faces.lan", "[::1]"]
    assert allow_hosts(app, ["192.168.1.5", "faces.lan"]) == ["faces.lan", "[::1]", "192.168.1.5"]
    with run_server(app) as running, httpx.Client(base_url=running.url, timeout=30) as http:
        for host, status in (("faces.lan:80", 200), ("192.168.1.5", 200), ("127.0.0.1", 400)):
            assert http.get("/api/info", headers={"host": host}).status_code == status, host
    with pytest.raises(ValueError, match="allowed_hosts must be a list of host names"):
        create_app(make_generator(), allowed_hosts="localhost")


def test_ranked_seeds_in_directions_mode_are_api_seeds(make_generator, run_server, models):
    app = create_app(make_generator(latent_dim=96), models[1], max_sliders=32, num_directions=4)
    with run_server(app) as running, httpx.Client(base_url=running.url, timeout=60) as http:
        body = {"num_samples": 6, "top_k": 3, "seed": MAX_SEED - 2}
        ranked = http.post("/api/rank", json=body)
        assert ranked.status_code == 200, ranked.text
        entries = ranked.json()["best"] + ranked.json()["worst"]
        seeds = sorted(entry["seed"] for entry in entries)
        # Six consecutive seeds from 2**32 - 3 wrap around: 2**32 - 3 .. 2**32 - 1, 0, 1, 2.
        assert set(seeds) <= {MAX_SEED - 2, MAX_SEED - 1, MAX_SEED, 0, 1, 2}
        assert len(set(seeds)) == 6
        for entry in entries:
            shown = http.post("/api/generate", json={"code": entry["code"], "seed": entry["seed"]})
            assert shown.status_code == 200, shown.text
            assert entry["image"].endswith(__import__("base64").b64encode(shown.content).decode())


def test_serve_accepts_the_host_it_binds(tmp_path):
    """``serve(app, host=...)`` adds the bound address to the accepted Host names."""
    import os
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.2", 0))
        port = sock.getsockname()[1]
    script = (
        "from keras_facegen.explorer import load_explorer_app, serve\n"
        f"serve(load_explorer_app('face64_synthetic'), host='127.0.0.2', port={port},"
        " log_level='warning')\n"
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.2:{port}/api/info"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, process.stderr.read().decode()
            try:
                answer = httpx.get(url, timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "serve did not answer"
                time.sleep(0.2)
        assert answer.status_code == 200  # Host: 127.0.0.2:port, the address it was started for
        assert answer.json()["name"] == "face64_synthetic"
        assert httpx.get(url, headers={"host": "localhost"}, timeout=5).status_code == 200
        assert httpx.get(url, headers={"host": "evil.example"}, timeout=5).status_code == 400
    finally:
        process.terminate()
        process.wait(timeout=30)
