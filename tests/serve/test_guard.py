"""The serve guard: token → cookie, every route locked, Origin and Host checked (aiohttp test client)."""

from __future__ import annotations

import asyncio
import json
import re
from http.cookies import SimpleCookie

import aiohttp
import pytest

from modella_tui.serve.auth import TOKEN_ENV
from tests.serve.conftest import TOKEN, Client, MakeClient

ROUTES = ["/", "/ws", "/static/js/textual.js", "/static/", "/download/somekey", "/nope"]


def cookie_of(resp: aiohttp.ClientResponse) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in resp.headers.getall("Set-Cookie", []):
        jar.load(header)
    return jar


async def session_cookie(client: Client) -> tuple[str, str]:
    resp = await client.get(f"/?token={TOKEN}", allow_redirects=False)
    assert resp.status == 303
    ((name, morsel),) = cookie_of(resp).items()
    client.session.cookie_jar.clear()  # each test sends the cookie it means to, by hand
    return name, morsel.value


@pytest.mark.parametrize("path", ROUTES)
async def test_every_route_needs_the_cookie(make_client: MakeClient, path: str) -> None:
    client = await make_client()
    # With this server's own Origin (as its page would send), so only the missing cookie counts.
    own = {"Origin": f"http://127.0.0.1:{client.port}"}
    resp = await client.get(path, headers=own, allow_redirects=False)
    assert resp.status == 401
    assert "Set-Cookie" not in resp.headers
    body = await resp.text()
    assert "serve.unauthorized" in body or "token" in body.lower()


@pytest.mark.parametrize("bad", ["wrong", TOKEN[:-1], TOKEN + "x", "", TOKEN.upper()])
async def test_a_bad_token_is_refused_without_a_cookie(make_client: MakeClient, bad: str) -> None:
    client = await make_client()
    resp = await client.get("/", params={"token": bad}, allow_redirects=False)
    assert resp.status == 401
    assert "Set-Cookie" not in resp.headers
    assert TOKEN not in await resp.text()


async def test_a_forged_cookie_is_refused(make_client: MakeClient) -> None:
    client = await make_client()
    name, value = await session_cookie(client)
    for forged in (TOKEN, value[:-1] + ("0" if value[-1] != "0" else "1"), "x"):
        resp = await client.get("/", headers={"Cookie": f"{name}={forged}"})
        assert resp.status == 401, forged


async def test_the_token_buys_a_strict_httponly_cookie_and_a_clean_redirect(
    make_client: MakeClient,
) -> None:
    client = await make_client()
    resp = await client.get("/", params={"token": TOKEN, "fontsize": "20"}, allow_redirects=False)
    assert resp.status == 303
    location = resp.headers["Location"]
    assert location == "/?fontsize=20"
    assert "token" not in location
    cookies = cookie_of(resp)
    assert list(cookies) == [f"modella_serve_{client.port}"]
    morsel = next(iter(cookies.values()))
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Strict"
    assert morsel["path"] == "/"
    assert not morsel["secure"]  # plain http on loopback: a Secure cookie would never come back
    assert morsel.value and TOKEN not in morsel.value
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["Cache-Control"] == "no-store"

    # The test client's jar now holds the cookie: every route opens.
    page = await client.get(location)
    assert page.status == 200
    html = await page.text()
    assert f'data-session-websocket-url="ws://127.0.0.1:{client.port}/ws"' in html
    assert TOKEN not in html
    static = await client.get("/static/js/textual.js")
    assert static.status == 200
    missing = await client.get("/download/nothing-here")
    assert missing.status == 404  # past the lock, textual-serve's own answer


async def test_the_page_points_back_at_the_host_in_use(make_client: MakeClient) -> None:
    client = await make_client()
    name, value = await session_cookie(client)
    resp = await client.get(
        "/", headers={"Host": f"localhost:{client.port}", "Cookie": f"{name}={value}"}
    )
    assert resp.status == 200
    html = await resp.text()
    assert f'data-session-websocket-url="ws://localhost:{client.port}/ws"' in html


async def test_a_cross_site_arrival_gets_the_cookie_and_a_same_site_hop(
    make_client: MakeClient,
) -> None:
    client = await make_client()
    resp = await client.get(
        "/",
        params={"token": TOKEN},
        headers={"Sec-Fetch-Site": "cross-site"},
        allow_redirects=False,
    )
    assert resp.status == 200
    assert cookie_of(resp)[f"modella_serve_{client.port}"]["samesite"] == "Strict"
    html = await resp.text()
    assert '<meta http-equiv="refresh" content="0;url=/">' in html
    assert TOKEN not in html


async def test_the_cookie_is_secure_behind_an_https_public_url(make_client: MakeClient) -> None:
    client = await make_client(public_url="https://pod.example.net")
    resp = await client.get(
        "/", params={"token": TOKEN}, headers={"Host": "pod.example.net"}, allow_redirects=False
    )
    assert resp.status == 303
    assert next(iter(cookie_of(resp).values()))["secure"] is True


# --- Origin on the WebSocket, Host everywhere -------------------------------------------


