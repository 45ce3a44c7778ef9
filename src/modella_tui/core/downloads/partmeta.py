"""The `.part` file and its `.part.json` sidecar, safe opening and no-clobber landing."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modella_tui.core import paths

PART_SUFFIX = ".part"
META_SUFFIX = ".part.json"
META_VERSION = 1
FILE_MODE = 0o644


class UnsafePathError(Exception):
    """A target lies outside the allowed roots or its final component is a symlink."""


@dataclass(frozen=True)
class Target:
    """Where one file is downloaded: `<dir>/<name>.part` next to the final `<dir>/<name>`."""

    directory: Path
    name: str

    @property
    def final(self) -> Path:
        """The final file."""
        return self.directory / self.name

    @property
    def part(self) -> Path:
        """The partial file, always in the final folder so the rename is atomic."""
        return self.directory / (self.name + PART_SUFFIX)

    @property
    def meta(self) -> Path:
        """The sidecar that lets the queue be rebuilt without the database."""
        return self.directory / (self.name + META_SUFFIX)


# Names Modella gives its own files beside a model: a server may not name a file like them.
RESERVED_SUFFIXES = (META_SUFFIX, PART_SUFFIX, ".civitai.info", ".preview.png")
PICKLE_EXTS = (".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle")  # formats that can run code
WEIGHT_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft", ".pkl")


def working_safe_name(name: str) -> str:
    """`safe_name`, then a name ending like one of our working files or sidecars is renamed.

    `x.part` becomes `x_part`, `x.civitai.info` becomes `x_civitai.info`: the file still lands,
    but can never be taken for (or overwrite) another download's `.part`, `.part.json` or sidecar.
    """
    name = paths.safe_name(name)
    changed = True
    while changed:
        changed = False
        for suffix in RESERVED_SUFFIXES:
            if name.lower().endswith(suffix):
                name = name[: -len(suffix)] + "_" + name[-len(suffix) + 1 :]
                changed = True
    return name


def make_target(target_dir: str | Path, file_name: str, roots: list[Path]) -> Target:
    """Re-apply the name rules and check containment before anything is written."""
    name = working_safe_name(file_name)
    directory = Path(os.path.normpath(os.path.abspath(target_dir)))
    if not any(paths.is_within(root, directory / name) for root in roots):
        raise UnsafePathError(str(directory / name))
    return Target(directory, name)


def open_part(target: Target, *, truncate: bool = False) -> int:
    """Open (create) the `.part` for writing without following a planted symlink."""
    target.directory.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    if truncate:
        flags |= os.O_TRUNC
    try:
        fd = os.open(target.part, flags, FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePathError(str(target.part)) from None
        raise
    return fd


def open_part_read(target: Target) -> int:
    """Open the `.part` for reading (hashing) without following symlinks."""
    return os.open(target.part, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)


def part_size(target: Target) -> int | None:
    """The size of the `.part`, None when it is missing (or not a regular file)."""
    try:
        st = os.lstat(target.part)
    except FileNotFoundError:
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None


KEY_BYTES = 32


def load_key(path: Path) -> bytes:
    """This installation's key for signing `.part.json` files: made once, mode 0600.

    A key that cannot be read or made is replaced by one for this process only: what it signs
    is then trusted by no later run, which only costs a re-download.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as fh:
                key = fh.read(KEY_BYTES + 1)
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o600, follow_symlinks=False)
        except OSError:
            return os.urandom(KEY_BYTES)
        return key if len(key) == KEY_BYTES else os.urandom(KEY_BYTES)
    except OSError:
        return os.urandom(KEY_BYTES)
    key = os.urandom(KEY_BYTES)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


def _digest(body: dict[str, Any], key: bytes) -> str:
    unsigned = {k: v for k, v in body.items() if k != "sig"}
    text = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def is_signed(data: dict[str, Any], key: bytes) -> bool:
    """True when `.part.json` data carries a valid signature made with this installation's key."""
    sig = data.get("sig")
    return isinstance(sig, str) and hmac.compare_digest(sig, _digest(data, key))


