"""Named lists: the lists on the left, the highlighted list's items on the right with their state.

Each item shows at once what this machine knows (files on disk, the queue), then what a resolve
against Civitai or the Hub says (the latest version today, a file that is gone); queue changes
update the states without asking the sources again. See docs/lists.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label

from modella_tui.core.errors import ModellaError
from modella_tui.core.i18n import t
from modella_tui.core.list_status import (
    GONE,
    LOCAL,
    MISSING,
    QUEUED,
    Holdings,
    ItemStatus,
    PlanOutcome,
    item_status,
    plan_entries,
)
from modella_tui.core.lists import ListInfo, ListItem
from modella_tui.ui.columns import Column
from modella_tui.ui.commands.lists_commands import LISTS
from modella_tui.ui.messages import QueueChanged
from modella_tui.ui.screens.list_actions import ListActionsScreen, OutcomeKey
from modella_tui.ui.textutil import clean, human_size, plain
from modella_tui.ui.widgets.fit_table import FitTable

if TYPE_CHECKING:
    from modella_tui.core.hub.packages import Catalogue

LIST_COLUMNS = (Column("name", 8, 0, fill=True), Column("count", 3, 0))
# The state first, then the name; the REF, glob, size and note go (in that order, last first)
# when narrow: the line under the table shows them for the highlighted item.
ITEM_COLUMNS = (
    Column("status", 7, 0),
    Column("title", 12, 0, shrink=True, maximum=40),
    Column("ref", 14, 2, fill=True),
    Column("file", 8, 4, shrink=True),
    Column("size", 8, 3),
    Column("note", 8, 5, shrink=True, maximum=30),
)
OPTIONAL = frozenset({"file", "size", "note"})
NARROW = 100
"""Below this width the lists pane is narrower."""


def status_text(status: ItemStatus | None) -> Text:
    """The state in words (never by colour alone); gone and missing stand out by weight."""
    if status is None:
        return Text("…")
    word = t(f"lists.status.{status.state}")
    if status.state == LOCAL and status.verified:
        word = t("lists.status.local_verified")
    style = "bold" if status.state in (MISSING, GONE) else ""
    return Text(word, style=style)


def short_name(ref: str) -> str:
    """A name for an item without a title: a Hub file's or repo's last part, else the REF."""
    if ref.startswith("hf:"):
        return ref.rstrip("/").rsplit("/", 1)[-1]
    return ref


class ListsScreen(ListActionsScreen):
    """Create, rename and delete lists; see, queue and remove what they hold."""

    COMMANDS_LIST = LISTS
    TITLE_KEY = "ui.screen.lists"
    MODE = "lists"

    def __init__(self) -> None:
        super().__init__()
        self.infos: list[ListInfo] = []
        self.current: ListInfo | None = None
        self.items: list[ListItem] = []
        self.holdings = Holdings()
        self.outcomes: dict[OutcomeKey, PlanOutcome] = {}
        self.statuses: dict[int, ItemStatus] = {}
        self.checking = False
        self._catalogue: Catalogue | None = None

    def compose(self) -> ComposeResult:
        """The screens bar, the lists, the items of the highlighted list, the footer."""
        yield from self.compose_header()
        with Horizontal(id="lists-body"):
            with Vertical(id="lists-left"):
                yield Label("", id="lists-title", classes="section-title", markup=False)
                yield FitTable(LIST_COLUMNS, middle_cut=frozenset(), id="lists-table")
                yield Label("", id="lists-none", markup=False)
            with Vertical(id="lists-right"):
                yield Label("", id="lists-summary", classes="section-title", markup=False)
                yield FitTable(
                    ITEM_COLUMNS,
                    middle_cut=frozenset({"ref", "file"}),
                    id="lists-items",
                    zebra_stripes=True,
                )
                yield Label("", id="lists-items-empty", markup=False)
                yield Label("", id="lists-current", markup=False)
        yield from self.compose_footer()

    def on_mount(self) -> None:
        """Headers, then the lists (the first one opened)."""
        self._label_columns()
        self.lists_table.focus()
        self.reload()

    def on_screen_resume(self) -> None:
        """Back on this screen: lists and items may have changed elsewhere (`a`, a download)."""
        super().on_screen_resume()
        if self.is_mounted:
            self.reload()

    def on_resize(self, event: events.Resize) -> None:
        """A narrow terminal gives the items more room."""
        self.set_class(event.size.width < NARROW, "-narrow")

    def _label_columns(self) -> None:
        self.lists_table.set_labels({c.key: t(f"ui.lists.col.{c.key}") for c in LIST_COLUMNS})
        self.items_table.set_labels({c.key: t(f"ui.lists.col.{c.key}") for c in ITEM_COLUMNS})

    def relabel(self) -> None:
        """The language changed: headers, states and every line of text again."""
        super().relabel()
        if self.is_mounted:
            self._label_columns()
            self._show_lists()
            self._show_items()

    @property
    def lists_table(self) -> FitTable:
        """The lists."""
        return self.query_one("#lists-table", FitTable)

    @property
    def items_table(self) -> FitTable:
        """The items of the highlighted list."""
        return self.query_one("#lists-items", FitTable)

    @property
    def catalogue(self) -> Catalogue | None:
        """The curated Hub packages (a package's files decide whether it is all here)."""
        if self._catalogue is None:
            from modella_tui.core.hub.packages import load_catalogue

            try:
                self._catalogue = load_catalogue()
            except ModellaError:  # a broken catalogue costs the Hub packages' precision, no more
                return None
        return self._catalogue

    # ----- loading --------------------------------------------------------------------------------
    def reload(self, select: str | None = None) -> None:
        """Read the lists again; `select` (a name) becomes the highlighted one."""
        self._load_lists(select)

    @work(group="lists-load", exclusive=True, exit_on_error=False)
    async def _load_lists(self, select: str | None) -> None:
        await self.modella.ready.wait()
        store = self.modella.services.lists
        self.infos = await store.lists() if store is not None else []
        wanted = select or (self.current.name if self.current else None)
        chosen = next((i for i in self.infos if i.name == wanted), None)
        self.current = chosen or (self.infos[0] if self.infos else None)
        self._show_lists()
        await self._load_items()

    async def _load_items(self) -> None:
        store = self.modella.services.lists
        info = self.current
        self.items = await store.items(info.name) if store is not None and info else []
        await self.gather()
        self._show_items()
        if any(self._key(i) not in self.outcomes for i in self.items):
            self._check(False)

    async def gather(self) -> None:
        """What this machine has now: recorded files on disk and the queue's rows."""
        services = self.modella.services
        landed = await services.lists.landed() if services.lists is not None else []
        queue = list(await services.engine.items()) if services.engine is not None else []
        roots = [self.modella.settings.models_dir]
        self.holdings = await Holdings.gather(landed, queue, roots)

    @staticmethod
    def _key(item: ListItem) -> OutcomeKey:
        return (item.ref, item.file)

    @work(group="lists-check", exclusive=True, exit_on_error=False)
    async def _check(self, again: bool) -> None:
        """Resolve the items the sources have not been asked about yet (all of them, `again`)."""
        planner = self.modella.services.plan_ref
        if planner is None:
            return
        todo = [i for i in self.items if again or self._key(i) not in self.outcomes]
        if not todo:
            return
        self.checking = True
        self._show_summary()
        try:
            outcomes = await plan_entries([i.entry() for i in todo], planner)
        finally:
            self.checking = False
        for item, outcome in zip(todo, outcomes, strict=True):
            self.outcomes[self._key(item)] = outcome
        self._show_items()

    def on_queue_changed(self, message: QueueChanged) -> None:
        """Files were queued or landed: the states again, from what this machine has."""
        if self.is_mounted and self.current is not None:
            self._restate()

    def restate(self) -> None:
        """The states again from what this machine has (no source is asked)."""
        self._restate()

    @work(group="lists-status", exclusive=True, exit_on_error=False)
    async def _restate(self) -> None:
        await self.modella.ready.wait()
        await self.gather()
        self._show_items()

    def recheck(self) -> None:
        """Forget what the sources said and ask them again."""
        self.outcomes.clear()
        self._check(True)

    # ----- display ----------------------------------------------------------------------------------
    def status_of(self, item: ListItem) -> ItemStatus:
        """One item's state from the last resolve (if any) and what this machine has."""
        outcome = self.outcomes.get(self._key(item))
        return item_status(item.entry(), self.holdings, outcome, self.catalogue)

    def _show_lists(self) -> None:
        table = self.lists_table
        rows = [
            (str(i.id), {"name": plain(i.name), "count": Text(str(i.count))}) for i in self.infos
        ]
        table.set_rows(rows)
        table.display = bool(self.infos)
        none = self.query_one("#lists-none", Label)
        none.display = not self.infos
        none.update(t("ui.lists.none") if not self.infos else "")
        self.query_one("#lists-title", Label).update(t("ui.lists.title", count=len(self.infos)))
        if self.current is not None and str(self.current.id) in table.rows:
            index = table.get_row_index(str(self.current.id))
            if table.cursor_row != index:
                table.move_cursor(row=index)

    def _show_items(self) -> None:
        self.statuses = {i.id: self.status_of(i) for i in self.items}
        table = self.items_table
        with self.app.batch_update():
            # A column only while some item has something to show in it.
            cells = [(str(i.id), self._cells(i)) for i in self.items]
            table.specs = tuple(
                c
                for c in ITEM_COLUMNS
                if c.key not in OPTIONAL or any(r[c.key].plain for _, r in cells)
            )
            table.set_rows(cells)
            table.display = bool(self.items)
            empty = self.query_one("#lists-items-empty", Label)
            empty.display = self.current is not None and not self.items
            empty.update(
                t("ui.lists.empty", name=clean(self.current.name))
                if self.current and not self.items
                else ""
            )
        self._show_summary()
        self._show_current()

    def _cells(self, item: ListItem) -> dict[str, Text]:
        status = self.statuses.get(item.id)
        return {
            "status": status_text(status),
            "title": plain(item.title or short_name(item.ref)),
            "ref": Text(clean(item.ref), no_wrap=True),
            "file": Text(clean(item.file or ""), no_wrap=True),
            "size": Text(human_size(status.size) if status and status.size else ""),
            "note": plain(item.note or ""),
        }

    def _show_summary(self) -> None:
        label = self.query_one("#lists-summary", Label)
        if self.current is None:
            label.update("")
            return
        counts = dict.fromkeys((LOCAL, QUEUED, MISSING, GONE), 0)
        for status in self.statuses.values():
            counts[status.state] = counts.get(status.state, 0) + 1
        parts = [t(f"ui.lists.count.{state}", count=n) for state, n in counts.items() if n]
        name = clean(self.current.name)
        if parts:  # the counts add up to the items: no need to say how many there are
            text = t("ui.lists.summary_counts", name=name, counts=", ".join(parts))
        else:
            text = t("ui.lists.summary", name=name, count=len(self.items))
        if self.checking:
            text += " · " + t("ui.lists.checking")
        label.update(text)

    def _show_current(self) -> None:
        """The line under the items: the highlighted item in full, and why it is in its state."""
        item = self.highlighted_item()
        label = self.query_one("#lists-current", Label)
        if item is None:
            label.update("")
            return
        status = self.statuses.get(item.id)
        parts = [clean(item.ref)]
        if item.file:
            parts.append(t("ui.lists.glob", glob=clean(item.file)))
        if item.note:
            parts.append(clean(item.note))
        if status is not None:
            parts.append(self._detail(status))
        label.update(" · ".join(p for p in parts if p))

    @staticmethod
    def _detail(status: ItemStatus) -> str:
        if status.reason:
            return clean(status.reason)
        if status.state == LOCAL:
            key = "ui.lists.detail.verified" if status.verified else "ui.lists.detail.unverified"
            return t(key, count=len(status.paths), size=human_size(status.size))
        if status.wanted and status.paths:
            return t("ui.lists.detail.partial", have=len(status.paths), count=status.wanted)
        return ""

    @on(DataTable.RowHighlighted, "#lists-items")
    def _item_highlighted(self) -> None:
        self._show_current()

    @on(DataTable.RowHighlighted, "#lists-table")
    def _list_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        info = next((i for i in self.infos if str(i.id) == key), None)
        if info is not None and (self.current is None or info.id != self.current.id):
            self.current = info
            self._open_list()

    @work(group="lists-load", exclusive=True, exit_on_error=False)
    async def _open_list(self) -> None:
        await self._load_items()

    @on(DataTable.RowSelected, "#lists-table")
    def _list_selected(self) -> None:
        if self.items:
            self.items_table.focus()

    # ----- what the actions act on --------------------------------------------------------------
    def highlighted_item(self) -> ListItem | None:
        """The item under the cursor of the items table."""
        table = self.items_table
        key = table.current_key if table.display else None
        return next((i for i in self.items if str(i.id) == key), None)

    def items_focused(self) -> bool:
        """Whether the keyboard is in the items (so `x` removes an item, not the list)."""
        return self.focused is self.items_table

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Actions on a list need one; dimmed (not hidden) while there is none."""
        needs_list = ("rename_list", "remove", "queue_missing", "remove_files", "export_list")
        if action in needs_list:
            return True if self.current is not None else None
        return True
