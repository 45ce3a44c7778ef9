"""One real browser (Debian's Chromium through Playwright) against the served app."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.fakes.fakehub import FakeHub
from tests.serve.conftest import ServeProcess, StartServe, stop_serve
from tests.serve.tiny_app import BANNER

if TYPE_CHECKING:
    # Imported for real only inside the tests, which skip when playwright is missing.
    from playwright.sync_api import WebSocket

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _need_browser() -> None:
    # In CI the browser is installed by scripts/install-browser: a missing one is a failure there,
    # not a skip that would hide an untested `modella serve`.
    missing = None
    if not CHROMIUM.exists():
        missing = "/usr/bin/chromium is missing: run scripts/install-browser"
    elif importlib.util.find_spec("playwright") is None:
        missing = "the playwright package is not installed: run scripts/install-browser"
    if missing and os.environ.get("CI"):
        pytest.fail(missing)
    if missing:
        pytest.skip(missing)


class Frames:
    """Collects what the app sends down the page's WebSocket (xterm.js draws it on a canvas)."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.urls: list[str] = []
        self.sockets: list[WebSocket] = []

    def attach(self, ws: WebSocket) -> None:
        self.urls.append(ws.url)
        self.sockets.append(ws)
        ws.on("framereceived", self._on_frame)

    def _on_frame(self, payload: bytes | str) -> None:
        self.data += payload.encode() if isinstance(payload, str) else payload

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def _open_and_check(
    server: ServeProcess,
    tmp_path: Path,
    expect: str | re.Pattern[str],
    *,
    press: str | None = None,
) -> tuple[Path, str]:
    """Open the tokened link, wait for `expect` on the terminal, screenshot; then a fresh context
    without the token must get 401. Returns the screenshot and the page's body text."""
    from playwright.sync_api import sync_playwright

    shot = tmp_path / "serve.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1100, "height": 700})
            page = context.new_page()
            frames = Frames()
            page.on("websocket", frames.attach)
            # The template also asks a font host, unreachable here: do not wait for "load".
            response = page.goto(server.url, wait_until="domcontentloaded", timeout=30_000)
            assert response is not None and response.status == 200
            assert "token" not in page.url  # the redirect dropped it from the address bar
            cookies = context.cookies()
            assert [c["name"] for c in cookies] == [f"modella_serve_{server.port}"]
            assert cookies[0]["httpOnly"] and cookies[0]["sameSite"] == "Strict"
            # xterm.js adds this class once the app's first bytes arrived over the socket.
            page.wait_for_selector("body.-first-byte", timeout=60_000)
            page.wait_for_function(
                "() => document.querySelector('.textual-terminal canvas') !== null", timeout=30_000
            )
            deadline_ms = 60_000
            _wait_for_text(frames, expect, deadline_ms)
            if press is not None:
                page.locator(".textual-terminal").click()
                page.keyboard.press(press)
                _wait_for_text(frames, f"pressed key {press}", deadline_ms)
            assert len(frames.urls) == 1
            assert frames.urls[0].startswith(f"ws://127.0.0.1:{server.port}/ws?")
            page.screenshot(path=str(shot))
            # The page's title card (hidden once the app draws) names the application.
            body_text = page.evaluate("document.body.textContent")

            fresh = browser.new_context()
            denied = fresh.new_page().goto(f"{server.base}/", wait_until="domcontentloaded")
            assert denied is not None and denied.status == 401
            fresh.close()
            context.close()
        finally:
            browser.close()
    return shot, str(body_text)


_CSI = re.compile(r"\x1b\[[0-9;?<=>$]*[ -/]*[@-~]")
_OSC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


def visible_text(raw: str) -> str:
    """What a terminal would show of `raw`, roughly: escape sequences removed."""
    return _CSI.sub("", _OSC.sub("", raw))


def _wait_for_text(frames: Frames, expect: str | re.Pattern[str], timeout_ms: int) -> None:
    """Wait on the socket's frame events until the app has sent `expect` to the page."""

    def seen(_payload: object = None) -> bool:
        shown = visible_text(frames.text())
        return expect in shown if isinstance(expect, str) else bool(expect.search(shown))

    if seen():
        return
    assert frames.sockets, "the page opened no WebSocket"
    try:
        frames.sockets[-1].wait_for_event("framereceived", predicate=seen, timeout=timeout_ms)
    except Exception:
        tail = visible_text(frames.text())[-300:]
        pytest.fail(f"the page never received {expect!r}; got {tail!r}")


def _assert_png(shot: Path) -> None:
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 5_000


def test_the_app_runs_in_chromium_and_a_tokenless_context_is_refused(
    serve_process: StartServe, tmp_path: Path
) -> None:
    _need_browser()
    server = serve_process()
    shot, body = _open_and_check(server, tmp_path, BANNER, press="x")
    _assert_png(shot)
    assert "Modella" in body
    code, _, err = stop_serve(server)
    assert code == 0, err


def test_the_real_modella_app_starts_in_chromium(
    serve_process: StartServe, tmp_path: Path, fakehub: FakeHub
) -> None:
    _need_browser()
    # The tab's app inherits the server's environment: point it at the fake Civitai and Hub.
    env = {"MODELLA_CIVITAI_URL": fakehub.civitai_url, "HF_ENDPOINT": fakehub.hub_url}
    server = serve_process(command=shlex.join([sys.executable, "-m", "modella_tui"]), env=env)
    # The first screen is someone else's and may change; a model name from the fake catalogue
    # shows the real app is up, in the browser, and talking to (fake) Civitai.
    names = sorted({m.name for m in fakehub.catalog.models.values()}, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(n[:20]) for n in names))
    shot, _ = _open_and_check(server, tmp_path, pattern)
    _assert_png(shot)
    code, _, err = stop_serve(server)
    assert code == 0, err


def test_a_link_from_another_site_still_signs_in(
    serve_process: StartServe,
) -> None:
    """A pod console on another site links to the tokened URL: the Strict cookie must still work."""
    _need_browser()
    import http.server
    import threading

    from playwright.sync_api import sync_playwright

    server = serve_process()
    page_html = f'<a id="go" href="{server.url}">open</a>'.encode()

    class Console(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page_html)

        def log_message(self, *args: object) -> None:
            pass

    console = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Console)
    threading.Thread(target=console.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                # `localhost` and `127.0.0.1` are different sites: this link is cross-site.
                page.goto(f"http://localhost:{console.server_address[1]}/", timeout=30_000)
                with page.expect_response(lambda r: r.url == f"{server.base}/") as answer:
                    page.click("#go")
                assert answer.value.status == 200
                page.wait_for_selector("body.-first-byte", timeout=60_000)
                assert page.url == f"{server.base}/"
            finally:
                browser.close()
    finally:
        console.shutdown()
        console.server_close()
    code, _, err = stop_serve(server)
    assert code == 0, err
