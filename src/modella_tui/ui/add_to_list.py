"""`a` on any screen: add REFs to a named list through the "Add to list" modal.

The Civitai browser and detail pane call `add_to_list`; so can any screen that knows the REFs
under its cursor (the Hugging Face screen's packages and files).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from modella_tui.core.errors import ModellaError
from modella_tui.core.i18n import t
from modella_tui.core.listfile import ListEntry, entry
from modella_tui.ui.screens.modals.add_to_list import AddToListScreen
from modella_tui.ui.textutil import clean

if TYPE_CHECKING:
    from modella_tui.core.models import CivitaiModel, CivitaiVersion
    from modella_tui.ui.app import ModellaApp


def version_title(model: CivitaiModel, version: CivitaiVersion | None) -> str:
    """What a list shows for a Civitai item: the model's name, and the version's when one."""
    name = clean(model.name)
    return f"{name} · {clean(version.name)}" if version is not None and version.name else name


def add_to_list(app: ModellaApp, refs: Sequence[tuple[str, str | None]], title: str) -> None:
    """Ask which list (or a new one), then add each (REF, file glob or None) with `title`.

    One toast says what happened; a REF that is not one (or a bad glob) is refused before the
    modal opens, and nothing is added.
    """
    store = app.services.lists
    if store is None:
        app.notify(t("ui.lists.unavailable"), severity="warning", markup=False)
        return
    if not refs:
        app.notify(t("ui.add_to_list.nothing"), severity="warning", markup=False)
        return
    try:
        checked = [
            entry(
                ref,
                glob,
                title=title,
                civitai_base=app.settings.civitai_url,
                hub_base=os.environ.get("HF_ENDPOINT"),
            )
            for ref, glob in refs
        ]
    except ModellaError as exc:
        app.report_error(exc)
        return
    entries: list[ListEntry] = [e for e, _ in checked]
    if any(stripped for _, stripped in checked):
        app.notify(t("refs.warn.token_stripped"), severity="warning", markup=False)

    async def save(name: str) -> None:
        added = await store.add_items(name, entries, create=True)
        where = clean(added.list.name)
        if added.added:
            text = t("ui.add_to_list.added", count=added.added, name=where)
        else:
            text = t("ui.add_to_list.already", count=added.already, name=where)
        app.notify(text, markup=False)

    def chosen(name: str | None) -> None:
        if name:
            app.run_worker(save(name), group="add-to-list", exit_on_error=False)

    async def ask() -> None:
        names = [info.name for info in await store.lists()]
        last = await store.last_used()
        app.push_screen(AddToListScreen(names, last, title), chosen)

    app.run_worker(ask(), group="add-to-list", exclusive=True, exit_on_error=False)
