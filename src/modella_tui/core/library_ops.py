"""Rename and delete in the models folder: a file with its sidecars, never anything else.

The rules (docs/library.md, "Rename and delete"):

- Only a regular file or a symlink directly named may be touched, and its path must lie under
  `models_dir` lexically (absolute, normalised; folders on the way may be symlinks, as pods link
  model folders to shared volumes). The final component is never followed: a symlink is renamed or
  deleted as a link, and one whose target lies outside `models_dir` is refused outright.
- A file the download engine is working on (pending, running, verifying, paused) is refused, and so
  is its `.part`.
- A new name must be what `paths.safe_name` makes of it, keeps the extension, and must not exist,
  for the file or any sidecar: moves are `os.link` + `unlink` (linking onto an existing name fails
  instead of replacing it), or a checked `os.rename` where the file system has no hard links. If a
  move fails half-way, the ones already made are undone.
- Delete removes the file and its own sidecars only — never its siblings.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from modella_tui.core import paths
from modella_tui.core.errors import LibraryError
from modella_tui.core.library_files import SIDECAR_ENDINGS, classify, stem
from modella_tui.core.protocols import QueueItemView
from modella_tui.core.textsafe import clean

BUSY_STATES = frozenset({"pending", "running", "verifying", "paused"})


def busy_paths(items: Iterable[QueueItemView]) -> set[str]:
    """Paths the download engine is writing or will write: final names and their `.part` files."""
    out: set[str] = set()
    for item in items:
        if item.state in BUSY_STATES and item.target_dir:
            final = os.path.join(os.path.abspath(item.target_dir), item.file_name)
            out.update((final, final + ".part", final + ".part.json"))
    return out


def sidecars_of(path: Path) -> list[Path]:
    """The sidecars that exist beside a file: Civitai Helper's info, the preview, Forge's card.

    A `.part` and its `.part.json` go together the same way.
    """
    name = path.name
    if name.endswith(".part.json"):
        candidates = [path.with_name(name[: -len(".json")])]
    elif name.endswith(".part"):
        candidates = [path.with_name(name + ".json")]
    elif classify(name) == "model":
        candidates = [path.with_name(stem(name) + end) for end in SIDECAR_ENDINGS]
    else:
        candidates = []
    return [c for c in candidates if os.path.lexists(c)]


def _roots(root: Path) -> tuple[Path, Path]:
    return Path(os.path.abspath(root)), Path(os.path.realpath(root))


def check_target(root: Path, path: Path, busy: Collection[str] = ()) -> os.stat_result:
    """Refuse what must not be touched; the file's own `lstat` when it may be."""
    lexical, real = _roots(root)
    path = Path(os.path.abspath(path))
    shown = clean(str(path))
    if path == lexical or not paths.is_within(lexical, path):
        raise LibraryError("library.error.outside", path=shown)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise LibraryError("library.error.gone", path=shown) from None
    if stat.S_ISLNK(info.st_mode):
        target = os.path.realpath(path)
        if not (paths.is_within(lexical, Path(target)) or paths.is_within(real, Path(target))):
            raise LibraryError("library.error.link_outside", path=shown, target=clean(target))
    elif not stat.S_ISREG(info.st_mode):
        raise LibraryError("library.error.not_a_file", path=shown)
    if str(path) in busy:
        raise LibraryError("library.error.busy", path=shown)
    return info


# ----- rename ------------------------------------------------------------------------------------


def plan_rename(
    root: Path, path: Path, new_name: str, busy: Collection[str] = ()
) -> list[tuple[Path, Path]]:
    """(from, to) for the file and each of its sidecars, every check done; nothing moved yet."""
    path = Path(os.path.abspath(path))
    check_target(root, path, busy)
    kind = classify(path.name)
    if kind in ("partial", "sidecar"):
        raise LibraryError("library.error.rename_kind", name=clean(path.name))
    name = new_name.strip()
    suffix = path.suffix
    if not name or name.lower() == suffix.lower():  # nothing before the extension either
        raise LibraryError("library.error.empty_name")
    if suffix and not name.lower().endswith(suffix.lower()):
        name += suffix  # the extension tells Forge and ComfyUI what to load: it stays
    safe = paths.safe_name(name, "")
    if not name or safe != name or name.startswith("."):
        raise LibraryError("library.error.unsafe_name", name=clean(name), suggestion=clean(safe))
    if name == path.name:
        raise LibraryError("library.error.same_name", name=clean(name))
    target = path.with_name(name)
    moves = [(path, target)]
    for old in sidecars_of(path):
        check_target(root, old, busy)
        moves.append((old, path.with_name(stem(name) + old.name[len(stem(path.name)) :])))
    for _, dst in moves:
        if not paths.is_within(Path(os.path.abspath(root)), dst):
            raise LibraryError("library.error.outside", path=clean(str(dst)))
        if os.path.lexists(dst):
            raise LibraryError("library.error.exists", name=clean(dst.name))
    return moves


def _move(src: Path, dst: Path) -> None:
    """Move one name without ever replacing an existing one."""
    try:
        os.link(src, dst, follow_symlinks=False)
    except FileExistsError:
        raise LibraryError("library.error.exists", name=clean(dst.name)) from None
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK, errno.EACCES):
            raise
        # No hard links here (some FUSE volumes): rename, checked just before.
        if os.path.lexists(dst):
            raise LibraryError("library.error.exists", name=clean(dst.name)) from None
        os.rename(src, dst)
        return
    try:
        os.unlink(src)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(dst)
        raise


def apply_moves(moves: list[tuple[Path, Path]]) -> None:
    """Make every move, or none: a failure undoes the ones already made."""
    done: list[tuple[Path, Path]] = []
    try:
        for src, dst in moves:
            _move(src, dst)
            done.append((src, dst))
    except BaseException:
        for src, dst in reversed(done):
            with contextlib.suppress(OSError, LibraryError):
                _move(dst, src)
        raise


# ----- delete ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeletePlan:
    """What a delete removes and the bytes it frees (hard-linked copies and links free none)."""

    path: Path
    sidecars: tuple[Path, ...]
    bytes_freed: int
    sidecar_bytes: int
    links: int = 0
    """Other names the file itself has (hard links, anywhere on its volume): while one is left,
    deleting this name frees none of its bytes."""

    @property
    def all(self) -> tuple[Path, ...]:
        """The file first, then its sidecars."""
        return (self.path, *self.sidecars)


def _freed(info: os.stat_result) -> int:
    return info.st_size if stat.S_ISREG(info.st_mode) and info.st_nlink == 1 else 0


def plan_delete(root: Path, path: Path, busy: Collection[str] = ()) -> DeletePlan:
    """Check the file and its sidecars; what would go and the bytes freed."""
    path = Path(os.path.abspath(path))
    info = check_target(root, path, busy)
    sidecars = sidecars_of(path)
    extra = sum(_freed(check_target(root, s, busy)) for s in sidecars)
    links = info.st_nlink - 1 if stat.S_ISREG(info.st_mode) else 0
    return DeletePlan(path, tuple(sidecars), _freed(info) + extra, extra, links)


def apply_delete(plan: DeletePlan) -> list[Path]:
    """Unlink the file, then its sidecars (a name, never what a link points at); what went."""
    removed = []
    for p in plan.all:
        try:
            os.unlink(p)
        except FileNotFoundError:
            continue
        removed.append(p)
    return removed
