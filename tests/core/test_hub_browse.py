"""The Hub screen's core: types for repos outside the catalogue, repo metadata kept a day."""

from __future__ import annotations

from pathlib import Path

import pytest

from modella_tui.core.errors import NetworkError
from modella_tui.core.hub.browse import (
    CachedHub,
    HubPick,
    guess_type,
    repo_from_json,
    repo_to_json,
    weight_files,
)
from modella_tui.core.hub.client import HubClient
from modella_tui.core.models import HubFile, HubRepo
from modella_tui.core.store.cache import ResponseCache
from modella_tui.core.store.db import Database
from tests.fakes.fakehub import FakeHub

MIB = 1024 * 1024
SDXL = "stabilityai/stable-diffusion-xl-base-1.0"


@pytest.mark.parametrize(
    ("path", "size", "kind"),
    [
        ("split_files/vae/ae.safetensors", 300 * MIB, "VAE"),
        ("text_encoders/clip_l.safetensors", 200 * MIB, "TextEncoder"),
        ("4x_NMKD-Superscale.pth", 60 * MIB, "Upscaler"),
        ("model.safetensors", 6 * 1024 * MIB, "Checkpoint"),
        ("model.safetensors", 150 * MIB, "LORA"),
        ("easynegative.safetensors", 25 * 1024, "TextualInversion"),
        ("model.safetensors", None, "Checkpoint"),
        ("README.md", 10, "Other"),
    ],
)
def test_types_come_from_names_then_sizes(path: str, size: int | None, kind: str) -> None:
    assert guess_type(path, size) == kind


def test_weight_files_and_picks() -> None:
    repo = HubRepo(
        "o/r",
        files=(
            HubFile("o/r", "b.safetensors", 5),
            HubFile("o/r", "README.md", 1),
            HubFile("o/r", "a.GGUF", 5),
        ),
    )
    assert [f.path for f in weight_files(repo)] == ["a.GGUF", "b.safetensors"]
    assert HubPick("o/r", "x.ckpt", "Checkpoint").is_pickle
    assert not HubPick("o/r", "x.safetensors", "Checkpoint").is_pickle
    assert HubPick("o/r", "x", "Other", "dev").key == ("o/r", "dev", "x")


def test_cached_text_round_trips() -> None:
    repo = HubRepo("o/r", "abc", "manual", (HubFile("o/r", "a.safetensors", 3, "f" * 64),))
    assert repo_from_json(repo_to_json(repo)) == repo
    with pytest.raises(ValueError, match="cached"):
        repo_from_json("[]")


def hub_requests(fakehub: FakeHub) -> int:
    return len(fakehub.requests("hub", f"/api/models/{SDXL}"))


async def test_repo_info_is_asked_once_then_kept(
    fakehub: FakeHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", fakehub.hub_url)
    async with Database(tmp_path / "state.db") as db:
        cached = CachedHub(HubClient(), ResponseCache(db))
        first = await cached.repo_info(SDXL)
        assert hub_requests(fakehub) == 1
        assert await cached.repo_info(SDXL) == first
        assert hub_requests(fakehub) == 1  # memory
        again = CachedHub(HubClient(), ResponseCache(db))
        assert await again.repo_info(SDXL) == first
        assert hub_requests(fakehub) == 1  # the model_cache table, across app runs
        sizes = {f.path: f.size for f in first.files}
        assert sizes["sd_xl_base_1.0.safetensors"] == 2 * MIB


async def test_an_unreachable_hub_shows_the_last_known_sizes(
    fakehub: FakeHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", fakehub.hub_url)
    async with Database(tmp_path / "state.db") as db:
        clock = [1000.0]
        cache = ResponseCache(db, clock=lambda: clock[0])
        first = await CachedHub(HubClient(), cache, ttl=60).repo_info(SDXL)
        clock[0] += 3600  # expired
        fakehub.stop()
        stale = await CachedHub(HubClient(timeout=2), cache, ttl=60).repo_info(SDXL)
        assert stale == first
        with pytest.raises(NetworkError):
            await CachedHub(HubClient(timeout=2), cache).repo_info(
                "comfyanonymous/flux_text_encoders"
            )


async def test_another_endpoint_is_not_answered_from_memory(
    fakehub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", fakehub.hub_url)
    cached = CachedHub(HubClient())
    await cached.repo_info(SDXL)
    other = FakeHub().start()
    try:
        monkeypatch.setenv("HF_ENDPOINT", other.hub_url)
        await cached.repo_info(SDXL)
        assert len(other.requests("hub", f"/api/models/{SDXL}")) == 1
    finally:
        other.stop()
