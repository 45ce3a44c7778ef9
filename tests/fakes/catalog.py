"""The fake hub's data: deterministic blobs, Civitai models and Hub repos, and their JSON shapes.

Shapes follow the real Civitai and Hub APIs (see docs/decisions.md). Hashes are real hashes of the fake bytes; commit ids are made up for
the fake's own repos only (sha1 of a label), never presented as real ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import threading
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

KIB = 1024
MIB = 1024 * 1024

_BLOCK = 64 * KIB
_UNITS = _BLOCK // 16
# Each 16-byte unit gets its absolute unit index XOR-ed into its first 8 bytes, so two units never
# repeat and an offset or corruption bug changes the hash. Done on big ints: one XOR per block.
_ONES = int.from_bytes((b"\x01" + bytes(15)) * _UNITS, "little")
_INDEX = int.from_bytes(
    b"".join(j.to_bytes(8, "little") + bytes(8) for j in range(_UNITS)), "little"
)


# Generated content depends only on (id, seed, size): hash it once per process, not per fake hub.
_HASHES: dict[tuple[str, str, int], tuple[str, int]] = {}


class Blob:
    """File content generated from a seed (or given bytes), readable by slices without materialising."""

    def __init__(
        self, id: str, size: int, seed: int | str = 0, *, data: bytes | None = None
    ) -> None:
        self.id = id
        self.size = size if data is None else len(data)
        self.seed = seed
        self._data = data
        self._base: int | None = None
        self._cached: tuple[int, bytes] = (-1, b"")
        self._lock = threading.Lock()
        self._sha256: str | None = None
        self._crc32: int | None = None
        self._git_sha1: str | None = None

    @classmethod
    def from_bytes(cls, id: str, data: bytes) -> Blob:
        """A blob with explicit content (HTML pages, JSON configs, tiny files)."""
        return cls(id, len(data), data=data)

    def __repr__(self) -> str:
        return f"Blob({self.id!r}, size={self.size})"

    def _block(self, index: int) -> bytes:
        cached = self._cached
        if cached[0] == index:
            return cached[1]
        if self._base is None:
            self._base = int.from_bytes(random.Random(f"{self.seed}:{self.id}").randbytes(_BLOCK))
        mask = index * _UNITS * _ONES + _INDEX
        data = (self._base ^ mask).to_bytes(_BLOCK, "little")
        self._cached = (index, data)
        return data

    def read(self, offset: int, length: int) -> bytes:
        """`length` bytes from `offset` (clipped to the end)."""
        end = min(self.size, offset + max(0, length))
        if offset >= end:
            return b""
        if self._data is not None:
            return self._data[offset:end]
        parts: list[bytes] = []
        pos = offset
        while pos < end:
            index, inner = divmod(pos, _BLOCK)
            take = min(_BLOCK - inner, end - pos)
            parts.append(self._block(index)[inner : inner + take])
            pos += take
        return b"".join(parts)

    def chunks(
        self, offset: int = 0, end: int | None = None, size: int = _BLOCK
    ) -> Iterator[bytes]:
        """The bytes from `offset` to `end` in chunks."""
        end = self.size if end is None else min(end, self.size)
        pos = offset
        while pos < end:
            chunk = self.read(pos, min(size, end - pos))
            yield chunk
            pos += len(chunk)

    def data(self) -> bytes:
        """All bytes (only for small blobs)."""
        return self.read(0, self.size)

    def _hash_all(self) -> None:
        with self._lock:
            if self._sha256 is not None:
                return
            key = (self.id, str(self.seed), self.size)
            if self._data is None and key in _HASHES:
                self._sha256, self._crc32 = _HASHES[key]
                return
            sha = hashlib.sha256()
            crc = 0
            for chunk in self.chunks(size=4 * _BLOCK):
                sha.update(chunk)
                crc = zlib.crc32(chunk, crc)
            self._crc32 = crc
            self._sha256 = sha.hexdigest()
            if self._data is None:
                _HASHES[key] = (self._sha256, crc)

    @property
    def sha256(self) -> str:
        """Lower-case hex SHA256 of the content (computed once)."""
        if self._sha256 is None:
            self._hash_all()
        assert self._sha256 is not None
        return self._sha256

    @property
    def crc32_civitai(self) -> str:
        """CRC32 as Civitai prints it: upper-case hex of the byte-reversed value."""
        if self._crc32 is None:
            self._hash_all()
        assert self._crc32 is not None
        return self._crc32.to_bytes(4, "little").hex().upper()

    @property
    def git_sha1(self) -> str:
        """The git blob id of the content (the Hub's `oid`/ETag for non-LFS files)."""
        if self._git_sha1 is None:
            sha = hashlib.sha1(f"blob {self.size}\0".encode())
            for chunk in self.chunks():
                sha.update(chunk)
            self._git_sha1 = sha.hexdigest()
        return self._git_sha1

    def lfs_pointer(self) -> bytes:
        """The git-lfs pointer file that stands for this blob in a repo."""
        return (
            f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {self.size}\n"
        ).encode()


# ---------------------------------------------------------------- Civitai data


@dataclass
class CFile:
    """One file of a Civitai version."""

    id: int
    name: str
    blob: Blob
    type: str = "Model"
    primary: bool | None = True  # None: the key is omitted, as in some list responses
    fp: str | None = "fp16"
    size_label: str | None = "pruned"
    format: str = "SafeTensor"
    pickle_scan: str = "Success"
    virus_scan: str = "Success"
    publish_hashes: bool = True


@dataclass
class CImage:
    """An example image, served as a tiny PNG by the CDN."""

    path: str  # below /images/
    width: int = 832
    height: int = 1216
    nsfw_level: int = 1


@dataclass
class CVersion:
    """One version of a Civitai model."""

    id: int
    name: str
    base_model: str
    files: list[CFile]
    published_at: dt.datetime
    trained_words: list[str] | None = field(default_factory=list)
    images: list[CImage] = field(default_factory=list)
    availability: str = "Public"
    login_required: bool = False
    early_access: bool = False
    description: str | None = None
    download_on_cdn: bool = False  # downloadUrl points at the storage host (another origin)
    model: CModel | None = field(default=None, repr=False)


@dataclass
class CModel:
    """One Civitai model; `versions` newest first."""

    id: int
    name: str
    type: str
    creator: str
    versions: list[CVersion]
    description: str = "<p>A model.</p>"
    tags: list[str] = field(default_factory=list)
    nsfw: bool = False
    nsfw_level: int = 1
    stats: dict[str, Any] | None = None
    leak_nsfw: bool = False  # still returned with nsfw=false, like the real API's leaks

    @property
    def mature(self) -> bool:
        """Mature by the model flag or level."""
        return self.nsfw or self.nsfw_level >= 4

    @property
    def published_at(self) -> dt.datetime:
        """When the newest version was published."""
        return max(v.published_at for v in self.versions)


# ---------------------------------------------------------------- Hub data


@dataclass
class HEntry:
    """One file of a Hub repo; `lfs` files redirect to the CDN, others are served directly."""

    path: str
    blob: Blob
    lfs: bool = True


@dataclass
class HRepo:
    """A Hub model repo."""

    id: str
    entries: list[HEntry]
    gated: bool | str = False  # False, "auto" or "manual"
    private: bool = False

    @property
    def sha(self) -> str:
        """A made-up commit id for this fake repo (sha1 of a label; not a real commit)."""
        return hashlib.sha1(f"modella-fake-commit:{self.id}".encode()).hexdigest()

    def entry(self, path: str) -> HEntry | None:
        """The file at `path`, if any."""
        return next((e for e in self.entries if e.path == path), None)


class Catalog:
    """Everything the fake hub serves."""

    def __init__(self) -> None:
        self.models: dict[int, CModel] = {}
        self.versions: dict[int, CVersion] = {}
        self.blobs: dict[str, Blob] = {}
        self.repos: dict[str, HRepo] = {}
        self._next_id = 900_000
        # Periods (Day, Week…) count back from here so results do not depend on the real date.
        self.epoch = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)

    def next_id(self) -> int:
        """A fresh id for models, versions or files added by tests."""
        self._next_id += 1
        return self._next_id

    def add_blob(self, blob: Blob) -> Blob:
        """Register a blob so the CDN can serve it."""
        self.blobs[blob.id] = blob
        return blob

    def add_model(self, model: CModel) -> CModel:
        """Register a model, its versions and their blobs; an id used twice is a mistake."""
        taken = [model.id] if model.id in self.models else []
        taken += [v.id for v in model.versions if v.id in self.versions]
        if taken:
            raise ValueError(f"ids already in the catalog: {taken} ({model.name!r})")
        self.models[model.id] = model
        for version in model.versions:
            version.model = model
            self.versions[version.id] = version
            for f in version.files:
                self.add_blob(f.blob)
        return model

    def add_repo(self, repo: HRepo) -> HRepo:
        """Register a Hub repo and its blobs."""
        self.repos[repo.id] = repo
        for e in repo.entries:
            self.add_blob(e.blob)
        return repo

    def find_model(self, name: str) -> CModel:
        """The model with exactly this name (tests use it to avoid hard-coding ids)."""
        for m in self.models.values():
            if m.name == name:
                return m
        raise KeyError(name)

    def file(self, file_id: int) -> tuple[CVersion, CFile] | None:
        """The version and file with that file id."""
        for v in self.versions.values():
            for f in v.files:
                if f.id == file_id:
                    return v, f
        return None

    def by_hash(self, value: str) -> tuple[CVersion, CFile] | None:
        """The file whose SHA256, AutoV2 (first 10 hex) or CRC32 matches, case-insensitively."""
        value = value.strip().upper()
        for v in self.versions.values():
            for f in v.files:
                if not f.publish_hashes:
                    continue
                sha = f.blob.sha256.upper()
                if value in (sha, sha[:10], f.blob.crc32_civitai):
                    return v, f
        return None

    def add_simple_model(
        self,
        name: str,
        *,
        size: int = 256 * KIB,
        type: str = "LORA",
        base_model: str = "SD 1.5",
        file_name: str | None = None,
        creator: str = "tester",
        **model_kw: Any,
    ) -> CModel:
        """Add a one-version, one-file model (e.g. a big one for engine tests) and return it."""
        mid, vid, fid = self.next_id(), self.next_id(), self.next_id()
        blob = Blob(f"f{fid}", size, seed=fid)
        cfile = CFile(fid, file_name or f"{_slug(name)}.safetensors", blob)
        version = CVersion(vid, "v1.0", base_model, [cfile], self.epoch - dt.timedelta(days=1))
        return self.add_model(CModel(mid, name, type, creator, [version], **model_kw))

    def add_big_model(self, name: str = "Big Test Checkpoint", size: int = 256 * MIB) -> CModel:
        """Add a Checkpoint with one large file (bytes are generated on the fly, never stored)."""
        return self.add_simple_model(name, size=size, type="Checkpoint", base_model="SDXL 1.0")


