"""The explorer page in a real browser: Debian's Chromium driven by Playwright."""

from __future__ import annotations

import base64
import io
import shutil

import numpy as np
import pytest
from PIL import Image

httpx = pytest.importorskip("httpx")
sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium")
# Backend-independent (TensorFlow pass only): the page's behaviour in a browser, over the HTTP API;
# generation through a Keras model on the active backend is tested on every backend in
# tests/explorer/test_api.py and test_cli_serve.py (test_serve_a_model_file).
pytestmark = [
    pytest.mark.backend_independent,
    pytest.mark.skipif(
        CHROMIUM is None, reason="needs Debian's chromium on PATH (apt-get install chromium)"
    ),
]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
CENTER = "80" * 16


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


@pytest.fixture(scope="module")
def api(server):
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


def open_page(page, server, fragment=""):
    page.goto(f"{server.url}/{fragment}")
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)


def wait_for_face(page, code):
    page.wait_for_function(
        "code => document.getElementById('face').dataset.code === code", arg=code, timeout=15_000
    )


def shown_png(page) -> bytes:
    data = page.evaluate(
        """async () => {
            const blob = await (await fetch(document.getElementById('face').src)).blob();
            const bytes = new Uint8Array(await blob.arrayBuffer());
            let text = '';
            for (const b of bytes) text += String.fromCharCode(b);
            return btoa(text);
        }"""
    )
    return base64.b64decode(data)


def api_png(api, code, **extra) -> bytes:
    response = api.post("/api/generate", json={"code": code, **extra})
    assert response.status_code == 200
    return response.content


def test_permalink_shows_the_api_image(page, server, api):
    code = "00112233445566778899aabbccddeeff"
    open_page(page, server, f"#code={code}")
    wait_for_face(page, code)
    assert shown_png(page) == api_png(api, code)
    assert page.input_value("#code") == code
    values = [int(page.input_value(f"#slider-{i}")) for i in range(16)]
    assert values == list(bytes.fromhex(code))
    assert page.get_attribute("#permalink", "href") == f"#code={code}"


def test_slider_moves_image_code_and_url(page, server, api):
    open_page(page, server, f"#code={CENTER}")
    wait_for_face(page, CENTER)
    before = shown_png(page)
    page.focus("#slider-3")
    page.keyboard.press("End")  # keyboard: the slider jumps to 255
    expected = "80" * 3 + "ff" + "80" * 12
    wait_for_face(page, expected)
    assert page.input_value("#code") == expected
    assert page.evaluate("window.location.hash") == f"#code={expected}"
    after = shown_png(page)
    assert after != before
    assert after == api_png(api, expected)
    page.keyboard.press("ArrowLeft")
    expected = "80" * 3 + "fe" + "80" * 12
    wait_for_face(page, expected)
    assert page.text_content("#slider-3 + output") == "254"


def test_editing_the_code_moves_the_sliders(page, server, api):
    open_page(page, server, f"#code={CENTER}")
    wait_for_face(page, CENTER)
    page.fill("#code", "zz")
    assert page.get_attribute("#code", "aria-invalid") == "true"
    assert "Only hex digits" in page.text_content("#code-error")
    code = "ff" * 8 + "00" * 8
    page.fill("#code", code.upper())
    wait_for_face(page, code)
    assert [int(page.input_value(f"#slider-{i}")) for i in (0, 7, 8, 15)] == [255, 255, 0, 0]
    assert page.get_attribute("#code", "aria-invalid") is None
    assert shown_png(page) == api_png(api, code)


def test_hash_change_loads_the_face(page, server):
    open_page(page, server, f"#code={CENTER}")
    code = "12" * 16
    page.evaluate("code => { window.location.hash = 'code=' + code; }", code)
    wait_for_face(page, code)
    assert page.input_value("#code") == code


def test_marks_give_an_offset_that_random_draws_use(page, server):
    good, bad = "ff" * 16, "00" * 16
    open_page(page, server, f"#code={good}")
    wait_for_face(page, good)
    page.click("#mark-good")
    page.fill("#code", bad)
    wait_for_face(page, bad)
    page.keyboard.press("Escape")
    page.focus("#random")
    page.keyboard.press("b")  # keyboard shortcut for "mark bad"
    page.wait_for_function("!document.getElementById('apply-offset').disabled")
    assert page.locator("#good-list li").count() == 1
    assert page.locator("#bad-list li").count() == 1
    offset = page.evaluate("JSON.parse(document.getElementById('offset-text').dataset.offset)")
    np.testing.assert_allclose(offset, [2.0] * 16)  # mean(good) - mean(bad) = 1 - (-1)
    # Without the offset a random face is anything; with it, +2 pushes every coordinate to 1.
    page.check("#apply-offset")
    with page.expect_request("**/api/random") as request:
        page.click("#random")
    assert request.value.post_data_json["offset"] == offset
    wait_for_face(page, good)
    assert page.input_value("#code") == good
    # Removing the bad mark takes the offset away again.
    page.click("#bad-list .remove")
    page.wait_for_function("document.getElementById('apply-offset').disabled")


