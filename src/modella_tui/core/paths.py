"""Every location Modella reads or writes, and the rules that keep writes inside them."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
import unicodedata
from pathlib import Path

import platformdirs

APP = "modella"
WORKSPACE = Path("/workspace")
DEFAULT_MODELS_DIR = WORKSPACE / "models"
MAX_NAME_BYTES = 200


def _env(env: dict[str, str] | None) -> dict[str, str]:
    return dict(os.environ) if env is None else env


def _workspace_writable() -> bool:
    return WORKSPACE.is_dir() and os.access(WORKSPACE, os.W_OK | os.X_OK)


def modella_home(env: dict[str, str] | None = None) -> Path | None:
    """The one folder for settings and state when it applies: `MODELLA_HOME`, else a pod's `/workspace`.

    On a pod only `/workspace` survives a stop, so it wins unless an `XDG_*` variable says otherwise.
    """
    env = _env(env)
    if env.get("MODELLA_HOME"):
        return Path(env["MODELLA_HOME"]).expanduser()
    if any(env.get(v) for v in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")):
        return None
    if _workspace_writable():
        return WORKSPACE / ".modella"
    return None


def config_path(env: dict[str, str] | None = None) -> Path:
    """The settings file: `MODELLA_CONFIG`, else `<home>/config.toml`, else platformdirs."""
    env = _env(env)
    if env.get("MODELLA_CONFIG"):
        return Path(env["MODELLA_CONFIG"]).expanduser()
    home = modella_home(env)
    if home is not None:
        return home / "config.toml"
    base = env.get("XDG_CONFIG_HOME")
    root = Path(base) / APP if base else Path(platformdirs.user_config_dir(APP))
    return root / "config.toml"


def data_dir(env: dict[str, str] | None = None) -> Path:
    """Where the state database lives."""
    env = _env(env)
    home = modella_home(env)
    if home is not None:
        return home
    base = env.get("XDG_DATA_HOME")
    return Path(base) / APP if base else Path(platformdirs.user_data_dir(APP))


def cache_dir(env: dict[str, str] | None = None) -> Path:
    """Where thumbnails and other throw-away files live."""
    env = _env(env)
    home = modella_home(env)
    if home is not None:
        return home / "cache"
    base = env.get("XDG_CACHE_HOME")
    return Path(base) / APP if base else Path(platformdirs.user_cache_dir(APP))


def db_path(env: dict[str, str] | None = None) -> Path:
    """The SQLite state database."""
    return data_dir(env) / "modella.db"


def log_path(env: dict[str, str] | None = None) -> Path:
    """The log file (secrets are redacted before anything is written)."""
    return data_dir(env) / "modella.log"


def ensure_private_dir(path: Path) -> Path:
    """Create `path` and its missing parents, each new folder 0700 whatever the umask; return it.

    A folder that exists already keeps its mode: it may be a shared `/tmp`-style folder (1777) or
    the user's home, which are not ours to change (docs/security.md, "Settings folder").
    """
    missing: list[Path] = []
    node = path
    while not os.path.lexists(node) and node.parent != node:
        missing.append(node)
        node = node.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            continue  # made by someone else meanwhile: theirs, left as it is
        os.chmod(folder, 0o700, follow_symlinks=False)  # the umask may have taken bits away
    if not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))
    return path


def fallback_models_dir() -> Path:
    """Where models go when `/workspace` is missing and cannot be created."""
    return Path.home() / "modella-models"


def default_models_dir() -> tuple[Path, bool]:
    """The default models folder and whether it is the fallback (to say so once)."""
    if DEFAULT_MODELS_DIR.is_dir():
        return DEFAULT_MODELS_DIR, False
    try:
        DEFAULT_MODELS_DIR.mkdir(parents=True, exist_ok=True)
    except OSError:
        return fallback_models_dir(), True
    return DEFAULT_MODELS_DIR, False


_FORBIDDEN = set('/\\:*?"<>|')


def safe_name(name: str, fallback: str = "download") -> str:
    """Reduce a server- or user-given file name to one safe base name.

    No separators, no `..`, no control or bidi characters, no leading `-` or `.`, no trailing dot
    or space, at most 200 bytes of UTF-8 with the extension kept.
    """
    name = unicodedata.normalize("NFC", name or "")
    # Only the last path component of whatever was given counts.
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    out = []
    for ch in name:
        cat = unicodedata.category(ch)
        if cat.startswith("C") or ch in _FORBIDDEN:  # control, format (bidi), unassigned…
            out.append("_")
        else:
            out.append(ch)
    cleaned = "".join(out).strip().strip(".").lstrip("-").strip()
    cleaned = cleaned.rstrip(". ")
    if cleaned in ("", ".", "..") or set(cleaned) <= {"_", "."}:
        cleaned = fallback
    if len(cleaned.encode("utf-8")) > MAX_NAME_BYTES:
        stem, dot, ext = cleaned.rpartition(".")
        if not dot or len(ext.encode()) > 16:
            stem, ext = cleaned, ""
        suffix = f".{ext}" if ext else ""
        budget = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
        stem_bytes = stem.encode("utf-8")[:budget]
        cleaned = stem_bytes.decode("utf-8", errors="ignore").rstrip(". ") + suffix
    return cleaned


def safe_relpath(parts: str) -> Path:
    """A relative path of safe components (for Hub files in subfolders); refuses `..`, absolute, UNC."""
    from modella_tui.core.errors import UsageError

    raw = parts.replace("\\", "/")
    if raw.startswith("/") or raw.startswith("//") or (len(raw) > 1 and raw[1] == ":"):
        raise UsageError("error.unsafe_path", path=parts)
    pieces = [p for p in raw.split("/") if p not in ("", ".")]
    if not pieces or any(p == ".." for p in pieces):
        raise UsageError("error.unsafe_path", path=parts)
    return Path(*[safe_name(p) for p in pieces])


def is_within(root: Path, path: Path) -> bool:
    """Lexical containment: the absolute, normalised `path` lies under `root` (symlinks not followed)."""
    root_n = os.path.normpath(os.path.abspath(root))
    path_n = os.path.normpath(os.path.abspath(path))
    return path_n == root_n or path_n.startswith(root_n.rstrip(os.sep) + os.sep)


def still_hashed(path: Path, roots: list[Path], size: int, mtime: float | None = None) -> bool:
    """Whether a file hashed earlier is still that file where Forge looks: under one of `roots`
    (not an earlier models folder), a regular file (a link is followed) of the size it had, and,
    when the hash came from a scan, of the mtime it had (a download's verified hash has no mtime:
    its size is checked)."""
    if not any(is_within(root, path) for root in roots):
        return False
    try:
        st = os.stat(path)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode) or st.st_size != size:
        return False
    return mtime is None or st.st_mtime == mtime


def write_atomic(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write `data` to `path` through a new temp file in the same folder and `os.replace`.

    The temp file is created exclusively (a planted symlink is never followed) and the final name is
    replaced, never written through; readers see the old file or the new one, never half of one.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
