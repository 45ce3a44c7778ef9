"""The text of each line of the Hugging Face tree, and of the explanation under it.

Lines are laid out right to left: the size (and the file count or target folder) keep fixed
columns at the right edge, the status words (local, queued, gated) sit against them, and the name
takes what is left, cut in the middle. Nothing here imports Textual; the tree widget asks `line()`
for a node's text at the width it has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from rich.cells import cell_len
from rich.text import Text

from modella_tui.core import paths
from modella_tui.core.errors import AuthError, ModellaError
from modella_tui.core.hub.browse import HubPick
from modella_tui.core.hub.search import HubSearchResult
from modella_tui.core.i18n import t
from modella_tui.core.units import human_count, human_size
from modella_tui.ui.columns import middle
from modella_tui.ui.hub_state import (
    CategoryNode,
    FileNode,
    HubState,
    NodeData,
    NoteNode,
    PackageNode,
    PackNode,
    RepoKey,
    RepoNode,
)
from modella_tui.ui.textutil import clean

SIZE_WIDTH = 9
COUNT_WIDTH = 9
FOLDER_MAX = 24
NAME_MIN = 12
STATUS_MIN = 12
"""Cells the status words keep before a column is dropped (`gated: …` must stay readable)."""
GAP = "  "


# ----- words ---------------------------------------------------------------------------------


def gate_word(state: HubState, repo: str) -> str:
    """`gated`, then what the access check found: no token, licence not accepted, or access."""
    if not state.is_gated(repo):
        return ""
    if repo in state.checking:
        return t("ui.hub.gated_checking")
    if repo not in state.gates:
        return t("ui.hub.gated")
    problem = state.gates[repo]
    if problem is None:
        return t("ui.hub.gated_ok")
    if problem.key == "hub.error.gated":
        return t("ui.hub.gated_no_token")
    if problem.key == "hub.error.gated_denied":
        return t("ui.hub.gated_licence")
    return t("ui.hub.gated_refused")


def gate_explanation(state: HubState, repo: str, page_url: str) -> str:
    """One or two sentences under the tree: what to do about a gated repo."""
    if not state.is_gated(repo):
        return ""
    problem = state.gates.get(repo)
    if repo in state.checking or repo not in state.gates:
        return t("ui.hub.gated_explain", repo=clean(repo), url=clean(page_url))
    if problem is None:
        return t("ui.hub.gated_explain_ok", repo=clean(repo))
    return clean(problem.message)


def files_status(state: HubState, picks: Iterable[HubPick]) -> str:
    """`2/3 local · 1 queued` for a package or pack (empty when neither)."""
    keys = [p.key for p in picks]
    local = sum(1 for k in keys if k in state.local)
    queued = sum(1 for k in keys if k in state.queued and k not in state.local)
    parts = []
    if local:
        parts.append(
            t("ui.hub.all_local")
            if local == len(keys)
            else t("ui.hub.some_local", n=local, of=len(keys))
        )
    if queued:
        parts.append(t("ui.hub.n_queued", n=queued))
    return " · ".join(parts)


def file_status(state: HubState, pick: HubPick) -> str:
    """`local`, the queue state, `not on the Hub`, or nothing."""
    if pick.key in state.local:
        return t("ui.hub.local")
    if pick.key in state.queued:
        return t(f"ui.state.{state.queued[pick.key]}")
    if state.missing(pick):
        return t("ui.hub.missing")
    return ""


def total_text(state: HubState, picks: list[HubPick], repos: Iterable[RepoKey]) -> str:
    """The summed size; `…` while sizes are on their way, `?` when none could be read."""
    sizes = [state.size_of(p) for p in picks]
    known = [s for s in sizes if s is not None]
    repo_keys = set(repos)
    if not known:
        if any(k in state.errors for k in repo_keys):
            return "?"
        return "…" if any(k not in state.infos for k in repo_keys) else "?"
    text = human_size(sum(known))
    return f"≥{text}" if len(known) < len(sizes) else text


def mark_cell(state: HubState, picks: list[HubPick]) -> str:
    """`[x]` all marked, `[-]` some, `[ ]` none."""
    if not picks:
        return "[ ] "
    marked = sum(1 for p in picks if p.key in state.marks)
    if marked == len(picks):
        return "[x] "
    return "[-] " if marked else "[ ] "


# ----- layout --------------------------------------------------------------------------------


def _cut_end(text: str, width: int) -> str:
    """`text` in at most `width` cells, ending in `…` when cut (CJK-safe)."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = cell_len(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def _pad(text: str, width: int, *, right: bool = False) -> str:
    room = max(0, width - cell_len(text))
    return " " * room + text if right else text + " " * room


