"""The Library: every file of the models folder as a tree, identified, with rename and delete.

Opening the screen shows what the index knew at once, then scans in the background: sizes first
(the tree is redrawn as soon as they are in), then hashes, Civitai look-ups, headers and update
checks, redrawing after each step with the user's open groups and cursor kept. Rename and delete
go through the library store, which checks paths, sidecars and busy files (core/library_ops.py).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, Tree

from modella_tui.core.errors import ModellaError
from modella_tui.core.i18n import t
from modella_tui.core.library_files import LibrarySnapshot, LocalFile, ModelVersions
from modella_tui.core.library_ops import busy_paths
from modella_tui.core.library_view import LibraryView, build_view
from modella_tui.core.scan import ScanProgress, ScanReport, describe
from modella_tui.ui import library_text
from modella_tui.ui.commands.library_commands import LIBRARY
from modella_tui.ui.messages import LibraryChanged, QueueChanged
from modella_tui.ui.screens.base import NARROW, BaseScreen
from modella_tui.ui.screens.detail import DetailScreen
from modella_tui.ui.screens.modals.confirm import ConfirmScreen
from modella_tui.ui.screens.modals.file_info import FileInfoScreen
from modella_tui.ui.screens.modals.rename import RenameScreen
from modella_tui.ui.textutil import clean, human_size
from modella_tui.ui.widgets.info_pane import InfoPane
from modella_tui.ui.widgets.library_tree import Entry, LibraryTree

OPEN_AT_START = frozenset({"dupes", "civitai", "huggingface", "unknown"})


class LibraryDetailScreen(DetailScreen):
    """The browser's detail pane over the Library (the Library stays marked in the screens bar)."""

    MODE = "library"


