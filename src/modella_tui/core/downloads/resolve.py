"""REF → the files to download, with where they land and what their hash must be."""

from __future__ import annotations

import asyncio
import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from modella_tui.core import paths
from modella_tui.core.downloads.placement import normalise_type, target_dir
from modella_tui.core.errors import DownloadError, ModellaError, NotFoundError, UsageError
from modella_tui.core.models import CivitaiFile, CivitaiModel, CivitaiVersion, HubFile
from modella_tui.core.refs import CivitaiRef, HubRef, Ref

if TYPE_CHECKING:
    from modella_tui.core.civitai.client import CivitaiClient
    from modella_tui.core.downloads.engine import QueueRequest
    from modella_tui.core.hub.client import HubClient
    from modella_tui.core.hub.packages import Catalogue

WEIGHT_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft")
LOOKUPS_AT_ONCE = 8  # metadata requests in flight for one REF


@dataclass(frozen=True)
class PlannedFile:
    """One file to queue: everything the engine needs, nothing secret."""

    source: str  # civitai | huggingface
    dedupe_key: str
    title: str
    file_name: str
    type: str
    base_model: str
    url: str
    target_dir: Path
    expected_size: int | None
    sha256: str | None
    model_id: str | None = None
    version_id: str | None = None
    file_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    is_pickle: bool = False
    scan_danger: bool = False
    scan_unconfirmed: str | None = None  # "Pending" or "Error": Civitai's scan did not clear it

    def to_request(self, *, allow_pickle: bool) -> QueueRequest:
        """The engine's request for this file; Civitai sizes (from sizeKB) are only a hint."""
        from modella_tui.core.downloads.engine import QueueRequest

        exact = self.source == "huggingface"
        return QueueRequest(
            source=self.source,
            dedupe_key=self.dedupe_key,
            title=self.title,
            file_name=self.file_name,
            type=self.type,
            base_model=self.base_model,
            url=self.url,
            target_dir=self.target_dir,
            expected_size=self.expected_size if exact else None,
            sha256=self.sha256,
            model_id=self.model_id,
            version_id=self.version_id,
            file_id=self.file_id,
            meta=self.meta,
            allow_pickle=allow_pickle,
            size_hint=self.expected_size,
        )


@dataclass
class Placement:
    """Where files go: the models folder, the layout and an optional `--dir` override."""

    models_dir: Path
    layout: str
    override_dir: Path | None = None

    def folder(
        self, kind: str, *, source: str, model_id: Any = None, repo: str | None = None
    ) -> Path:
        """The target folder for a file (the override wins, but must stay inside models_dir)."""
        if self.override_dir is not None:
            return self.override_dir
        return target_dir(
            self.models_dir, self.layout, kind, source=source, model_id=model_id, repo=repo
        )


def placement_for(models_dir: Path, layout: str, dir_arg: str | None) -> Placement:
    """Build a Placement; `--dir` may be relative (to models_dir) or absolute inside it."""
    override = None
    if dir_arg:
        candidate = Path(dir_arg).expanduser()
        if not candidate.is_absolute():
            candidate = models_dir / candidate
        if not paths.is_within(models_dir, candidate):
            raise UsageError("error.dir_outside", path=dir_arg, root=str(models_dir))
        override = Path(candidate)
    return Placement(models_dir=models_dir, layout=layout, override_dir=override)


def civitai_download_url(base_url: str, version_id: int, file: CivitaiFile) -> str:
    """The API download URL on the configured host (never a host named by a response)."""
    query: dict[str, str] = {}
    if file.download_url:
        try:
            query = {
                k: v
                for k, v in parse_qsl(urlsplit(file.download_url).query)
                if k in ("type", "format", "size", "fp")
            }
        except ValueError:
            query = {}
    if not query and not file.primary:
        query = {"type": file.type}
        if file.format:
            query["format"] = file.format
    url = f"{base_url.rstrip('/')}/api/download/models/{version_id}"
    return url + ("?" + urlencode(query) if query else "")


def civitai_file_type(model: CivitaiModel, file: CivitaiFile) -> str:
    """A VAE file of a checkpoint goes to VAE/; model, config and other files follow the model."""
    if file.type == "VAE":
        return "VAE"
    return normalise_type(model.type)