class Urls(Protocol):
    """What the JSON renderers need from the running server."""

    civitai_url: str
    cdn_url: str

    def signed_url(self, blob: Blob, filename: str, expires: int = 86400) -> str:
        """A signed storage URL for this blob."""
        ...


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name).strip("_")[:60] or "model"


def file_json(version: CVersion, f: CFile, urls: Urls) -> dict[str, Any]:
    """A file in Civitai's shape."""
    data: dict[str, Any] = {
        "id": f.id,
        "sizeKB": f.blob.size / 1024,
        "name": f.name,
        "type": f.type,
        "pickleScanResult": f.pickle_scan,
        "pickleScanMessage": "No Pickle imports" if f.pickle_scan == "Success" else None,
        "virusScanResult": f.virus_scan,
        "virusScanMessage": None,
        "scannedAt": _iso(version.published_at),
        "metadata": {"format": f.format, "size": f.size_label, "fp": f.fp},
        "hashes": {},
        "downloadUrl": f"{urls.civitai_url}/api/download/models/{version.id}"
        + ("" if f.primary else f"?type={f.type.replace(' ', '%20')}&format={f.format}"),
    }
    if version.download_on_cdn:
        # A URL merely found in JSON, on another origin: the key must never follow it.
        data["downloadUrl"] = urls.signed_url(f.blob, f.name)
    if f.primary is not None:
        data["primary"] = f.primary
    if f.publish_hashes:
        sha = f.blob.sha256.upper()
        data["hashes"] = {"AutoV2": sha[:10], "SHA256": sha, "CRC32": f.blob.crc32_civitai}
    return data


