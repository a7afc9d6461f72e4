"""Takes the explorer screenshots in the README and docs, in Debian's Chromium.

Serves the explorer on a free 127.0.0.1 port (uvicorn in a thread), opens a permalink in
headless Chromium through Playwright, marks a good and a bad face, ranks the gallery, plays a
morph and saves the page (desktop) and a phone-sized view::

    python scripts/screenshot_explorer.py                      # the shipped face64_synthetic
    python scripts/screenshot_explorer.py --model runs/x/generator.keras --out /tmp/shots

Writes ``docs/images/explorer.png`` and ``docs/images/explorer_phone.png`` by default.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def parse_args() -> argparse.Namespace:
    """The command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="face64_synthetic", help="pretrained name or file")
    parser.add_argument("--code", default="616e7df9c64f45dce18258fe512fe0cf", help="face shown")
    parser.add_argument("--good", default="4cab33f05d1ba0ec70f37f6c9efef275", help="marked good")
    parser.add_argument("--bad", default="d638d3bef8c01df0d7716f0837b61cfd", help="marked bad")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images")
    return parser.parse_args()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main(args: argparse.Namespace) -> None:
    """Serves the model, drives the page and writes the two screenshots."""
    import uvicorn
    from playwright.sync_api import sync_playwright

    from keras_facegen.explorer import load_explorer_app

    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("screenshot_explorer.py needs Debian's chromium on PATH.")
    app = load_explorer_app(args.model)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}/#code={args.code}"
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(url)
            page.wait_for_selector("body[data-ready=true]")
            for code, button in ((args.good, "#mark-good"), (args.bad, "#mark-bad")):
                page.fill("#code", code)
                page.wait_for_function(
                    "c => document.getElementById('face').dataset.code === c", arg=code
                )
                page.click(button)
            page.wait_for_function("!document.getElementById('apply-offset').disabled")
            page.fill("#code", args.code)
            page.wait_for_function(
                "c => document.getElementById('face').dataset.code === c", arg=args.code
            )
            page.click("#morph-from-current")
            page.fill("#morph-to", args.good)
            page.click("#morph-play")
            page.wait_for_function("document.getElementById('morph-image').naturalWidth > 0")
            if page.is_visible("#gallery-panel"):
                page.click("#rank")
                page.wait_for_selector("#gallery li")
            page.evaluate("document.activeElement.blur()")
            desktop = args.out / "explorer.png"
            page.screenshot(path=str(desktop), full_page=True)
            phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
            phone.goto(url)
            phone.wait_for_selector("body[data-ready=true]")
            phone.wait_for_function(
                "c => document.getElementById('face').dataset.code === c", arg=args.code
            )
            phone_path = args.out / "explorer_phone.png"
            phone.screenshot(path=str(phone_path))
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    print(f"wrote {desktop} and {phone_path}")


if __name__ == "__main__":
    main(parse_args())
