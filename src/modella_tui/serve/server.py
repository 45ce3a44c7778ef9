"""`modella serve`: the app in a browser through textual-serve, behind a token, Host and Origin check.

textual-serve starts one app process per WebSocket and checks nothing; this module wraps its aiohttp
application with a guard middleware.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping
from html import escape
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import WSCloseCode, web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from modella_tui.core.config import Settings
from modella_tui.core.errors import ModellaError
from modella_tui.core.i18n import t
from modella_tui.core.textsafe import clean, redact
from modella_tui.serve.auth import TOKEN_ENV, Gate, ServeConfig, resolve_config

log = logging.getLogger("modella_tui.serve")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_GATE: web.AppKey[Gate] = web.AppKey("modella_gate", Gate)
_QUIT_TIMEOUT = 5.0
APP_TITLE = "Modella"  # a product name, the same in every language


def default_command() -> str:
    """The shell command each browser tab runs: the terminal app with this interpreter."""
    return shlex.join([sys.executable, "-m", "modella_tui"])


class _RedactFilter(logging.Filter):
    """Masks the token (and any `token=` query value) in every log record that passes."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), [self._secret])
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks are formatted later from exc_info; keep the text but never the token.
            record.exc_text = redact(
                logging.Formatter().formatException(record.exc_info), [self._secret]
            )
            record.exc_info = None
        return True


def _refuse(status: int, key: str) -> web.Response:
    return web.Response(status=status, text=t(key) + "\n", content_type="text/plain")


def _is_websocket(request: web.Request) -> bool:
    return request.path == "/ws" or request.headers.get("Upgrade", "").lower() == "websocket"


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Host allow-list, Origin check, then the token → cookie exchange or the cookie check."""
    gate = request.app[_GATE]
    host = request.headers.get("Host")
    if not gate.host_ok(host):
        log.warning(t("serve.log_refused_host", host=clean(host or "")[:200]))
        return _refuse(403, "serve.forbidden_host")
    origin = request.headers.get("Origin")
    # A WebSocket must name its origin; other requests are checked when a browser sends one.
    if (_is_websocket(request) or origin is not None) and not gate.origin_ok(origin):
        log.warning(t("serve.log_refused_origin", origin=clean(origin or "")[:200]))
        return _refuse(403, "serve.forbidden_origin")
    if "token" in request.query:
        if not gate.token_ok(request.query.get("token")):
            return _refuse(401, "serve.unauthorized")
        return _sign_in(request, gate)
    if not gate.cookie_ok(request.cookies.get(gate.cookie_name)):
        return _refuse(401, "serve.unauthorized")
    return await handler(request)


def _sign_in(request: web.Request, gate: Gate) -> web.Response:
    """Trade a valid URL token for the session cookie and send the browser to the clean URL."""
    query = [(k, v) for k, v in request.rel_url.query.items() if k != "token"]
    path = request.rel_url.raw_path
    # `//host` or `/\host` would send the browser to another site (an open redirect).
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        path = "/"
    location = path + ("?" + urlencode(query) if query else "")
    if request.headers.get("Sec-Fetch-Site", "none") in ("none", "same-origin"):
        response = web.Response(status=303, headers={"Location": location})
    else:
        # Opened from another site (a pod console): a SameSite=Strict cookie is not sent along a
        # cross-site redirect, so navigate from our own page instead.
        target = escape(location, quote=True)
        body = (
            '<!DOCTYPE html><html><head><meta charset="utf-8">'
            f'<meta http-equiv="refresh" content="0;url={target}"></head>'
            f'<body><a href="{target}">{escape(t("serve.continue"))}</a></body></html>'
        )
        response = web.Response(status=200, text=body, content_type="text/html")
    response.set_cookie(
        gate.cookie_name,
        gate.session_value,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=gate.secure,
    )
    return response


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Headers on every answer: no token in a Referer, no framing, no caching of pages."""
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    if not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")


# textual-serve has no extension API: this module relies on three of its private names, all
# here and checked by tests/serve/test_textual_serve_api.py (textual-serve is pinned in
# pyproject.toml): `Server._make_app` (the aiohttp application we wrap with the guard),
# `Server._process_messages` (the socket loop of one tab) and `AppService._process` (the tab's
# process, which textual-serve never reaps).


def _tab_process(app_service: AppService) -> asyncio.subprocess.Process | None:
    """The tab's app process, if it was started."""
    process: asyncio.subprocess.Process | None = app_service._process
    return process


async def _stop_app(app_service: AppService) -> None:
    """Ask the tab's process to quit; kill it if it does not, and reap it either way."""
    try:
        await asyncio.wait_for(app_service.stop(), _QUIT_TIMEOUT)
    except TimeoutError:
        log.warning(t("serve.log_app_killed"))
    # textual-serve never waits for the process; a Ctrl-C must not leave children behind.
    process = _tab_process(app_service)
    if process is not None:
        if process.returncode is None:
            process.kill()
        await process.wait()