def write_meta(target: Target, data: dict[str, Any], key: bytes | None = None) -> None:
    """Write `.part.json` atomically (temp file + replace; replace never follows a link).

    Signed with `key`, so a later start can tell it from one it did not write. The text is the
    signed form itself (sorted keys, compact), the signature added last. The first write of a
    file is a nameless file given its name (one change to the folder, see `sidecars.write_new`).
    """
    unsigned = {"version": META_VERSION, **data}
    text = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if key is not None:
        sig = hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
        text = f'{text[:-1]},"sig":"{sig}"}}'
    raw = text.encode("utf-8")
    if _link_new(target, raw):
        return
    tmp = target.directory / f".{target.name}.part.json.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(raw)
    os.replace(tmp, target.meta)


def _link_new(target: Target, raw: bytes) -> bool:
    """Write a `.part.json` that does not exist yet as a nameless file linked to its name; False
    when it exists or this system cannot (the caller then writes it the usual way)."""
    try:
        flags = os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC
    except AttributeError:  # not Linux
        return False
    if os.path.lexists(target.meta):
        return False
    try:
        folder = os.open(target.directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fd = os.open(".", flags, FILE_MODE, dir_fd=folder)
    except OSError:
        os.close(folder)
        return False
    try:
        view = memoryview(raw)
        while view:
            view = view[os.write(fd, view) :]
        os.link(f"/proc/self/fd/{fd}", target.meta.name, dst_dir_fd=folder, follow_symlinks=True)
        return True
    except OSError:
        return False  # it appeared meanwhile, or no /proc: the usual way replaces it
    finally:
        os.close(fd)
        os.close(folder)


def read_meta(path: Path) -> dict[str, Any] | None:
    """A `.part.json`, or None when it is unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def remove_part(target: Target) -> None:
    """Delete the `.part` and its sidecar (unlink removes a link, never its target)."""
    for p in (target.part, target.meta):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(p)


def numbered(name: str, n: int) -> str:
    """`model.safetensors` → `model (2).safetensors`; the stem is shortened to keep the number.

    A name near the length limit would otherwise lose ` (2)` to `safe_name`'s truncation and
    stay equal to the name it was meant to differ from.
    """
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext.encode("utf-8")) > 16:
        stem, ext = name, ""
    tail = f" ({n})" + (f".{ext}" if ext else "")
    budget = paths.MAX_NAME_BYTES - len(tail.encode("utf-8"))
    stem = stem.encode("utf-8")[:budget].decode("utf-8", errors="ignore").rstrip(". ")
    return stem + tail


def land(target: Target, *, max_tries: int = 100) -> Path:
    """Move the `.part` to its final name without clobbering anything; return the path used.

    `os.link` fails when the name exists, so an existing different file is never overwritten
    (`os.rename` would silently replace it); the next free `name (n).ext` is used instead.
    """
    os.chmod(target.part, FILE_MODE & ~_umask(), follow_symlinks=False)
    for n in range(1, max_tries + 1):
        name = target.name if n == 1 else numbered(target.name, n)
        final = target.directory / name
        try:
            os.link(target.part, final, follow_symlinks=False)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            # No hard links here (FAT, some FUSE): reserve the name with O_EXCL, then replace it.
            try:
                os.close(os.open(final, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW))
            except FileExistsError:
                continue
            os.replace(target.part, final)
            return final
        os.unlink(target.part)
        return final
    raise FileExistsError(errno.EEXIST, "no free name", str(target.final))


def _read_umask() -> int:
    # Reading the umask means setting it, which races with other threads: do it once at import.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def _umask() -> int:
    return _UMASK


def umask_hides(mode: int) -> bool:
    """Whether this process's umask takes bits away from `mode` (a chmod is then needed)."""
    return mode & ~_UMASK != mode