def test_random_button_and_key(page, server):
    open_page(page, server, f"#code={CENTER}")
    wait_for_face(page, CENTER)
    page.focus("#random")
    page.keyboard.press("r")
    page.wait_for_function(
        "c => document.getElementById('face').dataset.code !== c", arg=CENTER, timeout=15_000
    )
    code = page.input_value("#code")
    assert len(code) == 32 and page.evaluate("window.location.hash") == f"#code={code}"


def test_morph_plays_and_downloads(page, server, api):
    start, end = "00" * 16, "ff" * 16
    open_page(page, server, f"#code={start}")
    wait_for_face(page, start)
    page.click("#morph-from-current")
    page.fill("#morph-to", end)
    page.fill("#morph-steps", "6")
    page.select_option("#morph-method", "lerp")
    page.click("#morph-play")
    page.wait_for_function(
        "() => { const i = document.getElementById('morph-image');"
        " return !i.hidden && i.complete && i.naturalWidth > 0; }",
        timeout=30_000,
    )
    assert page.evaluate("document.getElementById('morph-image').naturalWidth") == 16
    assert "Playing 6 frames" in page.text_content("#morph-status")
    with page.expect_download() as download:
        page.click("#morph-download")
    path = download.value.path()
    assert download.value.suggested_filename == "morph.gif"
    with open(path, "rb") as file:
        gif_bytes = file.read()
    body = {"from": start, "to": end, "steps": 6, "method": "lerp"}
    assert gif_bytes == api.post("/api/morph", json=body).content
    assert Image.open(io.BytesIO(gif_bytes)).n_frames == 6


def test_gallery_ranks_and_loads(page, server):
    open_page(page, server, f"#code={CENTER}")
    assert page.is_visible("#gallery-panel")
    page.click("#rank")
    page.wait_for_selector("#gallery li", timeout=30_000)
    assert page.locator("#gallery li").count() == 8
    scores = [float(s) for s in page.locator("#gallery li span").all_text_contents()]
    assert scores == sorted(scores, reverse=True)
    page.click("#gallery li:first-child button")
    code = page.get_attribute("#gallery li:first-child img", "alt").split()[1].rstrip(",")
    wait_for_face(page, code)


def test_stale_answers_are_dropped(page, server):
    open_page(page, server, f"#code={CENTER}")
    wait_for_face(page, CENTER)
    held = []

    def hold_first(route):
        if not held:
            held.append(route)
        else:
            route.continue_()

    page.route("**/api/generate", hold_first)
    slow, fast = "11" * 16, "22" * 16
    page.fill("#code", slow)
    page.wait_for_timeout(300)  # past the debounce: the request for `slow` is held
    assert len(held) == 1
    page.fill("#code", fast)
    wait_for_face(page, fast)
    held[0].continue_()  # the older answer now arrives late
    page.wait_for_timeout(500)
    assert page.get_attribute("#face", "data-code") == fast


def test_readable_on_a_phone(browser, server):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    try:
        open_page(page, server, f"#code={CENTER}")
        wait_for_face(page, CENTER)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        box = page.locator("#face").bounding_box()
        assert box["width"] >= 300  # the face fills the phone's width
        slider = page.locator("#slider-0").bounding_box()
        assert slider["height"] >= 24 and slider["x"] + slider["width"] <= 375
    finally:
        context.close()


def test_direction_sliders_and_seed_for_a_large_latent(page, make_generator, run_server):
    from keras_facegen.explorer import create_app

    app = create_app(make_generator(latent_dim=96), max_sliders=32, num_directions=4)
    with run_server(app) as running, httpx.Client(base_url=running.url, timeout=60) as http:
        code = "ff008040"
        open_page(page, running, f"#code={code}&seed=12")
        wait_for_face(page, code)
        assert page.is_visible("#seed-row") and page.input_value("#seed") == "12"
        assert page.locator("#sliders input[type=range]").count() == 4
        assert page.text_content("#sliders-title") == "Directions"
        assert shown_png(page) == api_png(http, code, seed=12)
        page.fill("#seed", "13")
        page.wait_for_function("document.getElementById('face').dataset.seed === '13'")
        assert page.evaluate("window.location.hash") == f"#code={code}&seed=13"
        assert shown_png(page) == api_png(http, code, seed=13)


