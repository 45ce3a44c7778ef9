"""The detail pane: version pages, marks across versions, images, trained words."""

from __future__ import annotations

from dataclasses import replace

from modella_tui.core import config
from modella_tui.core.models import CivitaiFile, CivitaiImage, CivitaiVersion
from modella_tui.ui.app import make_app
from modella_tui.ui.html_markdown import html_to_markdown
from modella_tui.ui.screens.detail import DetailScreen
from modella_tui.ui.services import Services
from tests.ui.conftest import SIZE
from tests.ui.fakes import Enqueued, FakeCivitai, make_model


def many_versions() -> FakeCivitai:
    civitai = FakeCivitai(total=3)
    versions = tuple(
        CivitaiVersion(
            id=500 + n,
            name=f"v{n}",
            base_model="SDXL 1.0",
            trained_words=(f"word{n}",),
            files=(
                CivitaiFile(id=900 + n, name=f"f{n}.safetensors", primary=True),
                CivitaiFile(id=950 + n, name=f"f{n}.ckpt", format="PickleTensor"),
            ),
            images=(
                CivitaiImage(url=f"https://img.example/{n}/a.png", nsfw_level=1),
                CivitaiImage(url=f"https://img.example/{n}/b.png", nsfw_level=1),
                CivitaiImage(url=f"https://img.example/{n}/x.png", nsfw_level=16),
            ),
        )
        for n in range(15, 0, -1)
    )
    civitai.models[1] = replace(make_model(1), versions=versions)
    return civitai


async def test_versions_marks_images_and_words(
    settings: config.Settings, enqueued: Enqueued
) -> None:
    civitai = many_versions()
    app = make_app(settings, Services(settings=settings, civitai=civitai, enqueue_civitai=enqueued))
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        await screen.workers.wait_for_complete()
        await pilot.pause()
        versions = screen.query_one("#detail-versions")
        assert versions.row_count == 10  # type: ignore[attr-defined]
        await pilot.press("space")  # marks v15's safetensors
        await pilot.press("pagedown")
        assert screen.page == 1 and versions.row_count == 5  # type: ignore[attr-defined]
        assert screen.version is not None and screen.version.id == 505
        await pilot.press("space")  # marks v5's safetensors
        # Images: the mature one is hidden; right moves; the link is shown.
        await pilot.press("right")
        assert screen.current_image is not None
        assert screen.current_image.url.endswith("/5/b.png")
        assert "/5/b.png" in str(screen.query_one("#detail-image").render())
        await pilot.press("right")
        assert screen.current_image.url.endswith("/5/a.png")
        await pilot.press("y")
        assert any("word5" in n.message for n in app._notifications)
        await pilot.press("d")
        await app.workers.wait_for_complete()
        queued = {(v.id, tuple(f.id for f in fs)) for _, v, fs in enqueued.calls}
        assert queued == {(515, (915,)), (505, (905,))}


async def test_pickle_files_ask_first(settings: config.Settings, enqueued: Enqueued) -> None:
    civitai = many_versions()
    app = make_app(settings, Services(settings=settings, civitai=civitai, enqueue_civitai=enqueued))
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("enter")
        await pilot.pause()
        await app.screen.workers.wait_for_complete()
        await pilot.press("down", "d")  # the .ckpt
        await pilot.pause()
        assert app.screen.__class__.__name__ == "ConfirmScreen"
        await pilot.press("n")
        await app.workers.wait_for_complete()
        assert enqueued.calls == []


def test_html_to_markdown_keeps_remote_text_literal() -> None:
    md = html_to_markdown(
        '<p>[bold]x[/bold] <a href="javascript:alert(1)">bad</a> <a href="https://a.b">ok</a></p>'
        "<ul><li>one</li></ul><script>evil()</script>"
    )
    assert "\\[bold\\]x\\[/bold\\]" in md
    assert "javascript" not in md and "[ok](https://a.b)" in md
    assert "- one" in md and "evil" not in md