class LibraryScreen(BaseScreen):
    """The models folder: source → type → model → files, biggest first."""

    COMMANDS_LIST = LIBRARY
    TITLE_KEY = "ui.screen.library"
    MODE = "library"

    def __init__(self) -> None:
        super().__init__()
        self.view: LibraryView | None = None
        self.busy: set[str] = set()
        self.expanded: set[str] = set(OPEN_AT_START)
        self.cursor_key: str | None = None
        self.scanning = False
        self.last_report: ScanReport | None = None
        self._stale = False
        self._on_file = False

    def compose(self) -> ComposeResult:
        """Screens bar, summary, tree beside (or above) the info pane, scan status, footer."""
        yield from self.compose_header()
        yield Label(t("ui.library.loading"), id="library-summary", markup=False)
        with Horizontal(id="library-body"):
            yield LibraryTree(self._children, id="library-tree")
            yield InfoPane(id="library-info")
        yield Label("", id="library-status", markup=False)
        yield from self.compose_footer()

    @property
    def files_tree(self) -> LibraryTree:
        """The tree of files."""
        return self.query_one("#library-tree", LibraryTree)

    def on_mount(self) -> None:
        """Show what is known now, then scan in the background."""
        self.files_tree.focus()
        self._start()

    def on_resize(self, event: events.Resize) -> None:
        """Below 120 columns the info pane goes under the tree."""
        self.set_class(event.size.width < NARROW, "-narrow")

    def on_unmount(self) -> None:
        """A scan must not outlive the screen (its thread would hold the exit)."""
        library = self.modella.services.library
        if library is not None:
            library.stop_scan()

    def on_screen_resume(self) -> None:
        """Back on the screen: scan a models folder changed in Settings, or pick up downloads
        that landed meanwhile."""
        super().on_screen_resume()
        if self.view is None:
            return
        folder = Path(os.path.abspath(self.modella.settings.models_dir))
        if folder != self.view.snapshot.root and not self.scanning:
            self._stale = False
            self._scan()
        elif self._stale:
            self._stale = False
            self._reload()

    def on_queue_changed(self, message: QueueChanged) -> None:
        """Downloads started, landed or were removed: reload now if shown, else when shown."""
        if not self.is_mounted:
            return
        if self.app.screen is self:
            self._reload()
        else:
            self._stale = True

    def relabel(self) -> None:
        """The language changed: every line, the summary, the info pane and the status again."""
        super().relabel()
        if self.is_mounted and self.view is not None:
            self._show(self.view)
            if self.last_report is not None and not self.scanning:
                self._status(self.last_report)

    # ----- loading -------------------------------------------------------------------------------
    @work(group="library-start", exclusive=True, exit_on_error=False)
    async def _start(self) -> None:
        await self.modella.ready.wait()
        library = self.modella.services.library
        if library is None:
            self.query_one("#library-summary", Label).update(t("ui.library.unavailable"))
            return
        snap = await library.snapshot()
        if snap.files:
            await self._apply(await _view(snap))
        self._scan()

    @work(group="library-reload", exclusive=True, exit_on_error=False)
    async def _reload(self) -> None:
        library = self.modella.services.library
        if library is not None:
            await self._apply(await _view(await library.snapshot()))

    async def _apply(self, view: LibraryView) -> None:
        engine = self.modella.services.engine
        self.busy = busy_paths(await engine.items()) if engine is not None else set()
        self._show(view)

    def _show(self, view: LibraryView) -> None:
        self.view = view
        with self.app.batch_update():
            self.query_one("#library-summary", Label).update(library_text.summary(view))
            top = [library_text.group_entry(g, 0) for g in view.groups]
            self.files_tree.show(top, self.expanded, self.cursor_key)
            self._show_info()

    def _children(self, entry: Entry) -> list[Entry]:
        return library_text.children(self.view, entry, self.busy) if self.view else []

    def _show_info(self) -> None:
        view = self.view
        if view is None:
            return
        layout = str(self.modella.settings.get("layout"))
        body = library_text.info(view, self.current, self.busy, layout)
        self.query_one("#library-info", InfoPane).show(body)

    @property
    def current(self) -> Entry | None:
        """The line under the cursor."""
        return self.files_tree.current

    @property
    def current_file(self) -> LocalFile | None:
        """The file under the cursor (None on a group)."""
        entry = self.current
        return entry.file if entry is not None else None

    # ----- scanning ------------------------------------------------------------------------------
    @work(group="library-scan", exclusive=True, exit_on_error=False)
    async def _scan(self) -> None:
        library = self.modella.services.library
        if library is None:
            return
        self.scanning = True
        self.refresh_bindings()
        try:
            report = await library.scan(self._progress)
        finally:
            self.scanning = False
            self.refresh_bindings()
        self.last_report = report
        await self._apply(await _view(report.snapshot))
        self._scan_done(report)

    def _progress(self, progress: ScanProgress) -> None:
        if not self.is_mounted:
            return
        if progress.phase != "done":
            self.query_one("#library-status", Label).update(clean(describe(progress)))
        # Each step changes what the tree can say: sizes, then hashes (duplicates), identities.
        if progress.phase in ("hash", "header") and progress.done == 0:
            self._reload()

    def _status(self, report: ScanReport) -> None:
        """The line under the tree once a scan ended: what it did, or why it stopped early."""
        parts = [
            t("ui.library.scan_stopped")
            if report.stopped
            else t("ui.library.scan_done", hashed=report.hashed, identified=len(report.identified))
        ]
        if report.civitai_error is not None:
            parts.append(clean(report.civitai_error.message))
        self.query_one("#library-status", Label).update(" · ".join(parts))

    def _scan_done(self, report: ScanReport) -> None:
        self._status(report)
        if report.identified:
            names = ", ".join(sorted({clean(f.name) for f in report.identified})[:5])
            self.notify(
                t("ui.library.identified", count=len(report.identified), names=names),
                markup=False,
            )

    # ----- tree events ---------------------------------------------------------------------------
    @on(Tree.NodeHighlighted, "#library-tree")
    def _highlighted(self, event: Tree.NodeHighlighted[Entry]) -> None:
        data, tree = event.node.data, self.files_tree
        # A place the user chose is kept across reloads; the first line by default is not.
        if data is not None and data.key != tree.fallback_key:
            self.cursor_key = data.key
            tree.fallback_key = None
        self._show_info()
        on_file = data is not None and data.file is not None
        if on_file != self._on_file:  # rename and delete are dimmed on groups
            self._on_file = on_file
            self.refresh_bindings()

    @on(Tree.NodeExpanded, "#library-tree")
    def _expanded(self, event: Tree.NodeExpanded[Entry]) -> None:
        if event.node.data is not None:
            self.expanded.add(event.node.data.key)

    @on(Tree.NodeCollapsed, "#library-tree")
    def _collapsed(self, event: Tree.NodeCollapsed[Entry]) -> None:
        if event.node.data is not None:
            self.expanded.discard(event.node.data.key)

    @on(Tree.NodeSelected, "#library-tree")
    def _selected(self, event: Tree.NodeSelected[Entry]) -> None:
        data = event.node.data
        if data is not None and data.file is not None:
            self._open(data.file)
        elif data is not None and data.rest is not None:
            self.files_tree.show_more(event.node)

    # ----- actions -------------------------------------------------------------------------------
    @work(group="library-open", exclusive=True, exit_on_error=False)
    async def _open(self, f: LocalFile) -> None:
        """A Civitai file opens the browser's detail pane (a newer version selected); any
        other file shows what is known of it."""
        civitai = self.modella.services.civitai
        if f.source == "civitai" and f.model_id and f.model_id.isdigit() and civitai is not None:
            try:
                model = await civitai.model(int(f.model_id))
            except ModellaError as exc:  # offline: say why, and show what is known here
                self.modella.report_error(exc)
                self._show_file(f)
                return
            local_id = f.version_id if f.version_id and f.version_id.isdigit() else None
            local = model.version(int(local_id)) if local_id else None
            listed = tuple((str(v.id), v.name, v.early_access) for v in model.versions)
            newer = ModelVersions(str(model.id), listed).newer_than(local_id)
            chosen = model.version(int(newer[0])) if newer else None
            self.app.push_screen(LibraryDetailScreen(model, chosen or local))
            if chosen is not None:
                current = clean(local.name if local else (f.version_id or "?"))
                text = t("ui.library.newer_selected", version=clean(chosen.name), current=current)
                self.notify(text, markup=False, timeout=8)
            return
        self._show_file(f)

    def _show_file(self, f: LocalFile) -> None:
        """Everything known of a file, in a box (Hub files: repo, path, folder)."""
        if self.view is not None:
            layout = str(self.modella.settings.get("layout"))
            entry = library_text.file_entry(self.view, f, 0, self.busy, f"file:{f.path}")
            self.app.push_screen(
                FileInfoScreen(library_text.info(self.view, entry, self.busy, layout))
            )

    async def _busy_now(self) -> set[str]:
        engine = self.modella.services.engine
        self.busy = busy_paths(await engine.items()) if engine is not None else set()
        return self.busy

    def action_rename_file(self) -> None:
        """Ask for a new name; the file and its sidecars move together."""
        f, library = self.current_file, self.modella.services.library
        if library is None:
            return
        if f is None:
            self.notify(t("ui.library.pick_file"), severity="warning", markup=False)
            return
        sidecars = len(self.view.sidecars.get(f.path, [])) if self.view else 0
        group = self.current.key.rsplit("/file:", 1)[0] if self.current else ""

        async def apply(name: str) -> str | None:
            try:
                new = await library.rename(Path(f.path), name, await self._busy_now())
            except (ModellaError, OSError) as exc:
                return exc.message if isinstance(exc, ModellaError) else str(exc)
            self.cursor_key = f"{group}/file:{new}"
            shown = clean(new.name)
            self.notify(t("ui.library.renamed", name=shown, count=sidecars), markup=False)
            self.app.post_message(LibraryChanged())
            self._reload()
            return None

        self.app.push_screen(RenameScreen(f.file_name, sidecars, apply))

    def action_delete_file(self) -> None:
        """Ask, naming the bytes freed, then delete the file and its sidecars."""
        f = self.current_file
        if f is None:
            self.notify(t("ui.library.pick_file"), severity="warning", markup=False)
            return
        self._delete(f)

    @work(group="library-delete", exclusive=True, exit_on_error=False)
    async def _delete(self, f: LocalFile) -> None:
        library = self.modella.services.library
        if library is None:
            return
        plan = await library.delete_plan(Path(f.path), await self._busy_now())
        question = t(
            # Another name of the file (a hard link) keeps its bytes: say why it frees nothing.
            "ui.library.delete_confirm_linked"
            if plan.links
            else "ui.library.delete_confirm"
            if plan.sidecars
            else "ui.library.delete_confirm_alone",
            name=clean(f.file_name),
            count=len(plan.sidecars),
            size=human_size(plan.bytes_freed),
        )
        if not await self.app.push_screen_wait(ConfirmScreen(question)):
            return
        done = await library.delete(Path(f.path), await self._busy_now())
        self.notify(
            t(
                "ui.library.deleted",
                name=clean(f.file_name),
                count=len(done.sidecars),
                size=human_size(done.bytes_freed),
            ),
            markup=False,
        )
        self.app.post_message(LibraryChanged())
        await self._apply(await _view(await library.snapshot()))

    def action_scan_library(self) -> None:
        """Scan again now (only what changed is read)."""
        if self.scanning:
            self.notify(t("ui.library.scan_running"), markup=False)
            return
        self._scan()

    def action_stop_scan(self) -> None:
        """Stop the running scan."""
        library = self.modella.services.library
        if library is not None and self.scanning:
            library.stop_scan()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """File actions need a file under the cursor; stopping needs a scan."""
        if not self.is_mounted:
            return True
        if action in ("rename_file", "delete_file"):
            return True if self.current_file is not None else None
        if action == "stop_scan":
            return self.scanning
        return True


async def _view(snap: LibrarySnapshot) -> LibraryView:
    """Group a snapshot off the event loop (20,000 files take tens of milliseconds)."""
    return await asyncio.to_thread(build_view, snap)
