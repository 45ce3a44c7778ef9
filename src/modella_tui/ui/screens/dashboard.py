"""The dashboard: what is downloading, what just landed, what failed and how to fix it, the disk,
the library in counts, and a key into every screen. The start screen once the models folder has
model files. See docs/screens.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.cells import cell_len
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from modella_tui.core.errors import reason_text
from modella_tui.core.i18n import t
from modella_tui.core.protocols import QueueItemView
from modella_tui.core.units import human_size
from modella_tui.core.usage import Usage, text_bar
from modella_tui.ui.columns import middle
from modella_tui.ui.commands.app_commands import NAVIGATION
from modella_tui.ui.commands.usage_commands import DASHBOARD
from modella_tui.ui.messages import ProgressInfo, QueueProgress
from modella_tui.ui.screens.usage_base import UsageScreenBase
from modella_tui.ui.textutil import clean, duration, fit
from modella_tui.ui.widgets.progress_cell import percent

RUNNING = frozenset({"running", "verifying"})
WAITING = frozenset({"pending", "paused"})
RECENT = 5
FAILED_SHOWN = 4
BAR = 30
TWO_COLUMNS = 100
"""From this width the sections sit in two columns."""


def screen_key(mode: str) -> str:
    """The digit that opens a screen, or nothing when the app has no such screen."""
    return next((cmd.KEY for cmd in NAVIGATION if mode == cmd.MODE), "")


def title_line(key: str, mode: str = "") -> Text:
    """A section title, with the key of the screen that shows more (`Downloads · 4`)."""
    digit = screen_key(mode) if mode else ""
    text = Text(t(key), style="bold")
    if digit:
        text.append("  ")
        text.append(f" {digit} ", style="bold reverse")
    return text


def downloads_text(
    items: Sequence[QueueItemView], progress: Mapping[int, ProgressInfo], width: int
) -> Text:
    """Running downloads with a bar, percent, speed and time left; how many wait."""
    out = title_line("ui.dash.downloads", "queue")
    running = [i for i in items if i.state in RUNNING]
    waiting = sum(1 for i in items if i.state in WAITING)
    if not running:
        out.append("\n" + t("ui.dash.idle"), style="italic")
    for item in running:
        p = progress.get(item.id)
        done = p.done if p else item.bytes_done
        total = (p.total if p else None) or item.expected_size
        out.append("\n" + middle(f"{clean(item.title)} · {clean(item.file_name)}", width))
        if item.state == "verifying":
            out.append("\n  " + t("ui.state.verifying"), style="italic")
            continue
        speed = f"{human_size(p.speed_bps)}/s" if p and p.speed_bps else ""
        eta = duration(p.eta_s) if p else ""
        bar = text_bar(done / total if total else 0.0, max(8, min(BAR, width - 28)))
        out.append(f"\n  {bar} {percent(done, total):>4} {speed:>10} {eta:>7}")
    if waiting:
        out.append("\n" + t("ui.dash.waiting", count=waiting))
    return out


def recent_text(items: Sequence[QueueItemView], width: int) -> Text:
    """The downloads that landed last, newest first."""
    out = title_line("ui.dash.recent")
    done = sorted(
        (i for i in items if i.state == "done"),
        key=lambda i: (i.finished_at or 0.0, i.id),
        reverse=True,
    )
    if not done:
        out.append("\n" + t("ui.dash.no_recent"), style="italic")
    for item in done[:RECENT]:
        size = human_size(item.expected_size or item.bytes_done)
        line = f"✓ {clean(item.title)} · {clean(item.file_name)}"
        out.append("\n" + fit(line, max(8, width - 10)) + f" {size:>9}")
    return out


def attention_text(items: Sequence[QueueItemView], width: int) -> Text:
    """Failed downloads with their reason, and the keys that retry them."""
    failed = sorted((i for i in items if i.state == "failed"), key=lambda i: -i.id)
    out = title_line("ui.dash.attention", "queue")
    if not failed:
        out.append("\n" + t("ui.dash.no_failures"), style="italic")
        return out
    for item in failed[:FAILED_SHOWN]:
        reason = clean(reason_text(item.error, item.error_params)) or t("ui.state.failed")
        out.append("\n" + fit(f"✗ {clean(item.title)} · {clean(item.file_name)}", width))
        out.append("\n  " + fit(reason, max(8, width - 2)), style="italic")
    if len(failed) > FAILED_SHOWN:
        out.append("\n" + t("ui.dash.more_failures", count=len(failed) - FAILED_SHOWN))
    out.append("\n")
    out.append(t("ui.dash.retry_hint", key=screen_key("queue") or "4"), style="bold")
    return out


def disk_text(usage: Usage | None, width: int) -> Text:
    """Models' bytes, the volume's size and its free space, with a bar of the volume's use."""
    out = title_line("ui.dash.disk", "usage")
    if usage is None:
        out.append("\n" + t("ui.usage.loading"), style="italic")
        return out
    out.append(
        "\n" + t("ui.dash.models", size=human_size(usage.model_bytes), files=usage.model_files)
    )
    volume = usage.volume
    if volume is None:
        out.append("\n" + t("ui.dash.no_volume"), style="italic")
        return out
    out.append(
        "\n"
        + t(
            "usage.volume",
            total=human_size(volume.total),
            free=human_size(volume.free),
            used=round(volume.used_share * 100),
        )
    )
    share = volume.used_share
    bar_width = max(8, min(40, width - 8))
    out.append("\n" + text_bar(share, bar_width) + f" {share * 100:4.0f}%")
    return out


