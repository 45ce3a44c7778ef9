"""The Civitai client's status, header, retry, cache and paging logic (respx, no network)."""

from __future__ import annotations

import email.utils
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from modella_tui.core.civitai.client import CivitaiClient, SearchParams
from modella_tui.core.civitai.query import parse_query
from modella_tui.core.config import Secret
from modella_tui.core.errors import (
    AuthError,
    BadResponseError,
    ModellaError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    UsageError,
)
from modella_tui.core.http import parse_retry_after
from modella_tui.core.refs import CivitaiRef
from modella_tui.core.store.cache import ResponseCache
from modella_tui.core.store.db import Database

API = "http://127.0.0.1:8765"
OTHER = "http://127.0.0.1:8766"  # another port is another origin
KEY = "SENTINELKEY0123456789abcdef"
NOW = 1_700_000_000.0


def model_json(model_id: int = 1, **extra: Any) -> dict[str, Any]:
    """A small but complete model item."""
    return {
        "id": model_id,
        "name": f"model {model_id}",
        "type": "LORA",
        "nsfw": False,
        "nsfwLevel": 1,
        "modelVersions": [
            {
                "id": model_id * 10,
                "name": "v1",
                "baseModel": "SDXL 1.0",
                "files": [
                    {
                        "id": model_id * 100,
                        "name": "x.safetensors",
                        "primary": True,
                        "sizeKB": 1.5,
                        "downloadUrl": f"{OTHER}/api/download/models/{model_id * 10}",
                        "hashes": {"SHA256": "AB" * 32},
                    }
                ],
            }
        ],
        **extra,
    }


def page_json(items: list[dict[str, Any]], cursor: Any = None) -> dict[str, Any]:
    """A search page."""
    meta: dict[str, Any] = {} if cursor is None else {"nextCursor": cursor}
    return {"items": items, "metadata": meta}