class ModellaServer(Server):
    """textual-serve's Server with the guard, the token kept to itself and a clean stop."""

    def __init__(self, config: ServeConfig) -> None:
        super().__init__(
            config.command,
            host=config.host,
            port=config.port,
            title=APP_TITLE,
            public_url=config.public_url,
        )
        self.config = config
        self.gate = Gate(config)
        # The token lives in `config` from now on; no tab's process may inherit it.
        os.environ.pop(TOKEN_ENV, None)
        # Open sockets, each with an event set once its app process has been reaped.
        self._sockets: dict[web.WebSocketResponse, asyncio.Event] = {}
        self._finishing: set[asyncio.Task[None]] = set()  # strong refs to shielded stop tasks

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app[_GATE] = self.gate
        app.middlewares.append(_guard)
        app.on_response_prepare.append(_security_headers)
        return app

    async def make_app(self) -> web.Application:
        """The guarded aiohttp application (for the runner and the tests)."""
        return await self._make_app()

    async def on_startup(self, app: web.Application) -> None:
        """textual-serve prints a banner here; we print the tokened link once, in `serve_forever`."""

    async def on_shutdown(self, app: web.Application) -> None:
        """Close every tab's socket and wait until each app process has quit and been reaped."""
        pending = list(self._sockets.items())
        for socket, _ in pending:
            await socket.close(code=WSCloseCode.GOING_AWAY)
        if pending:
            waits = [asyncio.create_task(done.wait()) for _, done in pending]
            _, late = await asyncio.wait(waits, timeout=_QUIT_TIMEOUT * 2)
            for task in late:
                task.cancel()

    def _base_url(self, request: web.Request) -> str:
        # Without --public-url the page talks back to the address the browser used; the guard has
        # already checked that Host is one of ours, so it can go into the page.
        if self.config.public_url:
            return self.config.public_url
        return f"http://{request.headers['Host']}"

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        """The page holding xterm.js, with URLs pointing back at the address in use."""
        base = self._base_url(request)
        ws_base = ("wss:" if base.startswith("https:") else "ws:") + base.split(":", 1)[1]
        context: dict[str, Any] = {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": f"{ws_base}/ws",
            "config": {"static": {"url": f"{base}/static/"}},
            "application": {"name": self.title},
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One app process per socket, as textual-serve does (the token left the environment when
        this server was made, so the tab's process never inherits it)."""
        websocket = web.WebSocketResponse(heartbeat=15)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        app_service: AppService | None = None
        done = self._sockets[websocket] = asyncio.Event()

        async def close() -> None:
            await websocket.close()

        try:
            await websocket.prepare(request)
            app_service = AppService(
                self.command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=close,
                download_manager=self.download_manager,
                debug=self.debug,
            )
            await app_service.start(width, height)
            await self._process_messages(websocket, app_service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception:
            log.exception(t("serve.log_session_failed"))
        finally:
            # Shielded: aiohttp cancels handlers at shutdown, and a half-stopped app process would
            # outlive the server. on_shutdown waits for `done` instead.
            task = asyncio.create_task(self._finish(websocket, app_service, done))
            self._finishing.add(task)
            task.add_done_callback(self._finishing.discard)
            await asyncio.shield(task)
        return websocket

    async def _finish(
        self,
        websocket: web.WebSocketResponse,
        app_service: AppService | None,
        done: asyncio.Event,
    ) -> None:
        try:
            if app_service is not None:
                await _stop_app(app_service)
        finally:
            self._sockets.pop(websocket, None)
            done.set()

    def initialize_logging(self) -> None:
        """Warnings and errors to stderr, with the token masked; no access log at all."""
        handler = logging.StreamHandler(sys.stderr)
        handler.addFilter(_RedactFilter(self.config.token.reveal()))
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.handlers[:] = [handler]
        root.setLevel(logging.DEBUG if self.debug else logging.WARNING)

    def serve(self, debug: bool = False) -> None:
        """Run until Ctrl-C or SIGTERM (replaces textual-serve's, which logs URLs and banners)."""
        self.debug = debug
        self.initialize_logging()
        asyncio.run(self.serve_forever())

    async def serve_forever(self, ready: Callable[[], None] | None = None) -> None:
        """Bind, print the tokened link once, wait for a stop signal, shut down cleanly."""
        app = await self._make_app()
        # access_log=None: the first request's URL carries the token.
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.config.host, self.config.port)
            try:
                await site.start()
            except OSError:
                raise ModellaError(
                    "serve.port_busy", host=clean(self.config.host), port=self.config.port
                ) from None
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(sig, stop.set)
                except (NotImplementedError, RuntimeError):
                    pass
            url = f"{self.config.printed_url}/?token={self.config.token.reveal()}"
            # The link gets a line of its own so it can be copied (and parsed) whole.
            print(t("serve.open"), flush=True)
            print(url, flush=True)
            print(t("serve.stop_hint"), flush=True)
            if ready is not None:
                ready()
            await stop.wait()
        finally:
            await runner.cleanup()
        print(t("serve.stopped"), flush=True)


def build_config(
    host: str,
    port: int,
    public_url: str | None,
    token: str | None,
    *,
    command: str | None = None,
    env: Mapping[str, str] | None = None,
) -> ServeConfig:
    """Resolve the serve options against the environment (raises UsageError, exit 2)."""
    return resolve_config(
        host,
        port,
        public_url,
        token,
        command or default_command(),
        os.environ if env is None else env,
    )


def run_serve(
    settings: Settings,
    host: str,
    port: int,
    public_url: str | None,
    token: str | None,
    *,
    command: str | None = None,
) -> int:
    """`modella serve`: serve the app in browsers until Ctrl-C; returns the exit code."""
    config = build_config(host, port, public_url, token, command=command)
    ModellaServer(config).serve()
    return 0