def library_text(usage: Usage | None, width: int) -> Text:
    """Model files by source and by type."""
    out = title_line("ui.dash.library", "library")
    if usage is None:
        out.append("\n" + t("ui.usage.loading"), style="italic")
        return out
    if not usage.model_files:
        out.append("\n" + t("ui.dash.no_models"), style="italic")
        return out
    sources = usage.counts.get("source", {})
    parts = [f"{t(f'usage.source.{k}')} {n}" for k, n in sorted(sources.items(), key=_most)]
    out.append("\n" + fit(" · ".join(parts), width).rstrip())
    types = usage.counts.get("type", {})
    parts = [f"{clean(k)} {n}" for k, n in sorted(types.items(), key=_most)]
    out.append("\n")
    out.append(Text(" · ".join(parts), overflow="fold"))
    return out


def _most(entry: tuple[str, int]) -> tuple[int, str]:
    return (-entry[1], entry[0])


def keys_text(width: int) -> Text:
    """Every screen with its key, wrapped between entries, never inside one."""
    out = title_line("ui.dash.screens")
    used = width
    for cmd in NAVIGATION:
        entry = f" {cmd.KEY} "
        label = f" {cmd.label()}"
        size = cell_len(entry) + cell_len(label) + 2
        if used + size > width:
            out.append("\n")
            used = 0
        elif used:
            out.append("  ")
        out.append(entry, style="bold reverse")
        out.append(label)
        used += size
    return out


class DashboardScreen(UsageScreenBase):
    """The pod at a glance."""

    COMMANDS_LIST = DASHBOARD
    TITLE_KEY = "ui.screen.dashboard"
    MODE = "dashboard"

    def __init__(self) -> None:
        super().__init__()
        self.items: Sequence[QueueItemView] = ()
        self.progress: dict[int, ProgressInfo] = {}
        self.usage: Usage | None = None

    def compose(self) -> ComposeResult:
        """Two columns of sections (one when narrow), scrolling as a whole."""
        yield from self.compose_header()
        with VerticalScroll(id="dash-body", can_focus=True):
            with Vertical(id="dash-left", classes="dash-column"):
                yield Static("", id="dash-downloads", classes="dash-section", markup=False)
                yield Static("", id="dash-attention", classes="dash-section", markup=False)
                yield Static("", id="dash-recent", classes="dash-section", markup=False)
            with Vertical(id="dash-right", classes="dash-column"):
                yield Static("", id="dash-disk", classes="dash-section", markup=False)
                yield Static("", id="dash-library", classes="dash-section", markup=False)
                yield Static("", id="dash-keys", classes="dash-section", markup=False)
        yield from self.compose_footer()

    def on_mount(self) -> None:
        """Queue rows and the index at once, then this run's walk of the folder."""
        self.query_one("#dash-body").focus()
        self._draw()
        self.start_reading()

    def on_resize(self, event: events.Resize) -> None:
        """Two columns from 100 cells, one below."""
        self.set_class(event.size.width < TWO_COLUMNS, "-narrow")
        if self.is_mounted:
            self.call_after_refresh(self._draw)

    def _column_width(self) -> int:
        width = self.app.size.width
        return max(20, (width if width < TWO_COLUMNS else width // 2) - 4)

    def _draw(self) -> None:
        width = self._column_width()
        with self.app.batch_update():
            self._draw_downloads()
            self.query_one("#dash-attention", Static).update(attention_text(self.items, width))
            self.query_one("#dash-recent", Static).update(recent_text(self.items, width))
            self.query_one("#dash-disk", Static).update(disk_text(self.usage, width))
            self.query_one("#dash-library", Static).update(library_text(self.usage, width))
            self.query_one("#dash-keys", Static).update(keys_text(width))

    def _draw_downloads(self) -> None:
        text = downloads_text(self.items, self.progress, self._column_width())
        self.query_one("#dash-downloads", Static).update(text)

    # ----- data -------------------------------------------------------------------------------
    def on_queue_progress(self, message: QueueProgress) -> None:
        """Bars move; only the downloads section is drawn again."""
        self.progress = dict(message.snapshot)
        if self.is_mounted:
            self._draw_downloads()

    def action_rescan(self) -> None:
        """Walk the models folder again."""
        self._walk(again=True)

    @work(group="dash", exclusive=True, exit_on_error=False)
    async def _reload(self) -> None:
        if self.reader is None:
            return
        await self.modella.ready.wait()
        self.usage, self.items = await self.reader.read()
        self._draw()

    def relabel(self) -> None:
        """The language changed: every section again."""
        super().relabel()
        if self.is_mounted:
            self._draw()
