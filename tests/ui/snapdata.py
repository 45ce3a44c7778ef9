"""Fixed data for snapshot tests and benchmarks: models, versions and queue rows that never change."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modella_tui.core.library import LibrarySnapshot, LocalFile, ModelVersions, classify
from modella_tui.core.models import (
    CivitaiFile,
    CivitaiImage,
    CivitaiModel,
    CivitaiStats,
    CivitaiVersion,
    SearchPage,
)
from tests.ui.fakes import CivitaiLookups, FakeItem

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
