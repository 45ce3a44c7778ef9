"""Queueing Civitai files from any screen, with the pickle and scan rules of docs/decisions.md."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from modella_tui.core.i18n import t
from modella_tui.core.models import CivitaiFile, CivitaiModel, CivitaiVersion
from modella_tui.ui.screens.modals.confirm import ConfirmScreen
from modella_tui.ui.textutil import clean

if TYPE_CHECKING:
    from modella_tui.ui.app import ModellaApp


def queue_civitai(
    app: ModellaApp, model: CivitaiModel, version: CivitaiVersion, files: Sequence[CivitaiFile]
) -> None:
    """Refuse flagged files, ask before pickle formats, then hand the rest to the resolver."""
    enqueue = app.services.enqueue_civitai
    if enqueue is None:
        app.notify(t("ui.queue.unavailable"), severity="warning", markup=False)
        return
    if not files:
        app.notify(t("ui.queue.no_files"), severity="warning", markup=False)
        return
    danger = [f for f in files if f.scan_danger]
    for f in danger:
        app.notify(t("ui.queue.refused_danger", file=clean(f.name)), severity="error", markup=False)
    files = [f for f in files if not f.scan_danger]
    if not files:
        return

    async def run() -> None:
        added = await enqueue(model, version, files)
        app.notify(
            t("ui.queue.added", count=added, title=clean(model.name)), markup=False, timeout=4
        )

    def start(yes: bool | None = True) -> None:
        if yes:
            app.run_worker(run(), group="enqueue", exit_on_error=False)

    pickles = [clean(f.name) for f in files if f.is_pickle]
    if pickles:
        app.push_screen(
            ConfirmScreen(t("ui.queue.confirm_pickle", files=", ".join(pickles))), start
        )
    else:
        start()
