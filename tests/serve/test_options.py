"""`modella serve` option rules: non-loopback needs a token, Runpod's public URL, bad values."""

from __future__ import annotations

import logging

import pytest

from modella_tui.core.errors import EXIT_USAGE, UsageError
from modella_tui.core.urlsafe import is_loopback
from modella_tui.serve.auth import TOKEN_ENV, Gate
from modella_tui.serve.server import _RedactFilter, build_config
from tests.serve.conftest import TOKEN, MakeClient


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_hosts_get_a_fresh_random_token(host: str) -> None:
    a = build_config(host, 8000, None, None, env={})
    b = build_config(host, 8000, None, None, env={})
    assert is_loopback(host)
    assert a.token_generated and b.token_generated
    assert len(a.token.reveal()) >= 40  # token_urlsafe(32)
    assert a.token.reveal() != b.token.reveal()
    assert a.token.reveal() not in repr(a)  # the config's repr masks it


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "pod.example.net", ""])
def test_a_non_loopback_bind_without_a_token_is_refused(host: str) -> None:
    with pytest.raises(UsageError) as info:
        build_config(host, 8000, None, None, env={})
    assert info.value.exit_code == EXIT_USAGE == 2
    assert info.value.key == "serve.token_required"


def test_a_non_loopback_bind_takes_the_token_from_the_option_or_the_environment() -> None:
    given = build_config("0.0.0.0", 8000, None, TOKEN, env={})
    assert given.token.reveal() == TOKEN and not given.token_generated
    from_env = build_config("0.0.0.0", 8000, None, None, env={TOKEN_ENV: TOKEN})
    assert from_env.token.reveal() == TOKEN
    # The option wins over the environment.
    both = build_config("0.0.0.0", 8000, None, TOKEN, env={TOKEN_ENV: "x" * 20})
    assert both.token.reveal() == TOKEN


def test_a_short_token_is_refused() -> None:
    with pytest.raises(UsageError) as info:
        build_config("0.0.0.0", 8000, None, "short", env={})
    assert info.value.key == "serve.token_too_short"
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    "url",
    [
        "ftp://pod.example.net",
        "pod.example.net",
        "https://user:pw@pod.example.net",
        "https://pod.example.net/sub/path",
        "https://pod.example.net/?token=x",
        "https://pod.example.net:99999",
        "https://",
    ],
)
def test_a_bad_public_url_is_refused(url: str) -> None:
    with pytest.raises(UsageError) as info:
        build_config("127.0.0.1", 8000, url, None, env={})
    assert info.value.key == "serve.bad_public_url"
    assert "pw" not in info.value.message


@pytest.mark.parametrize("port", [0, -1, 65536])
def test_a_bad_port_is_refused(port: int) -> None:
    with pytest.raises(UsageError):
        build_config("127.0.0.1", port, None, None, env={})


def test_runpod_pod_id_gives_the_proxy_url_for_a_public_bind() -> None:
    config = build_config("0.0.0.0", 8000, None, TOKEN, env={"RUNPOD_POD_ID": "abc123xyz"})
    assert config.public_url == "https://abc123xyz-8000.proxy.runpod.net"
    assert config.secure
    # An explicit --public-url wins; a loopback bind is for an SSH tunnel, not the proxy.
    explicit = build_config(
        "0.0.0.0", 8000, "https://my.example", TOKEN, env={"RUNPOD_POD_ID": "abc123xyz"}
    )
    assert explicit.public_url == "https://my.example"
    tunnel = build_config("127.0.0.1", 8000, None, None, env={"RUNPOD_POD_ID": "abc123xyz"})
    assert tunnel.public_url is None
    weird = build_config("0.0.0.0", 8000, None, TOKEN, env={"RUNPOD_POD_ID": "a/b@evil"})
    assert weird.public_url is None


async def test_runpod_page_uses_the_wss_proxy_url(make_client: MakeClient) -> None:
    client = await make_client(host="0.0.0.0", env={"RUNPOD_POD_ID": "abc123xyz"})
    port = client.port
    proxy_host = f"abc123xyz-{port}.proxy.runpod.net"
    resp = await client.get(
        "/", params={"token": TOKEN}, headers={"Host": proxy_host}, allow_redirects=False
    )
    assert resp.status == 303
    cookie = resp.headers["Set-Cookie"]
    assert "Secure" in cookie
    name_value = cookie.split(";", 1)[0]
    page = await client.get("/", headers={"Host": proxy_host, "Cookie": name_value})
    assert page.status == 200
    html = await page.text()
    assert f'data-session-websocket-url="wss://{proxy_host}/ws"' in html
    assert f'href="https://{proxy_host}/static/css/xterm.css"' in html


def test_the_gate_compares_tokens_and_cookies_exactly() -> None:
    gate = Gate(build_config("127.0.0.1", 8000, None, TOKEN, env={}))
    assert gate.token_ok(TOKEN)
    assert not gate.token_ok(None) and not gate.token_ok("") and not gate.token_ok(TOKEN + " ")
    assert not gate.token_ok("é" * 40)  # non-ASCII input must not raise
    assert gate.cookie_ok(gate.session_value)
    assert not gate.cookie_ok(TOKEN)
    other = Gate(build_config("127.0.0.1", 8000, None, "another-token-0123456789", env={}))
    assert other.session_value != gate.session_value


def test_the_log_filter_masks_the_token() -> None:
    record = logging.LogRecord(
        "aiohttp.access", logging.INFO, __file__, 1, "GET %s", (f"/?token={TOKEN}&x=1",), None
    )
    assert _RedactFilter(TOKEN).filter(record)
    assert TOKEN not in record.getMessage()
    assert "x=1" in record.getMessage()
    bare = logging.LogRecord("x", logging.ERROR, __file__, 1, "secret is %s", (TOKEN,), None)
    _RedactFilter(TOKEN).filter(bare)
    assert TOKEN not in bare.getMessage()