async def test_the_websocket_opens_with_cookie_and_own_origin(make_client: MakeClient) -> None:
    client = await make_client()
    name, value = await session_cookie(client)
    headers = {"Origin": f"http://127.0.0.1:{client.port}", "Cookie": f"{name}={value}"}
    async with client.ws_connect(
        "/ws", headers=headers, timeout=aiohttp.ClientWSTimeout(ws_close=10)
    ) as ws:
        msg = await ws.receive(timeout=30)
        assert msg.type == aiohttp.WSMsgType.BINARY
        report = json.loads(msg.data)
        assert isinstance(report["pid"], int)


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "https://evil.example",
        "null",
        "http://127.0.0.1:{other}",
        "http://localhost:{other}",
        "https://127.0.0.1:{port}",
        "http://127.0.0.1.evil.example:{port}",
        "file://",
        None,
    ],
)
async def test_a_foreign_origin_on_the_websocket_is_403_even_with_a_cookie(
    make_client: MakeClient, origin: str | None
) -> None:
    client = await make_client()
    port = client.port
    assert port is not None  # the server is started
    name, value = await session_cookie(client)
    headers = {"Cookie": f"{name}={value}"}
    if origin is not None:
        headers["Origin"] = origin.format(port=port, other=port + 1)
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await client.ws_connect("/ws", headers=headers)
    assert info.value.status == 403


async def test_a_foreign_origin_on_plain_requests_is_403(make_client: MakeClient) -> None:
    client = await make_client()
    name, value = await session_cookie(client)
    resp = await client.get(
        "/download/x", headers={"Cookie": f"{name}={value}", "Origin": "http://evil.example"}
    )
    assert resp.status == 403


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:{port}",
        "127.0.0.1:{other}",
        "localhost",
        "127.0.0.1",
        "0.0.0.0:{port}",
        "",
    ],
)
async def test_a_host_outside_the_allow_list_is_403(make_client: MakeClient, host: str) -> None:
    client = await make_client()
    port = client.port
    assert port is not None  # the server is started
    bad_host = host.format(port=port, other=port + 1)
    name, value = await session_cookie(client)
    resp = await client.get(
        "/",
        headers={
            "Host": bad_host,
            "Cookie": f"{name}={value}",
        },
    )
    assert resp.status == 403
    # Also before any sign-in: the token does not open a rebinding name either.
    resp = await client.get(
        "/",
        params={"token": TOKEN},
        headers={"Host": bad_host},
        allow_redirects=False,
    )
    assert resp.status == 403
    assert "Set-Cookie" not in resp.headers


async def test_the_public_host_and_bind_host_are_allowed(make_client: MakeClient) -> None:
    client = await make_client(host="0.0.0.0", public_url="https://pod.example.net")
    name, value = await session_cookie(client)
    cookie = f"{name}={value}"
    for host in (
        "pod.example.net",
        "pod.example.net:443",
        "POD.example.net",
        f"localhost:{client.port}",
    ):
        resp = await client.get("/", headers={"Host": host, "Cookie": cookie})
        assert resp.status == 200, host
    for host in ("pod.example.net:80", f"pod.example.net:{client.port}", f"0.0.0.0:{client.port}"):
        resp = await client.get("/", headers={"Host": host, "Cookie": cookie})
        assert resp.status == 403, host
    # The public origin may open the socket; the plain-http one of the same name may not.
    ok = {"Cookie": cookie, "Origin": "https://pod.example.net", "Host": "pod.example.net"}
    async with client.ws_connect("/ws", headers=ok) as ws:
        assert (await ws.receive(timeout=30)).type == aiohttp.WSMsgType.BINARY
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await client.ws_connect("/ws", headers={**ok, "Origin": "http://pod.example.net"})
    assert info.value.status == 403


async def test_the_app_process_never_sees_the_token(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    client = await make_client(token=None, env={TOKEN_ENV: TOKEN})
    name, value = await session_cookie(client)
    headers = {"Origin": f"http://127.0.0.1:{client.port}", "Cookie": f"{name}={value}"}
    async with client.ws_connect("/ws", headers=headers) as ws:
        msg = await ws.receive(timeout=30)
    report = json.loads(msg.data)
    assert report["has_token_env"] is False
    assert not any(TOKEN in v for v in report["env_values"])
    assert re.fullmatch(r"\d+", str(report["pid"]))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("//evil.example/", "/?a=1"),
        ("///evil.example", "/?a=1"),
        ("/\\evil.example/", "/?a=1"),
        ("/static/", "/static/?a=1"),
    ],
)
async def test_the_sign_in_redirect_never_leaves_the_site(
    make_client: MakeClient, raw: str, expected: str
) -> None:
    client = await make_client()
    # A raw request: aiohttp's client would normalise these paths away.
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.write(
        f"GET {raw}?token={TOKEN}&a=1 HTTP/1.1\r\nHost: 127.0.0.1:{client.port}\r\n"
        "Connection: close\r\n\r\n".encode()
    )
    data = await asyncio.wait_for(reader.read(), 30)
    writer.close()
    lines = data.decode("latin-1").split("\r\n")
    assert lines[0] == "HTTP/1.1 303 See Other"
    assert f"Location: {expected}" in lines