def image_json(image: CImage, urls: Urls) -> dict[str, Any]:
    """An image in Civitai's shape, hosted on the CDN origin."""
    return {
        "url": f"{urls.cdn_url}/images/{image.path}",
        "nsfwLevel": image.nsfw_level,
        "width": image.width,
        "height": image.height,
        "hash": "U5F~?Z00~q00_3t7t7WB00~q%M%MRjRj%Mof",
        "type": "image",
        "meta": None,
    }


def version_json(v: CVersion, urls: Urls, *, with_model: bool = False) -> dict[str, Any]:
    """A version in Civitai's shape; `with_model` adds `model{name,type,nsfw}` as the version endpoint."""
    model = v.model
    assert model is not None
    if v.download_on_cdn and v.files:
        download_url = urls.signed_url(v.files[0].blob, v.files[0].name)
    else:
        download_url = f"{urls.civitai_url}/api/download/models/{v.id}"
    data: dict[str, Any] = {
        "id": v.id,
        "modelId": model.id,
        "name": v.name,
        "createdAt": _iso(v.published_at),
        "updatedAt": _iso(v.published_at),
        "status": "Published",
        "publishedAt": _iso(v.published_at),
        "baseModel": v.base_model,
        "baseModelType": "Standard",
        "description": v.description,
        "availability": "EarlyAccess" if v.early_access else v.availability,
        "nsfwLevel": model.nsfw_level,
        "stats": {
            "downloadCount": 10 * v.id % 997,
            "ratingCount": 0,
            "rating": 0,
            "thumbsUpCount": v.id % 89,
        },
        "files": [file_json(v, f, urls) for f in v.files],
        "images": [image_json(i, urls) for i in v.images],
        "downloadUrl": download_url,
    }
    if v.trained_words is not None:
        data["trainedWords"] = list(v.trained_words)
    if v.early_access:
        data["earlyAccessEndsAt"] = _iso(v.published_at + dt.timedelta(days=7))
    if with_model:
        data["model"] = {"name": model.name, "type": model.type, "nsfw": model.nsfw, "poi": False}
    return data