@dataclass(frozen=True)
class Slot:
    """A fixed column at the right of a line; higher `drop` goes first when the line is narrow."""

    text: str
    width: int
    drop: int = 0
    right: bool = True
    style: str = ""


def layout(
    width: int,
    name: str,
    *,
    mark: str = "",
    status: str = "",
    status_style: str = "",
    slots: Iterable[Slot] = (),
    name_style: str = "",
    name_min: int = NAME_MIN,
) -> Text:
    """One line `width` cells wide: mark, name (cut in the middle), status, fixed columns.

    Columns that may go (`drop` > 0) go, highest first, until the name has `name_min` cells.
    """
    kept = list(slots)
    status_min = min(cell_len(status), STATUS_MIN) + len(GAP) if status else 0

    def fixed() -> int:
        return sum(c.width + len(GAP) for c in kept)

    while kept and cell_len(mark) + name_min + status_min + fixed() > width:
        worst = max(kept, key=lambda c: c.drop)
        if worst.drop == 0:
            break
        kept.remove(worst)
    room = max(0, width - cell_len(mark) - fixed())
    status_width = min(cell_len(status), max(0, room - name_min - len(GAP))) if status else 0
    status_width = max(status_width, min(cell_len(status), STATUS_MIN)) if status else 0
    status_width = min(status_width, max(0, room - len(GAP)))
    name_width = max(0, room - (status_width + len(GAP) if status_width else 0))
    line = Text(no_wrap=True, overflow="crop")
    line.append(mark)
    line.append(_pad(middle(name, name_width), name_width), style=name_style)
    if status_width:
        line.append(GAP)
        line.append(_cut_end(status, status_width), style=status_style)
    for c in kept:
        line.append(GAP)
        line.append(_pad(_cut_end(c.text, c.width), c.width, right=c.right), style=c.style)
    return line


@dataclass
class LineContext:
    """What a line needs besides the state: the folder a type lands in, the page of a repo."""

    folder: Callable[[str, str], str]
    """(type, repo) → the folder it lands in, relative to the models folder."""
    folder_width: int = 18


def line(state: HubState, data: NodeData, width: int, ctx: LineContext) -> Text:
    """The text of one tree line at `width` cells (expander icon and guides excluded)."""
    if isinstance(data, CategoryNode):
        return _category_line(data, width)
    if isinstance(data, NoteNode):
        return Text(_cut_end(data.text, width), style="italic", no_wrap=True)
    if isinstance(data, FileNode):
        return _file_line(state, data.pick, width, ctx)
    if isinstance(data, PackageNode):
        pkg = data.package
        picks = state.package_picks(pkg)
        return _group_line(
            state, clean(pkg.title), picks, {(pkg.repo, pkg.revision)}, [pkg.repo], width
        )
    if isinstance(data, PackNode):
        picks = state.pack_picks(data.pack)
        repos = {(p.repo, p.revision) for p in picks}
        return _group_line(
            state, clean(data.pack.title), picks, repos, sorted({p.repo for p in picks}), width
        )
    return _repo_line(state, data.result, width)


def _category_line(data: CategoryNode, width: int) -> Text:
    if data.query:
        title = t(data.title_key, query=clean(data.query), count=data.count)
    else:
        title = t("ui.hub.category", title=t(data.title_key), count=data.count)
    return Text(_cut_end(title, width), style="bold", no_wrap=True)


def _file_line(state: HubState, pick: HubPick, width: int, ctx: LineContext) -> Text:
    size = state.size_of(pick)
    info_known = (pick.repo, pick.revision) in state.infos
    size_text = human_size(size) if size is not None else ("?" if info_known else "…")
    if (pick.repo, pick.revision) in state.errors:
        size_text = "?"
    folder = ctx.folder(pick.type, pick.repo)
    status = file_status(state, pick)
    return layout(
        width,
        clean(pick.path.rsplit("/", 1)[-1]),
        mark="[x] " if pick.key in state.marks else "[ ] ",
        status=status,
        status_style="bold" if pick.key in state.local else "",
        slots=[
            Slot(middle(clean(folder), ctx.folder_width), ctx.folder_width, drop=2, right=False),
            Slot(size_text, SIZE_WIDTH),
        ],
    )


