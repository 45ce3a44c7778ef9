"""Typed views of what Civitai and the Hub send; every field tolerates absence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CivitaiFile:
    """One file of a model version."""

    id: int
    name: str
    type: str = "Model"  # Model, VAE, Config, Training Data, Pruned Model, …
    size_kb: float = 0.0
    primary: bool = False
    fp: str | None = None  # fp16, fp32, bf16, fp8
    size: str | None = None  # full, pruned
    format: str | None = None  # SafeTensor, PickleTensor, Diffusers, Other
    pickle_scan: str | None = None  # Success, Pending, Danger, Error
    virus_scan: str | None = None
    sha256: str | None = None  # lower-case hex (parse normalises Civitai's upper case)
    autov2: str | None = None
    download_url: str | None = None

    @property
    def size_bytes(self) -> int:
        """Size in bytes from `sizeKB` (Civitai's only size field)."""
        return round(self.size_kb * 1024)

    @property
    def is_pickle(self) -> bool:
        """A pickle format that can run code when loaded (`.ckpt`, `.pt`, `.bin`, PickleTensor)."""
        lower = self.name.lower()
        return (self.format or "").lower() == "pickletensor" or lower.endswith(
            (".ckpt", ".pt", ".pth", ".bin", ".pkl")
        )

    @property
    def scan_danger(self) -> bool:
        """Civitai's pickle or virus scan flagged it."""
        return "danger" in ((self.pickle_scan or "") + (self.virus_scan or "")).lower()

    @property
    def scan_state(self) -> str:
        """Civitai's two scans in one word: `danger`, `error`, `pending`, `ok` or `unknown`.

        The worst result wins: a file is `ok` only when every scan reported says Success.
        """
        results = [s.strip().lower() for s in (self.pickle_scan, self.virus_scan) if s]
        for state in ("danger", "error", "pending"):
            if state in results:
                return state
        return "ok" if results and all(r == "success" for r in results) else "unknown"


@dataclass(frozen=True)
class CivitaiImage:
    """One example image of a version."""

    url: str
    width: int | None = None
    height: int | None = None
    nsfw_level: int = 0
    type: str = "image"  # image or video

    @property
    def safe(self) -> bool:
        """Not mature (Civitai nsfwLevel 1 = PG; 0 = unknown, treated as safe only if absent)."""
        return self.nsfw_level <= 1


@dataclass(frozen=True)
class CivitaiVersion:
    """One version of a model (newest first in a model's list)."""

    id: int
    name: str
    model_id: int | None = None
    base_model: str = ""
    trained_words: tuple[str, ...] = ()
    files: tuple[CivitaiFile, ...] = ()
    images: tuple[CivitaiImage, ...] = ()
    download_url: str | None = None
    published_at: str | None = None
    availability: str = "Public"
    early_access: bool = False
    description: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def primary_file(self) -> CivitaiFile | None:
        """The primary file, else the first Model file, else the first file."""
        for f in self.files:
            if f.primary:
                return f
        for f in self.files:
            if f.type == "Model":
                return f
        return self.files[0] if self.files else None


@dataclass(frozen=True)
class CivitaiStats:
    """Counters; any may be missing (None) on a new model."""

    downloads: int | None = None
    likes: int | None = None
    dislikes: int | None = None
    rating: float | None = None
    rating_count: int | None = None
    comments: int | None = None


@dataclass(frozen=True)
class CivitaiModel:
    """One model with its versions."""

    id: int
    name: str
    type: str = (
        "Other"  # Checkpoint, LORA, LoCon, DoRA, TextualInversion, VAE, Controlnet, Upscaler, …
    )
    description: str | None = None  # HTML
    nsfw: bool = False
    nsfw_level: int = 0
    tags: tuple[str, ...] = ()
    creator: str | None = None
    stats: CivitaiStats = field(default_factory=CivitaiStats)
    versions: tuple[CivitaiVersion, ...] = ()
    base_models: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def latest(self) -> CivitaiVersion | None:
        """The newest version (Civitai lists newest first)."""
        return self.versions[0] if self.versions else None

    @property
    def base_model(self) -> str:
        """The base model of the latest version, else the model-level list."""
        if self.latest and self.latest.base_model:
            return self.latest.base_model
        return self.base_models[0] if self.base_models else ""

    def version(self, version_id: int) -> CivitaiVersion | None:
        """The version with that id, if this model has it."""
        return next((v for v in self.versions if v.id == version_id), None)


@dataclass(frozen=True)
class SearchPage:
    """One page of `/api/v1/models`; `next_cursor` None means the end (an empty page is not)."""

    items: tuple[CivitaiModel, ...]
    next_cursor: str | None = None


@dataclass(frozen=True)
class HubFile:
    """One file of a Hub repo; `sha256` only for LFS files."""

    repo: str
    path: str
    size: int | None = None
    sha256: str | None = None
    revision: str = "main"

    @property
    def name(self) -> str:
        """The last path component."""
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class HubRepo:
    """A Hub model repo with its files."""

    id: str
    sha: str | None = None
    gated: bool | str = False
    files: tuple[HubFile, ...] = ()