def model_json(m: CModel, urls: Urls, *, primary_only: bool = False) -> dict[str, Any]:
    """A model in Civitai's shape, versions newest first."""
    versions = []
    for v in m.versions:
        vj = version_json(v, urls)
        if primary_only:
            vj["files"] = [f for f in vj["files"] if f.get("primary")]
        versions.append(vj)
    stats = m.stats or {}
    keys = ("downloadCount", "favoriteCount", "thumbsUpCount", "thumbsDownCount", "commentCount",
            "ratingCount", "rating", "tippedAmountCount")  # fmt: skip
    return {
        "id": m.id,
        "name": m.name,
        "description": m.description,
        "allowNoCredit": True,
        "allowCommercialUse": ["Image", "RentCivit"],
        "allowDerivatives": True,
        "allowDifferentLicense": True,
        "type": m.type,
        "minor": False,
        "poi": False,
        "nsfw": m.nsfw,
        "nsfwLevel": m.nsfw_level,
        "availability": "Public",
        "cosmetic": None,
        "supportsGeneration": False,
        "stats": {k: stats.get(k) for k in keys},
        "creator": {
            "username": m.creator,
            "image": f"{urls.cdn_url}/images/avatars/{_slug(m.creator)}.png",
        },
        "tags": list(m.tags),
        "modelVersions": versions,
    }


# ---------------------------------------------------------------- Hub JSON


def sibling_json(e: HEntry, *, blobs: bool) -> dict[str, Any]:
    """A `siblings[]` entry of `/api/models/{repo}`."""
    data: dict[str, Any] = {"rfilename": e.path}
    if blobs:
        if e.lfs:
            pointer = e.blob.lfs_pointer()
            data["blobId"] = hashlib.sha1(f"blob {len(pointer)}\0".encode() + pointer).hexdigest()
            data["size"] = e.blob.size
            data["lfs"] = {
                "sha256": e.blob.sha256,
                "size": e.blob.size,
                "pointerSize": len(pointer),
            }
        else:
            data["blobId"] = e.blob.git_sha1
            data["size"] = e.blob.size
    return data


def tree_entry_json(e: HEntry) -> dict[str, Any]:
    """A file entry of `/api/models/{repo}/tree/{rev}`."""
    if e.lfs:
        pointer = e.blob.lfs_pointer()
        oid = hashlib.sha1(f"blob {len(pointer)}\0".encode() + pointer).hexdigest()
        return {
            "type": "file",
            "oid": oid,
            "size": e.blob.size,
            "path": e.path,
            "lfs": {"oid": e.blob.sha256, "size": e.blob.size, "pointerSize": len(pointer)},
        }
    return {"type": "file", "oid": e.blob.git_sha1, "size": e.blob.size, "path": e.path}


def tree_json(repo: HRepo, prefix: str, recursive: bool) -> list[dict[str, Any]] | None:
    """The tree below `prefix` (None when no such folder), folders before files like the Hub."""
    prefix = prefix.strip("/")
    base = f"{prefix}/" if prefix else ""
    dirs: set[str] = set()
    files: list[dict[str, Any]] = []
    for e in repo.entries:
        if not e.path.startswith(base):
            continue
        rest = e.path[len(base) :]
        parts = rest.split("/")
        if recursive:
            for i in range(1, len(parts)):
                dirs.add(base + "/".join(parts[:i]))
            files.append(tree_entry_json(e))
        elif len(parts) == 1:
            files.append(tree_entry_json(e))
        else:
            dirs.add(base + parts[0])
    if prefix and not dirs and not files:
        return None
    folders = [
        {"type": "directory", "oid": hashlib.sha1(f"tree:{repo.id}:{d}".encode()).hexdigest(),
         "size": 0, "path": d}
        for d in sorted(dirs)
    ]  # fmt: skip
    return folders + sorted(files, key=lambda f: str(f["path"]))


def repo_json(repo: HRepo, *, blobs: bool) -> dict[str, Any]:
    """`/api/models/{repo}` in the Hub's shape."""
    author = repo.id.split("/", 1)[0]
    return {
        "_id": hashlib.sha1(repo.id.encode()).hexdigest()[:24],
        "id": repo.id,
        "modelId": repo.id,
        "author": author,
        "sha": repo.sha,
        "lastModified": "2025-06-01T10:00:00.000Z",
        "createdAt": "2024-08-01T10:00:00.000Z",
        "private": repo.private,
        "gated": repo.gated,
        "disabled": False,
        "downloads": 1234,
        "likes": 56,
        "tags": ["diffusers", "safetensors", "text-to-image"],
        "pipeline_tag": "text-to-image",
        "library_name": "diffusers",
        "siblings": [sibling_json(e, blobs=blobs) for e in repo.entries],
        "spaces": [],
        "usedStorage": sum(e.blob.size for e in repo.entries),
    }


# ---------------------------------------------------------------- the default catalog