def _group_line(
    state: HubState,
    title: str,
    picks: list[HubPick],
    repo_keys: set[RepoKey],
    repos: list[str],
    width: int,
) -> Text:
    words = [w for w in (gate_word(state, r) for r in repos) if w]
    errors = [state.errors[k] for k in sorted(repo_keys) if k in state.errors]
    if errors and not state.infos.keys() & repo_keys:
        words.append(error_word(errors[0]))
    elif picks and all(state.missing(p) for p in picks):
        words.append(t("ui.hub.missing"))
    local = files_status(state, picks)
    if local:
        words.append(local)
    return layout(
        width,
        title,
        mark=mark_cell(state, picks),
        status=" · ".join(dict.fromkeys(words)),
        status_style="bold" if any(state.is_gated(r) for r in repos) else "",
        slots=[
            Slot(t("ui.hub.n_files", n=len(picks)), count_width(), drop=3),
            Slot(total_text(state, picks, repo_keys), SIZE_WIDTH),
        ],
        name_style="bold",
    )


def count_width() -> int:
    """The file-count column: wide enough for two digits in the language in use."""
    return min(14, max(COUNT_WIDTH, cell_len(t("ui.hub.n_files", n=99))))


def error_word(error: ModellaError) -> str:
    """A short word for a repo that could not be read (the line under the tree says more)."""
    if isinstance(error, AuthError):
        return t("ui.hub.no_access")
    if error.key == "hub.error.repo_not_found":
        return t("ui.hub.not_found")
    return t("ui.hub.error")


def _repo_line(state: HubState, result: HubSearchResult, width: int) -> Text:
    picks = state.repo_picks(result.id)
    key = (result.id, "main")
    words = [w for w in (gate_word(state, result.id),) if w]
    if key in state.errors:
        words.append(error_word(state.errors[key]))
    if picks is not None:
        local = files_status(state, picks)
        if local:
            words.append(local)
    downloads = "↓" + human_count(result.downloads) if result.downloads is not None else ""
    slots = [
        Slot(clean(result.pipeline_tag or ""), 16, drop=4, right=False),
        Slot(downloads, 8, drop=2),
    ]
    if picks is not None:
        slots.append(Slot(t("ui.hub.n_files", n=len(picks)), count_width(), drop=3))
        slots.append(Slot(total_text(state, picks, {key}), SIZE_WIDTH))
    return layout(
        width,
        clean(result.id),
        mark=mark_cell(state, picks or []),
        status=" · ".join(words),
        status_style="bold" if words else "",
        slots=slots,
        name_style="bold",
        # A repo id is all there is to tell results apart: it keeps more room than a title.
        name_min=min(cell_len(result.id), 30),
    )


def folder_text(models_dir: Path, folder: Path) -> str:
    """A target folder as the user knows it: relative to the models folder, ending in `/`."""
    try:
        rel = folder.relative_to(models_dir)
    except ValueError:
        rel = folder
    text = rel.as_posix()
    return (text if text != "." else "") + "/"


def describe(
    state: HubState,
    data: NodeData | None,
    folder: Callable[[str, str], str],
    page_url: Callable[[str], str],
) -> tuple[str, bool]:
    """The explanation of the highlighted line, and whether it is a problem to fix.

    What stands in the way (a repo that cannot be read, a gated repo) comes first: the place
    under the tree has room for a few rows only.
    """
    repos: list[RepoKey] = []
    parts: list[str] = []
    if isinstance(data, PackageNode):
        pkg = data.package
        repos = [(pkg.repo, pkg.revision)]
        parts = [pkg.repo, pkg.description]
    elif isinstance(data, PackNode):
        picks = state.pack_picks(data.pack)
        repos = list(dict.fromkeys((p.repo, p.revision) for p in picks))
        parts = [data.pack.description]
    elif isinstance(data, FileNode):
        pick = data.pick
        repos = [(pick.repo, pick.revision)]
        target = folder(pick.type, pick.repo) + paths.safe_name(pick.path.rsplit("/", 1)[-1])
        parts = [t("ui.hub.file_detail", repo=pick.repo, path=pick.path, target=target)]
    elif isinstance(data, RepoNode):
        r = data.result
        repos = [(r.id, "main")]
        parts = [r.id, r.pipeline_tag or "", r.library or ""]
        if r.downloads is not None:
            parts.append(t("ui.hub.downloads", n=human_count(r.downloads)))
        if state.repo_picks(r.id) is None and (r.id, "main") not in state.errors:
            parts.append(t("ui.hub.open_repo"))
    elif isinstance(data, CategoryNode):
        parts = [t("ui.hub.category_help")]
    elif isinstance(data, NoteNode):
        parts = [data.text]
    text = " · ".join(clean(p) for p in parts if p)
    for repo, revision in repos:
        error = state.repo_error(repo, revision)
        if error is not None:
            return f"{error.message}\n{text}", True
        explain = gate_explanation(state, repo, page_url(repo))
        if explain:
            return f"{explain}\n{text}", state.gate_problem(repo) is not None
    return text, False