def plan_civitai(
    model: CivitaiModel,
    version: CivitaiVersion,
    files: list[CivitaiFile],
    *,
    base_url: str,
    place: Placement,
) -> list[PlannedFile]:
    """PlannedFiles for chosen files of one Civitai version, with the sidecar metadata."""
    preview = next((i.url for i in version.images if i.safe and i.type == "image"), None)
    meta = {
        "version_json": version.raw,
        "model_name": model.name,
        "model_type": model.type,
        "preview_url": preview,
        "trained_words": list(version.trained_words),
        "description": model.description or "",
        "base_model": version.base_model,
    }
    out = []
    for f in files:
        kind = civitai_file_type(model, f)
        out.append(
            PlannedFile(
                source="civitai",
                dedupe_key=f"civitai:file:{f.id}",
                title=model.name,
                file_name=paths.safe_name(f.name, f"civitai-{f.id}"),
                type=kind,
                base_model=version.base_model or model.base_model,
                url=civitai_download_url(base_url, version.id, f),
                target_dir=place.folder(kind, source="civitai", model_id=model.id),
                expected_size=f.size_bytes or None,
                sha256=(f.sha256 or "").lower() or None,
                model_id=str(model.id),
                version_id=str(version.id),
                file_id=str(f.id),
                meta=meta if f.type in ("Model", "Pruned Model") or f.primary else {},
                is_pickle=f.is_pickle,
                scan_danger=f.scan_danger,
                scan_unconfirmed=_unconfirmed_scan(f),
            )
        )
    return out


def _unconfirmed_scan(f: CivitaiFile) -> str | None:
    """'Pending' or 'Error' when one of Civitai's scans of the file is in that state."""
    for result in (f.pickle_scan, f.virus_scan):
        status = (result or "").strip().capitalize()
        if status in ("Pending", "Error"):
            return status
    return None


def choose_civitai_files(version: CivitaiVersion, glob: str | None) -> list[CivitaiFile]:
    """The primary file, or every file whose name matches `--file`."""
    if glob:
        chosen = [f for f in version.files if fnmatch.fnmatch(f.name.lower(), glob.lower())]
        if not chosen:
            raise NotFoundError(
                "error.no_file_matches", glob=glob, files=", ".join(f.name for f in version.files)
            )
        return chosen
    primary = version.primary_file
    if primary is None:
        raise NotFoundError("error.version_no_files", version=version.id)
    return [primary]


def guess_hub_type(path: str) -> str:
    """A Hub file's type from its path, for files not in the curated catalogue."""
    low = path.lower()
    name = low.rsplit("/", 1)[-1]
    rules = (
        (("text_encoder", "clip_l", "clip_g", "t5xxl", "umt5"), "TextEncoder"),
        (("diffusion_model", "unet", "/transformer"), "DiffusionModel"),
        (("clip_vision", "image_encoder"), "CLIPVision"),
        (("ip-adapter", "ip_adapter"), "IPAdapter"),
        (("controlnet", "control_", "t2iadapter", "t2i-adapter"), "Controlnet"),
        (("vae", "ae.safetensors"), "VAE"),
        (("esrgan", "upscal", "4x", "2x"), "Upscaler"),
        (("lora",), "LORA"),
        (("yolo",), "Detector"),
    )
    for needles, kind in rules:
        if any(n in low for n in needles):
            return kind
    if name.endswith(WEIGHT_SUFFIXES):
        return "Checkpoint"
    return "Other"


def plan_hub(
    files: list[tuple[HubFile, str]],
    *,
    endpoint: str,
    place: Placement,
    title: str | None = None,
    base_model: str = "",
) -> list[PlannedFile]:
    """PlannedFiles for Hub files with their types; files land flat in their type folder."""
    from urllib.parse import quote

    out = []
    for f, kind in files:
        url = (
            f"{endpoint.rstrip('/')}/{f.repo}/resolve/{quote(f.revision, safe='')}/{quote(f.path)}"
        )
        paths.safe_relpath(f.path)  # refuses `..`, absolute and drive paths from a hostile tree
        out.append(
            PlannedFile(
                source="huggingface",
                dedupe_key=f"hf:{f.repo}@{f.revision}:{f.path}",
                title=title or f.repo,
                file_name=paths.safe_name(f.name),
                type=kind,
                base_model=base_model,
                url=url,
                target_dir=place.folder(kind, source="huggingface", repo=f.repo),
                expected_size=f.size,
                sha256=(f.sha256 or "").lower() or None,
                model_id=f.repo,
                version_id=f.revision,
                file_id=f.path,
                is_pickle=f.path.lower().endswith((".ckpt", ".pt", ".pth", ".bin", ".pkl")),
            )
        )
    return out