BASES = ("SD 1.5", "SDXL 1.0", "Pony", "Illustrious", "Flux.1 D", "SD 3.5", "NoobAI")
CREATORS = ("inkmaster", "pixelsmith", "lumen_arts", "kohya_fan", "nightowl", "ZenBrush")
_GENERATED = (
    ("Checkpoint", "Realistic Vision"), ("Checkpoint", "DreamShaper"), ("Checkpoint", "Juggernaut"),
    ("Checkpoint", "Anime Blend"), ("Checkpoint", "Photon Mix"), ("Checkpoint", "Cyber Realistic"),
    ("LORA", "Detail Tweaker"), ("LORA", "Add More Details"), ("LORA", "Pixel Art Style"),
    ("LORA", "Watercolor Dreams"), ("LORA", "Film Grain"), ("LORA", "Neon Nights"),
    ("LORA", "Clay Figures"), ("LORA", "Paper Cutout"), ("LORA", "Oil Painting"),
    ("LoCon", "Stained Glass"), ("LoCon", "Retro Poster"), ("LoCon", "Mosaic Tiles"),
    ("DoRA", "Sharp Lines"), ("TextualInversion", "EasyNegative"),
    ("TextualInversion", "Bad Hands Fix"), ("TextualInversion", "Deep Negative"),
    ("VAE", "Clear VAE"), ("VAE", "Vivid VAE"), ("Controlnet", "Canny Control"),
    ("Controlnet", "Depth Control"), ("Upscaler", "UltraSharp 4x"), ("Upscaler", "Remacri 4x"),
    ("Hypernetwork", "Soft Light"), ("Checkpoint", "Epic Landscapes"), ("LORA", "Steampunk Gear"),
    ("LORA", "Isometric Rooms"), ("LORA", "Low Poly"), ("Checkpoint", "Fantasy World"),
    ("LORA", "Vintage Photo"), ("LoCon", "Comic Panels"), ("Checkpoint", "Portrait Master"),
    ("LORA", "Glitch FX"),
)  # fmt: skip

# Fixed ids of the special entries, so tests across the suite can name them.
INK_WASH = 101
SUMI_INK = 102
INKPUNK = 103
DARK_INK = 104
INK_NOIR = 105
MANY_VERSIONS = 110
MARKUP_NAME = 111
ESCAPE_NAME = 112
TRAVERSAL_FILE = 113
LOGIN_REQUIRED = 114
EARLY_ACCESS = 115
PICKLE_DANGER = 116
NO_SHA256 = 117
NULL_STATS = 118
FLUX_DEV = 119
LEAKY_MATURE = 120
EMPTY_META = 121
FOREIGN_DOWNLOAD = 122
LEAKY_LEVEL = 123
TI_TRAVERSAL = 124
INK_SKETCH = 125

# A terminal's clipboard write (OSC 52) carrying "evil" in base64: what hostile remote text holds.
OSC52 = "\x1b]52;c;ZXZpbA==\x07"


class _Builder:
    """Makes ids, blobs, files and versions for the default catalog."""

    def __init__(self, catalog: Catalog, rng: random.Random) -> None:
        self.catalog = catalog
        self.rng = rng
        self.file_id = 5000
        self.day = 0

    def size(self) -> int:
        return self.rng.randrange(64 * KIB, 2 * MIB)

    def cfile(self, name: str, **kw: Any) -> CFile:
        self.file_id += 1
        size = kw.pop("size", None) or self.size()
        return CFile(self.file_id, name, Blob(f"f{self.file_id}", size, seed=self.file_id), **kw)

    def images(self, vid: int, count: int = 3, level: int = 1) -> list[CImage]:
        return [CImage(f"xG1nkq/{vid:06d}-{i}/width=450/{vid}{i}.png", nsfw_level=level)
                for i in range(count)]  # fmt: skip

    def when(self, days_ago: int) -> dt.datetime:
        return self.catalog.epoch - dt.timedelta(days=days_ago, hours=self.rng.randrange(24))

    def version(self, vid: int, name: str, base: str, files: list[CFile], days_ago: int,
                **kw: Any) -> CVersion:  # fmt: skip
        kw.setdefault("images", self.images(vid))
        return CVersion(vid, name, base, files, self.when(days_ago), **kw)

    def stats(self) -> dict[str, Any]:
        r = self.rng
        return {
            "downloadCount": r.randrange(10, 500_000),
            "favoriteCount": r.randrange(0, 5000),
            "thumbsUpCount": r.randrange(0, 20_000),
            "thumbsDownCount": r.randrange(0, 50),
            "commentCount": r.randrange(0, 900),
            "ratingCount": r.randrange(0, 400),
            "rating": round(r.uniform(3.5, 5.0), 2),
            "tippedAmountCount": r.randrange(0, 100),
        }


