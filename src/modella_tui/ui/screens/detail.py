"""One model: versions ten a page, files with marks, images, description, tags, trained words."""

from __future__ import annotations

import glob
import os

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Label, Markdown

from modella_tui.core.errors import ModellaError
from modella_tui.core.i18n import t
from modella_tui.core.models import CivitaiFile, CivitaiImage, CivitaiModel, CivitaiVersion
from modella_tui.core.thumbnails import is_video
from modella_tui.core.urlsafe import is_openable_link
from modella_tui.ui.add_to_list import add_to_list, version_title
from modella_tui.ui.columns import Column
from modella_tui.ui.commands.detail_commands import DETAIL
from modella_tui.ui.html_markdown import html_to_markdown
from modella_tui.ui.queueing import queue_civitai
from modella_tui.ui.screens.base import BaseScreen
from modella_tui.ui.textutil import clean, human_size, plain
from modella_tui.ui.widgets.fit_table import FitTable
from modella_tui.ui.widgets.image_preview import ImagePreview

VERSIONS_PER_PAGE = 10
# Size and scan status right after the name; type, format and precision go first when narrow.
# Names shrink in the middle: the end tells versions and precisions apart.
FILE_COLUMNS = (
    Column("mark", 4, 0, maximum=4),
    Column("name", 18, 0, fill=True),
    Column("size", 8, 0),
    Column("scan", 6, 1),
    Column("type", 5, 4),
    Column("format", 6, 2),
    Column("fp", 4, 3),
)
VERSION_COLUMNS = (
    Column("mark", 1, 0, maximum=1),
    Column("name", 8, 0, fill=True),
    Column("base", 8, 1, shrink=True),
    Column("published", 10, 2, maximum=10),
    Column("files", 5, 3),
)
# Below this the right pane is too narrow (or short) for a picture beside the files table.
PREVIEW_MIN_SIZE = (80, 20)
NAMES = frozenset({"name"})
WIDE = 100
"""From this width the right pane takes two fifths; below, a fixed 30 cells."""


def over_ssh(env: dict[str, str] | None = None) -> bool:
    """A browser opened here would open on the pod, not in front of the user."""
    env = dict(os.environ) if env is None else env
    return bool(env.get("SSH_CONNECTION") or env.get("SSH_TTY") or env.get("SSH_CLIENT"))


def mark_text(marked: bool, primary: bool) -> Text:
    """`[x]` for a marked file, `*` after it for the version's primary file."""
    return Text(("[x]" if marked else "[ ]") + ("*" if primary else ""))


def scan_text(f: CivitaiFile) -> Text:
    """Scan status in words (never colour alone): danger, a warning for pending or failed scans."""
    state = f.scan_state
    if state == "danger":
        return Text(t("ui.scan.danger"), style="bold reverse")
    pickle = f"{t('ui.scan.pickle')} " if f.is_pickle else ""
    if state in ("pending", "error"):
        return Text("⚠ " + pickle + t(f"ui.scan.{state}"), style="bold")
    return Text(pickle + t(f"ui.scan.{state}"))