class FakeSleep:
    """Records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleep() -> FakeSleep:
    """A sleep that returns at once."""
    return FakeSleep()


@pytest.fixture
async def client(sleep: FakeSleep) -> AsyncIterator[CivitaiClient]:
    """A client with a key, no cache, a fake sleep and a fixed clock."""
    c = CivitaiClient(API, Secret(KEY), None, sleep=sleep, clock=lambda: NOW)
    yield c
    await c.close()


@pytest.fixture
async def anon(sleep: FakeSleep) -> AsyncIterator[CivitaiClient]:
    """A client without a key."""
    c = CivitaiClient(API, Secret(""), None, sleep=sleep)
    yield c
    await c.close()


def assert_no_key(exc: BaseException, client: CivitaiClient) -> None:
    """The key appears in no error text, args or repr."""
    for text in (str(exc), repr(exc), repr(exc.args), repr(client)):
        assert KEY not in text


# --- headers and the key ---------------------------------------------------------------


@respx.mock
async def test_product_user_agent_json_accept_and_bearer(client: CivitaiClient) -> None:
    route = respx.get(f"{API}/api/v1/models/1").respond(json=model_json())
    await client.model(1)
    request = route.calls.last.request
    assert request.headers["User-Agent"].startswith("modella/")
    assert "mozilla" not in request.headers["User-Agent"].lower()
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert "token" not in str(request.url)
    assert KEY not in str(request.url)


@respx.mock
async def test_no_key_no_authorization(anon: CivitaiClient) -> None:
    route = respx.get(f"{API}/api/v1/models/1").respond(json=model_json())
    await anon.model(1)
    assert "Authorization" not in route.calls.last.request.headers
    assert not anon.has_key


def test_authorization_only_for_the_exact_api_origin(client: CivitaiClient) -> None:
    assert "Authorization" in client.headers_for(f"{API}/api/download/models/1")
    for url in (
        f"{OTHER}/api/download/models/1",  # other port
        "https://127.0.0.1:8765/api/v1/models",  # other scheme
        "http://localhost:8765/api/v1/models",  # other host name
        "http://127.0.0.1.evil.example:8765/x",
        "not a url",
    ):
        headers = client.headers_for(url)
        assert "Authorization" not in headers, url
        assert headers["User-Agent"].startswith("modella/")


def test_default_ports_count_as_the_same_origin() -> None:
    c = CivitaiClient("https://civitai.com/", Secret(KEY), None)
    assert c.is_api_origin("https://civitai.com:443/api/download/models/1")
    assert c.is_api_origin("https://CIVITAI.com/x")
    assert not c.is_api_origin("http://civitai.com/x")
    assert not c.is_api_origin("https://civitai.red/x")
    assert not c.is_api_origin("https://civitai.com.evil.example/x")


@respx.mock
async def test_url_named_in_a_response_gets_no_key(client: CivitaiClient) -> None:
    respx.get(f"{API}/api/v1/models/1").respond(json=model_json())
    model = await client.model(1)
    url = model.versions[0].files[0].download_url
    assert url is not None and url.startswith(OTHER)
    assert "Authorization" not in client.headers_for(url)


@respx.mock
async def test_redirect_to_another_origin_drops_the_key(client: CivitaiClient) -> None:
    respx.get(f"{API}/api/v1/models/1").respond(302, headers={"Location": f"{OTHER}/m/1"})
    other = respx.get(f"{OTHER}/m/1").respond(json=model_json())
    await client.model(1)
    assert other.called
    assert "Authorization" not in other.calls.last.request.headers


# --- status mapping --------------------------------------------------------------------


@respx.mock
async def test_401_without_key_says_how_to_set_one(anon: CivitaiClient) -> None:
    respx.get(f"{API}/api/v1/models/1").respond(401, json={"error": "Unauthorized"})
    with pytest.raises(AuthError) as info:
        await anon.model(1)
    assert info.value.key == "civitai.error.auth_required"
    assert info.value.exit_code == 3
    assert "modella config set civitai.api_key KEY" in str(info.value)
    assert "CIVITAI_API_KEY" in str(info.value)


@respx.mock
async def test_401_with_key_says_the_key_was_refused(client: CivitaiClient) -> None:
    respx.get(f"{API}/api/v1/models/1").respond(401, text=f"bad key {KEY}")
    with pytest.raises(AuthError) as info:
        await client.model(1)
    assert info.value.key == "civitai.error.auth_invalid"
    assert_no_key(info.value, client)


@respx.mock
async def test_redirect_to_login_page_is_an_auth_error(anon: CivitaiClient) -> None:
    respx.get(f"{API}/api/v1/models/1").respond(
        307, headers={"Location": "/login?reason=download-auth"}
    )
    respx.get(f"{API}/login").respond(200, text="<html>Sign in</html>")
    with pytest.raises(AuthError) as info:
        await anon.model(1)
    assert info.value.key == "civitai.error.auth_required"


@respx.mock
async def test_403_mentions_early_access(client: CivitaiClient) -> None:
    route = respx.get(f"{API}/api/v1/model-versions/5").respond(403, text="<html>no</html>")
    with pytest.raises(AuthError) as info:
        await client.version(5)
    assert info.value.key == "civitai.error.forbidden"
    assert "early access" in str(info.value)
    assert route.call_count == 1  # refused is final: no retry


@respx.mock
async def test_404_names_what_is_missing(client: CivitaiClient) -> None:
    respx.get(f"{API}/api/v1/models/4384").respond(404, json={"error": "No model"})
    with pytest.raises(NotFoundError) as info:
        await client.model(4384)
    assert info.value.exit_code == 4
    assert "4384" in str(info.value)


@respx.mock
async def test_429_retry_after_seconds(client: CivitaiClient) -> None:
    route = respx.get(f"{API}/api/v1/models/1").respond(429, headers={"Retry-After": "3"})
    with pytest.raises(RateLimitedError) as info:
        await client.model(1)
    assert info.value.retry_after == 3.0
    assert "3 s" in str(info.value)
    assert route.call_count == 1


@respx.mock
async def test_429_retry_after_http_date(client: CivitaiClient) -> None:
    when = email.utils.formatdate(NOW + 120, usegmt=True)
    respx.get(f"{API}/api/v1/models/1").respond(429, headers={"Retry-After": when})
    with pytest.raises(RateLimitedError) as info:
        await client.model(1)
    assert info.value.retry_after == pytest.approx(120.0)


@respx.mock
async def test_429_without_retry_after_on_paging_says_refine(client: CivitaiClient) -> None:
    route = respx.get(f"{API}/api/v1/models").respond(429, text="Too Many Requests")
    with pytest.raises(RateLimitedError) as info:
        await client.search(SearchParams(query="x", cursor="900"))
    assert info.value.retry_after is None
    assert info.value.key == "civitai.error.rate_limited_paging"
    assert route.call_count == 1


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after("3", NOW) == 3.0
    assert parse_retry_after(" 999999 ", NOW) == 999999.0
    assert parse_retry_after(email.utils.formatdate(NOW + 60, usegmt=True), NOW) == 60.0
    assert parse_retry_after(email.utils.formatdate(NOW - 60, usegmt=True), NOW) == 0.0
    assert parse_retry_after("-5", NOW) == 0.0
    for garbage in (None, "", "soon", "nan", "inf"):
        assert parse_retry_after(garbage, NOW) is None


@respx.mock
async def test_500_then_200_retries_with_backoff(client: CivitaiClient, sleep: FakeSleep) -> None:
    route = respx.get(f"{API}/api/v1/models/1")
    route.side_effect = [
        httpx.Response(500),
        httpx.Response(502),
        httpx.Response(200, json=model_json()),
    ]
    model = await client.model(1)
    assert model.id == 1
    assert route.call_count == 3
    assert len(sleep.delays) == 2
    # Equal jitter: each delay lies between half and all of its exponential ceiling.
    assert 0.25 <= sleep.delays[0] <= 0.5
    assert 0.5 <= sleep.delays[1] <= 1.0


@respx.mock
async def test_503_retry_after_is_honoured_up_to_a_cap(sleep: FakeSleep) -> None:
    c = CivitaiClient(API, None, None, sleep=sleep, retry_after_cap=30.0)
    route = respx.get(f"{API}/api/v1/models/1")
    route.side_effect = [
        httpx.Response(503, headers={"Retry-After": "2"}),
        httpx.Response(503, headers={"Retry-After": "999999"}),
        httpx.Response(200, json=model_json()),
    ]
    await c.model(1)
    await c.close()
    assert sleep.delays == [2.0, 30.0]


@respx.mock
async def test_5xx_every_time_becomes_server_error(client: CivitaiClient, sleep: FakeSleep) -> None:
    route = respx.get(f"{API}/api/v1/models/1").respond(503)
    with pytest.raises(ServerError) as info:
        await client.model(1)
    assert route.call_count == 4
    assert len(sleep.delays) == 3
    assert "503" in str(info.value)
    assert API in str(info.value)
    assert_no_key(info.value, client)


@respx.mock
async def test_html_200_is_a_bad_response(client: CivitaiClient) -> None:
    respx.get(f"{API}/api/v1/models/1").respond(
        200, text="<!DOCTYPE html><html>Log in</html>", headers={"Content-Type": "text/html"}
    )
    with pytest.raises(BadResponseError) as info:
        await client.model(1)
    assert info.value.key == "civitai.error.not_json"


@respx.mock
async def test_json_that_is_not_an_object_is_a_bad_response(client: CivitaiClient) -> None:
    respx.get(f"{API}/api/v1/models/1").respond(json=["not", "a", "model"])
    with pytest.raises(BadResponseError):
        await client.model(1)


@respx.mock
async def test_connect_error_names_the_host(client: CivitaiClient) -> None:
    respx.get(f"{API}/api/v1/models/1").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(NetworkError) as info:
        await client.model(1)
    assert info.value.exit_code == 5
    assert "127.0.0.1:8765" in str(info.value)
    assert "/api/v1" not in str(info.value)  # scheme and host only
    assert_no_key(info.value, client)


@respx.mock
async def test_timeout_is_a_network_error(client: CivitaiClient) -> None:
    respx.get(f"{API}/api/v1/models/1").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(NetworkError) as info:
        await client.model(1)
    assert info.value.key == "civitai.error.timeout"


@respx.mock
async def test_connection_reset_is_retried(client: CivitaiClient, sleep: FakeSleep) -> None:
    route = respx.get(f"{API}/api/v1/models/1")
    route.side_effect = [httpx.ReadError("reset"), httpx.Response(200, json=model_json())]
    assert (await client.model(1)).id == 1
    assert len(sleep.delays) == 1


@respx.mock
async def test_400_carries_the_servers_short_message(client: CivitaiClient) -> None:
    msg = "Cannot use page param with query search. Use cursor-based pagination."
    respx.get(f"{API}/api/v1/models").respond(400, json={"error": msg})
    with pytest.raises(UsageError) as info:
        await client.search(SearchParams(query="x"))
    assert msg in str(info.value)
    assert info.value.exit_code == 2


@respx.mock
async def test_400_with_nested_issues_and_control_characters(client: CivitaiClient) -> None:
    body = {"error": {"name": "ZodError", "issues": [{"message": "bad\x1b[2J sort"}]}}
    respx.get(f"{API}/api/v1/models").respond(400, json=body)
    with pytest.raises(UsageError) as info:
        await client.search(SearchParams(sort="nope"))
    assert "bad" in str(info.value) and "sort" in str(info.value)
    assert "\x1b" not in str(info.value)


@respx.mock
async def test_other_status_is_a_bad_response(client: CivitaiClient) -> None:
    respx.get(f"{API}/api/v1/models/1").respond(418)
    with pytest.raises(BadResponseError) as info:
        await client.model(1)
    assert "418" in str(info.value)


@respx.mock
async def test_key_never_in_any_error(client: CivitaiClient) -> None:
    route = respx.get(f"{API}/api/v1/models/1")
    for resp in (
        httpx.Response(401, text=KEY),
        httpx.Response(400, json={"error": f"key {KEY} invalid"}),
        httpx.Response(429, text=KEY),
        httpx.Response(404, text=KEY),
        httpx.Response(200, text=f"<html>{KEY}</html>"),
    ):
        route.side_effect = [resp]
        with pytest.raises(ModellaError) as info:
            await client.model(1)
        assert_no_key(info.value, client)


# --- search parameters and paging ------------------------------------------------------


@respx.mock
async def test_search_repeats_types_and_base_models_and_never_sends_page(
    client: CivitaiClient,
) -> None:
    route = respx.get(f"{API}/api/v1/models").respond(json=page_json([model_json()], "c2"))
    params = SearchParams(
        query="ink",
        tag="anime",
        username="someone",
        types=["LORA", "Checkpoint"],
        base_models=["SDXL 1.0", "Flux.1 D"],
        sort="Most Downloaded",
        period="Week",
        limit=500,
        cursor="c1",
    )
    page = await client.search(params)
    q = route.calls.last.request.url.params
    assert q.get_list("types") == ["LORA", "Checkpoint"]
    assert q.get_list("baseModels") == ["SDXL 1.0", "Flux.1 D"]
    assert "page" not in q
    assert q["query"] == "ink"
    assert q["tag"] == "anime"
    assert q["username"] == "someone"
    assert q["sort"] == "Most Downloaded"
    assert q["period"] == "Week"
    assert q["cursor"] == "c1"
    assert q["limit"] == "100"  # clamped to the API's maximum
    assert q["nsfw"] == "false"
    assert page.next_cursor == "c2"


@respx.mock
async def test_empty_page_with_cursor_is_not_the_end(client: CivitaiClient) -> None:
    respx.get(f"{API}/api/v1/models").respond(json=page_json([], 12345))
    page = await client.search(SearchParams())
    assert page.items == ()
    assert page.next_cursor == "12345"


@respx.mock
async def test_last_page_has_no_cursor(client: CivitaiClient) -> None:
    respx.get(f"{API}/api/v1/models").respond(json=page_json([model_json()]))
    page = await client.search(SearchParams())
    assert len(page.items) == 1
    assert page.next_cursor is None


@respx.mock
async def test_mature_items_filtered_on_our_side(client: CivitaiClient) -> None:
    items = [
        model_json(1),
        model_json(2, nsfw=True),
        model_json(3, nsfwLevel=28),
        model_json(4, nsfwLevel=3),  # PG + PG-13 is Civitai's own SFW
    ]
    route = respx.get(f"{API}/api/v1/models").respond(json=page_json(items, "n"))
    safe = await client.search(SearchParams())
    assert [m.id for m in safe.items] == [1, 4]
    assert safe.next_cursor == "n"
    everything = await client.search(SearchParams(nsfw=True))
    assert [m.id for m in everything.items] == [1, 2, 3, 4]
    assert "nsfw" not in route.calls.last.request.url.params


def test_search_params_with_intent_and_next_page() -> None:
    base = SearchParams(types=["LORA"], cursor="old")
    params = base.with_intent(parse_query("@artist ink wash #style"))
    assert (params.query, params.tag, params.username) == ("ink wash", "style", "artist")
    assert params.types == ["LORA"]
    assert params.cursor is None
    assert params.next_page("c9").cursor == "c9"
    assert params.with_cursor("c8") == replace(params, cursor="c8")


# --- cache -----------------------------------------------------------------------------


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh state database."""
    async with Database(tmp_path / "state.db") as database:
        yield database


