"""Fixed data for snapshot tests and benchmarks: models, versions and queue rows that never change."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modella_tui.core.errors import AuthError
from modella_tui.core.hub.packages import load_catalogue
from modella_tui.core.library_files import LibrarySnapshot, LocalFile, ModelVersions, classify
from modella_tui.core.listfile import ListEntry
from modella_tui.core.lists import ListStore
from modella_tui.core.models import (
    CivitaiFile,
    CivitaiImage,
    CivitaiModel,
    CivitaiStats,
    CivitaiVersion,
    HubFile,
    HubRepo,
    SearchPage,
)
from modella_tui.core.store.db import Database
from modella_tui.core.store.queue import Landed, QueueStore
from tests.ui.fakes import (
    CivitaiLookups,
    FakeHubAPI,
    FakeItem,
    FakeLibrary,
    FixedPlanner,
    planned_file,
)

BASES = ("SDXL 1.0", "Flux.1 D", "Pony", "SD 1.5", "Illustrious")
TYPES = ("LORA", "Checkpoint", "TextualInversion", "VAE", "LoCon")
NAMES = (
    "Ink Wash Painting Style",
    "RealVis XL — photographic checkpoint with an unusually long and descriptive name",
    "[bold]Not markup[/bold]",
    "水墨画スタイル LoRA（日本語の名前）",
    "Pixel Art Sprites",
    "アニメ背景 風景画 高品質",
    "Cinematic Lighting",
    "中文模型名称测试 超长的名字会被截断吗",
)
DESCRIPTIONS = (
    "<p>Soft <b>ink wash</b> strokes, works best at 0.7 weight.</p>",
    "<p>Photographic realism for portraits and landscapes; use DPM++ 2M Karras.</p>",
    "<p>[red]remote text[/red] stays literal</p>",
    "<p>日本の水墨画の雰囲気を再現します。重みは0.6〜0.8がおすすめです。</p>",
    "<p>16×16 and 32×32 sprites.</p>",
    "<p>美しいアニメ風の背景を生成します。</p>",
    "",
    "<p>一个用于测试宽字符布局的描述。</p>",
)


def fixed_model(i: int) -> CivitaiModel:
    """Model `i` (1-based) of an endless but fixed catalogue."""
    k = (i - 1) % len(NAMES)
    versions = tuple(
        CivitaiVersion(
            id=i * 100 + v,
            name=f"v{v}.0" if v > 1 else "v1.0 初版",
            model_id=i,
            base_model=BASES[(i + v) % len(BASES)],
            published_at=f"2025-0{1 + v % 9}-1{v % 10}T10:00:00Z",
            trained_words=("inkwash style", "sumi-e") if k == 0 else ("水墨画", f"word{i}"),
            files=(
                CivitaiFile(
                    id=i * 1000 + v * 10,
                    name=f"{NAMES[k][:20].strip()}_v{v}.safetensors",
                    primary=True,
                    size_kb=144_000.0 + v,
                    format="SafeTensor",
                    fp="fp16",
                    pickle_scan="Success",
                    virus_scan="Success",
                ),
                CivitaiFile(
                    id=i * 1000 + v * 10 + 1,
                    name=f"model{i}_v{v}.ckpt",
                    size_kb=2_100_000.0,
                    format="PickleTensor",
                    fp="fp32",
                    type="Model",
                    pickle_scan="Pending",
                ),
            ),
            images=(
                CivitaiImage(url=f"https://image.example/{i}/{v}/a.jpeg", nsfw_level=1),
                CivitaiImage(url=f"https://image.example/{i}/{v}/b.jpeg", nsfw_level=1),
            ),
        )
        for v in range(12 if k == 0 else 2, 0, -1)
    )
    return CivitaiModel(
        id=i,
        name=NAMES[k] if i <= len(NAMES) else f"{NAMES[k]} #{i}",
        type=TYPES[i % len(TYPES)],
        description=DESCRIPTIONS[k],
        creator="ink_artist" if k == 0 else "作者",
        tags=("style", "ink", "水墨") if k == 0 else ("anime", "背景"),
        stats=CivitaiStats(
            downloads=(i * 7919) % 250_000, likes=(i * 613) % 9000, rating=4.0 + (i % 10) / 10
        ),
        versions=versions,
    )


@dataclass
class FixedCivitai(CivitaiLookups):
    """Serves `total` fixed models, `per_page` a page; no clocks, no randomness."""

    total: int = 60
    per_page: int = 30
    searches: int = 0
    cache: dict[int, CivitaiModel] = field(default_factory=dict)

    def get(self, i: int) -> CivitaiModel:
        """Model `i`, built once."""
        model = self.cache.get(i)
        if model is None:
            model = self.cache[i] = fixed_model(i)
        return model

    async def search(self, params: Any) -> SearchPage:
        """A page from the cursor (a plain offset)."""
        self.searches += 1
        await asyncio.sleep(0)
        start = int(params.cursor or 0)
        stop = min(self.total, start + self.per_page)
        items = tuple(self.get(i) for i in range(start + 1, stop + 1))
        return SearchPage(items, str(stop) if stop < self.total else None)

    async def model(self, model_id: int) -> CivitaiModel:
        """The full model."""
        await asyncio.sleep(0)
        return self.get(model_id)

    def known_ids(self) -> Iterable[int]:
        return range(1, self.total + 1)


def queue_items() -> list[FakeItem]:
    """One row in each state a user meets."""
    gib = 1024**3
    return [
        FakeItem(
            1, "Ink Wash Painting Style", "ink_wash_v12.safetensors", "running", 0, 152_000_000
        ),
        FakeItem(2, "RealVis XL", "realvisxl_v50.safetensors", "verifying", 6 * gib, 6 * gib),
        FakeItem(
            3, "水墨画スタイル LoRA", "sumie_lora.safetensors", "paused", 40_000_000, 150_000_000
        ),
        FakeItem(4, "Pixel Art Sprites", "pixel_sprites.safetensors", "pending", 0, 80_000_000),
        FakeItem(
            5,
            "Flux.1 dev",
            "flux1-dev.safetensors",
            "failed",
            0,
            23 * gib,
            error="error.disk_space",
        ),
        FakeItem(6, "Cinematic Lighting", "cinematic.safetensors", "done", 90_000_000, 90_000_000),
        FakeItem(7, "Old model", "old.ckpt", "cancelled", 1_000, 2_000_000_000),
    ]


INK = "civitai:1@100"
CLIP = "hf:comfyanonymous/flux_text_encoders/clip_l.safetensors"
AE = "hf:black-forest-labs/FLUX.1-dev/ae.safetensors"
PIXEL = "civitai:5@500"
RETIRED = "civitai:99@9900"
INK_SHA = "1" * 64


def list_planner() -> FixedPlanner:
    """What Civitai and the Hub say about the fixed lists' items."""
    return FixedPlanner(
        files={
            INK: [planned_file(INK, "Ink_Wash_v1.safetensors", sha256=INK_SHA)],
            CLIP: [planned_file(CLIP, "clip_l.safetensors", sha256="2" * 64)],
            AE: [planned_file(AE, "ae.safetensors")],
            PIXEL: [planned_file(PIXEL, "Pixel_Art_v1.safetensors", sha256="3" * 64)],
        },
        gone={RETIRED},
    )


