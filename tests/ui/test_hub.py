"""The Hugging Face screen against the fake hub: sizes from the Hub, gated repos explained before
anything is queued, marks, packs, Hub errors, search beyond the catalogue, pickle consent."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from modella_tui.core.config import Settings
from modella_tui.core.hub.client import HubClient
from modella_tui.core.hub.search import HubSearch, HubSearchResult
from modella_tui.core.library_files import LocalFile
from modella_tui.core.lists import ListStore
from modella_tui.core.store.db import Database
from modella_tui.ui.app import ModellaApp, make_app
from modella_tui.ui.hub_state import FileNode
from modella_tui.ui.screens.modals.add_to_list import AddToListScreen
from modella_tui.ui.screens.modals.confirm import ConfirmScreen
from modella_tui.ui.services import Services
from tests.fakes.fakehub import FakeHub
from tests.ui.fakes import EnqueuedHub, FakeEngine, FakeHubSearch, FakeItem, FakeLibrary
from tests.ui.hub_support import (
    FLUX,
    LUMINA,
    SDXL,
    detail,
    drawn,
    file_line,
    goto,
    open_hub,
    pack,
    package,
    repo_line,
    settle,
    until,
)

TOKEN = "hf_accepted_token_0123456789"


@pytest.fixture
def queued() -> EnqueuedHub:
    """Records what the screen queued."""
    return EnqueuedHub()


@pytest.fixture
def hub_app(
    settings: Settings, fakehub: FakeHub, monkeypatch: pytest.MonkeyPatch, queued: EnqueuedHub
) -> ModellaApp:
    """The app with the real Hub client and search, pointed at the fake hub."""
    monkeypatch.setenv("HF_ENDPOINT", fakehub.hub_url)
    client = HubClient(settings)
    services = Services(
        settings=settings,
        hub=client,
        hub_search=HubSearch(lambda: client.endpoint, client.auth_headers),
        engine=FakeEngine(),
        enqueue_hub=queued,
    )
    return make_app(settings, services)


def said(app: ModellaApp) -> str:
    return " | ".join(n.message for n in app._notifications)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_sizes_come_from_the_hub_and_gated_flux_is_marked_on_its_line(
    hub_app: ModellaApp, size: tuple[int, int]
) -> None:
    async with hub_app.run_test(size=size) as pilot:
        screen = await open_hub(pilot)
        sdxl = package(screen, "sdxl-base")
        assert "4.2 MB" in drawn(screen, sdxl)
        sdxl.expand()
        await pilot.pause()
        base = drawn(screen, file_line(screen, sdxl, "sd_xl_base_1.0.safetensors"))
        assert "2.0 MB" in base and "Stable-diffusion/" in base
        lora = drawn(screen, file_line(screen, sdxl, "sd_xl_offset_example-lora_1.0.safetensors"))
        assert "Lora/" in lora and "200.0 KB" in lora
        flux = drawn(screen, package(screen, "flux1-dev"))
        assert "gated: no token" in flux and "2.0 MB" in flux
        # A repo the fake hub does not have says so on its line.
        assert "not found" in drawn(screen, package(screen, "sd15-base"))
        assert "28/28" in str(screen.query_one("#hub-status").render())


async def test_a_gated_repo_is_explained_before_anything_is_queued(
    hub_app: ModellaApp, queued: EnqueuedHub, fakehub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakehub.hf_token = TOKEN
    async with hub_app.run_test(size=(120, 40)) as pilot:
        screen = await open_hub(pilot)
        await goto(pilot, screen, package(screen, "flux1-dev"))
        await pilot.press("d")
        await settle(pilot)
        assert queued.calls == []
        assert "gated" in detail(screen) and f"{fakehub.hub_url}/{FLUX}" in detail(screen)
        assert "Nothing queued" in said(hub_app) and "hf.token" in said(hub_app)

        monkeypatch.setenv("HF_TOKEN", "hf_someone_else_0123456789")
        await pilot.press("d")
        await settle(pilot)
        assert queued.calls == []
        assert "gated: licence not accepted" in drawn(screen, package(screen, "flux1-dev"))
        assert "has no access" in detail(screen) and "accept the licence" in detail(screen)

        monkeypatch.setenv("HF_TOKEN", TOKEN)
        await pilot.press("d")
        await settle(pilot)
        assert [[p.path for p in call] for call in queued.calls] == [["flux1-dev.safetensors"]]
        assert queued.calls[0][0].type == "DiffusionModel"
        assert "access granted" in drawn(screen, package(screen, "flux1-dev"))


async def test_a_token_saved_or_removed_in_settings_asks_gated_repos_again(
    hub_app: ModellaApp, fakehub: FakeHub
) -> None:
    fakehub.hf_token = TOKEN
    async with hub_app.run_test(size=(120, 40)) as pilot:
        screen = await open_hub(pilot)
        assert "gated: no token" in drawn(screen, package(screen, "flux1-dev"))
        await pilot.press("8")
        token = hub_app.screen.query_one("#set-hf-token", Input)
        token.focus()
        token.value = TOKEN
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("escape", "3")  # no ctrl+r
        await settle(pilot)
        assert hub_app.screen is screen
        assert "access granted" in drawn(screen, package(screen, "flux1-dev"))

        await pilot.press("8")
        hub_app.screen.query_one("#set-hf-token", Input).focus()
        await pilot.press("enter", "y")  # an empty field: remove the stored token
        await settle(pilot)
        await pilot.press("escape", "3")
        await settle(pilot)
        assert "gated: no token" in drawn(screen, package(screen, "flux1-dev"))


async def test_marking_a_package_queues_all_its_files(
    hub_app: ModellaApp, queued: EnqueuedHub
) -> None:
    async with hub_app.run_test(size=(80, 24)) as pilot:
        screen = await open_hub(pilot)
        await goto(pilot, screen, package(screen, "sdxl-base"))
        await pilot.press("space")
        assert "3 marked (4.2 MB)" in str(screen.query_one("#hub-status").render())
        assert "[x] SDXL 1.0 base" in drawn(screen, package(screen, "sdxl-base"))
        await pilot.press("d")
        await settle(pilot)
        assert len(queued.calls) == 1
        picks = queued.calls[0]
        assert {(p.path, p.type) for p in picks} == {
            ("sd_xl_base_1.0.safetensors", "Checkpoint"),
            ("sd_xl_base_1.0_0.9vae.safetensors", "Checkpoint"),
            ("sd_xl_offset_example-lora_1.0.safetensors", "LORA"),
        }
        assert {p.title for p in picks} == {"SDXL 1.0 base"}
        assert screen.state.marks == set()
        assert "Queued 3 file(s) of SDXL 1.0 base" in said(hub_app)


async def test_marks_on_single_files_and_a_pack_in_one_action(
    hub_app: ModellaApp, queued: EnqueuedHub
) -> None:
    async with hub_app.run_test(size=(120, 40)) as pilot:
        screen = await open_hub(pilot)
        te = package(screen, "flux-text-encoders")
        await goto(pilot, screen, file_line(screen, te, "clip_l.safetensors"))
        await pilot.press("space")
        assert "[-] " in drawn(screen, te)
        assert screen.selected_refs() == [
            ("hf:comfyanonymous/flux_text_encoders/clip_l.safetensors", None)
        ]
        await pilot.press("up", "space")  # the same file again: unmarked
        assert screen.state.marks == set()
        await goto(pilot, screen, te)
        assert screen.selected_refs() == [("hf:comfyanonymous/flux_text_encoders", None)]
        await goto(pilot, screen, pack(screen, "wan21-t2v-1.3b"))
        refs = screen.selected_refs()
        assert len(refs) == 3 and all(ref.startswith("hf:Comfy-Org/Wan_2.1") for ref, _ in refs)
        await pilot.press("d")
        await settle(pilot)
        assert [len(call) for call in queued.calls] == [3]
        assert {p.type for p in queued.calls[0]} == {"DiffusionModel", "TextEncoder", "VAE"}


async def test_a_hub_error_is_on_the_line_and_explained_then_retried(
    hub_app: ModellaApp, fakehub: FakeHub
) -> None:
    fakehub.fail_next("hub", f"/api/models/{SDXL}", 500, times=20)
    async with hub_app.run_test(size=(120, 40)) as pilot:
        screen = await open_hub(pilot)
        line = package(screen, "sdxl-base")
        assert "Hub error" in drawn(screen, line)
        await goto(pilot, screen, line)
        await pilot.pause()
        assert "server error (500)" in detail(screen)
        fakehub._faults.clear()
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "4.2 MB" in drawn(screen, package(screen, "sdxl-base"))
        assert "server error" not in detail(screen)


async def test_search_opens_a_repo_outside_the_catalogue_and_queues_one_file(
    hub_app: ModellaApp, queued: EnqueuedHub, fakehub: FakeHub
) -> None:
    async with hub_app.run_test(size=(80, 24)) as pilot:
        screen = await open_hub(pilot)
        await pilot.press("slash", *"lumina", "enter")
        await settle(pilot)
        found = repo_line(screen, LUMINA)
        assert screen.hub_tree.cursor_node is found
        assert "text-to-image" in detail(screen)
        await pilot.press("enter")  # opens it: the weight files are listed
        await settle(pilot)
        files = [c for c in found.children if isinstance(c.data, FileNode)]
        assert [c.data.pick.path for c in files if isinstance(c.data, FileNode)] == [
            "split_files/vae/ae.safetensors"
        ]
        line = drawn(screen, files[0])
        assert "VAE/" in line and "320.0 KB" in line
        await pilot.press("down", "d")
        await settle(pilot)
        assert [[(p.repo, p.path, p.type) for p in c] for c in queued.calls] == [
            [(LUMINA, "split_files/vae/ae.safetensors", "VAE")]
        ]
        sent = fakehub.requests("hub", "/api/models")
        assert any(r.path == "/api/models" and r.query.get("search") == ["lumina"] for r in sent)


async def test_a_pasted_hub_link_opens_that_repo(hub_app: ModellaApp, fakehub: FakeHub) -> None:
    async with hub_app.run_test(size=(120, 40)) as pilot:
        screen = await open_hub(pilot)
        await pilot.press("slash", *f"{fakehub.hub_url}/{LUMINA}", "enter")
        await settle(pilot)
        found = repo_line(screen, LUMINA)
        assert any(isinstance(c.data, FileNode) for c in found.children)
        assert not any(r.path == "/api/models" for r in fakehub.requests("hub", "/api/models"))


async def test_a_search_error_is_shown_in_place(hub_app: ModellaApp, fakehub: FakeHub) -> None:
    async with hub_app.run_test(size=(120, 40)) as pilot:
        screen = await open_hub(pilot)
        fakehub.fail_next("hub", "/api/models", 503)  # the catalogue's repos answered already
        await pilot.press("slash", *"flux", "enter")
        await settle(pilot)
        assert "server error (503)" in detail(screen)
        assert screen.query_one("#hub-detail").has_class("error")


async def test_pickle_files_ask_first(hub_app: ModellaApp, queued: EnqueuedHub) -> None:
    async with hub_app.run_test(size=(120, 40)) as pilot:
        screen = await open_hub(pilot)
        await goto(pilot, screen, package(screen, "sd15-controlnet-canny"))
        await pilot.press("d")
        await until(pilot, lambda: isinstance(hub_app.screen, ConfirmScreen))
        await pilot.press("n")
        await settle(pilot)
        assert queued.calls == []
        await pilot.press("d")
        await until(pilot, lambda: isinstance(hub_app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot)
        assert [p.path for p in queued.calls[0]] == [
            "control_v11p_sd15_canny.pth",
            "control_v11p_sd15_canny.yaml",
        ]


async def test_repo_names_are_text_not_markup(settings: Settings) -> None:
    search = FakeHubSearch([HubSearchResult("ev[b]il/[@click=app.quit]x", downloads=5)])
    app = make_app(settings, Services(settings=settings, hub_search=search, engine=FakeEngine()))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_hub(pilot)
        await pilot.press("slash", *"evil", "enter")
        await settle(pilot)
        line = repo_line(screen, "ev[b]il/[@click=app.quit]x")
        assert "ev[b]il/[@click=app.quit]x" in drawn(screen, line)
        assert app.is_running


@pytest.mark.parametrize("same_bytes", [True, False])
async def test_a_local_file_of_the_same_name_counts_only_with_the_same_hash(
    settings: Settings, fakehub: FakeHub, monkeypatch: pytest.MonkeyPatch, same_bytes: bool
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", fakehub.hub_url)
    entry = fakehub.catalog.repos[FLUX].entry("ae.safetensors")
    assert entry is not None
    sha = entry.blob.sha256 if same_bytes else "0" * 64
    path = f"{settings.models_dir}/VAE/ae.safetensors"
    lib = FakeLibrary(settings.models_dir, [LocalFile(path, 1, 0.0, "model", sha256=sha)])
    services = Services(settings=settings, hub=HubClient(settings), library=lib)
    app = make_app(settings, services)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_hub(pilot)
        text = drawn(screen, package(screen, "flux1-dev-vae"))
        assert ("all local" in text) is same_bytes


@pytest.mark.parametrize("numbered_from_schnell", [False, True])
async def test_another_repos_file_of_the_same_name_is_not_this_one(
    settings: Settings,
    fakehub: FakeHub,
    monkeypatch: pytest.MonkeyPatch,
    numbered_from_schnell: bool,
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", fakehub.hub_url)  # FLUX.1-schnell is not there: no hash
    vae = f"{settings.models_dir}/VAE"
    files = [
        LocalFile(f"{vae}/ae.safetensors", 1, 0.0, "model", source="huggingface",
                  model_id="Comfy-Org/Lumina_Image_2.0_Repackaged"),
    ]  # fmt: skip
    if numbered_from_schnell:  # it landed beside the other one as `ae (2).safetensors`
        files.append(
            LocalFile(f"{vae}/ae (2).safetensors", 1, 0.0, "model", source="huggingface",
                      model_id="black-forest-labs/FLUX.1-schnell")
        )  # fmt: skip
    lib = FakeLibrary(settings.models_dir, files)
    services = Services(settings=settings, hub=HubClient(settings), library=lib)
    app = make_app(settings, services)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_hub(pilot)
        text = drawn(screen, package(screen, "flux1-schnell-vae"))
        assert ("all local" in text) is numbered_from_schnell


async def test_a_finished_download_counts_as_local_only_while_its_file_is_there(
    settings: Settings, fakehub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", fakehub.hub_url)
    landed = settings.models_dir / "VAE" / "wan_2.1_vae.safetensors"
    engine = FakeEngine()
    engine.put(
        FakeItem(1, "Wan 2.1 VAE", landed.name, state="done", source="huggingface",
                 model_id="Comfy-Org/Wan_2.1_ComfyUI_repackaged", final_path=str(landed))
    )  # fmt: skip
    services = Services(settings=settings, hub=HubClient(settings), engine=engine)
    app = make_app(settings, services)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_hub(pilot)
        assert "all local" not in drawn(screen, package(screen, "wan21-vae"))  # deleted since
        landed.parent.mkdir(parents=True, exist_ok=True)
        landed.write_bytes(b"x")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "all local" in drawn(screen, package(screen, "wan21-vae"))


async def test_layout_and_language_apply_without_a_restart(
    hub_app: ModellaApp, settings: Settings
) -> None:
    async with hub_app.run_test(size=(120, 40)) as pilot:
        screen = await open_hub(pilot)
        sdxl = package(screen, "sdxl-base")
        await goto(pilot, screen, file_line(screen, sdxl, "sd_xl_base_1.0.safetensors"))
        assert "Stable-diffusion/" in drawn(screen, screen.hub_tree.cursor_node or sdxl)
        settings.set("layout", "comfyui")
        await pilot.press("4", "3")  # away and back: lines are drawn with the new layout
        await settle(pilot)
        line = drawn(screen, file_line(screen, sdxl, "sd_xl_base_1.0.safetensors"))
        assert "checkpoints/" in line
        assert "checkpoints/sd_xl_base_1.0.safetensors" in detail(screen)
        hub_app.action_set_language("fr")
        await settle(pilot)
        assert "paquets" in str(screen.query_one("#hub-status").render())
        assert "introuvable" in drawn(screen, package(screen, "sd15-base"))
        assert "restreint" in drawn(screen, package(screen, "flux1-dev"))


async def test_a_adds_the_package_under_the_cursor_to_a_list(
    settings: Settings, fakehub: FakeHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", fakehub.hub_url)
    client = HubClient(settings)
    db = Database(tmp_path / "state.db")
    store = ListStore(db)
    services = Services(settings=settings, db=db, hub=client, engine=FakeEngine(), lists=store)
    app = make_app(settings, services)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_hub(pilot)
        await store.create("Flux pod kit")
        await goto(pilot, screen, package(screen, "sdxl-base"))
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AddToListScreen)
        await pilot.press("enter")
        await settle(pilot)
        items = await store.items("Flux pod kit")
    assert [i.ref for i in items] == ["hf:stabilityai/stable-diffusion-xl-base-1.0"]
