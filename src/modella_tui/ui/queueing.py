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

UNCHECKED = frozenset({"pending", "error"})
Pick = tuple[CivitaiVersion, Sequence[CivitaiFile]]
"""Files chosen from one version."""


def queue_civitai(app: ModellaApp, model: CivitaiModel, picks: Sequence[Pick]) -> None:
    """Refuse flagged files, ask once before pickle formats, queue the rest; one toast in all."""
    enqueue = app.services.enqueue_civitai
    if enqueue is None:
        app.notify(t("ui.queue.unavailable"), severity="warning", markup=False)
        return
    if not any(files for _, files in picks):
        app.notify(t("ui.queue.no_files"), severity="warning", markup=False)
        return
    danger = [clean(f.name) for _, files in picks for f in files if f.scan_danger]
    if danger:
        app.notify(
            t("ui.queue.refused_danger", file=", ".join(danger)), severity="error", markup=False
        )
    kept = [(v, [f for f in files if not f.scan_danger]) for v, files in picks]
    kept = [(v, files) for v, files in kept if files]
    if not kept:
        return

    # Civitai has not checked these yet, or its check failed: queued, with a warning in the toast.
    unchecked = [clean(f.name) for _, files in kept for f in files if f.scan_state in UNCHECKED]

    async def run() -> None:
        added = 0
        for version, files in kept:
            added += await enqueue(model, version, files)
        wanted = sum(len(files) for _, files in kept)
        if added:
            text = t("ui.queue.added", count=added, title=clean(model.name))
        else:
            text = t("ui.queue.nothing_new", count=wanted, title=clean(model.name))
        if unchecked:
            text += " " + t("ui.queue.scan_warning", files=", ".join(unchecked))
        app.notify(text, markup=False, severity="warning" if unchecked else "information")

    def start(yes: bool | None = True) -> None:
        if yes:
            app.run_worker(run(), group="enqueue", exit_on_error=False)

    pickles = [clean(f.name) for _, files in kept for f in files if f.is_pickle]
    if pickles:
        app.push_screen(
            ConfirmScreen(t("ui.queue.confirm_pickle", files=", ".join(pickles))), start
        )
    else:
        start()