def list_queue() -> list[FakeItem]:
    """The queue rows the Lists screen sees: the text encoder is on its way."""
    return [
        FakeItem(
            20, "flux_text_encoders", "clip_l.safetensors", "running", 100, 300_000,
            model_id="comfyanonymous/flux_text_encoders", source="huggingface",
            version_id="main", file_id="clip_l.safetensors",
            dedupe_key="hf:comfyanonymous/flux_text_encoders@main:clip_l.safetensors",
        )
    ]  # fmt: skip


async def fill_lists(db_path: Path, models: Path) -> None:
    """Three lists (one empty, one with a CJK name), two files on disk, fixed times."""
    clock = iter(float(n) for n in range(1_700_000_000, 1_700_000_100))
    db = await Database(db_path).open()
    try:
        store = ListStore(db, clock=lambda: next(clock))
        await store.add_items(
            "Flux pod kit",
            [
                ListEntry(INK, title="Ink Wash Painting Style · v1.0"),
                ListEntry(CLIP, note="text encoder"),
                ListEntry(AE, title="FLUX.1 dev VAE"),
                ListEntry(PIXEL, "*.safetensors", "for the sprites", "Pixel Art Sprites · v5.0"),
                ListEntry(RETIRED, title="[bold]Retired[/bold] LoRA"),
            ],
            create=True,
        )
        await store.add_items("Wishlist", [ListEntry(INK)], create=True)
        await store.create("水墨画 コレクション")
        queue = QueueStore(db, lambda: 1_700_000_000.0)
        for source, model, version, file_id, name, size, sha, folder in (
            ("civitai", "1", "100", "1000", "Ink_Wash_v1.safetensors", 144_000_000, INK_SHA, "Lora"),
            ("huggingface", "black-forest-labs/FLUX.1-dev", "main", "ae.safetensors",
             "ae.safetensors", 335_000_000, None, "VAE"),
        ):  # fmt: skip
            path = models / folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as fh:
                fh.truncate(size)  # sparse: the size is what counts
            await queue.record_landed(
                Landed(source, model, version, file_id, name, "LORA", "", str(path), size, sha,
                       sha is not None)
            )  # fmt: skip
    finally:
        await db.close()


def fixed_hub() -> FakeHubAPI:
    """Every catalogue repo with sizes that never change; the Flux repos refuse a missing token."""
    repos: dict[str, list[HubFile]] = {}
    for pkg in load_catalogue().packages:
        for f in pkg.files:
            size = (zlib.crc32(f.path.encode()) % 9000 + 40) * 1024 * 1024
            repos.setdefault(pkg.repo, []).append(HubFile(pkg.repo, f.path, size))
    gated = {
        repo: AuthError("hub.error.gated", repo=repo, url=f"https://hub.example/{repo}")
        for repo in ("black-forest-labs/FLUX.1-dev", "black-forest-labs/FLUX.1-schnell")
    }
    return FakeHubAPI(
        {repo: HubRepo(repo, files=tuple(files)) for repo, files in repos.items()}, gated=gated
    )


