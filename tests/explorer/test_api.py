"""The explorer's HTTP API against a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import io
import threading

import keras
import numpy as np
import pytest
from PIL import Image

httpx = pytest.importorskip("httpx")

from keras_facegen import latent  # noqa: E402
from keras_facegen.sampling import image_grid, to_uint8  # noqa: E402

# Tests marked backend_independent run in the TensorFlow pass only: request validation, routes and
# static files (pydantic and FastAPI). The tests that compare served images with the model's own
# output run on every backend.
LATENT_DIM = 16
RESOLUTION = 16

CENTER = "80" * LATENT_DIM


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def reference(models, z) -> np.ndarray:
    generator, _ = models
    images = generator(np.atleast_2d(np.float32(z)), training=False)
    return to_uint8(keras.ops.convert_to_numpy(images))


def test_info(client):
    info = client.get("/api/info").json()
    assert info["latent_dim"] == LATENT_DIM
    assert info["resolution"] == RESOLUTION
    assert info["latent_distribution"] == "uniform"
    assert info["name"] == "small"
    assert info["mode"] == "latent"
    assert info["sliders"] == [f"z{i}" for i in range(LATENT_DIM)]
    assert info["code_length"] == 32
    assert info["has_discriminator"] is True
    assert info["default_morph_method"] == "line"
    assert info["max_seed"] == 2**32 - 1


def test_generate_code_is_the_decoded_latent(client, models):
    code = "00ff80" + "40" * (LATENT_DIM - 3)
    response = client.post("/api/generate", json={"code": code})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    expected = reference(models, latent.decode_hex(code))[0]
    np.testing.assert_array_equal(pixels(response.content), expected)
    # Upper case and surrounding spaces are the same code.
    again = client.post("/api/generate", json={"code": f"  {code.upper()} "})
    assert again.content == response.content


def test_generate_z_matches_code(client, models):
    z = np.linspace(-1, 1, LATENT_DIM).astype(np.float32)
    response = client.post("/api/generate", json={"z": z.tolist()})
    np.testing.assert_array_equal(pixels(response.content), reference(models, z)[0])


def test_generate_batch_is_a_grid(client, models):
    codes = [latent.encode_hex(v) for v in latent.sample_latents(4, LATENT_DIM, "uniform", 0)]
    response = client.post("/api/generate", json={"codes": codes, "rows": 2})
    grid = pixels(response.content)
    expected = image_grid(reference(models, latent.decode_hex(codes)), rows=2)
    assert grid.shape == (2 * (RESOLUTION + 2) + 2, 2 * (RESOLUTION + 2) + 2, 3)
    np.testing.assert_array_equal(grid, expected)
    batch_z = client.post("/api/generate", json={"z": latent.decode_hex(codes).tolist(), "rows": 2})
    assert batch_z.content == response.content


def test_random_is_seeded_and_offset_is_applied(client):
    first = client.post("/api/random", json={"seed": 7}).json()
    second = client.post("/api/random", json={"seed": 7}).json()
    assert first == second
    expected = latent.sample_latents(1, LATENT_DIM, "uniform", seed=7)[0]
    assert first == {"code": latent.encode_hex(expected), "seed": 7}
    offset = [0.5] * 8 + [-0.5] * 8
    moved = client.post("/api/random", json={"seed": 7, "offset": offset, "scale": 2.0}).json()
    assert moved["code"] == latent.encode_hex(np.clip(expected + 2.0 * np.float32(offset), -1, 1))
    fresh = client.post("/api/random", json={}).json()
    assert 0 <= fresh["seed"] < 2**32 and len(fresh["code"]) == 32


def test_offset_is_good_minus_bad(client):
    good = ["ff" * LATENT_DIM, "80" * LATENT_DIM]
    bad = ["00" * LATENT_DIM]
    result = client.post("/api/offset", json={"good": good, "bad": bad}).json()
    # mean(1.0, 128/127.5 - 1) - (-1.0) = 2.0019608 / 2 + 1
    np.testing.assert_allclose(result["offset"], [(1.0 + 0.5 / 127.5) / 2 + 1.0] * 16, atol=1e-6)
    assert result["good"] == 2 and result["bad"] == 1
    assert result["average_good"] == "bf" * LATENT_DIM  # (255 + 128) // 2 = 191


def test_morph_gif_frames(client, models):
    start, end = "00" * LATENT_DIM, "ff" * LATENT_DIM
    body = {"from": start, "to": end, "steps": 5, "method": "lerp", "duration": 100}
    response = client.post("/api/morph", json=body)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/gif"
    gif = Image.open(io.BytesIO(response.content))
    assert gif.n_frames == 5
    assert gif.info["duration"] == 100
    frames = reference(
        models, latent.morph_path(latent.decode_hex(start), latent.decode_hex(end), 5, "lerp")
    )
    for index in (0, 4):
        gif.seek(index)
        # GIF palettes quantise colours; the frames stay within a few grey levels.
        diff = np.abs(np.asarray(gif.convert("RGB"), int) - frames[index].astype(int))
        assert diff.mean() < 4
    # The default method is the face DCGAN's line through the box.
    default = client.post("/api/morph", json={"from": CENTER, "to": "90" * LATENT_DIM, "steps": 3})
    assert Image.open(io.BytesIO(default.content)).n_frames == 3


def test_rank_orders_by_discriminator(client, models):
    result = client.post("/api/rank", json={"num_samples": 16, "top_k": 3, "seed": 5}).json()
    z = latent.decode_hex(latent.encode_hex(latent.sample_latents(16, LATENT_DIM, "uniform", 5)))
    images = keras.ops.convert_to_numpy(models[0](z, training=False)).astype(np.float64)
    # small_discriminator: logits (-m, m) with m = sum of the channel means -> p = sigmoid(2m).
    m = images.mean(axis=(1, 2)).sum(axis=1)
    p = 1 / (1 + np.exp(-2 * m))
    order = np.argsort(p)
    codes = latent.encode_hex(z)
    assert [e["code"] for e in result["best"]] == [codes[i] for i in order[::-1][:3]]
    assert [e["code"] for e in result["worst"]] == [codes[i] for i in order[:3]]
    np.testing.assert_allclose([e["score"] for e in result["best"]], p[order[::-1][:3]], atol=1e-5)
    assert result["best"][0]["image"].startswith("data:image/png;base64,")


@pytest.mark.backend_independent
def test_page_and_static_files(client):
    page = client.get("/")
    assert page.status_code == 200 and 'id="sliders"' in page.text
    for name, kind in (("app.js", "javascript"), ("style.css", "css")):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and kind in response.headers["content-type"]
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert Image.open(io.BytesIO(icon.content)).format == "ICO"


BAD_BODIES = [
    ({"code": "zz" * LATENT_DIM}, 422, "non-hex characters 'z'"),
    ({"code": "80" * 15}, 422, "has 30 digits; expected 32"),
    ({"code": "8" * 31}, 422, "expected an even number"),
    ({"code": ""}, 422, "at least 1 character"),
    ({"z": [0.0] * 15}, 422, "latent size 15"),
    ({"z": [1.5] + [0.0] * 15}, 422, "must lie in [-1, 1]"),
    ({"z": [0.0] * 15 + [-1.5]}, 422, "received max |z| = 1.5"),
    ({"z": ["a"] * 16}, 422, "latents must hold numbers"),
    ({"z": [True] * 16}, 422, "latents must hold numbers"),
    ({"codes": [CENTER] * 65}, 422, "at most 64 per request"),
    ({"codes": [CENTER] * 300}, 422, "at most 256"),
    ({}, 422, "exactly one of 'code', 'codes' or 'z'"),
    ({"code": CENTER, "z": [0.0] * 16}, 422, "received 'code', 'z'"),
    ({"code": CENTER, "extra": 1}, 422, "extra: Extra inputs are not permitted"),
    ({"codes": [CENTER] * 2, "rows": 3}, 422, "rows must be an integer in [1, 2]"),
    ([1, 2], 422, "valid dictionary"),
]


@pytest.mark.backend_independent
@pytest.mark.parametrize(("body", "status", "message"), BAD_BODIES)
def test_generate_bad_input(client, body, status, message):
    response = client.post("/api/generate", json=body)
    assert response.status_code == status
    assert message in response.json()["detail"]


@pytest.mark.backend_independent
@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_numbers_are_refused(client, literal):
    body = b'{"z": [' + literal + b"" + b", 0" * 15 + b"]}"
    response = client.post(
        "/api/generate", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "finite numbers" in response.json()["detail"]
    random = client.post(
        "/api/random",
        content=b'{"scale": ' + literal + b"}",
        headers={"content-type": "application/json"},
    )
    assert random.status_code == 422 and "finite number" in random.json()["detail"]


@pytest.mark.backend_independent
def test_malformed_json_wrong_type_and_oversized_body(client):
    json_header = {"content-type": "application/json"}
    malformed = client.post("/api/generate", content=b'{"code": ', headers=json_header)
    assert malformed.status_code == 400
    assert malformed.json()["detail"].startswith("Malformed JSON body")
    form = client.post("/api/generate", content=b"code=80", headers={"content-type": "text/plain"})
    assert form.status_code == 415
    assert form.json()["detail"] == "Content-Type must be application/json; received 'text/plain'."
    missing = client.post("/api/generate", content=b"{}", headers={"content-type": ""})
    assert missing.status_code == 415
    huge = b'{"code": "' + b"8" * 300_000 + b'"}'
    too_large = client.post("/api/generate", content=huge, headers=json_header)
    assert too_large.status_code == 413
    assert "at most 262144" in too_large.json()["detail"]

    def chunks():
        for _ in range(100):
            yield b" " * 4096

    chunked = client.post("/api/generate", content=chunks(), headers=json_header)
    assert chunked.status_code == 413


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/api/random", {"offset": [1.0] * 3}, 422, "offset must have 16 numbers"),
        ("/api/random", {"seed": -1}, 422, "greater than or equal to 0"),
        ("/api/random", {"seed": 2**40}, 422, "less than or equal to 4294967295"),
        ("/api/offset", {"good": [], "bad": [CENTER]}, 422, "at least one good and one bad"),
        ("/api/offset", {"good": ["xx"], "bad": [CENTER]}, 422, "good: Hex code 'xx'"),
        ("/api/offset", {"good": [CENTER]}, 422, "bad: Field required"),
        ("/api/morph", {"from": CENTER, "to": CENTER, "steps": 4}, 422, "a and b must differ"),
        (
            "/api/morph",
            {"from": CENTER, "to": "90" * 16, "steps": 1},
            422,
            "greater than or equal to 2",
        ),
        (
            "/api/morph",
            {"from": CENTER, "to": "90" * 16, "steps": 65},
            422,
            "steps: Input should be less than or equal to 64",
        ),
        (
            "/api/morph",
            {"from": CENTER, "to": "90" * 16, "method": "x"},
            422,
            "method: Input should be",
        ),
        ("/api/morph", {"from": "12", "to": CENTER}, 422, "has 2 digits; expected 32"),
        ("/api/rank", {"num_samples": 4, "top_k": 8}, 422, "top_k <= num_samples"),
        ("/api/rank", {"num_samples": 257}, 422, "less than or equal to 256"),
    ],
)
def test_other_endpoints_bad_input(client, path, body, status, message):
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]


@pytest.mark.backend_independent
def test_unknown_routes_and_methods(client):
    assert client.get("/api/nope").status_code == 404
    assert client.get("/api/generate").status_code == 405
    assert client.get("/api/nope").json() == {"detail": "Not Found"}


@pytest.mark.backend_independent
def test_rank_without_discriminator_is_409(make_generator, run_server):
    from keras_facegen.explorer import create_app

    app = create_app(make_generator(), latent_distribution="uniform")
    with run_server(app) as running, httpx.Client(base_url=running.url) as http:
        response = http.post("/api/rank", json={})
        assert response.status_code == 409
        assert "No discriminator" in response.json()["detail"]
        assert http.get("/api/info").json()["has_discriminator"] is False


def test_concurrent_requests_are_batched_and_correct(server, client, models):
    codes = latent.encode_hex(latent.sample_latents(40, LATENT_DIM, "uniform", seed=3))
    engine = server.app.state.engine
    calls = []
    original = engine.generator._call

    def counting(z):
        calls.append(len(z))
        return original(z)

    engine.generator._call = counting
    results: dict[int, bytes] = {}

    def fetch(i):
        with httpx.Client(base_url=server.url, timeout=60) as http:
            results[i] = http.post("/api/generate", json={"code": codes[i]}).content

    try:
        threads = [threading.Thread(target=fetch, args=(i,)) for i in range(40)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        engine.generator._call = original
    expected = reference(models, latent.decode_hex(codes))
    for i in range(40):
        np.testing.assert_array_equal(pixels(results[i]), expected[i])
    # Every call's batch is padded to a bucket: 1, 2, 4, 8, then multiples of 8.
    assert all(n in (1, 2, 4) or n % 8 == 0 for n in calls)
    assert len(calls) <= 40


@pytest.mark.backend_independent
def test_server_survives_bad_requests(client):
    for _ in range(3):
        client.post(
            "/api/generate", content=b"\xff\xfe", headers={"content-type": "application/json"}
        )
        client.post("/api/generate", json={"z": [[0.0] * 16, [0.0] * 3]})
    assert client.post("/api/generate", json={"code": CENTER}).status_code == 200


def test_directions_mode_for_large_latents(make_generator, run_server):
    from keras_facegen.explorer import create_app

    generator = make_generator(latent_dim=96)
    app = create_app(generator, latent_distribution="normal", max_sliders=32, num_directions=4)
    engine = app.state.engine
    assert engine.mode == "directions"
    norms = np.linalg.norm(engine.directions, axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-6)
    with run_server(app) as running, httpx.Client(base_url=running.url, timeout=60) as http:
        info = http.get("/api/info").json()
        assert info["mode"] == "directions" and info["sliders"] == ["pc1", "pc2", "pc3", "pc4"]
        assert info["code_length"] == 8 and info["default_morph_method"] == "slerp"
        code = "ff008080"
        image = http.post("/api/generate", json={"code": code, "seed": 9}).content
        base = latent.sample_latents(1, 96, "normal", seed=9)[0].astype(np.float64)
        coefficients = latent.decode_hex(code).astype(np.float64) * 3.0
        z = base + coefficients @ engine.directions
        np.testing.assert_array_equal(pixels(image), reference((generator, None), z)[0])
        drawn = http.post("/api/random", json={"seed": 4}).json()
        assert drawn == {"code": "80808080", "seed": 4}
        line = http.post("/api/morph", json={"from": code, "to": "80808080", "method": "line"})
        assert line.status_code == 422 and "use 'slerp'" in line.json()["detail"]
        morph = http.post(
            "/api/morph", json={"from": code, "to": "80808080", "seeds": [9, 4], "steps": 3}
        )
        assert Image.open(io.BytesIO(morph.content)).n_frames == 3


def test_named_directions(make_generator):
    from keras_facegen.explorer import create_app

    directions = {"smile": np.eye(16)[0], "yaw": np.eye(16)[1]}
    app = create_app(make_generator(), directions=directions, latent_distribution="uniform")
    assert app.state.engine.slider_names == ["smile", "yaw"]
    with pytest.raises(
        ValueError, match=r"directions\['bad'\] must be a finite vector of shape \(16,\)"
    ):
        create_app(make_generator(), directions={"bad": np.ones(3)})


@pytest.mark.backend_independent
def test_limits_in_the_schema_are_the_ones_info_serves(client):
    info = client.get("/api/info").json()
    schemas = client.get("/api/openapi.json").json()["components"]["schemas"]
    assert schemas["MorphRequest"]["properties"]["steps"]["maximum"] == info["max_morph_steps"]
    assert (
        schemas["RankRequest"]["properties"]["num_samples"]["maximum"] == (info["max_rank_samples"])
    )
    body = {"from": "00" * 16, "to": "ff" * 16, "steps": info["max_morph_steps"], "method": "lerp"}
    gif = client.post("/api/morph", json=body)
    assert gif.status_code == 200
    assert Image.open(io.BytesIO(gif.content)).n_frames == info["max_morph_steps"]
    body["steps"] += 1
    too_many = client.post("/api/morph", json=body)
    assert too_many.status_code == 422
    assert str(info["max_morph_steps"]) in too_many.json()["detail"]


@pytest.mark.backend_independent
@pytest.mark.parametrize("headers", [{}, {"content-type": "application/json"}])
def test_empty_bodies_where_every_field_is_optional(client, headers):
    drawn = client.post("/api/random", headers=headers)
    assert drawn.status_code == 200, drawn.text
    assert sorted(drawn.json()) == ["code", "seed"] and len(drawn.json()["code"]) == 32
    again = client.post("/api/random", json={"seed": drawn.json()["seed"]}).json()
    assert again == drawn.json()
    ranked = client.post("/api/rank", headers=headers)
    assert ranked.status_code == 200, ranked.text
    assert len(ranked.json()["best"]) == 8  # RankRequest's default top_k
    # A body that is required stays required.
    assert client.post("/api/offset", headers=headers).status_code == 422
