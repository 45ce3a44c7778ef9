"""What the Lists screen's keys do: make, rename and delete lists, remove items, queue what is
missing, remove what is on disk, export and import. The screen itself (`lists.py`) shows them."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

from textual import work

from modella_tui.core.errors import ModellaError, UsageError
from modella_tui.core.i18n import t
from modella_tui.core.list_status import (
    GONE,
    LOCAL,
    Holdings,
    ItemStatus,
    PlanOutcome,
    measure,
    remove_files,
)
from modella_tui.core.list_status import QUEUED as QUEUED_STATE
from modella_tui.core.listfile import ListFileError, read_list_file, write_list_file
from modella_tui.core.lists import LandedFile, ListInfo, ListItem, list_name, same_name
from modella_tui.core.provision import ALREADY, FAILED, QUEUED, SKIPPED, enqueue, prepare, report
from modella_tui.ui.screens.base import BaseScreen
from modella_tui.ui.screens.modals.choice import Choice, ChoiceScreen
from modella_tui.ui.screens.modals.confirm import ConfirmScreen
from modella_tui.ui.screens.modals.prompt import Check, PromptScreen
from modella_tui.ui.textutil import clean, human_size

OutcomeKey = tuple[str, str | None]


def file_stem(name: str) -> str:
    """A list name as a file name: letters, digits, `-` and `_` (`Flux pod kit` → `flux-pod-kit`)."""
    stem = re.sub(r"[^\w-]+", "-", name.casefold(), flags=re.UNICODE).strip("-_")
    return stem[:60] or "list"


class ListActionsScreen(BaseScreen):
    """The Lists screen's actions; `ListsScreen` supplies the state and the display."""

    infos: list[ListInfo]
    current: ListInfo | None
    items: list[ListItem]
    holdings: Holdings
    outcomes: dict[OutcomeKey, PlanOutcome]
    statuses: dict[int, ItemStatus]

    # ----- what the screen supplies ---------------------------------------------------------------
    def reload(self, select: str | None = None) -> None:
        """Read the lists again, `select` highlighted."""
        raise NotImplementedError

    def restate(self) -> None:
        """Work the items' states out again from what this machine has."""
        raise NotImplementedError

    def recheck(self) -> None:
        """Ask the sources again about every item."""
        raise NotImplementedError

    async def gather(self) -> None:
        """Read what this machine has (files on disk, the queue) into `holdings`."""
        raise NotImplementedError

    def status_of(self, item: ListItem) -> ItemStatus:
        """One item's state."""
        raise NotImplementedError

    def highlighted_item(self) -> ListItem | None:
        """The item under the cursor."""
        raise NotImplementedError

    def items_focused(self) -> bool:
        """Whether the items table has the keyboard."""
        raise NotImplementedError

    # ----- lists ------------------------------------------------------------------------------------
    def _name_check(self, keep: str | None) -> Check:
        def check(value: str) -> str | None:
            try:
                name = list_name(value)
            except UsageError as exc:
                return exc.message
            same = same_name(name, (i.name for i in self.infos if i.name != keep))
            if same is not None:
                return t("lists.error.exists", name=same)  # as it is spelled, not as typed
            return None

        return check

    def action_new_list(self) -> None:
        """Ask for a name and make an empty list."""
        if self.modella.services.lists is None:
            self.notify(t("ui.lists.unavailable"), severity="warning", markup=False)
            return

        def done(name: str | None) -> None:
            if name:
                self._create(name)

        prompt = PromptScreen(
            t("ui.lists.new_prompt"),
            placeholder=t("ui.lists.new_placeholder"),
            check=self._name_check(None),
        )
        self.app.push_screen(prompt, done)

    @work(group="lists-action", exit_on_error=False)
    async def _create(self, name: str) -> None:
        store = self.modella.services.lists
        if store is None:
            return
        info = await store.create(name)
        self.notify(t("ui.lists.created", name=clean(info.name)), markup=False)
        self.reload(select=info.name)

    def action_rename_list(self) -> None:
        """Ask for another name for the highlighted list."""
        info = self.current
        if info is None:
            return

        def done(name: str | None) -> None:
            if name and name != info.name:
                self._rename(info.name, name)

        prompt = PromptScreen(
            t("ui.lists.rename_prompt", name=clean(info.name)),
            info.name,
            check=self._name_check(info.name),
        )
        self.app.push_screen(prompt, done)

    @work(group="lists-action", exit_on_error=False)
    async def _rename(self, old: str, new: str) -> None:
        store = self.modella.services.lists
        if store is None:
            return
        info = await store.rename(old, new)
        self.notify(t("ui.lists.renamed", old=clean(old), name=clean(info.name)), markup=False)
        self.reload(select=info.name)

    def action_remove(self) -> None:
        """`x`: the highlighted item off its list, or (from the lists) the whole list."""
        info = self.current
        if info is None:
            return
        item = self.highlighted_item()
        if self.items_focused() and item is not None:
            self._remove_item(info.name, item)
            return

        def done(yes: bool | None) -> None:
            if yes:
                self._delete(info.name)

        question = t("ui.lists.delete_confirm", name=clean(info.name), count=info.count)
        self.app.push_screen(ConfirmScreen(question), done)

    @work(group="lists-action", exit_on_error=False)
    async def _remove_item(self, name: str, item: ListItem) -> None:
        store = self.modella.services.lists
        if store is None:
            return
        await store.remove_item(item.id)
        title = clean(item.title or item.ref)
        self.notify(t("ui.lists.item_removed", title=title, name=clean(name)), markup=False)
        self.reload(select=name)

    @work(group="lists-action", exit_on_error=False)
    async def _delete(self, name: str) -> None:
        store = self.modella.services.lists
        if store is None:
            return
        await store.delete(name)
        self.current = None
        self.notify(t("ui.lists.deleted", name=clean(name)), markup=False)
        self.reload()

    # ----- queue what is missing -------------------------------------------------------------------
    def action_queue_missing(self) -> None:
        """Queue every item that is neither here nor queued; one toast sums it up."""
        info = self.current
        services = self.modella.services
        if info is None:
            return
        if services.engine is None or services.plan_ref is None:
            self.notify(t("ui.queue.unavailable"), severity="warning", markup=False)
            return
        here = (LOCAL, QUEUED_STATE)
        todo = [
            i for i in self.items if self.statuses.get(i.id, ItemStatus(GONE)).state not in here
        ]
        if not todo:
            self.notify(t("ui.lists.all_here", name=clean(info.name)), markup=False)
            return
        self._queue_missing(info.name, todo)

    @work(group="lists-action", exit_on_error=False)
    async def _queue_missing(self, name: str, todo: list[ListItem]) -> None:
        services = self.modella.services
        engine, planner = services.engine, services.plan_ref
        if engine is None or planner is None:
            return
        await self.gather()
        prepared = await prepare([i.entry() for i in todo], planner, self.holdings)
        for item, ready in zip(todo, prepared, strict=True):
            self.outcomes[(item.ref, item.file)] = ready.outcome
        pickles = [
            clean(p.file_name)
            for ready in prepared
            for p in ready.need
            if p.is_pickle and not p.scan_danger
        ]
        allow = False
        if pickles:
            question = t("ui.queue.confirm_pickle", files=", ".join(pickles))
            answer = await self.app.push_screen_wait(ConfirmScreen(question))
            allow = bool(answer)
        result = report(await enqueue(engine, prepared, allow_pickle=allow))
        queued = result.count(QUEUED)
        text = (
            t("ui.lists.queued", files=result.files, items=queued, name=clean(name))
            if queued
            else t("ui.lists.nothing_queued", name=clean(name))
        )
        if result.count(ALREADY):
            text += " " + t("ui.lists.queued_already", count=result.count(ALREADY))
        bad = [r for r in result.results if r.outcome in (FAILED, SKIPPED)]
        if bad:
            first = clean(bad[0].reasons[0]) if bad[0].reasons else ""
            text += " " + t("ui.lists.queued_failed", count=len(bad), reason=first)
        self.notify(text, markup=False, severity="warning" if bad else "information", timeout=8)
        self.restate()

    # ----- remove what is on disk ---------------------------------------------------------------
    def action_remove_files(self) -> None:
        """Delete the list's files from the models folder, after a question naming the bytes."""
        if self.current is not None:
            self._remove_files(self.current.name)

    @work(group="lists-action", exit_on_error=False)
    async def _remove_files(self, name: str) -> None:
        services = self.modella.services
        store = services.lists
        if store is None:
            return
        await self.gather()
        by_path = {f.path: f for f in self.holdings.landed}
        mine = {p for i in self.items for p in self.status_of(i).paths}
        own = [by_path[p] for p in sorted(mine) if p in by_path]
        if not own:
            self.notify(t("ui.lists.nothing_on_disk", name=clean(name)), markup=False)
            return
        held: dict[str, set[str]] = {}
        for other, items in (await store.all_items()).items():
            if other == name:
                continue
            for item in items:
                for path in self.status_of(item).paths:
                    held.setdefault(path, set()).add(other)
        shared = [f for f in own if f.path in held]
        only = [f for f in own if f.path not in held]
        files = await self._ask_removal(name, own, only, shared, held)
        if not files:
            return
        root = self.modella.settings.models_dir
        done = await asyncio.to_thread(remove_files, files, root)
        await store.forget_landed(done.removed)
        if services.library is not None:
            for gone in done.removed:
                await services.library.forget(gone)
        text = t(
            "ui.lists.removed",
            count=len(done.removed),
            size=human_size(done.freed),
            name=clean(name),
        )
        if done.failed:
            failed, why = done.failed[0]
            text += " " + t(
                "ui.lists.remove_failed", count=len(done.failed), file=clean(failed.name)
            )
            text += f" ({clean(why)})"
        self.notify(text, markup=False, severity="warning" if done.failed else "information")
        self.restate()

    async def _ask_removal(
        self,
        name: str,
        own: list[LandedFile],
        only: list[LandedFile],
        shared: list[LandedFile],
        held: dict[str, set[str]],
    ) -> list[LandedFile]:
        """Ask; the answer is the files to delete (none when the user says no)."""
        size_only = await asyncio.to_thread(measure, only)
        size_shared = await asyncio.to_thread(measure, shared)
        total = human_size(size_only + size_shared)
        question = t("ui.lists.remove_question", count=len(own), size=total, name=clean(name))
        choices = []
        if shared:
            lists = sorted({n for f in shared for n in held[f.path]})
            question += "\n" + t(
                "ui.lists.remove_shared",
                count=len(shared),
                size=human_size(size_shared),
                lists=", ".join(clean(n) for n in lists),
            )
            if only:
                label = t("ui.lists.remove_keep", count=len(only), size=human_size(size_only))
                choices.append(Choice("own", label, "y", "warning"))
            label = t("ui.lists.remove_all", count=len(own), size=total)
            choices.append(Choice("all", label, "a", "error"))
        else:
            label = t("ui.lists.remove_yes", count=len(own), size=total)
            choices.append(Choice("own", label, "y", "error"))
        cancel = Choice("no", t("ui.lists.remove_no"), "n", "primary")
        answer = await self.app.push_screen_wait(ChoiceScreen(question, choices, cancel))
        if answer == "all":
            return own
        return only if answer == "own" else []

    # ----- files ---------------------------------------------------------------------------------
    def lists_folder(self) -> Path:
        """Where list files are offered: beside the models folder (`/workspace` on a pod, which
        survives a pod stop and is where a start script finds `kit.toml`)."""
        return self.modella.settings.models_dir.parent

    def action_export_list(self) -> None:
        """Write the highlighted list to a TOML file (the path is asked, a default offered)."""
        info = self.current
        if info is None:
            return

        def done(path: str | None) -> None:
            if path:
                self._export(info.name, path)

        default = str(self.lists_folder() / f"{file_stem(info.name)}.toml")
        prompt = PromptScreen(
            t("ui.lists.export_prompt", name=clean(info.name)),
            default,
            ok_label=t("ui.lists.export_ok"),
        )
        self.app.push_screen(prompt, done)

    @work(group="lists-action", exit_on_error=False)
    async def _export(self, name: str, path: str) -> None:
        store = self.modella.services.lists
        if store is None:
            return
        items = await store.items(name)
        target = Path(path).expanduser()
        if await asyncio.to_thread(target.is_file):
            question = t("ui.lists.export_exists", file=clean(str(target)), name=clean(name))
            choices = [Choice("yes", t("ui.lists.export_replace"), "y", "error")]
            cancel = Choice("no", t("ui.lists.export_keep"), "n", "primary")
            if await self.app.push_screen_wait(ChoiceScreen(question, choices, cancel)) != "yes":
                return
        try:
            await asyncio.to_thread(write_list_file, target, name, [i.entry() for i in items])
        except ModellaError as exc:  # a folder, a missing folder, no permission
            self.notify(clean(exc.message), severity="error", markup=False, timeout=10)
            return
        text = t("cli.lists.exported", name=clean(name), count=len(items), file=clean(target))
        self.notify(text, markup=False, timeout=8)

    def action_import_list(self) -> None:
        """Read a list from a TOML file (made by an export, or by hand)."""

        def done(path: str | None) -> None:
            if path:
                self._import(path)

        prompt = PromptScreen(
            t("ui.lists.import_prompt"),
            placeholder=str(self.lists_folder() / "kit.toml"),
            ok_label=t("ui.lists.import_ok"),
        )
        self.app.push_screen(prompt, done)

    @work(group="lists-action", exit_on_error=False)
    async def _import(self, path: str) -> None:
        store = self.modella.services.lists
        if store is None:
            return
        source = Path(path).expanduser()
        civitai = self.modella.settings.civitai_url
        hub = os.environ.get("HF_ENDPOINT")
        try:
            listfile = await asyncio.to_thread(
                read_list_file, source, civitai_base=civitai, hub_base=hub
            )
        except ListFileError as exc:
            lines = [clean(p) for p in exc.problems[:5]] + [clean(exc.message)]
            self.notify("\n".join(lines), severity="error", markup=False, timeout=15)
            return
        added = await store.add_items(listfile.name or source.stem, listfile.items, create=True)
        key = "cli.lists.imported_new" if added.created else "cli.lists.imported_merged"
        name = clean(added.list.name)
        self.notify(t(key, name=name, added=added.added, already=added.already), markup=False)
        self.reload(select=added.list.name)

    def action_check_again(self) -> None:
        """Ask Civitai and the Hub again (a model may have a new version, a file may be gone)."""
        self.recheck()
