"""Image previews in the detail pane: half-cell blocks from the fake CDN, toggled by `i`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from PIL import Image
from rich.segment import Segment
from textual.pilot import Pilot

from modella_tui.core import config
from modella_tui.core.models import CivitaiImage
from modella_tui.core.thumbnails import Thumbnails
from modella_tui.ui.app import ModellaApp, make_app
from modella_tui.ui.screens.detail import DetailScreen
from modella_tui.ui.services import Services
from modella_tui.ui.widgets.image_preview import ImagePreview
from tests.fakes.fakehub import FakeHub
from tests.ui.conftest import SIZE
from tests.ui.fakes import FakeCivitai, make_model


def civitai_with_images(cdn: str) -> FakeCivitai:
    """Model 1 has two safe images, a mature one and a video."""
    civitai = FakeCivitai(total=3)
    base = make_model(1)
    images = (
        CivitaiImage(url=f"{cdn}/images/k/one/width=1024/1.png", nsfw_level=1),
        CivitaiImage(url=f"{cdn}/images/k/two/original=true/2.png", nsfw_level=1),
        CivitaiImage(url=f"{cdn}/images/k/mature/width=450/3.png", nsfw_level=16),
        CivitaiImage(url=f"{cdn}/images/k/clip/width=450/4.mp4", nsfw_level=1, type="video"),
    )
    civitai.models[1] = replace(base, versions=(replace(base.versions[0], images=images),))
    return civitai


def app_with_previews(
    settings: config.Settings, hub: FakeHub, cache: Path, *, thumbnails: bool = True
) -> ModellaApp:
    services = Services(
        settings=settings,
        civitai=civitai_with_images(hub.cdn_url),
        thumbnails=Thumbnails(cache) if thumbnails else None,
    )
    return make_app(settings, services)


async def settle(pilot: Pilot[Any], done: Any = None) -> None:
    """Workers finished and messages handled, a few rounds (fetch then decode)."""
    for _ in range(10):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if done is None or done():
            return


async def open_detail(pilot: Pilot[Any]) -> tuple[DetailScreen, ImagePreview]:
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, DetailScreen)
    preview = screen.query_one("#detail-preview", ImagePreview)
    await settle(pilot, lambda: preview.has_picture)
    return screen, preview


def cdn_paths(hub: FakeHub) -> list[str]:
    return [r.path for r in hub.log if r.server == "cdn"]


def only_colour(cache: Path) -> tuple[int, int, int]:
    """The colour of the fake's one-colour PNG, read from the one cached file."""
    (file,) = list(cache.iterdir())
    with Image.open(file) as img:
        r, g, b = img.convert("RGB").getpixel((0, 0))  # type: ignore[misc]
    return (r, g, b)


async def test_preview_shows_blocks_switches_and_toggles_off(
    settings: config.Settings, hub: FakeHub, tmp_path: Path
) -> None:
    cache = tmp_path / "thumbs"
    app = app_with_previews(settings, hub, cache)
    start = len(hub.log)
    async with app.run_test(size=SIZE) as pilot:
        screen, preview = await open_detail(pilot)
        assert preview.display and preview.has_picture
        assert preview.content_region.size == (24, 8)
        line = preview.render_line(0)
        assert line.text.strip() and set(line.text.strip()) == {"▀"}
        colour = only_colour(cache)
        styled = [s for s in line if isinstance(s, Segment) and s.text == "▀"]
        assert styled and styled[0].style is not None and styled[0].style.color is not None
        assert styled[0].style.color.triplet == colour
        assert styled[0].style.bgcolor is not None  # the bottom pixel paints the background
        # The CDN was asked for the small rendition, without a key.
        new = hub.log[start:]
        assert "/images/k/one/width=450/1.png" in [r.path for r in new]
        assert all(r.authorization is None for r in new if r.server == "cdn")

        await pilot.press("right")
        assert screen.preview_url is not None and screen.preview_url.endswith("/2.png")
        await settle(pilot, lambda: preview.has_picture)
        assert preview.has_picture
        assert "/images/k/two/width=450/2.png" in cdn_paths(hub)

        await pilot.press("right")  # the video (the mature image is hidden with NSFW off)
        await settle(pilot)
        assert screen.current_image is not None and screen.current_image.type == "video"
        assert not preview.has_picture
        assert "Video" in preview.render_line(0).text
        assert not any("mature" in p or p.endswith(".mp4") for p in cdn_paths(hub))

        await pilot.press("i")
        await pilot.pause()
        assert not preview.display
        assert settings.get("previews") is False
        assert config.load().get("previews") is False  # saved, not only in memory

        await pilot.press("left", "left")  # back to the first image: nothing is fetched while off
        before = len(hub.log)
        await settle(pilot)
        assert len(hub.log) == before and not preview.display

        await pilot.press("i")
        await settle(pilot, lambda: preview.has_picture)
        assert preview.display and preview.has_picture
        assert config.load().get("previews") is True


async def test_preview_off_by_setting_narrow_or_without_source(
    settings: config.Settings, hub: FakeHub, tmp_path: Path
) -> None:
    settings.set("previews", False)
    app = app_with_previews(settings, hub, tmp_path / "a")
    start = len(hub.log)
    async with app.run_test(size=SIZE) as pilot:
        _, preview = await open_detail(pilot)
        assert not preview.display
    assert [r for r in hub.log[start:] if r.server == "cdn"] == []

    settings.set("previews", True)
    app = app_with_previews(settings, hub, tmp_path / "b")
    async with app.run_test(size=(70, 24)) as pilot:
        screen, preview = await open_detail(pilot)
        assert not preview.display  # too narrow: the files table keeps the room
        await pilot.resize_terminal(100, 30)
        await settle(pilot, lambda: preview.has_picture)
        assert preview.display and preview.has_picture

    app = app_with_previews(settings, hub, tmp_path / "c", thumbnails=False)
    async with app.run_test(size=SIZE) as pilot:
        screen, preview = await open_detail(pilot)
        assert not preview.display
        assert screen.check_action("toggle_preview", ()) is False  # no key without a source


async def test_preview_at_80x24_leaves_the_files_table_its_rows(
    settings: config.Settings, hub: FakeHub, tmp_path: Path
) -> None:
    app = app_with_previews(settings, hub, tmp_path / "t")
    async with app.run_test(size=(80, 24)) as pilot:
        screen, preview = await open_detail(pilot)
        assert preview.display and preview.has_picture
        assert preview.outer_size == (24, 8)
        files = screen.query_one("#detail-files")
        assert files.size.height >= 4 and files.size.width >= 40


async def test_mature_images_are_previewed_only_with_nsfw_on(
    settings: config.Settings, hub: FakeHub, tmp_path: Path
) -> None:
    settings.set("nsfw", True)
    app = app_with_previews(settings, hub, tmp_path / "t")
    async with app.run_test(size=SIZE) as pilot:
        screen, preview = await open_detail(pilot)
        await pilot.press("right", "right")
        assert screen.current_image is not None and not screen.current_image.safe
        await settle(pilot, lambda: preview.has_picture)
        assert preview.has_picture
        assert "/images/k/mature/width=450/3.png" in cdn_paths(hub)