@respx.mock
async def test_repeated_search_within_ttl_makes_no_request(db: Database) -> None:
    now = [NOW]
    cache = ResponseCache(db, clock=lambda: now[0])
    c = CivitaiClient(API, None, cache, cache_ttl=600)
    route = respx.get(f"{API}/api/v1/models").respond(json=page_json([model_json()], "c"))
    first = await c.search(SearchParams(query="ink", types=["LORA"]))
    again = await c.search(SearchParams(query="ink", types=["LORA"]))
    assert route.call_count == 1
    assert again == first
    await c.search(SearchParams(query="ink", types=["Checkpoint"]))
    assert route.call_count == 2  # other filters, other key
    now[0] += 601
    await c.search(SearchParams(query="ink", types=["LORA"]))
    assert route.call_count == 3  # expired
    keys = [r["key"] for r in await db.fetchall("SELECT key FROM model_cache")]
    assert all(k.startswith("civitai:search:") for k in keys)
    await c.close()


@respx.mock
async def test_model_cache_key_and_no_secret_in_cache(db: Database) -> None:
    cache = ResponseCache(db)
    c = CivitaiClient(API, Secret(KEY), cache)
    route = respx.get(f"{API}/api/v1/models/7").respond(json=model_json(7))
    await c.model(7)
    await c.model(7)
    assert route.call_count == 1
    rows = await db.fetchall("SELECT key, value FROM model_cache")
    assert [r["key"] for r in rows] == ["civitai:model:7"]
    assert KEY not in json.dumps([dict(r) for r in rows])
    await c.close()