def fixed_library(root: str = "/workspace/models") -> FakeLibrary:
    """A models folder of a few landed files, one copied in by hand, a duplicate and a leftover."""
    gib = 1024**3
    sha = "d" * 64

    def f(rel: str, size: int, kind: str = "model", **kw: Any) -> LocalFile:
        return LocalFile(f"{root}/{rel}", size, 0.0, kind, **kw)

    return FakeLibrary(
        Path(root),
        [
            f("Stable-diffusion/realvisxl_v50.safetensors", int(6.5 * gib), source="civitai",
              type="Checkpoint", base_model="SDXL 1.0", sha256="e" * 64),
            f("Stable-diffusion/flux1-dev.safetensors", int(22.2 * gib), source="huggingface",
              type="DiffusionModel", base_model="Flux.1 D"),
            f("Lora/ink_wash_v12.safetensors", 152_000_000, source="civitai", type="LORA",
              base_model="SDXL 1.0", sha256=sha),
            f("Lora/ink_wash_copy.safetensors", 152_000_000, source="civitai", type="LORA",
              base_model="SDXL 1.0", sha256=sha),
            f("Lora/sumie_lora.safetensors", 150_000_000, source="civitai", type="LORA",
              base_model="Pony"),
            f("text_encoder/t5xxl_fp8_e4m3fn.safetensors", int(4.9 * gib), source="huggingface",
              type="TextEncoder"),
            f("VAE/ae.safetensors", 335_000_000, source="huggingface", type="VAE"),
            f("Stable-diffusion/wget_model.ckpt", int(2.1 * gib), type="Checkpoint"),
            f("Lora/ink_wash_v12.civitai.info", 48_000, "sidecar"),
            f("Lora/ink_wash_v12.preview.png", 310_000, "sidecar"),
            f("Lora/half.safetensors.part", 61_000_000, "partial"),
        ],
    )  # fmt: skip


LIBRARY_ROOT = Path("/workspace/models")
MB = 1024 * 1024


def library_snapshot() -> LibrarySnapshot:
    """A models folder with one of each thing the Library shows (fixed sizes, hashes, versions)."""

    def f(rel: str, size: int, **kw: Any) -> LocalFile:
        return LocalFile(str(LIBRARY_ROOT / rel), size, 1.7e9, classify(rel), **kw)

    ink = {
        "source": "civitai",
        "type": "LORA",
        "name": NAMES[0],
        "model_id": "1",
        "version_id": "101",
        "base_model": "SD 1.5",
        "sha256": "a1" * 32,
        "lookup": "found",
    }
    files = [
        f("Lora/inkWash_v10.safetensors", 151 * MB, **ink),
        f("Lora/inkWash_v10.civitai.info", 9_000),
        f("Lora/inkWash_v10.preview.png", 410_000),
        f("Lora/backup/inkWash_v10 (copy).safetensors", 151 * MB, **ink),
        f("Stable-diffusion/realvisxl_v50.safetensors", 6617 * MB, source="civitai",
          type="Checkpoint", name=NAMES[1], model_id="2", version_id="202",
          base_model="SDXL 1.0", sha256="b2" * 32, verified=True),
        f("text_encoder/t5xxl_fp16.safetensors", 9334 * MB, source="huggingface",
          type="TextEncoder", name="comfyanonymous/flux_text_encoders",
          model_id="comfyanonymous/flux_text_encoders", version_id="main",
          file_id="t5xxl_fp16.safetensors", sha256="c3" * 32, verified=True),
        f("Lora/my_sdxl_style.safetensors", 218 * MB, type="LORA", base_model="SDXL 1.0",
          sha256="d4" * 32, lookup="unknown", header="ok"),
        f("Lora/[bold]Not markup[/bold].safetensors", 37 * MB, type="LORA",
          sha256="e5" * 32, lookup="unknown", header="bare"),
        f("Stable-diffusion/水墨画モデル_v3.safetensors", 2034 * MB, type="Checkpoint"),
        f("Stable-diffusion/broken.safetensors", 12 * MB, type="Checkpoint",
          sha256="f6" * 32, lookup="unknown", header="unreadable"),
        f("Lora/pixel_sprites.safetensors.part", 40 * MB),
        f("Lora/pixel_sprites.safetensors.part.json", 700),
    ]  # fmt: skip
    versions = {
        "1": ModelVersions("1", tuple((str(100 + v), f"v{v}.0", False) for v in range(12, 0, -1))),
        "2": ModelVersions("2", (("202", "v2.0", False), ("201", "v1.0 初版", False))),
    }
    return LibrarySnapshot(LIBRARY_ROOT, files, 1.7e9, versions)
