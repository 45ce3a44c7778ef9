"""Disk usage: bars of bytes by source, base model and type, the volume, what can be freed.

The same figures as `modella du` (both come from `core/usage.py`). The folder is walked once per
run; after that a landed download or a deleted file updates the index by its own path and this
screen reads the index again, without walking. See docs/screens.md.
"""

from __future__ import annotations

import os

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from modella_tui.core.i18n import t
from modella_tui.core.units import human_size
from modella_tui.core.usage import GROUPINGS, Usage, group_label, reclaim_lines, volume_line
from modella_tui.ui.commands.usage_commands import USAGE
from modella_tui.ui.screens.usage_base import UsageScreenBase
from modella_tui.ui.textutil import clean
from modella_tui.ui.widgets.bar_chart import Bar, BarChart

SHOWN = 4
"""Duplicates and leftover files listed by name; the rest are counted."""


def summary_text(usage: Usage) -> Text:
    """The folder, its total, the volume and its free space, and what can be freed in a line."""
    out = Text()
    out.append(t("usage.folder", folder=clean(str(usage.root))) + "\n")
    out.append(t("usage.total", size=human_size(usage.total_bytes), files=usage.files), "bold")
    if usage.volume is not None:
        out.append("\n" + volume_line(usage))
    first, _note = reclaim_lines(usage)
    out.append("\n" + first, "bold" if usage.reclaimable_bytes else "")
    return out


def reclaim_text(usage: Usage) -> Text:
    """Below the charts: the leftovers and extra copies by name, and where duplicates are
    looked for."""
    out = Text()
    out.append(t("usage.freed_title"), "bold")

    def rel(path: str) -> str:
        return clean(os.path.relpath(path, usage.root))

    for part in usage.leftover_parts[:SHOWN]:
        out.append("\n  " + t("usage.leftover", size=human_size(part.size), path=rel(part.path)))
    for dup in usage.duplicates[:SHOWN]:
        names = ", ".join(rel(p) for p in dup.paths)
        out.append("\n  " + t("usage.duplicate", size=human_size(dup.size), paths=names))
    more = max(0, len(usage.leftover_parts) - SHOWN) + max(0, len(usage.duplicates) - SHOWN)
    if more:
        out.append("\n  " + t("usage.more", count=more))
    _first, note = reclaim_lines(usage)
    out.append("\n" + note, "italic")
    return out


def bars(usage: Usage, grouping: str) -> list[Bar]:
    """One grouping's bars, largest first."""
    total = usage.total_bytes
    return [
        Bar(clean(group_label(grouping, g)), g.bytes, g.share(total))
        for g in usage.groups.get(grouping, ())
    ]


class UsageScreen(UsageScreenBase):
    """Where the space of the models folder goes."""

    COMMANDS_LIST = USAGE
    TITLE_KEY = "ui.screen.usage"
    MODE = "usage"

    def __init__(self) -> None:
        super().__init__()
        self.usage: Usage | None = None

    def compose(self) -> ComposeResult:
        """Totals, what can be freed, and a chart per grouping, in one scrolling column."""
        yield from self.compose_header()
        with VerticalScroll(id="usage-body", can_focus=True):
            yield Static(t("ui.usage.loading"), id="usage-summary", markup=False)
            for grouping in GROUPINGS:
                yield BarChart(id=f"usage-{grouping}")
            yield Static("", id="usage-reclaim", markup=False)
        yield from self.compose_footer()

    def on_mount(self) -> None:
        """What the index knows at once, then this run's walk of the folder."""
        self.query_one("#usage-body").focus()
        self.start_reading()

    def action_rescan(self) -> None:
        """Walk the folder again (files copied in by hand, deleted outside the app)."""
        self.query_one("#usage-summary", Static).update(t("ui.usage.scanning"))
        self._walk(again=True)

    @work(group="usage", exclusive=True, exit_on_error=False)
    async def _reload(self) -> None:
        if self.reader is None:
            return
        await self.modella.ready.wait()
        usage, _items = await self.reader.read()
        self.usage = usage
        self._show()

    def _show(self) -> None:
        usage = self.usage
        if usage is None:
            return
        with self.app.batch_update():
            self.query_one("#usage-summary", Static).update(summary_text(usage))
            self.query_one("#usage-reclaim", Static).update(reclaim_text(usage))
            for grouping in GROUPINGS:
                chart = self.query_one(f"#usage-{grouping}", BarChart)
                chart.show(t(f"usage.by.{grouping}"), bars(usage, grouping), t("usage.empty"))

    def relabel(self) -> None:
        """The language changed: every title and word again."""
        super().relabel()
        if self.is_mounted:
            self._show()