def _special_models(b: _Builder) -> list[CModel]:
    s = b.stats
    return [
        CModel(INK_WASH, "Ink Wash LoRA", "LORA", "inkmaster", [
            b.version(1012, "v2.0", "SDXL 1.0", [b.cfile("inkWashLora_v20.safetensors")], 3,
                      trained_words=["inkwash style", "sumi-e"]),
            b.version(1011, "v1.0", "SD 1.5", [b.cfile("inkWashLora_v10.safetensors")], 120,
                      trained_words=["inkwash style"]),
        ], description="<p>Traditional <b>ink</b> wash painting style.</p><ul><li>weight 0.8</li></ul>",
            tags=["ink", "style", "watercolor", "traditional art"], stats=s()),
        CModel(SUMI_INK, "Sumi Ink Style", "LoCon", "ZenBrush", [
            b.version(1021, "v1", "SDXL 1.0", [b.cfile("sumiInk_v1.safetensors")], 10,
                      trained_words=["sumi ink"]),
        ], tags=["ink", "japanese", "style"], stats=s()),
        CModel(INKPUNK, "Inkpunk Diffusion", "Checkpoint", "inkmaster", [
            b.version(1031, "v2", "SD 1.5", [
                b.cfile("inkpunkDiffusion_v2.safetensors", fp="fp16", size_label="pruned"),
                b.cfile("inkpunkDiffusion_v2.vae.safetensors", type="VAE", primary=False),
                b.cfile("inkpunkDiffusion_v2.yaml", type="Config", primary=None, format="Other",
                        fp=None, size_label=None, size=2 * KIB),
            ], 40, trained_words=["nvinkpunk"]),
        ], description="<p>Punk ink style <i>checkpoint</i>.</p>", tags=["ink", "punk", "base model"],
            stats=s()),
        # Newest first the ink models go: Ink Wash, Sumi, Dark Ink, Ink Noir, Inkpunk, Ink Sketch.
        # With nsfw=false and limit=2 the second page (two mature models) comes back empty while
        # nextCursor is still there: the real cursor bug.
        CModel(DARK_INK, "Dark Ink Figures", "LORA", "nightowl", [
            b.version(1041, "v1", "Pony", [b.cfile("darkInk_v1.safetensors")], 25,
                      images=b.images(1041, level=16)),
        ], tags=["ink", "mature"], nsfw=True, nsfw_level=16, stats=s()),
        CModel(INK_NOIR, "Ink Noir", "LORA", "nightowl", [
            b.version(1051, "v1", "Pony", [b.cfile("inkNoir_v1.safetensors")], 26,
                      images=b.images(1051, level=8)),
        ], tags=["ink", "noir", "mature"], nsfw=True, nsfw_level=8, stats=s()),
        CModel(MANY_VERSIONS, "Twelve Versions Checkpoint", "Checkpoint", "pixelsmith", [
            b.version(1100 + n, f"v{n}.0", "SDXL 1.0", [b.cfile(f"twelve_v{n}.safetensors")],
                      200 - n * 10, trained_words=None if n % 2 else [f"twelve{n}"])
            for n in range(12, 0, -1)
        ], tags=["base model", "versions"], stats=s()),
        CModel(MARKUP_NAME, "[@click=app.quit]Hi[/]", "LORA", "[b]creator[/b]", [
            b.version(1195, "[red]v1[/red]", "SD 1.5", [b.cfile("markup_v1.safetensors")], 40,
                      trained_words=["[link='https://evil.example']x[/link]"]),
        ], description="<p>[bold]not bold[/bold] [@click=app.bell]ring[/]</p>",
            tags=["[i]tag[/i]", "markup"], stats=s()),
        # Escape sequences everywhere remote text goes: a clipboard write (OSC 52), a screen clear.
        CModel(ESCAPE_NAME, f"\x1b[31mRed Alert\x1b[0m LoRA{OSC52}\x1b[2J", "LORA", "nightowl", [
            b.version(1121, f"v1{OSC52}", "SD 1.5", [b.cfile("red\x1b[2Jalert.safetensors")], 41,
                      trained_words=[f"red{OSC52}alert", "\x1b[2Jsiren"]),
        ], description=(
            "<p>\x1b[2Jclears the screen</p>"
            f"<pre>line one\n{OSC52}line two\x1b[2J\nline three</pre>"
            f'<p><a href="https://evil.example/{OSC52}">the page</a></p>'
        ), tags=["escape", f"tag{OSC52}"], stats=s()),
        CModel(TRAVERSAL_FILE, "Sneaky Path LoRA", "LORA", "pixelsmith", [
            b.version(1131, "v1", "SD 1.5", [b.cfile("../../.bashrc")], 42),
        ], tags=["hostile"], stats=s()),
        CModel(LOGIN_REQUIRED, "Members Only Checkpoint", "Checkpoint", "lumen_arts", [
            b.version(1141, "v1", "SDXL 1.0", [b.cfile("membersOnly_v1.safetensors")], 43,
                      login_required=True),
        ], tags=["login"], stats=s()),
        CModel(EARLY_ACCESS, "Early Bird LoRA", "LORA", "lumen_arts", [
            b.version(1152, "v2 (early access)", "Illustrious", [b.cfile("earlyBird_v2.safetensors")],
                      1, early_access=True),
            b.version(1151, "v1", "Illustrious", [b.cfile("earlyBird_v1.safetensors")], 60),
        ], tags=["early access"], stats=s()),
        CModel(PICKLE_DANGER, "Old Pickle Checkpoint", "Checkpoint", "kohya_fan", [
            b.version(1161, "v1", "SD 1.5", [
                b.cfile("oldPickle_v1.ckpt", format="PickleTensor", fp="fp32", size_label="full",
                        pickle_scan="Danger"),
            ], 500),
        ], tags=["legacy"], stats=s()),
        CModel(NO_SHA256, "Unhashed Embedding", "TextualInversion", "kohya_fan", [
            b.version(1171, "v1", "SD 1.5", [b.cfile("unhashed.safetensors", publish_hashes=False)],
                      44, trained_words=["unhashed"]),
        ], tags=["embedding"], stats=s()),
        CModel(NULL_STATS, "Brand New LoRA", "LORA", "pixelsmith", [
            b.version(1181, "v1", "Flux.1 D", [b.cfile("brandNew_v1.safetensors")], 0, images=[]),
        ], tags=["new"], stats=None),
        CModel(FLUX_DEV, "Flux Dev FP8 Checkpoint", "Checkpoint", "lumen_arts", [
            b.version(1191, "fp8", "Flux.1 D", [
                b.cfile("fluxDev_fp8.safetensors", fp="fp8"),
                b.cfile("fluxDev_ae.safetensors", type="VAE", primary=False),
            ], 5),
        ], tags=["flux", "base model"], stats=s()),
        CModel(LEAKY_MATURE, "Leaky Mature Model", "LORA", "nightowl", [
            b.version(1201, "v1", "Pony", [b.cfile("leaky_v1.safetensors")], 7,
                      images=b.images(1201, level=16)),
        ], tags=["mature"], nsfw=True, nsfw_level=16, leak_nsfw=True, stats=s()),
        CModel(EMPTY_META, "Empty Metadata Thing", "Workflows", "pixelsmith", [
            b.version(1211, "", "", [b.cfile("thing.safetensors", fp=None, size_label=None)], 50,
                      trained_words=None),
        ], description="", tags=[], stats=s()),
        CModel(FOREIGN_DOWNLOAD, "Foreign Host LoRA", "LORA", "pixelsmith", [
            b.version(1221, "v1", "SD 1.5", [b.cfile("foreign_v1.safetensors")], 51,
                      download_on_cdn=True),
        ], tags=["hostile"], stats=s()),
        CModel(LEAKY_LEVEL, "Quietly Mature Style", "LORA", "nightowl", [
            b.version(1231, "v1", "Pony", [b.cfile("quiet_v1.safetensors")], 8,
                      images=b.images(1231, level=8)),
        ], tags=["style"], nsfw=False, nsfw_level=16, leak_nsfw=True, stats=s()),
        CModel(TI_TRAVERSAL, "Traversal Embedding", "TextualInversion", "kohya_fan", [
            b.version(1241, "v1", "SD 1.5", [b.cfile("good_embedding.safetensors")], 52,
                      trained_words=["../x"]),
        ], tags=["hostile", "embedding"], stats=s()),
        CModel(INK_SKETCH, "Ink Sketch Embedding", "TextualInversion", "ZenBrush", [
            b.version(1251, "v1", "SD 1.5", [b.cfile("inkSketch.safetensors")], 45,
                      trained_words=["inksketch"]),
        ], tags=["ink", "sketch"], stats=s()),
    ]  # fmt: skip


