"""What the Library shows, in words: tree lines, badges and the lines of the info pane.

Badges are words with a sign before them (never colour alone). Every name, path and version that
came from a server or a file name goes through `clean`.
"""

from __future__ import annotations

import os
from collections.abc import Collection

from rich.text import Text

from modella_tui.core.downloads.placement import target_dir
from modella_tui.core.i18n import t
from modella_tui.core.library_files import LocalFile
from modella_tui.core.library_view import Group, LibraryView
from modella_tui.ui.textutil import clean, human_size
from modella_tui.ui.widgets.library_tree import Entry

BADGE = "bold"
PAGE = 1000
"""Files shown at once in a group; a "more" line brings the next ones."""


def group_name(g: Group) -> str:
    """A group's name as shown (sources and special groups translated)."""
    if g.kind == "source":
        return t(f"ui.library.source.{g.name}")
    if g.kind in ("partial", "other", "dupes"):
        return t(f"ui.library.group.{g.kind}")
    if g.kind == "base" and not g.name:
        return t("ui.library.base_unknown")
    return clean(g.name) or "?"


def group_entry(g: Group, depth: int) -> Entry:
    """The tree line of a group: name, how many files, updates or bytes to reclaim, total."""
    badges = Text(t("ui.library.files", count=g.count))
    if g.updates:
        badges.append(" ↑ " + t("ui.library.badge.updates", count=g.updates), BADGE)
    if g.kind in ("dupes", "dupe"):
        badges.append(" ≡ " + t("ui.library.reclaim", size=human_size(g.reclaim)), BADGE)
    return Entry(g.key, depth, group_name(g), human_size(g.size), badges, group=g, style="bold")


def version_name(view: LibraryView, f: LocalFile) -> str:
    """The local file's version name when known (else its id)."""
    known = view.snapshot.versions.get(f.model_id or "")
    name = known.name_of(f.version_id) if known else None
    return clean(name or f.version_id or "")


def file_badges(view: LibraryView, f: LocalFile, busy: Collection[str]) -> Text:
    """The short words after a file's name."""
    out = Text()

    def add(sign: str, text: str) -> None:
        out.append((" " if out else "") + f"{sign} {text}", BADGE)

    if f.source == "civitai" and f.version_id:
        out.append(version_name(view, f))
    update = view.snapshot.update_for(f)
    if update is not None:
        add("↑", t("ui.library.badge.update", version=clean(update[1])))
    copies = view.copy_count(f)
    if copies > 1:
        add("≡", t("ui.library.badge.duplicate", count=copies))
    if view.names_of(f):
        add("⇄", t("ui.library.badge.hard_link"))
    if f.kind == "partial":
        add("↓" if f.path in busy else "×", t(
            "ui.library.badge.downloading" if f.path in busy else "ui.library.badge.leftover"
        ))  # fmt: skip
    elif f.kind == "model" and f.source == "unknown":
        if f.sha256 is None:
            add("…", t("ui.library.badge.unhashed"))
        elif f.lookup == "unknown":
            add("?", t("ui.library.badge.not_on_civitai"))
        if f.header == "unreadable":
            add("!", t("ui.library.badge.unreadable"))
    return out


def file_entry(
    view: LibraryView, f: LocalFile, depth: int, busy: Collection[str], key: str
) -> Entry:
    """The tree line of a file."""
    badges = file_badges(view, f, busy)
    return Entry(key, depth, clean(f.file_name), human_size(f.size), badges, file=f)


def children(view: LibraryView, entry: Entry, busy: Collection[str]) -> list[Entry]:
    """The lines under a group, groups first then files, each list biggest first; files come
    PAGE at a time, the rest behind a "more" line (a folder of 10,000 LoRAs opens at once)."""
    if entry.rest is not None:  # a "more" line: the next page, at its own depth
        g, depth, start = entry.rest, entry.depth, entry.offset
        out = []
    else:
        if entry.group is None:
            return []
        g, depth, start = entry.group, entry.depth + 1, 0
        out = [group_entry(c, depth) for c in g.children]
    page = g.files[start : start + PAGE]
    out += [file_entry(view, f, depth, busy, f"{g.key}/file:{f.path}") for f in page]
    left = len(g.files) - start - len(page)
    if left > 0:
        offset = start + len(page)
        more = t("ui.library.more", count=left)
        out.append(Entry(f"{g.key}/more:{offset}", depth, more, "", rest=g, offset=offset))
    return out


