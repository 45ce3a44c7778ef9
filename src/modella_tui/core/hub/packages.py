"""The curated Hugging Face catalogue `hf-packages.json`: typed, validated, cached.

Schema (version 1)::

    {"version": 1,
     "categories": [{"id": "checkpoints", "title_key": "hf.cat.checkpoints"}, ...],
     "packages": [{"id": "sdxl-base",              # unique, [a-z0-9._-]
                   "category": "checkpoints",      # a category id
                   "title": "SDXL 1.0 base",       # data, English
                   "repo": "stabilityai/stable-diffusion-xl-base-1.0",
                   "revision": "main",             # optional, default "main"
                   "gated": false,                 # optional: token + licence acceptance needed
                   "base_model": "SDXL 1.0",       # optional, null for base-independent files
                   "description": "...",           # optional, data, English
                   "files": [{"path": "sd_xl_base_1.0.safetensors", "type": "Checkpoint"}]}],
     "packs": [{"id": "flux1-dev", "title": "Flux.1 dev", "description": "...",
                "items": [{"package": "flux1-dev"},   # every file of the package
                          {"package": "flux-text-encoders",
                           "files": ["clip_l.safetensors"]}]}]}  # or just these

`type` is a key of `placement.TYPE_FOLDERS`; `path` is relative inside the repo (no `..`, no
absolute, drive or backslash path); a (repo, path) pair appears once. Sizes, hashes and commits
are deliberately absent: they come from the Hub at download time (LFS sha256), never from here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from modella_tui.core import i18n, paths
from modella_tui.core.downloads.placement import TYPE_FOLDERS
from modella_tui.core.errors import ConfigError, NotFoundError, UsageError

SCHEMA_VERSION = 1
CATALOGUE_FILE = "hf-packages.json"

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
# owner/name of letters, digits, `-`, `_`, `.`, each starting with a letter or digit (so no `..`).
_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_REVISION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")

_TOP_KEYS = {"version", "categories", "packages", "packs"}
_CATEGORY_KEYS = {"id", "title_key"}
_PACKAGE_KEYS = {
    "id", "category", "title", "repo", "revision", "gated", "base_model", "description", "files",
}  # fmt: skip
_FILE_KEYS = {"path", "type"}
_PACK_KEYS = {"id", "title", "description", "items"}
_ITEM_KEYS = {"package", "files"}


@dataclass(frozen=True)
class Category:
    """A group in the Hub tree; its title is a locale key."""

    id: str
    title_key: str

    @property
    def title(self) -> str:
        """The translated title."""
        return i18n.t(self.title_key)


@dataclass(frozen=True)
class PackageFile:
    """One file of a repo: its path inside the repo and the model type that decides its folder."""

    path: str
    type: str

    @property
    def name(self) -> str:
        """The file's base name (what lands in the type folder)."""
        return PurePosixPath(self.path).name


@dataclass(frozen=True)
class Package:
    """A curated repo with the files worth downloading from it."""

    id: str
    category: str
    title: str
    repo: str
    revision: str
    gated: bool
    base_model: str | None
    description: str
    files: tuple[PackageFile, ...]

    def file(self, path: str) -> PackageFile | None:
        """The file with this repo path, if the package lists it."""
        for f in self.files:
            if f.path == path:
                return f
        return None


@dataclass(frozen=True)
class PackItem:
    """A package in a pack; empty `files` means all of the package's files."""

    package: str
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pack:
    """A ready-made set of files that work together (e.g. Flux.1 dev: UNet + encoders + VAE)."""

    id: str
    title: str
    description: str
    items: tuple[PackItem, ...]