def _generated_models(b: _Builder, start_id: int) -> Iterable[CModel]:
    for n, (mtype, title) in enumerate(_GENERATED):
        mid = start_id + n
        base = BASES[n % len(BASES)]
        creator = CREATORS[n % len(CREATORS)]
        versions = []
        for k in range(1 + n % 3, 0, -1):
            vid = mid * 10 + k
            fmt_ext = ".pt" if mtype in ("Hypernetwork", "Upscaler") else ".safetensors"
            files = [
                b.cfile(
                    f"{_slug(title)}_v{k}{fmt_ext}",
                    format="PickleTensor" if fmt_ext == ".pt" else "SafeTensor",
                )
            ]
            if mtype == "Checkpoint" and k == 1 + n % 3 and n % 2 == 0:
                files.append(
                    b.cfile(
                        f"{_slug(title)}_v{k}_fp32.safetensors",
                        primary=None,
                        fp="fp32",
                        size_label="full",
                    )
                )
            words = [f"{title.lower()} style"] if mtype in ("LORA", "LoCon", "DoRA") else []
            versions.append(
                b.version(
                    vid, f"v{k}.0", base, files, 60 + n * 5 + (3 - k) * 30, trained_words=words
                )
            )
        desc = (
            f"<p>{title}: a {mtype} for {base}.</p><p>Works best with <em>clean</em> prompts.</p>"
        )
        mature = n in (9, 21)
        yield CModel(mid, title, mtype, creator, versions, description=desc,
                     tags=[mtype.lower(), base.lower(), "style" if n % 2 else "general"],
                     nsfw=mature, nsfw_level=8 if mature else 1, stats=b.stats())  # fmt: skip