def summary(view: LibraryView) -> str:
    """The line above the tree: the folder, how much is in it, updates and duplicates."""
    parts = [
        t(
            "ui.library.summary",
            folder=clean(str(view.snapshot.root)),
            count=view.file_count,
            size=human_size(view.total_bytes),
        )
    ]
    if view.update_count:
        parts.append(t("ui.library.summary_updates", count=view.update_count))
    if view.duplicates:
        parts.append(
            t(
                "ui.library.summary_duplicates",
                count=sum(len(copies) - 1 for copies in view.duplicates.values()),
                size=human_size(view.reclaimable),
            )
        )
    return " · ".join(parts)


def info(view: LibraryView, entry: Entry | None, busy: Collection[str], layout: str) -> Text:
    """The info pane: everything known about the line under the cursor, and what keys do."""
    if entry is None:
        return Text(t("ui.library.empty") if not view.file_count else "")
    if entry.rest is not None:
        return Text(entry.name)
    if entry.file is None:
        g = entry.group
        if g is None:
            return Text()
        lines = [group_name(g), t("ui.library.info.group", count=g.count, size=human_size(g.size))]
        if g.kind in ("dupes", "dupe"):
            lines.append(t("ui.library.reclaim", size=human_size(g.reclaim)))
            lines.append(t("ui.library.info.dupes_hint"))
        elif g.kind == "partial":
            lines.append(t("ui.library.info.partial_hint"))
        lines.append(t("ui.library.info.open_group"))
        return Text("\n".join(lines))
    return Text("\n".join(_file_lines(view, entry.file, busy, layout)))


def _file_lines(view: LibraryView, f: LocalFile, busy: Collection[str], layout: str) -> list[str]:
    rel = clean(view.relative(f.path))
    extra = view.sidecars.get(f.path, [])
    lines = [rel]
    size = t("ui.library.info.size", size=human_size(f.size))
    if extra:
        size += " · " + t(
            "ui.library.info.sidecars",
            count=len(extra),
            size=human_size(sum(s.size for s in extra)),
        )
    lines.append(size)
    # What calls for action first: the info pane is five lines high at 80x24.
    update = view.snapshot.update_for(f)
    if update is not None:
        lines.append(t("ui.library.info.update", version=clean(update[1])))
    copies = view.copies_of(f)
    if copies:
        others = ", ".join(clean(view.relative(c.path)) for c in copies[:3])
        lines.append(t("ui.library.info.duplicate", paths=others, size=human_size(f.size)))
    names = view.names_of(f)
    if names:
        others = ", ".join(clean(view.relative(n.path)) for n in names[:3])
        lines.append(t("ui.library.info.hard_link", paths=others))
    if f.kind == "partial":
        lines.append(
            t("ui.library.info.downloading") if f.path in busy else t("ui.library.info.leftover")
        )
    if f.source == "civitai" and f.model_id:
        lines.append(
            t(
                "ui.library.info.civitai",
                name=clean(f.name),
                version=version_name(view, f),
                ref=clean(f"civitai:{f.model_id}@{f.version_id}"),
            )
        )
    elif f.source == "huggingface":
        lines.append(
            t(
                "ui.library.info.hub",
                repo=clean(f.model_id or "?"),
                path=clean(f.file_id or f.file_name),
                revision=clean(f.version_id or "main"),
            )
        )
        root = view.snapshot.root
        folder = os.path.dirname(view.relative(f.path)) or "."
        planned = target_dir(root, layout, f.type, source="huggingface", repo=f.model_id)
        lines.append(
            t(
                "ui.library.info.landing",
                folder=clean(folder),
                layout=layout,
                planned=clean(os.path.relpath(planned, root)),
            )
        )
    elif f.kind == "model":
        lines.append(_unknown_line(f))
    if f.kind == "model":
        base = clean(f.base_model) or t("ui.library.info.no_base")
        lines.append(t("ui.library.info.type", type=clean(f.type), base=base))
        lines.append(
            t("ui.library.info.sha256", sha=f.sha256) if f.sha256 else t("ui.library.info.unhashed")
        )
    return lines


def _unknown_line(f: LocalFile) -> str:
    if f.sha256 is None:
        return t("ui.library.info.not_hashed_yet")
    if f.lookup == "unknown":
        if f.header == "ok":
            return t("ui.library.info.from_header")
        if f.header == "unreadable":
            return t("ui.library.info.unreadable")
        return t("ui.library.info.not_on_civitai")
    return t("ui.library.info.not_asked")