@respx.mock
async def test_errors_are_not_cached(db: Database) -> None:
    c = CivitaiClient(API, None, ResponseCache(db), sleep=FakeSleep())
    route = respx.get(f"{API}/api/v1/models/1")
    route.side_effect = [httpx.Response(404), httpx.Response(200, json=model_json())]
    with pytest.raises(NotFoundError):
        await c.model(1)
    assert (await c.model(1)).id == 1
    await c.close()


# --- version, by-hash, resolve -------------------------------------------------------------


def version_json(version_id: int, model_id: int) -> dict[str, Any]:
    """What `/model-versions/:id` sends."""
    return {
        "id": version_id,
        "modelId": model_id,
        "name": "v",
        "model": {"name": "The Model", "type": "Checkpoint", "nsfw": False},
        "files": [],
    }


@respx.mock
async def test_version_returns_its_model_identity(client: CivitaiClient) -> None:
    respx.get(f"{API}/api/v1/model-versions/128713").respond(json=version_json(128713, 4384))
    info = await client.version(128713)
    assert info.version.id == 128713
    assert (info.model_id, info.model_name, info.model_type) == (4384, "The Model", "Checkpoint")


@respx.mock
async def test_by_hash_accepts_sha256_and_autov2(client: CivitaiClient) -> None:
    sha = "ab" * 32
    r1 = respx.get(f"{API}/api/v1/model-versions/by-hash/{sha.upper()}").respond(
        json=version_json(1, 2)
    )
    r2 = respx.get(f"{API}/api/v1/model-versions/by-hash/ABCDEF0123").respond(
        json=version_json(3, 4)
    )
    assert (await client.by_hash(sha)).version.id == 1
    assert (await client.by_hash("abcdef0123")).model_id == 4
    assert r1.called and r2.called