def _hub_repos() -> list[HRepo]:
    def lfs(repo: str, path: str, size: int) -> HEntry:
        return HEntry(path, Blob(f"hf:{repo}:{path}", size, seed=7))

    def small(repo: str, path: str, text: str) -> HEntry:
        return HEntry(path, Blob.from_bytes(f"hf:{repo}:{path}", text.encode()), lfs=False)

    flux_te = "comfyanonymous/flux_text_encoders"
    flux = "black-forest-labs/FLUX.1-dev"
    sdxl = "stabilityai/stable-diffusion-xl-base-1.0"
    lumina = "Comfy-Org/Lumina_Image_2.0_Repackaged"
    wan = "Comfy-Org/Wan_2.1_ComfyUI_repackaged"
    cn = "lllyasviel/ControlNet-v1-1"
    hostile = "modella-test/hostile-tree"
    private = "modella-test/private-repo"
    return [
        HRepo(flux_te, [
            small(flux_te, "README.md", "# flux text encoders (fake)\n"),
            lfs(flux_te, "clip_l.safetensors", 300 * KIB),
            lfs(flux_te, "t5xxl_fp16.safetensors", 1536 * KIB),
            lfs(flux_te, "t5xxl_fp8_e4m3fn.safetensors", 768 * KIB),
        ]),
        HRepo(flux, [
            small(flux, "README.md", "# FLUX.1 [dev] (fake)\n"),
            small(flux, "model_index.json", '{"_class_name": "FluxPipeline"}\n'),
            lfs(flux, "flux1-dev.safetensors", 2 * MIB),
            lfs(flux, "ae.safetensors", 320 * KIB),
            small(flux, "vae/config.json", '{"_class_name": "AutoencoderKL"}\n'),
            lfs(flux, "vae/diffusion_pytorch_model.safetensors", 320 * KIB),
        ], gated="manual"),
        HRepo(sdxl, [
            small(sdxl, "README.md", "# SDXL base (fake)\n"),
            small(sdxl, "config.json", '{"_class_name": "StableDiffusionXLPipeline"}\n'),
            small(sdxl, "model_index.json", '{"_class_name": "StableDiffusionXLPipeline"}\n'),
            lfs(sdxl, "sd_xl_base_1.0.safetensors", 2 * MIB),
            lfs(sdxl, "sd_xl_base_1.0_0.9vae.safetensors", 2 * MIB),
            lfs(sdxl, "sd_xl_offset_example-lora_1.0.safetensors", 200 * KIB),
            small(sdxl, "unet/config.json", '{"_class_name": "UNet2DConditionModel"}\n'),
            lfs(sdxl, "unet/diffusion_pytorch_model.fp16.safetensors", 1 * MIB),
        ]),
        HRepo(lumina, [
            small(lumina, "README.md", "# Lumina repackaged (fake)\n"),
            lfs(lumina, "split_files/vae/ae.safetensors", 320 * KIB),
        ]),
        HRepo(wan, [
            lfs(wan, "split_files/vae/wan_2.1_vae.safetensors", 256 * KIB),
            lfs(wan, "split_files/text_encoders/umt5_xxl_fp8_e4m3fn_scaled.safetensors", 1 * MIB),
            lfs(wan, "split_files/clip_vision/clip_vision_h.safetensors", 512 * KIB),
            lfs(wan, "split_files/diffusion_models/wan2.1_t2v_1.3B_fp16.safetensors", 1 * MIB),
        ]),
        HRepo(cn, [
            lfs(cn, "control_v11p_sd15_canny.pth", 700 * KIB),
            small(cn, "control_v11p_sd15_canny.yaml", "model:\n  target: cldm.cldm.ControlLDM\n"),
        ]),
        HRepo(hostile, [
            lfs(hostile, "../../x.safetensors", 64 * KIB),
            lfs(hostile, "ok.safetensors", 64 * KIB),
        ]),
        HRepo(private, [lfs(private, "secret.safetensors", 64 * KIB)], private=True),
    ]  # fmt: skip


def default_catalog() -> Catalog:
    """About 60 Civitai models of every kind plus a few Hub repos, all small and deterministic."""
    catalog = Catalog()
    b = _Builder(catalog, random.Random(1234))
    for model in _special_models(b):
        catalog.add_model(model)
    for model in _generated_models(b, start_id=200):
        catalog.add_model(model)
    for repo in _hub_repos():
        catalog.add_repo(repo)
    return catalog
