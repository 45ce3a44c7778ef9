"""What a file in the models folder is: its entry (`LocalFile`), a snapshot of the folder, and
the rules that tell a model from a partial download or a sidecar, a type from a folder name, and
two names of one file (hard links) apart from two copies.

Pure data and a directory walk; `core/library.py` keeps these entries in the database.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from modella_tui.core.downloads.placement import TYPE_FOLDERS

MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft", ".onnx")
PARTIAL_SUFFIXES = (".part", ".part.json")
SIDECAR_SUFFIXES = (".civitai.info", ".preview.png")
SIDECAR_ENDINGS = (*SIDECAR_SUFFIXES, ".json")
"""What a sidecar adds to its model's stem; Forge's `<stem>.json` card is one only beside its
model (a lone `.json` is any other file)."""
SOURCES = ("civitai", "huggingface", "unknown")

# First folder under the models folder → type, for the Forge and ComfyUI layouts (a folder name
# shared by two types keeps the first, the model types' own order).
FOLDER_TYPES: dict[str, str] = {}
for _kind, _folders in TYPE_FOLDERS.items():
    for _folder in _folders:
        FOLDER_TYPES.setdefault(_folder.lower(), _kind)


@dataclass(frozen=True)
class LocalFile:
    """One file under the models folder."""

    path: str
    size: int
    mtime: float
    kind: str  # model | partial | sidecar | other
    source: str = "unknown"  # civitai | huggingface | unknown
    type: str = "Other"
    base_model: str = ""
    name: str = ""  # the model's display name when known
    model_id: str | None = None
    version_id: str | None = None
    sha256: str | None = None  # computed on this machine (while downloading or by a scan)
    verified: bool = False  # the hash matched the one Civitai or the Hub published
    file_id: str | None = None  # Civitai file id, or the path inside a Hub repo
    lookup: str | None = None  # Civitai by-hash answer: None not asked, "found", "unknown"
    header: str | None = None  # safetensors header: None not read, "ok", "bare", "unreadable"
    inode: str | None = None  # "<st_dev>:<st_ino>" (a symlink's own); None when not known

    @property
    def file_name(self) -> str:
        """The base name."""
        return os.path.basename(self.path)


@dataclass(frozen=True)
class ModelVersions:
    """The versions of one Civitai model, newest first, as the last check saw them."""

    model_id: str
    versions: tuple[tuple[str, str, bool], ...]  # (version id, name, early access)
    checked_at: float = 0.0

    def name_of(self, version_id: str | None) -> str | None:
        """The name of one version, when listed."""
        return next((name for vid, name, _ in self.versions if vid == version_id), None)

    def newer_than(self, version_id: str | None) -> tuple[str, str] | None:
        """(id, name) of the newest public version when it is newer than `version_id`."""
        ids = [vid for vid, _, _ in self.versions]
        public = [(vid, name) for vid, name, early in self.versions if not early]
        if not public or version_id is None or public[0][0] == version_id:
            return None
        if version_id in ids and ids.index(version_id) < ids.index(public[0][0]):
            return None  # the local one is newer still (an early-access version)
        return public[0]

    def to_json(self) -> str:
        """The `versions` column."""
        return json.dumps([list(v) for v in self.versions])

    @classmethod
    def from_row(cls, model_id: str, text: str, checked_at: float) -> ModelVersions:
        """Read the `versions` column back; anything malformed counts as no versions."""
        try:
            raw = json.loads(text)
        except ValueError:
            raw = []
        items = tuple(
            (str(v[0]), str(v[1]), bool(v[2]))
            for v in (raw if isinstance(raw, list) else [])
            if isinstance(v, list) and len(v) == 3
        )
        return cls(model_id, items, checked_at)


@dataclass
class LibrarySnapshot:
    """Every file of the models folder at one moment."""

    root: Path
    files: list[LocalFile] = field(default_factory=list)
    taken_at: float = 0.0
    versions: dict[str, ModelVersions] = field(default_factory=dict)
    """Civitai model id → its versions (for update badges), as the last scan checked them."""

    def update_for(self, f: LocalFile) -> tuple[str, str] | None:
        """(id, name) of a newer version of this Civitai file's model, if one is known."""
        if f.source != "civitai" or f.model_id is None:
            return None
        known = self.versions.get(f.model_id)
        return known.newer_than(f.version_id) if known else None

    def of_kind(self, *kinds: str) -> list[LocalFile]:
        """The files of these kinds."""
        return [f for f in self.files if f.kind in kinds]

    @property
    def total_bytes(self) -> int:
        """Bytes of every file, sidecars and partial files included; a file with several names
        counts once, as `du` counts it."""
        extra = extra_names(self.files)
        return sum(f.size for f in self.files if f.path not in extra)