@pytest.mark.parametrize("bad", ["", "xyz", "ab" * 31, "../../etc", "abcdef012?", "a" * 65])
async def test_by_hash_refuses_non_hashes(client: CivitaiClient, bad: str) -> None:
    # No route is mocked: any request would fail the test with an unmocked-request error.
    with respx.mock, pytest.raises(UsageError):
        await client.by_hash(bad)


@pytest.mark.parametrize("bad", [0, -1, True])
async def test_ids_must_be_positive(client: CivitaiClient, bad: int) -> None:
    with pytest.raises(UsageError):
        await client.model(bad)


@respx.mock
async def test_resolve_forms(client: CivitaiClient) -> None:
    m = model_json(4384)
    m["modelVersions"].insert(0, {"id": 999, "name": "newest"})
    respx.get(f"{API}/api/v1/models/4384").respond(json=m)
    respx.get(f"{API}/api/v1/model-versions/43840").respond(json=version_json(43840, 4384))
    respx.get(f"{API}/api/v1/model-versions/555").respond(json=version_json(555, 4384))
    respx.get(f"{API}/api/v1/model-versions/777").respond(json=version_json(777, 1))

    model, version = await client.resolve(CivitaiRef(4384, None))
    assert (model.id, version.id) == (4384, 999)  # latest
    _, version = await client.resolve(CivitaiRef(4384, 43840))
    assert version.id == 43840
    model, version = await client.resolve(CivitaiRef(None, 43840))
    assert (model.id, version.id) == (4384, 43840)
    _, version = await client.resolve(CivitaiRef(4384, 555))  # not in the model's list
    assert version.id == 555
    with pytest.raises(NotFoundError):
        await client.resolve(CivitaiRef(4384, 777))  # belongs to another model