class DetailScreen(BaseScreen):
    """Pushed over the browser; `escape` returns to the cards."""

    COMMANDS_LIST = DETAIL
    TITLE_KEY = "ui.screen.detail"
    MODE = "browser"

    def __init__(self, model: CivitaiModel, version: CivitaiVersion | None = None) -> None:
        super().__init__()
        self.model = model
        self.version: CivitaiVersion | None = version or model.latest
        self.page = self._page_of(self.version)
        self.marked: dict[int, set[int]] = {}  # version id → file ids
        self.image_index = 0
        self.preview_url: str | None = None  # the image the preview shows or is fetching

    def compose(self) -> ComposeResult:
        """Header, versions and files on the left, images/words/tags/description on the right."""
        yield from self.compose_header()
        with Horizontal(id="detail-header"):
            # The name gives way first: type, base model and creator stay readable at 80 columns.
            yield Label("", id="detail-name", markup=False)
            yield Label("", id="detail-meta", markup=False)
        with Horizontal(id="detail-body"):
            with Vertical(id="detail-left"):
                yield Label("", id="detail-versions-title", classes="section-title", markup=False)
                yield FitTable(VERSION_COLUMNS, middle_cut=NAMES, id="detail-versions")
                yield Label(t("ui.detail.files"), classes="section-title", name="ui.detail.files")
                yield FitTable(FILE_COLUMNS, middle_cut=NAMES, id="detail-files")
                yield Label("", id="detail-no-files", markup=False)
            with VerticalScroll(id="detail-right"):
                yield Label(t("ui.detail.image"), classes="section-title", name="ui.detail.image")
                yield ImagePreview(id="detail-preview")
                yield Label("", id="detail-image", markup=False)
                yield Label(
                    t("ui.detail.trained_words"),
                    classes="section-title",
                    name="ui.detail.trained_words",
                )
                yield Label("", id="detail-words", markup=False)
                yield Label(t("ui.detail.tags"), classes="section-title", name="ui.detail.tags")
                yield Label("", id="detail-tags", markup=False)
                yield Label(
                    t("ui.detail.description"),
                    classes="section-title",
                    name="ui.detail.description",
                )
                yield Markdown("", id="detail-description")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        """Columns, the model as the search returned it, then the full model."""
        self._add_columns()
        self.show_model()
        self.files_table.focus()
        self._load_full()

    @property
    def files_table(self) -> FitTable:
        """The files of the selected version."""
        return self.query_one("#detail-files", FitTable)

    @property
    def versions_table(self) -> FitTable:
        """The versions of this page."""
        return self.query_one("#detail-versions", FitTable)

    def _add_columns(self) -> None:
        self.versions_table.set_labels(
            {c.key: t(f"ui.detail.col.{c.key}") if c.key != "mark" else "" for c in VERSION_COLUMNS}
        )
        self.files_table.set_labels({c.key: t(f"ui.detail.col.{c.key}") for c in FILE_COLUMNS})

    def on_resize(self, event: events.Resize) -> None:
        """A narrow terminal gives the lists more room; the preview comes and goes with it."""
        self.set_class(event.size.width < WIDE, "-narrow")
        if self.is_mounted:
            self._show_preview()

    def relabel(self) -> None:
        """The language changed: section titles, column headers and the cells with words."""
        super().relabel()
        if not self.is_mounted:
            return
        for label in self.query(".section-title").results(Label):
            if label.name:
                label.update(t(label.name))
        self.preview_url = None  # its message, if any, in the new language (the file is cached)
        image = self.image_index
        self._add_columns()
        self.show_model()
        self.image_index = image
        self._show_image()

    @work(group="detail", exclusive=True, exit_on_error=False)
    async def _load_full(self) -> None:
        civitai = self.modella.services.civitai
        if civitai is None:
            return
        full = await civitai.model(self.model.id)
        keep = self.version
        self.model = full
        # A version the full list leaves out (early access) stays selected as it was given.
        self.version = (full.version(keep.id) or keep) if keep is not None else full.latest
        self.page = self._page_of(self.version)
        self.show_model()

    # ----- display ---------------------------------------------------------------------------
    def show_model(self) -> None:
        """Fill every part from `self.model`."""
        m = self.model
        meta = " · ".join(p for p in (clean(m.type), clean(m.base_model), clean(m.creator)) if p)
        self.query_one("#detail-name", Label).update(plain(m.name))
        self.query_one("#detail-meta", Label).update(plain(f" · {meta}" if meta else ""))
        # Tags and words wrap in the narrow right pane instead of being cut (still never markup).
        self.query_one("#detail-tags", Label).update(Text(", ".join(clean(x) for x in m.tags)))
        self.query_one("#detail-description", Markdown).update(html_to_markdown(m.description))
        self._show_versions()
        self._show_version()

    def _page_of(self, version: CivitaiVersion | None) -> int:
        """The versions page that lists `version` (the first page when it is not listed)."""
        ids = [v.id for v in self.model.versions]
        return ids.index(version.id) // VERSIONS_PER_PAGE if version and version.id in ids else 0

    def _page_count(self) -> int:
        return max(1, -(-len(self.model.versions) // VERSIONS_PER_PAGE))

    def _show_versions(self) -> None:
        table = self.versions_table
        start = self.page * VERSIONS_PER_PAGE
        table.set_rows(
            [
                (str(v.id), self._version_cells(v))
                for v in self.model.versions[start : start + VERSIONS_PER_PAGE]
            ]
        )
        self.query_one("#detail-versions-title", Label).update(
            t(
                "ui.detail.versions",
                count=len(self.model.versions),
                page=self.page + 1,
                pages=self._page_count(),
            )
        )
        if self.version is not None and str(self.version.id) in table.rows:
            table.move_cursor(row=table.get_row_index(str(self.version.id)))

    def _version_cells(self, v: CivitaiVersion) -> dict[str, Text]:
        return {
            "mark": Text("✓" if self.marked.get(v.id) else ""),
            "name": Text(clean(v.name), no_wrap=True),
            "base": plain(v.base_model),
            "published": plain((v.published_at or "")[:10]),
            "files": Text(str(len(v.files))),
        }

    def _show_version(self) -> None:
        v = self.version
        files = self.files_table
        if v is None:
            files.set_rows([])
            return
        marks = self.marked.get(v.id, set())
        files.set_rows([(str(f.id), self._file_cells(f, f.id in marks)) for f in v.files])
        none = self.query_one("#detail-no-files", Label)
        none.display = not v.files
        none.update(t("ui.detail.no_files") if not v.files else "")
        words = ", ".join(clean(w) for w in v.trained_words)
        self.query_one("#detail-words", Label).update(Text(words or t("ui.detail.no_words")))
        self.image_index = 0
        self._show_image()

    def _file_cells(self, f: CivitaiFile, marked: bool) -> dict[str, Text]:
        return {
            "mark": mark_text(marked, f.primary),
            "name": Text(clean(f.name), no_wrap=True),
            "size": Text(human_size(f.size_bytes)),
            "scan": scan_text(f),
            "type": plain(f.type),
            "format": plain(f.format or ""),
            "fp": plain(f.fp or ""),
        }

    def _images(self) -> list[CivitaiImage]:
        images = list(self.version.images) if self.version else []
        if bool(self.modella.settings.get("nsfw")):
            return images
        return [i for i in images if i.safe]

    def _show_image(self) -> None:
        images = self._images()
        label = self.query_one("#detail-image", Label)
        if not images:
            label.update(t("ui.detail.no_images"))
            self._show_preview()
            return
        self.image_index %= len(images)
        img = images[self.image_index]
        # The link wraps rather than being cut: it is what `o` opens or copies.
        label.update(
            Text(
                t("ui.detail.image_n", n=self.image_index + 1, count=len(images))
                + "\n"
                + clean(img.url),
                overflow="fold",
            )
        )
        self._show_preview()

    # ----- preview ---------------------------------------------------------------------------
    def previews_wanted(self) -> bool:
        """A source of thumbnails, the setting on, and room for the box."""
        width, height = self.app.size
        return (
            self.modella.services.thumbnails is not None
            and bool(self.modella.settings.get("previews"))
            and width >= PREVIEW_MIN_SIZE[0]
            and height >= PREVIEW_MIN_SIZE[1]
        )

    def _show_preview(self) -> None:
        preview = self.query_one("#detail-preview", ImagePreview)
        img = self.current_image
        wanted = self.previews_wanted() and img is not None
        preview.display = wanted
        if not wanted or img is None:
            self.preview_url = None
            self.workers.cancel_group(self, "preview")
            return
        if img.url == self.preview_url:
            return  # already shown or on its way (a relabel or resize redraws nothing)
        self.preview_url = img.url
        preview.failed_text = t("ui.preview.none")
        if is_video(img.url, img.type):
            self.workers.cancel_group(self, "preview")
            preview.show_message(t("ui.preview.video"))
        elif not img.safe and not bool(self.modella.settings.get("nsfw")):
            # `_images` already leaves mature ones out; this keeps it so if that ever changes.
            self.workers.cancel_group(self, "preview")
            preview.show_message(t("ui.preview.none"))
        else:
            preview.show_message(t("ui.preview.loading"))
            self._fetch_preview(img.url)

    @work(group="preview", exclusive=True, exit_on_error=False)
    async def _fetch_preview(self, url: str) -> None:
        thumbnails = self.modella.services.thumbnails
        if thumbnails is None:
            return
        path = await thumbnails.fetch(url)
        if url != self.preview_url:
            return  # the user moved on while it loaded
        preview = self.query_one("#detail-preview", ImagePreview)
        if path is None:
            preview.show_message(t("ui.preview.none"))
        else:
            preview.show_path(path, loading=t("ui.preview.loading"))

    @property
    def current_image(self) -> CivitaiImage | None:
        """The image shown now."""
        images = self._images()
        return images[self.image_index % len(images)] if images else None

    # ----- events ----------------------------------------------------------------------------
    @on(DataTable.RowHighlighted, "#detail-versions")
    def _version_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        version = self.model.version(int(key)) if key and key.isdigit() else None
        if version is not None and version != self.version:
            self.version = version
            self._show_version()

    # ----- actions ---------------------------------------------------------------------------
    def action_version_page(self, step: int) -> None:
        """Ten versions back or forward."""
        page = max(0, min(self._page_count() - 1, self.page + step))
        if page == self.page:
            return
        self.page = page
        first = self.model.versions[page * VERSIONS_PER_PAGE]
        self.version = first
        self._show_versions()
        self._show_version()

    def _highlighted_file(self) -> CivitaiFile | None:
        key = self.files_table.current_key
        if self.version is None or key is None:
            return None
        return next((f for f in self.version.files if str(f.id) == key), None)

    def action_mark(self) -> None:
        """Toggle the mark of the highlighted file."""
        f = self._highlighted_file()
        if f is None or self.version is None:
            return
        marks = self.marked.setdefault(self.version.id, set())
        marks.symmetric_difference_update({f.id})
        table = self.files_table
        table.update_cells(str(f.id), {"mark": mark_text(f.id in marks, f.primary)})
        self.versions_table.update_cells(str(self.version.id), {"mark": Text("✓" if marks else "")})
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)

    def action_queue_marked(self) -> None:
        """Queue every marked file (several versions at once), else the highlighted one."""
        picked = [
            (v, [f for f in v.files if f.id in self.marked.get(v.id, set())])
            for v in self.model.versions
        ]
        picked = [(v, fs) for v, fs in picked if fs]
        if not picked:
            f = self._highlighted_file()
            if f is None or self.version is None:
                return
            picked = [(self.version, [f])]
        queue_civitai(self.modella, self.model, picked)
        self.marked.clear()
        self._show_versions()
        self._show_version()

    def action_add_to_list(self) -> None:
        """Add the marked files (each by its name), else the version shown, to a list."""
        marked = [
            (v, f)
            for v in self.model.versions
            for f in v.files
            if f.id in self.marked.get(v.id, set())
        ]
        if marked:
            refs: list[tuple[str, str | None]] = [
                (f"civitai:{self.model.id}@{v.id}", glob.escape(f.name)) for v, f in marked
            ]
            versions = {v.id for v, _ in marked}
            version = marked[0][0] if len(versions) == 1 else None
        elif self.version is not None:
            refs = [(f"civitai:{self.model.id}@{self.version.id}", None)]
            version = self.version
        else:
            return
        add_to_list(self.modella, refs, version_title(self.model, version))

    def action_image(self, step: int) -> None:
        """Previous or next image."""
        self.image_index += step
        self._show_image()

    def action_open_image(self) -> None:
        """Open the link here, or over SSH copy it and show it (the browser would open on the pod).

        Whatever happens, a notification says so: opening a browser gives no sign of its own.
        """
        img = self.current_image
        if img is None:
            return
        url = clean(img.url)
        if not is_openable_link(img.url):
            self.notify(t("ui.detail.link_refused", url=url), severity="warning", markup=False)
        elif over_ssh() and not self.app.is_web:
            self.app.copy_to_clipboard(url)
            self.notify(t("ui.detail.link_copied", url=url), markup=False, timeout=10)
        else:
            self.app.open_url(img.url)
            self.notify(t("ui.detail.link_opened", url=url), markup=False, timeout=6)

    def action_toggle_preview(self) -> None:
        """Previews on or off, saved in the settings at once."""
        settings = self.modella.settings
        on = not bool(settings.get("previews"))
        try:
            settings.set("previews", on)
        except (ModellaError, OSError) as exc:
            self.modella.report_error(exc)
            return
        thumbnails = self.modella.services.thumbnails
        if on and thumbnails is not None:
            thumbnails.forget_failures()  # a network hiccup earlier should not stick
        self._show_preview()
        self.notify(t("ui.preview.on" if on else "ui.preview.off"), markup=False, timeout=3)

    def action_copy_words(self) -> None:
        """Copy the trained words; OSC 52 cannot report success, so say what was copied."""
        # The clipboard gets what the screen shows: an escape in a word would reach the terminal.
        words = ", ".join(clean(w) for w in self.version.trained_words) if self.version else ""
        if not words.strip(", "):
            self.notify(t("ui.detail.no_words"), severity="warning", markup=False)
            return
        self.app.copy_to_clipboard(words)
        self.notify(t("ui.detail.copied", text=words), markup=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Image and word actions need something to act on."""
        if action in ("open_image",) and self.is_mounted:
            return True if self.current_image is not None else None
        if action == "toggle_preview":
            # Without a thumbnail source (tests, snapshots) the key would do nothing visible.
            return self.modella.services.thumbnails is not None
        return True
