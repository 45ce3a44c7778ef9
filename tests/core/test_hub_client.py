"""HubClient against the fake hub through HF_ENDPOINT: metadata, gating, errors, token scope."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from modella_tui.core.config import Secret, Settings
from modella_tui.core.errors import (
    EXIT_AUTH,
    AuthError,
    BadResponseError,
    ModellaError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    ServerError,
)
from modella_tui.core.hub.client import HubClient
from tests.fakes.fakehub import FakeHub

FLUX = "black-forest-labs/FLUX.1-dev"
ENCODERS = "comfyanonymous/flux_text_encoders"
SENTINEL = "hf_SENTINELtoken0123456789"


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    with FakeHub() as fake:
        monkeypatch.setenv("HF_ENDPOINT", fake.hub_url)
        yield fake


def _no_secret(err: ModellaError) -> None:
    for text in (str(err), repr(err), err.message, repr(err.params)):
        assert SENTINEL not in text


async def test_repo_info_lists_files_with_size_and_sha256(hub: FakeHub) -> None:
    info = await HubClient().repo_info(ENCODERS)
    repo = hub.catalog.repos[ENCODERS]
    assert info.id == ENCODERS and info.sha == repo.sha and info.gated is False
    by_path = {f.path: f for f in info.files}
    clip = repo.entry("clip_l.safetensors")
    assert clip is not None
    assert by_path["clip_l.safetensors"].size == clip.blob.size
    assert by_path["clip_l.safetensors"].sha256 == clip.blob.sha256
    assert by_path["README.md"].sha256 is None  # not LFS: no published SHA256
    assert by_path["README.md"].size == repo.entries[0].blob.size


async def test_repo_info_falls_back_to_the_tree(hub: FakeHub) -> None:
    repo_id = "Comfy-Org/Wan_2.1_ComfyUI_repackaged"
    bare = {"id": repo_id, "sha": "0" * 40, "siblings": [{"rfilename": "x"}]}
    hub.fail_next("hub", f"/api/models/{repo_id}", 200, body=json.dumps(bare).encode())
    info = await HubClient().repo_info(repo_id)
    paths = {f.path: f for f in info.files}
    vae = "split_files/vae/wan_2.1_vae.safetensors"
    entry = hub.catalog.repos[repo_id].entry(vae)
    assert entry is not None
    assert paths[vae].sha256 == entry.blob.sha256 and paths[vae].size == entry.blob.size
    assert "split_files/vae" not in paths  # folders are not files
    assert hub.requests("hub", f"/api/models/{repo_id}/tree/main")


async def test_gated_repo_without_token_says_token_and_licence(hub: FakeHub) -> None:
    client = HubClient()
    info = await client.repo_info(FLUX)  # the listing itself is public, as on the real Hub
    assert info.gated == "manual"
    with pytest.raises(AuthError) as caught:
        await client.file_info(FLUX, "flux1-dev.safetensors")
    err = caught.value
    assert err.exit_code == EXIT_AUTH
    assert f"{hub.hub_url}/{FLUX}" in err.message
    assert "licence" in err.message and "hf.token" in err.message and "HF_TOKEN" in err.message
    with pytest.raises(AuthError):
        await client.check_access(FLUX)


async def test_gated_repo_with_a_token_not_accepted(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.hf_token = "hf_accepted"
    monkeypatch.setenv("HF_TOKEN", SENTINEL)
    with pytest.raises(AuthError) as caught:
        await HubClient().file_info(FLUX, "ae.safetensors")
    assert caught.value.key == "hub.error.gated_denied"
    assert f"{hub.hub_url}/{FLUX}" in caught.value.message
    _no_secret(caught.value)


async def test_gated_repo_with_the_accepted_token(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.hf_token = SENTINEL
    monkeypatch.setenv("HF_TOKEN", SENTINEL)
    client = HubClient()
    await client.check_access(FLUX)
    f = await client.file_info(FLUX, "flux1-dev.safetensors")
    entry = hub.catalog.repos[FLUX].entry("flux1-dev.safetensors")
    assert entry is not None
    assert f.size == entry.blob.size and f.sha256 == entry.blob.sha256
    config = await client.file_info(FLUX, "vae/config.json")
    assert config.sha256 is None and config.size == len(b'{"_class_name": "AutoencoderKL"}\n')
    assert all(r.authorization == f"Bearer {SENTINEL}" for r in hub.requests("hub"))
    assert not hub.requests("cdn")  # metadata never touches the storage host


async def test_missing_repo_file_and_revision(hub: FakeHub) -> None:
    client = HubClient()
    with pytest.raises(NotFoundError) as repo_err:
        await client.repo_info("nobody/nothing")
    assert "nobody/nothing" in repo_err.value.message
    with pytest.raises(NotFoundError):
        await client.file_info(ENCODERS, "no/such.safetensors")
    with pytest.raises(NotFoundError) as rev_err:
        await client.repo_info(ENCODERS, revision="no-such-branch")
    assert rev_err.value.key == "hub.error.revision_not_found"


async def test_server_down_is_a_network_error(monkeypatch: pytest.MonkeyPatch) -> None:
    hub = FakeHub().start()
    url = hub.hub_url
    hub.stop()
    monkeypatch.setenv("HF_ENDPOINT", url)
    with pytest.raises(NetworkError) as caught:
        await HubClient().repo_info(ENCODERS)
    assert url in caught.value.message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


async def test_html_answer_is_a_bad_response(hub: FakeHub) -> None:
    page = b"<!DOCTYPE html><html><body>Sign in to the proxy</body></html>"
    hub.fail_next("hub", "/api/models/", 200, body=page, content_type="text/html")
    with pytest.raises(BadResponseError):
        await HubClient().repo_info(ENCODERS)


async def test_server_errors_and_rate_limits(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", SENTINEL)
    hub.fail_next("hub", "/api/models/", 503)
    with pytest.raises(ServerError) as server:
        await HubClient().repo_info(ENCODERS)
    _no_secret(server.value)
    hub.fail_next("hub", "/api/models/", 429, headers={"Retry-After": "12"})
    with pytest.raises(RateLimitedError) as limited:
        await HubClient().repo_info(ENCODERS)
    assert limited.value.retry_after == 12


def test_auth_headers_only_for_the_endpoint_origin(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = HubClient()
    assert client.auth_headers(f"{hub.hub_url}/x/y/resolve/main/a") == {}  # no token at all
    monkeypatch.setenv("HF_TOKEN", SENTINEL)
    assert client.auth_headers(f"{hub.hub_url}/x/y/resolve/main/a") == {
        "Authorization": f"Bearer {SENTINEL}"
    }
    assert client.auth_headers(f"{hub.cdn_url}/files/abc") == {}
    assert client.auth_headers(hub.hub_url.replace("http://", "https://") + "/x") == {}
    assert client.auth_headers("http://127.0.0.1.evil.example/x") == {}
    monkeypatch.setenv("HF_ENDPOINT", "https://huggingface.co/")
    assert client.auth_headers("https://huggingface.co:443/a/b/resolve/main/c")
    assert client.auth_headers("https://HUGGINGFACE.CO/a")
    assert client.auth_headers("https://cdn-lfs.huggingface.co/a") == {}
    assert client.auth_headers("http://huggingface.co/a") == {}


def test_resolve_url_and_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    client = HubClient()
    assert client.endpoint == "https://huggingface.co"
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9/")
    assert client.resolve_url("o/r", "split_files/vae/a b#.safetensors", "refs/pr/1") == (
        "http://127.0.0.1:9/o/r/resolve/refs%2Fpr%2F1/split_files/vae/a%20b%23.safetensors"
    )


def test_token_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(path=tmp_path / "config.toml", file_data={"hf": {"token": "hf_from_file"}})
    hf_home = Path(os.environ["HF_HOME"])
    hf_home.mkdir(parents=True, exist_ok=True)
    (hf_home / "token").write_text("hf_stored_login\n")
    assert HubClient().token() == Secret("hf_stored_login")
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", "hf_legacy_env")  # huggingface_hub reads it too
    assert HubClient().token() == Secret("hf_legacy_env")
    assert HubClient(settings).token() == Secret("hf_from_file")
    monkeypatch.setenv("HF_TOKEN", "hf_from_env")
    assert HubClient(settings).token() == Secret("hf_from_env")
    assert "hf_from_env" not in repr(HubClient(settings).token())


def test_no_stored_token_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    # conftest points HF_HOME at an empty folder: nothing of the real machine may leak in.
    assert HubClient().token() is None