@dataclass(frozen=True)
class Catalogue:
    """The whole validated catalogue with look-ups for the UI and the `hf:` REF resolver."""

    version: int
    categories: tuple[Category, ...]
    packages: tuple[Package, ...]
    packs: tuple[Pack, ...]

    def package(self, package_id: str) -> Package | None:
        """The package with this id, or None."""
        for p in self.packages:
            if p.id == package_id:
                return p
        return None

    def pack(self, pack_id: str) -> Pack | None:
        """The pack with this id, or None."""
        for p in self.packs:
            if p.id == pack_id:
                return p
        return None

    def category(self, category_id: str) -> Category | None:
        """The category with this id, or None."""
        for c in self.categories:
            if c.id == category_id:
                return c
        return None

    def by_category(self) -> list[tuple[Category, tuple[Package, ...]]]:
        """Categories in file order, each with its packages in file order (for the tree)."""
        return [(c, tuple(p for p in self.packages if p.category == c.id)) for c in self.categories]

    def find(self, repo: str, path: str | None = None) -> list[tuple[Package, PackageFile]]:
        """Catalogue files of `repo` (all, or the one at `path`); repo ids match case-insensitively.

        This is what `hf:ORG/REPO` means when the repo is curated; empty when it is not.
        """
        want_repo = repo.strip().strip("/").lower()
        want_path = path.strip().lstrip("/") if path is not None else None
        out: list[tuple[Package, PackageFile]] = []
        for p in self.packages:
            if p.repo.lower() != want_repo:
                continue
            out.extend((p, f) for f in p.files if want_path is None or f.path == want_path)
        return out

    def pack_files(self, pack_id: str) -> list[tuple[Package, PackageFile]]:
        """Every (package, file) a pack queues, in order, each once; unknown pack → NotFoundError."""
        pack = self.pack(pack_id)
        if pack is None:
            raise NotFoundError("hf.pack_not_found", pack=pack_id)
        out: list[tuple[Package, PackageFile]] = []
        seen: set[tuple[str, str]] = set()
        for item in pack.items:
            pkg = self.package(item.package)
            if pkg is None:  # validation makes this unreachable for a loaded catalogue
                raise NotFoundError("hf.pack_not_found", pack=pack_id)
            chosen = [pkg.file(p) for p in item.files] if item.files else list(pkg.files)
            for f in chosen:
                if f is None or (pkg.repo, f.path) in seen:
                    continue
                seen.add((pkg.repo, f.path))
                out.append((pkg, f))
        return out


# --- loading -------------------------------------------------------------------------------------