@pytest.mark.parametrize(
    ("fragment", "reason"),
    [
        ("#code=XYZ", "Only hex digits"),
        ("#5b60", "Expected 32 hex digits; this has 4"),
        ("#code=" + "80" * 15, "Expected 32 hex digits; this has 30"),
    ],
)
def test_an_invalid_permalink_says_so(page, server, fragment, reason):
    open_page(page, server, fragment)
    error = page.locator("#link-error")
    assert error.is_visible()
    assert "This link does not name a face" in error.text_content()
    assert reason in error.text_content()
    # The centre face is shown and the link is left as it was, not silently replaced.
    wait_for_face(page, CENTER)
    assert page.evaluate("window.location.hash") == fragment


def test_a_later_invalid_permalink_keeps_the_face(page, server):
    code = "34" * 16
    open_page(page, server, f"#code={code}")
    wait_for_face(page, code)
    assert not page.locator("#link-error").is_visible()
    page.evaluate("() => { window.location.hash = 'code=nothex'; }")
    page.wait_for_selector("#link-error", state="visible", timeout=5_000)
    assert "The face shown is unchanged" in page.text_content("#link-error")
    assert page.get_attribute("#face", "data-code") == code
    assert page.input_value("#code") == code
    page.evaluate("c => { window.location.hash = 'code=' + c; }", CENTER)
    wait_for_face(page, CENTER)
    assert not page.locator("#link-error").is_visible()


def test_morph_frames_follow_the_apis_limit(page, server, api):
    most = api.get("/api/info").json()["max_morph_steps"]
    schema = api.get("/api/openapi.json").json()["components"]["schemas"]["MorphRequest"]
    assert schema["properties"]["steps"]["maximum"] == most
    open_page(page, server, f"#code={CENTER}")
    assert page.get_attribute("#morph-steps", "max") == str(most)
    sent = []
    page.on("request", lambda request: sent.append(request.url))
    page.fill("#morph-steps", str(most + 1))
    page.click("#morph-play")
    assert page.text_content("#morph-status") == f"Frames must be a whole number from 2 to {most}."
    assert not any(url.endswith("/api/morph") for url in sent)
    assert page.text_content("#rank") == "Rank 64 random faces"


def test_marked_codes_are_shown_whole(page, server):
    codes = ["0123456789abcdef" * 2, "fedcba9876543210" * 2]
    open_page(page, server, f"#code={codes[0]}")
    wait_for_face(page, codes[0])
    page.click("#mark-good")
    page.fill("#code", codes[1])
    wait_for_face(page, codes[1])
    page.click("#mark-bad")
    for selector, code in (("#good-list .code", codes[0]), ("#bad-list .code", codes[1])):
        button = page.locator(selector)
        assert button.text_content() == code
        # Nothing of the code is clipped: the button's content fits inside it.
        clipped = button.evaluate(
            "b => b.scrollWidth > b.clientWidth || b.scrollHeight > b.clientHeight"
        )
        assert not clipped, selector
        panel = page.locator("#marks-panel").bounding_box()
        box = button.bounding_box()
        assert box["x"] + box["width"] <= panel["x"] + panel["width"]


def test_no_blank_area_under_the_sliders_on_a_desktop(browser, server, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        open_page(page, server, f"#code={CENTER}")
        wait_for_face(page, CENTER)
        page.screenshot(path=str(tmp_path / "desktop.png"), full_page=True)
        sliders = page.locator("#sliders-panel").bounding_box()
        morph = page.locator("#morph-panel").bounding_box()
        face = page.locator("#face-panel").bounding_box()
        assert sliders["x"] > face["x"] + face["width"]  # two columns on a desktop
        # The morph panel follows the sliders in the same column, one gap (0.75rem) below.
        assert abs(morph["x"] - sliders["x"]) < 1
        gap = morph["y"] - (sliders["y"] + sliders["height"])
        assert 0 <= gap <= 16, gap
    finally:
        context.close()


def test_the_page_loads_without_a_failed_request(page, server):
    failed = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.on("requestfailed", lambda request: failed.append(request.url))
    open_page(page, server, f"#code={CENTER}")
    wait_for_face(page, CENTER)
    icon = page.evaluate(
        """async () => {
            const response = await fetch(document.querySelector('link[rel=icon]').href);
            return [response.status, response.headers.get('content-type'),
                    new URL(response.url).pathname];
        }"""
    )
    assert icon == [200, "image/x-icon", "/favicon.ico"]
    assert failed == []
