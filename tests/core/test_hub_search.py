"""Hub search: repos found by their id, image-generation ones first, the token only for the Hub,
the body capped, every failure a sentence."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import httpx
import pytest
import respx

from modella_tui.core.errors import (
    AuthError,
    BadResponseError,
    NetworkError,
    RateLimitedError,
    ServerError,
    UsageError,
)
from modella_tui.core.hub.client import HubClient
from modella_tui.core.hub.search import HubSearch, HubSearchResult, parse_results, rank
from tests.fakes.fakehub import FakeHub

HUB = "https://hub.example"


def no_auth(url: str) -> Mapping[str, str]:
    return {}


def search_for(endpoint: str = HUB) -> HubSearch:
    return HubSearch(lambda: endpoint, no_auth)


def test_image_generation_repos_come_first_then_by_downloads() -> None:
    results = [
        HubSearchResult("llm/big", downloads=9_000_000, pipeline_tag="text-generation"),
        HubSearchResult("art/lora", downloads=50, tags=("lora",)),
        HubSearchResult("art/t2i", downloads=10, pipeline_tag="text-to-image"),
        HubSearchResult("art/t2i-popular", downloads=1000, pipeline_tag="text-to-image"),
        HubSearchResult("x/diffusers", downloads=70, library="diffusers"),
    ]
    assert [r.id for r in rank(results)] == [
        "art/t2i-popular", "art/t2i", "x/diffusers", "art/lora", "llm/big",
    ]  # fmt: skip


def test_the_listing_is_parsed_leniently() -> None:
    data = [
        {"id": "a/b", "downloads": 5, "tags": ["x", 3], "gated": "manual"},
        {"id": "not-a-repo-id"},
        {"modelId": "c/d", "downloads": "many", "pipeline_tag": 7},
        "garbage",
        {"id": "a/b"},
    ]
    out = parse_results(data)
    assert [r.id for r in out] == ["a/b", "c/d"]
    assert out[0].tags == ("x",) and out[0].gated == "manual"
    assert out[1].downloads is None and out[1].pipeline_tag is None
    with pytest.raises(ValueError, match="not a list"):
        parse_results({"error": "x"})


async def test_the_fake_hub_finds_repos_outside_the_catalogue(fakehub: FakeHub) -> None:
    search = search_for(fakehub.hub_url)
    try:
        found = await search.search("lumina")
        assert [r.id for r in found] == ["Comfy-Org/Lumina_Image_2.0_Repackaged"]
        assert found[0].pipeline_tag == "text-to-image"
        everything = await search.search("/")
        ids = [r.id for r in everything]
        assert "modella-test/private-repo" not in ids  # private without the token
        tests = [i for i, r in enumerate(everything) if r.id.startswith("modella-test/")]
        images = [i for i, r in enumerate(everything) if r.image_score]
        assert images and tests and max(images) < min(tests)
        sent = fakehub.requests("hub", "/api/models")[-1]
        assert sent.query["search"] == ["/"] and sent.query["sort"] == ["downloads"]
        assert "gated" in sent.query["expand"]
        assert sent.authorization is None
    finally:
        await search.aclose()


async def test_the_token_goes_to_the_hub_only(
    fakehub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", fakehub.hub_url)
    monkeypatch.setenv("HF_TOKEN", "hf_searchtoken_0123456789")
    fakehub.hf_token = "hf_searchtoken_0123456789"
    client = HubClient()
    search = HubSearch(lambda: client.endpoint, client.auth_headers)
    try:
        found = await search.search("private")
        assert [r.id for r in found] == ["modella-test/private-repo"]
        sent = fakehub.requests("hub", "/api/models")[-1]
        assert sent.authorization == "Bearer hf_searchtoken_0123456789"
    finally:
        await search.aclose()
    # Another origin (an endpoint moved by a proxy setting) never gets it.
    assert client.auth_headers("http://127.0.0.1:1/api/models") == {}


@respx.mock
@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(500), ServerError),
        (httpx.Response(503, text="<html>down</html>"), ServerError),
        (httpx.Response(429, headers={"Retry-After": "30"}), RateLimitedError),
        (httpx.Response(401), AuthError),
        (httpx.Response(404), BadResponseError),
        (httpx.Response(200, text="<!doctype html><html>login</html>"), BadResponseError),
        (httpx.Response(200, json={"items": []}), BadResponseError),
        (httpx.Response(302, headers={"Location": "https://evil.example/"}), BadResponseError),
    ],
)
async def test_failures_become_sentences(response: httpx.Response, error: type[Exception]) -> None:
    respx.get(f"{HUB}/api/models").mock(return_value=response)
    with pytest.raises(error) as caught:
        await search_for().search("flux")
    assert "hub.example" in str(caught.value)


@respx.mock
async def test_network_failures_say_which_endpoint() -> None:
    respx.get(f"{HUB}/api/models").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(NetworkError, match=r"hub\.example"):
        await search_for().search("flux")
    respx.get(f"{HUB}/api/models").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(NetworkError, match="in time"):
        await search_for().search("flux")


@respx.mock
async def test_the_body_is_capped_while_it_streams() -> None:
    search = search_for()
    search.max_body = 1000
    respx.get(f"{HUB}/api/models").mock(
        return_value=httpx.Response(200, headers={"Content-Length": "5000"}, content=b"[" * 5000)
    )
    with pytest.raises(BadResponseError):
        await search.search("flux")

    async def chunks() -> AsyncIterator[bytes]:
        yield b"[" * 600
        yield b"{}," * 600

    def endless(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks())  # no Content-Length: counted as it comes

    respx.get(f"{HUB}/api/models").mock(side_effect=endless)
    with pytest.raises(BadResponseError):
        await search.search("flux")


async def test_an_empty_query_is_refused() -> None:
    with pytest.raises(UsageError):
        await search_for().search("   ")