def inode_of(info: os.stat_result) -> str:
    """What `LocalFile.inode` holds: the device and inode, one file whatever its names."""
    return f"{info.st_dev}:{info.st_ino}"


def identity(f: LocalFile) -> str:
    """What tells files apart on disk: the inode when known, else the (absolute) path."""
    return f.inode if f.inode is not None else f.path


def extra_names(files: Iterable[LocalFile]) -> set[str]:
    """The paths whose bytes another listed name of the same file already holds: every name of
    an inode but the first in path order (hard links). Totals leave them out, so the bytes of one
    file count once."""
    first: dict[str, str] = {}
    named: list[LocalFile] = []
    for f in files:
        if f.inode is None:
            continue
        named.append(f)
        held = first.get(f.inode)
        if held is None or f.path < held:
            first[f.inode] = f.path
    return {f.path for f in named if first[f.inode or ""] != f.path}


def stem(name: str) -> str:
    """The name without its last extension (what sidecars are named after)."""
    return name.rsplit(".", 1)[0] if "." in name else name


def sidecar_owners(files: Iterable[LocalFile]) -> dict[str, str]:
    """Sidecar path → the path it goes with: `<stem>.civitai.info`, `.preview.png` and `.json`
    beside a model file of that stem, and a `.part.json` beside its `.part`. A file listed here is
    counted with its owner by the Library and as a sidecar or partial file by disk usage."""
    listed = list(files)
    models = {
        (os.path.dirname(f.path), stem(f.file_name)): f.path for f in listed if f.kind == "model"
    }
    parts = {f.path for f in listed if f.path.endswith(".part")}
    out: dict[str, str] = {}
    for f in listed:
        if f.kind in ("sidecar", "other"):
            folder, name = os.path.split(f.path)
            for end in SIDECAR_ENDINGS:
                if name.endswith(end):
                    owner = models.get((folder, name[: -len(end)]))
                    if owner is not None:
                        out[f.path] = owner
                        break
        elif f.path.endswith(".part.json") and f.path[: -len(".json")] in parts:
            out[f.path] = f.path[: -len(".json")]  # a download's working notes go with its `.part`
    return out


def classify(name: str) -> str:
    """What a file is, from its name alone: model, partial (a download's working file), sidecar
    (Forge/Civitai Helper files beside a model) or other."""
    low = name.lower()
    if low.endswith(PARTIAL_SUFFIXES):
        return "partial"
    if low.endswith(SIDECAR_SUFFIXES):
        return "sidecar"
    if low.endswith(MODEL_SUFFIXES):
        return "model"
    return "other"


def guess_from_folder(root: Path, path: Path) -> tuple[str, str]:
    """(source, type) that the folder a file sits in suggests, for files no download recorded."""
    try:
        parts = path.relative_to(root).parts[:-1]
    except ValueError:
        return "unknown", "Other"
    if not parts:
        return "unknown", "Other"
    top = parts[0].lower()
    if top == "civitai":
        return "civitai", "Other"
    if top == "huggingface":
        return "huggingface", "Other"
    two = "/".join(p.lower() for p in parts[:2])
    kind = FOLDER_TYPES.get(two) or FOLDER_TYPES.get(top) or "Other"
    return "unknown", kind


def walk(root: Path) -> Iterator[tuple[Path, int, float, str]]:
    """(path, size, mtime, inode) of every regular file under `root`; hidden names are skipped.

    Symlinked folders are followed (pods link model folders to shared volumes), each real folder
    once, so a link loop cannot trap the walk; symlinked files are listed with their target's size
    and their own inode (a link is not its target: it is a name of its own, not a hard link). Two
    names with one inode (hard links) are both listed: `extra_names` tells them apart.
    """
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen:
            continue
        seen.add((st.st_dev, st.st_ino))
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():
                    stack.append(Path(entry.path))
                elif entry.is_file():
                    info = entry.stat()
                    if stat.S_ISREG(info.st_mode):
                        own = entry.stat(follow_symlinks=False) if entry.is_symlink() else info
                        yield Path(entry.path), info.st_size, info.st_mtime, inode_of(own)
            except OSError:
                continue
