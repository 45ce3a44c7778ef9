"""Quick checks that the fake hub behaves like the services it stands for."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes import catalog as cat
from tests.fakes.fakehub import Attempt, FakeHub


@pytest.fixture(scope="module")
def hub() -> Iterator[FakeHub]:
    with FakeHub() as fake:
        yield fake


@pytest.fixture
def fresh() -> Iterator[FakeHub]:
    """A hub of its own, for tests that script faults or move the clock."""
    with FakeHub() as fake:
        yield fake


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as c:
        yield c


def _models(client: httpx.Client, hub: FakeHub, **params: Any) -> httpx.Response:
    return client.get(f"{hub.civitai_url}/api/v1/models", params=params)


def _primary_blob(hub: FakeHub, version_id: int) -> cat.Blob:
    return hub.version(version_id).files[0].blob


def test_cursor_paging_has_an_empty_middle_page(hub: FakeHub, client: httpx.Client) -> None:
    params: dict[str, Any] = {"query": "ink", "limit": 2, "nsfw": "false", "sort": "Newest"}
    pages: list[list[str]] = []
    cursors: list[str | None] = []
    for _ in range(10):
        body = _models(client, hub, **params).json()
        pages.append([m["name"] for m in body["items"]])
        cursor = body["metadata"].get("nextCursor")
        cursors.append(cursor)
        if cursor is None:
            break
        assert isinstance(cursor, str)
        params["cursor"] = cursor
    assert pages == [
        ["Ink Wash LoRA", "Sumi Ink Style"],
        [],
        ["Inkpunk Diffusion", "Ink Sketch Embedding"],
    ]
    assert cursors[1] is not None and cursors[-1] is None


def test_nsfw_false_still_leaks_some_mature_models(hub: FakeHub, client: httpx.Client) -> None:
    items = _models(client, hub, nsfw="false", limit=100).json()["items"]
    ids = {m["id"] for m in items}
    assert cat.LEAKY_MATURE in ids and cat.LEAKY_LEVEL in ids
    assert cat.DARK_INK not in ids
    everything = {m["id"] for m in _models(client, hub, limit=100).json()["items"]}
    assert cat.DARK_INK in everything


def test_page_with_query_is_refused_like_the_real_api(hub: FakeHub, client: httpx.Client) -> None:
    r = _models(client, hub, query="ink", page=2)
    assert r.status_code == 400
    assert "cursor-based pagination" in r.json()["error"]


def test_types_must_be_repeated(hub: FakeHub, client: httpx.Client) -> None:
    repeated = client.get(
        f"{hub.civitai_url}/api/v1/models", params=[("types", "VAE"), ("types", "Upscaler")]
    ).json()["items"]
    assert repeated and {m["type"] for m in repeated} == {"VAE", "Upscaler"}
    joined = _models(client, hub, types="VAE,Upscaler").json()["items"]
    assert joined == []


def test_model_version_and_hash_lookups(hub: FakeHub, client: httpx.Client) -> None:
    model = client.get(f"{hub.civitai_url}/api/v1/models/{cat.INK_WASH}").json()
    assert [v["id"] for v in model["modelVersions"]] == [1012, 1011]  # newest first
    f = model["modelVersions"][0]["files"][0]
    assert f["hashes"]["SHA256"] == f["hashes"]["SHA256"].upper()
    assert model["modelVersions"][0]["images"][0]["url"].startswith(hub.cdn_url)
    version = client.get(f"{hub.civitai_url}/api/v1/model-versions/1012").json()
    assert version["modelId"] == cat.INK_WASH and version["model"]["type"] == "LORA"
    for value in (f["hashes"]["SHA256"].lower(), f["hashes"]["AutoV2"].lower()):
        found = client.get(f"{hub.civitai_url}/api/v1/model-versions/by-hash/{value}")
        assert found.json()["id"] == 1012
    missing = client.get(f"{hub.civitai_url}/api/v1/models/999999")
    assert missing.status_code == 404 and "error" in missing.json()
    stats = client.get(f"{hub.civitai_url}/api/v1/models/{cat.NULL_STATS}").json()["stats"]
    assert set(stats.values()) == {None}


def test_download_redirects_to_another_origin_without_the_key(
    fresh: FakeHub, client: httpx.Client
) -> None:
    fresh.civitai_key = "KEY123"
    headers = {"Authorization": "Bearer KEY123"}
    url = f"{fresh.civitai_url}/api/download/models/1012"
    first = client.get(url, headers=headers)
    assert first.status_code == 307
    assert first.headers["location"].startswith(f"{fresh.cdn_url}/files/")
    r = client.get(url, headers=headers, follow_redirects=True)
    blob = _primary_blob(fresh, 1012)
    assert r.status_code == 200
    assert hashlib.sha256(r.content).hexdigest() == blob.sha256
    assert r.headers["content-disposition"] == 'attachment; filename="inkWashLora_v20.safetensors"'
    civitai = fresh.requests("civitai", "/api/download/")
    cdn = fresh.requests("cdn", "/files/")
    assert all(rec.authorization == "Bearer KEY123" for rec in civitai)
    assert cdn and all(rec.authorization is None for rec in cdn)
    # The server thread counts a write after it returns, which can be after the client has it all.
    assert fresh.wait_served(blob.id, blob.size)
    assert fresh.bytes_served(blob.id) == blob.size


def test_login_required_early_access_and_browser_agent(
    fresh: FakeHub, client: httpx.Client
) -> None:
    fresh.civitai_key = "KEY123"
    login = f"{fresh.civitai_url}/api/download/models/1141"
    assert client.get(login).status_code == 401
    assert client.get(login, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get(login, headers={"Authorization": "Bearer KEY123"}).status_code == 307
    browser = client.get(login, headers={"User-Agent": "Mozilla/5.0"})
    assert (
        browser.status_code == 307 and "/login?reason=download-auth" in browser.headers["location"]
    )
    early = client.get(f"{fresh.civitai_url}/api/download/models/1152")
    assert early.status_code == 403


def test_cdn_ranges_and_head(hub: FakeHub, client: httpx.Client) -> None:
    blob = _primary_blob(hub, 1021)
    url = hub.signed_url(blob, "x.safetensors")
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{blob.size}"
    assert part.content == blob.read(100, 100)
    tail = client.get(url, headers={"Range": f"bytes={blob.size - 10}-"})
    assert tail.status_code == 206 and tail.content == blob.read(blob.size - 10, 10)
    beyond = client.get(url, headers={"Range": f"bytes={blob.size}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{blob.size}"
    head = client.head(url)
    assert head.status_code == 200 and int(head.headers["content-length"]) == blob.size
    assert head.headers["accept-ranges"] == "bytes" and head.headers["etag"]


def test_expired_signed_url(fresh: FakeHub, client: httpx.Client) -> None:
    r = client.get(f"{fresh.civitai_url}/api/download/models/1021")
    url = r.headers["location"]
    assert client.get(url).status_code == 200
    fresh.now += 86400 + 5
    expired = client.get(url)
    assert expired.status_code == 403 and b"Request has expired" in expired.content
    tampered = url.replace("sig=", "sig=0")
    assert client.get(tampered).status_code == 403


def test_drop_after_cuts_the_connection(fresh: FakeHub) -> None:
    blob = _primary_blob(fresh, 1021)
    url = fresh.signed_url(blob, "x")
    fresh.script(blob.id, [Attempt(drop_after=1000)])
    with httpx.Client(timeout=5) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            c.get(url)
        assert fresh.bytes_served(blob.id) == 1000
        again = c.get(url)  # the script is used up: normal behaviour
    assert again.status_code == 200 and len(again.content) == blob.size


def test_scripted_faults(fresh: FakeHub, client: httpx.Client) -> None:
    blob = _primary_blob(fresh, 1021)
    url = fresh.signed_url(blob, "x")
    fresh.script(
        blob.id,
        [
            Attempt(status=503, retry_after="3"),
            Attempt(corrupt_at=5),
            Attempt(ignore_range=True),
            Attempt(wrong_content_range=True),
            Attempt(body=b"<html>login</html>"),
        ],
    )
    busy = client.get(url)
    assert busy.status_code == 503 and busy.headers["retry-after"] == "3"
    corrupt = client.get(url)
    assert corrupt.content[5] != blob.read(5, 1)[0] and corrupt.content[6:] == blob.read(
        6, blob.size
    )
    whole = client.get(url, headers={"Range": "bytes=10-"})
    assert whole.status_code == 200 and len(whole.content) == blob.size
    wrong = client.get(url, headers={"Range": "bytes=10-19"})
    assert wrong.status_code == 206 and wrong.headers["content-range"].startswith("bytes 0-9/")
    assert wrong.content == blob.read(0, 10)
    html = client.get(url)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")


def test_no_content_length_ends_by_closing(fresh: FakeHub) -> None:
    blob = _primary_blob(fresh, 1021)
    fresh.script(blob.id, [Attempt(no_content_length=True, drop_after=500)])
    with httpx.Client(timeout=5) as c:
        r = c.get(fresh.signed_url(blob, "x"))
    # What makes an early close without Content-Length dangerous: the client sees a clean end, only the size tells.
    assert r.status_code == 200 and "content-length" not in r.headers and len(r.content) == 500


def test_stall_until_the_client_goes_away(fresh: FakeHub) -> None:
    blob = _primary_blob(fresh, 1021)
    fresh.script(blob.id, [Attempt(stall_after=2000)])
    with httpx.Client(timeout=httpx.Timeout(5, read=0.3)) as c, pytest.raises(httpx.ReadTimeout):
        c.get(fresh.signed_url(blob, "x"))
    assert fresh.bytes_served(blob.id) == 2000


def test_rate_cap_slows_the_body(fresh: FakeHub, client: httpx.Client) -> None:
    import time

    blob = _primary_blob(fresh, 1021)
    fresh.script(blob.id, [Attempt(rate=400_000)])
    began = time.monotonic()
    r = client.get(fresh.signed_url(blob, "x"), headers={"Range": "bytes=0-99999"})
    assert len(r.content) == 100_000
    # 100 kB at 400 kB/s: the last 20 kB chunk leaves no earlier than 0.2 s after the first.
    assert time.monotonic() - began >= 0.15


def test_fail_next_api_faults(fresh: FakeHub, client: httpx.Client) -> None:
    fresh.fail_next("civitai", "/api/v1/models", 429, times=2, headers={"Retry-After": "7"})
    first = _models(client, fresh, limit=1)
    assert first.status_code == 429 and first.headers["retry-after"] == "7"
    assert _models(client, fresh, limit=1).status_code == 429
    assert _models(client, fresh, limit=1).status_code == 200
    fresh.fail_next("civitai", "/api/v1/models", 200, body=b"<html/>", content_type="text/html")
    assert _models(client, fresh).headers["content-type"] == "text/html"


def test_hub_resolve_tree_and_gating(fresh: FakeHub, client: httpx.Client) -> None:
    repo = fresh.catalog.repos["black-forest-labs/FLUX.1-dev"]
    ae = repo.entry("ae.safetensors")
    assert ae is not None
    url = f"{fresh.hub_url}/{repo.id}/resolve/main/ae.safetensors"
    no_token = client.head(url)
    assert no_token.status_code == 401 and no_token.headers["x-error-code"] == "GatedRepo"
    fresh.hf_token = "hf_good"
    wrong = client.head(url, headers={"Authorization": "Bearer hf_bad"})
    assert wrong.status_code == 403 and wrong.headers["x-error-code"] == "GatedRepo"
    ok = client.head(url, headers={"Authorization": "Bearer hf_good"})
    assert ok.status_code == 302
    assert ok.headers["x-linked-etag"] == f'"{ae.blob.sha256}"'
    assert int(ok.headers["x-linked-size"]) == ae.blob.size
    assert ok.headers["location"].startswith(fresh.cdn_url) and ok.headers["x-repo-commit"]
    r = client.get(url, headers={"Authorization": "Bearer hf_good"}, follow_redirects=True)
    assert hashlib.sha256(r.content).hexdigest() == ae.blob.sha256
    assert all(rec.authorization is None for rec in fresh.requests("cdn"))
    missing = client.get(f"{fresh.hub_url}/api/models/nobody/nothing")
    assert missing.headers["x-error-code"] == "RepoNotFound"
    small = client.get(
        f"{fresh.hub_url}/stabilityai/stable-diffusion-xl-base-1.0/resolve/main/config.json",
        headers={"Range": "bytes=0-4"},
    )
    assert small.status_code == 206 and small.content == b'{"_cl'
    tree = client.get(
        f"{fresh.hub_url}/api/models/modella-test/hostile-tree/tree/main",
        params={"recursive": True},
    ).json()
    assert "../../x.safetensors" in {e["path"] for e in tree}


def test_images_are_png(hub: FakeHub, client: httpx.Client) -> None:
    r = client.get(f"{hub.cdn_url}/images/xG1nkq/abc/width=450/1.png")
    assert r.status_code == 200 and r.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_blob_bytes_differ_per_unit_and_slice_consistently() -> None:
    blob = cat.Blob("t", 300_000, seed=3)
    data = blob.data()
    units = [data[i : i + 16] for i in range(0, len(data) - 16, 16)]
    assert len(set(units)) == len(units)
    assert blob.read(65_530, 20) == data[65_530:65_550]
    assert blob.sha256 == hashlib.sha256(data).hexdigest()


def test_stop_ends_idle_keep_alive_connections() -> None:
    import time

    hub = FakeHub().start()
    with httpx.Client(timeout=5) as c:
        c.get(f"{hub.civitai_url}/api/v1/models", params={"limit": 1})
        began = time.monotonic()
        hub.stop()
    assert time.monotonic() - began < 3


def test_foreign_download_url_points_at_the_storage_host(
    hub: FakeHub, client: httpx.Client
) -> None:
    model = client.get(f"{hub.civitai_url}/api/v1/models/{cat.FOREIGN_DOWNLOAD}").json()
    version = model["modelVersions"][0]
    assert version["downloadUrl"].startswith(f"{hub.cdn_url}/files/")
    assert version["files"][0]["downloadUrl"].startswith(f"{hub.cdn_url}/files/")
    assert client.get(version["downloadUrl"]).status_code == 200


def test_runs_standalone_and_stops_on_ctrl_c() -> None:
    import signal
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes", "--port", "0"],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(3)]
        civitai = lines[0].split("=", 1)[1]
        assert lines[1].startswith("HF_ENDPOINT=http://127.0.0.1:")
        r = httpx.get(f"{civitai}/api/v1/models", params={"limit": 1}, timeout=5)
        assert r.status_code == 200 and len(r.json()["items"]) == 1
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