@respx.mock
async def test_check_key(client: CivitaiClient, anon: CivitaiClient) -> None:
    route = respx.get(f"{API}/api/v1/models").respond(json=page_json([]))
    await client.check_key()
    request = route.calls.last.request
    assert request.url.params["favorites"] == "true"
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    with pytest.raises(AuthError):
        await anon.check_key()  # no key: no request at all
    assert route.call_count == 1
    route.respond(401)
    with pytest.raises(AuthError) as info:
        await client.check_key()
    assert info.value.key == "civitai.error.auth_invalid"


def test_bad_base_url_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        CivitaiClient("ftp://example", None, None)


def test_repr_hides_the_key(client: CivitaiClient) -> None:
    assert KEY not in repr(client)
    assert "key=set" in repr(client)


# --- core/UI line -------------------------------------------------------------------------


def test_client_import_pulls_in_neither_textual_nor_rich() -> None:
    code = (
        "import sys, modella_tui.core.civitai.client, modella_tui.core.refs;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- against the project's loopback fake hub ---------------------------------------------


async def test_paging_the_fake_hub_end_to_end() -> None:
    from tests.fakes.fakehub import FakeHub

    with FakeHub() as hub:
        c = CivitaiClient(hub.civitai_url, None, None)
        params, seen = SearchParams(limit=7), []
        for _ in range(100):  # bounded: a broken cursor must not loop forever
            page = await c.search(params)
            seen += [m.id for m in page.items]
            if page.next_cursor is None:
                break
            params = params.next_page(page.next_cursor)
        await c.close()
        mature = {m.id for m in hub.catalog.models.values() if m.mature}
    assert len(seen) == len(set(seen))
    assert mature and not mature & set(seen)  # leaked mature items filtered on our side
    assert len(seen) == len(hub.catalog.models) - len(mature)


# --- body caps ---------------------------------------------------------------------------


def counting_body(first: bytes, chunks: int, size: int, sent: list[int]) -> AsyncIterator[bytes]:
    """A streamed body without Content-Length; `sent` counts the chunks handed out."""

    async def body() -> AsyncIterator[bytes]:
        yield first
        for _ in range(chunks):
            sent.append(1)
            yield b" " * size

    return body()


@respx.mock
async def test_an_oversized_answer_is_refused_before_parsing_or_caching(db: Database) -> None:
    c = CivitaiClient(API, Secret(KEY), ResponseCache(db), sleep=FakeSleep())
    c.max_body = 4096
    big = json.dumps(model_json(1, description="x" * 5000)).encode()
    route = respx.get(f"{API}/api/v1/models/1").respond(200, content=big)
    with pytest.raises(BadResponseError) as err:
        await c.model(1)
    assert err.value.key == "civitai.error.too_large"
    assert (
        API.removeprefix("http://") in err.value.message and "stopped reading" in err.value.message
    )
    assert_no_key(err.value, c)
    assert route.call_count == 1  # not retried: a second try would be as big
    assert await db.fetchall("SELECT key FROM model_cache") == []
    await c.close()


@respx.mock
async def test_the_body_cap_holds_without_content_length(client: CivitaiClient) -> None:
    client.max_body = 64 * 1024
    sent: list[int] = []
    respx.get(f"{API}/api/v1/models").mock(
        return_value=httpx.Response(200, content=counting_body(b'{"items": [', 1000, 4096, sent))
    )
    with pytest.raises(BadResponseError) as err:
        await client.search(SearchParams(query="ink"))
    assert err.value.key == "civitai.error.too_large"
    assert len(sent) < 20  # stopped soon after 64 KiB, not at the 4 MB end of the body


@respx.mock
async def test_an_answer_at_the_cap_is_read_whole(client: CivitaiClient) -> None:
    body = json.dumps(model_json(1)).encode()
    client.max_body = len(body)
    respx.get(f"{API}/api/v1/models/1").respond(200, content=body)
    assert (await client.model(1)).id == 1


@respx.mock
async def test_a_huge_error_page_is_read_only_for_its_first_sentence(
    client: CivitaiClient,
) -> None:
    sent: list[int] = []
    body = counting_body(b"cursor is not valid" + b" " * 10, 10_000, 4096, sent)
    respx.get(f"{API}/api/v1/models").mock(return_value=httpx.Response(400, content=body))
    with pytest.raises(UsageError) as err:
        await client.search(SearchParams(query="ink"))
    assert "cursor is not valid" in err.value.message
    assert len(sent) < 40  # 64 KiB of a 40 MB page