def default_path() -> Path:
    """Where the shipped catalogue lives (inside the wheel or at the checkout root)."""
    return i18n.data_dir() / CATALOGUE_FILE


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Read and validate a catalogue; the shipped one (path None) is read once and cached."""
    if path is None:
        return _load_default()
    return _load(path)


def clear_cache() -> None:
    """Forget the cached shipped catalogue (for tests and a future reload)."""
    _load_default.cache_clear()


@cache
def _load_default() -> Catalogue:
    return _load(default_path())


def _load(path: Path) -> Catalogue:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigError("hf.catalogue.unreadable", file=source, reason=reason) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            "hf.catalogue.invalid_json", file=source, line=exc.lineno, column=exc.colno
        ) from exc
    return parse_catalogue(data, source=source)


def parse_catalogue(data: Any, source: str = CATALOGUE_FILE) -> Catalogue:
    """Validate decoded JSON against the schema above; every problem is a ConfigError naming it."""
    return _Parser(source).catalogue(data)


class _Parser:
    """Validation with the file name at hand, so each error says where to look."""

    def __init__(self, source: str) -> None:
        self.source = source

    # -- helpers --
    def _fail(self, key: str, **params: Any) -> ConfigError:
        return ConfigError(key, file=self.source, **params)

    def _obj(self, value: Any, entry: str, field: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self._fail("hf.catalogue.bad_field", entry=entry, field=field)
        return value

    def _list(self, value: Any, entry: str, field: str) -> list[Any]:
        if not isinstance(value, list):
            raise self._fail("hf.catalogue.bad_field", entry=entry, field=field)
        return value

    def _str(
        self,
        obj: Mapping[str, Any],
        field: str,
        entry: str,
        *,
        default: str | None = None,
        pattern: re.Pattern[str] | None = None,
    ) -> str:
        value = obj.get(field, default)
        if (
            not isinstance(value, str)
            or not value.strip()
            or (pattern is not None and not pattern.match(value))
        ):
            raise self._fail("hf.catalogue.bad_field", entry=entry, field=field)
        return value

    def _keys(self, obj: Mapping[str, Any], allowed: set[str], entry: str) -> None:
        # Unknown keys are refused so a typo ("gate": true) cannot silently drop a flag.
        for key in obj:
            if key not in allowed:
                raise self._fail("hf.catalogue.unknown_field", entry=entry, field=str(key))

    def _id(self, obj: Mapping[str, Any], fallback: str) -> str:
        return self._str(obj, "id", fallback, pattern=_ID_RE)

    # -- sections --
    def catalogue(self, data: Any) -> Catalogue:
        top = self._obj(data, CATALOGUE_FILE, "version")
        self._keys(top, _TOP_KEYS, CATALOGUE_FILE)
        version = top.get("version")
        if version != SCHEMA_VERSION or isinstance(version, bool):
            raise self._fail("hf.catalogue.bad_version", value=version, expected=SCHEMA_VERSION)
        categories = self._categories(top.get("categories"))
        packages = self._packages(top.get("packages"), {c.id for c in categories})
        packs = self._packs(top.get("packs", []), {p.id: p for p in packages})
        return Catalogue(SCHEMA_VERSION, categories, packages, packs)

    def _categories(self, raw: Any) -> tuple[Category, ...]:
        out: list[Category] = []
        seen: set[str] = set()
        for i, item in enumerate(self._list(raw, CATALOGUE_FILE, "categories")):
            entry = f"categories[{i}]"
            obj = self._obj(item, entry, "categories")
            cid = self._id(obj, entry)
            self._keys(obj, _CATEGORY_KEYS, cid)
            if cid in seen:
                raise self._fail("hf.catalogue.duplicate_id", entry=cid, field="categories")
            seen.add(cid)
            out.append(Category(cid, self._str(obj, "title_key", cid)))
        return tuple(out)

    def _packages(self, raw: Any, categories: set[str]) -> tuple[Package, ...]:
        out: list[Package] = []
        ids: set[str] = set()
        owners: dict[tuple[str, str], str] = {}  # (repo lower-cased, path) → package id
        for i, item in enumerate(self._list(raw, CATALOGUE_FILE, "packages")):
            pkg = self._package(self._obj(item, f"packages[{i}]", "packages"), i, categories)
            if pkg.id in ids:
                raise self._fail("hf.catalogue.duplicate_id", entry=pkg.id, field="packages")
            ids.add(pkg.id)
            for f in pkg.files:
                key = (pkg.repo.lower(), f.path)
                if key in owners:
                    raise self._fail(
                        "hf.catalogue.duplicate_file",
                        package=pkg.id, repo=pkg.repo, path=f.path, other=owners[key],
                    )  # fmt: skip
                owners[key] = pkg.id
            out.append(pkg)
        return tuple(out)

    def _package(self, obj: Mapping[str, Any], index: int, categories: set[str]) -> Package:
        pid = self._id(obj, f"packages[{index}]")
        self._keys(obj, _PACKAGE_KEYS, pid)
        category = self._str(obj, "category", pid)
        if category not in categories:
            raise self._fail("hf.catalogue.unknown_category", package=pid, value=category)
        gated = obj.get("gated", False)
        if not isinstance(gated, bool):
            raise self._fail("hf.catalogue.bad_field", entry=pid, field="gated")
        base_model = obj.get("base_model")
        if base_model is not None and (not isinstance(base_model, str) or not base_model.strip()):
            raise self._fail("hf.catalogue.bad_field", entry=pid, field="base_model")
        description = obj.get("description", "")
        if not isinstance(description, str):
            raise self._fail("hf.catalogue.bad_field", entry=pid, field="description")
        raw_files = self._list(obj.get("files"), pid, "files")
        if not raw_files:
            raise self._fail("hf.catalogue.bad_field", entry=pid, field="files")
        files: list[PackageFile] = []
        seen: set[str] = set()
        for raw in raw_files:
            f = self._file(self._obj(raw, pid, "files"), pid)
            if f.path in seen:
                raise self._fail(
                    "hf.catalogue.duplicate_file",
                    package=pid, repo=obj.get("repo", ""), path=f.path, other=pid,
                )  # fmt: skip
            seen.add(f.path)
            files.append(f)
        return Package(
            id=pid,
            category=category,
            title=self._str(obj, "title", pid),
            repo=self._str(obj, "repo", pid, pattern=_REPO_RE),
            revision=self._str(obj, "revision", pid, default="main", pattern=_REVISION_RE),
            gated=gated,
            base_model=base_model,
            description=description,
            files=tuple(files),
        )

    def _file(self, obj: Mapping[str, Any], pid: str) -> PackageFile:
        self._keys(obj, _FILE_KEYS, pid)
        path = self._str(obj, "path", pid)
        if not is_safe_repo_path(path):
            raise self._fail("hf.catalogue.unsafe_path", package=pid, path=path)
        kind = self._str(obj, "type", pid)
        if kind not in TYPE_FOLDERS:
            raise self._fail(
                "hf.catalogue.unknown_type",
                package=pid, path=path, value=kind, allowed=", ".join(TYPE_FOLDERS),
            )  # fmt: skip
        return PackageFile(path, kind)

    def _packs(self, raw: Any, packages: Mapping[str, Package]) -> tuple[Pack, ...]:
        out: list[Pack] = []
        ids: set[str] = set()
        for i, item in enumerate(self._list(raw, CATALOGUE_FILE, "packs")):
            obj = self._obj(item, f"packs[{i}]", "packs")
            pack_id = self._id(obj, f"packs[{i}]")
            self._keys(obj, _PACK_KEYS, pack_id)
            if pack_id in ids:
                raise self._fail("hf.catalogue.duplicate_id", entry=pack_id, field="packs")
            ids.add(pack_id)
            description = obj.get("description", "")
            if not isinstance(description, str):
                raise self._fail("hf.catalogue.bad_field", entry=pack_id, field="description")
            raw_items = self._list(obj.get("items"), pack_id, "items")
            if not raw_items:
                raise self._fail("hf.catalogue.bad_field", entry=pack_id, field="items")
            items = tuple(
                self._item(self._obj(r, pack_id, "items"), pack_id, packages) for r in raw_items
            )
            out.append(Pack(pack_id, self._str(obj, "title", pack_id), description, items))
        return tuple(out)

    def _item(
        self, obj: Mapping[str, Any], pack_id: str, packages: Mapping[str, Package]
    ) -> PackItem:
        self._keys(obj, _ITEM_KEYS, pack_id)
        pkg_id = self._str(obj, "package", pack_id)
        pkg = packages.get(pkg_id)
        if pkg is None:
            raise self._fail("hf.catalogue.unknown_package", pack=pack_id, package=pkg_id)
        raw_files = obj.get("files")
        if raw_files is None:
            return PackItem(pkg_id)
        names = self._list(raw_files, pack_id, "files")
        if not names or not all(isinstance(n, str) for n in names):
            raise self._fail("hf.catalogue.bad_field", entry=pack_id, field="files")
        for name in names:
            if pkg.file(name) is None:
                raise self._fail(
                    "hf.catalogue.unknown_file", pack=pack_id, package=pkg_id, path=name
                )
        return PackItem(pkg_id, tuple(names))


def is_safe_repo_path(path: str) -> bool:
    """True for a plain relative POSIX path that `paths.safe_relpath` keeps exactly as written.

    Stricter than safe_relpath on purpose: a curated path must need no repair (no backslash,
    drive, `.`/`..`, empty segment or character that safe_name would replace).
    """
    if "\\" in path or path != path.strip():
        return False
    try:
        rel = paths.safe_relpath(path)
    except UsageError:
        return False
    return "/".join(rel.parts) == path
