"""The Hugging Face screen over the real services (engine, database, Hub client) and the fake hub:
a marked package and a file of a searched repo land in their folders, verified."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from modella_tui.core import config
from modella_tui.ui.app import make_app
from modella_tui.ui.hub_state import FileNode
from modella_tui.ui.screens.queue import QueueScreen
from modella_tui.ui.wiring import build_services
from tests.fakes.fakehub import FakeHub
from tests.ui.hub_support import LUMINA, SDXL, drawn, goto, open_hub, package, repo_line, until


def published(fakehub: FakeHub, repo: str, path: str) -> str:
    entry = fakehub.catalog.repos[repo].entry(path)
    assert entry is not None
    return entry.blob.sha256


async def test_a_package_and_a_searched_file_land_verified(
    fakehub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELLA_CIVITAI_URL", fakehub.civitai_url)
    monkeypatch.setenv("HF_ENDPOINT", fakehub.hub_url)
    settings = config.load()
    app = make_app(settings, build_services(settings))
    models = Path(settings.models_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_hub(pilot)
        await goto(pilot, screen, package(screen, "sdxl-base"))
        await pilot.press("space", "d")
        await pilot.press("slash", *"lumina", "enter")
        await until(pilot, lambda: screen.search_node is not None)
        found = repo_line(screen, LUMINA)
        await goto(pilot, screen, found)
        await pilot.press("enter")
        await until(pilot, lambda: any(isinstance(c.data, FileNode) for c in found.children))
        await pilot.press("down", "d")
        await pilot.press("4")
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        await until(
            pilot,
            lambda: len(queue.items) == 4 and all(i.state == "done" for i in queue.items.values()),
            seconds=60,
        )
        await pilot.press("3")
        await until(pilot, lambda: "all local" in drawn(screen, package(screen, "sdxl-base")))
    landed = {
        models / "Stable-diffusion" / "sd_xl_base_1.0.safetensors": (SDXL, "sd_xl_base_1.0.safetensors"),
        models / "Stable-diffusion" / "sd_xl_base_1.0_0.9vae.safetensors": (SDXL, "sd_xl_base_1.0_0.9vae.safetensors"),
        models / "Lora" / "sd_xl_offset_example-lora_1.0.safetensors": (SDXL, "sd_xl_offset_example-lora_1.0.safetensors"),
        models / "VAE" / "ae.safetensors": (LUMINA, "split_files/vae/ae.safetensors"),
    }  # fmt: skip
    for path, (repo, repo_path) in landed.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == published(fakehub, repo, repo_path)