def check_safety(planned: list[PlannedFile], *, allow_pickle: bool, force: bool) -> None:
    """Refuse pickle files without consent and files flagged by the scan without --force (§7)."""
    for p in planned:
        if p.scan_danger and not force:
            raise DownloadError("error.scan_danger", name=p.file_name)
        if p.is_pickle and not allow_pickle:
            raise DownloadError("error.pickle_needs_consent", name=p.file_name)


async def plan_ref(
    ref: Ref,
    *,
    civitai: CivitaiClient,
    hub: HubClient,
    catalogue: Catalogue,
    place: Placement,
    glob: str | None = None,
    skipped: list[ModellaError] | None = None,
) -> list[PlannedFile]:
    """Everything one REF asks for, resolved against the servers (hashes and sizes come from them).

    Files of a many-file REF that cannot be had (unsafe path, gone) are appended to `skipped`
    instead of failing the whole REF, when the caller passes a list.
    """
    if isinstance(ref, CivitaiRef):
        model, version = await civitai.resolve(ref)
        files = choose_civitai_files(version, glob)
        return plan_civitai(model, version, files, base_url=civitai.host, place=place)
    return await _plan_hub_ref(
        ref, hub=hub, catalogue=catalogue, place=place, glob=glob, skipped=skipped
    )


async def _plan_hub_ref(
    ref: HubRef,
    *,
    hub: HubClient,
    catalogue: Catalogue,
    place: Placement,
    glob: str | None,
    skipped: list[ModellaError] | None,
) -> list[PlannedFile]:
    curated = catalogue.find(ref.repo, None if ref.folder else ref.path)
    types = {f.path: f.type for _, f in curated}
    title = curated[0][0].title if curated else None
    base = (curated[0][0].base_model or "") if curated else ""
    if ref.path and not ref.folder:
        wanted = [ref.path]
    elif curated and not ref.folder:
        wanted = [f.path for _, f in curated]
    else:
        repo = await hub.repo_info(ref.repo, ref.revision)
        prefix = (ref.path or "").rstrip("/") + "/" if ref.path else ""
        wanted = [
            f.path
            for f in repo.files
            if f.path.startswith(prefix) and f.path.lower().endswith(WEIGHT_SUFFIXES)
        ]
    if glob:
        wanted = [p for p in wanted if fnmatch.fnmatch(p.rsplit("/", 1)[-1].lower(), glob.lower())]
    if not wanted:
        raise NotFoundError("error.hub_nothing_to_download", repo=ref.repo)
    limit = asyncio.Semaphore(LOOKUPS_AT_ONCE)

    async def look_up(path: str) -> HubFile:
        paths.safe_relpath(path)  # refuses `..`, absolute and drive paths from a hostile tree
        async with limit:
            return await hub.file_info(ref.repo, path, ref.revision)

    # One HEAD per file, several at once: a pack of files costs about one round trip.
    found = await asyncio.gather(*(look_up(p) for p in wanted), return_exceptions=True)
    files = []
    for path, info in zip(wanted, found, strict=True):
        if isinstance(info, (UsageError, NotFoundError)):
            # One hostile or vanished entry of a repo does not stop its other files.
            if len(wanted) == 1 or skipped is None:
                raise info
            skipped.append(info)
            continue
        if isinstance(info, BaseException):
            raise info
        files.append((info, types.get(path) or guess_hub_type(path)))
    if not files:
        raise NotFoundError("error.hub_nothing_to_download", repo=ref.repo)
    return plan_hub(files, endpoint=hub.endpoint, place=place, title=title, base_model=base)
