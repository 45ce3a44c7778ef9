"""What the dashboard and disk usage screens cost on a large models folder, and the Hub tree's lines.

    .venv/bin/python benchmarks/usage.py [--files 20000] [--runs 5]

Makes a models folder of `--files` small files in a few hundred folders (in a temporary folder),
walks it once into a fresh state database, then times what the screens do: after a download lands
(record that one file, fold it into the kept snapshot, aggregate with `summarize`, draw the three
charts as text), and on a deletion or a return to the screen (read the whole index again); and
what the Hugging Face screen does when it opens: every catalogue line drawn at 110 cells.
Reference in the same run: `os.scandir` over the same folder, the cost of merely listing it.
Medians of `--runs`; nothing here is a pass/fail gate.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from modella_tui.core.hub.packages import load_catalogue
from modella_tui.core.library import LibraryIndex
from modella_tui.core.library_files import walk
from modella_tui.core.store.db import Database
from modella_tui.core.usage import GROUPINGS, group_label, summarize
from modella_tui.ui.hub_lines import LineContext, line
from modella_tui.ui.hub_state import FileNode, HubState, NodeData, PackageNode, PackNode
from modella_tui.ui.usage_data import fold
from modella_tui.ui.widgets.bar_chart import Bar, chart_lines

FOLDERS = ("Lora", "Stable-diffusion", "VAE", "embeddings", "ControlNet", "text_encoder")


def make_folder(root: Path, files: int) -> None:
    """`files` files of a few bytes in about 300 folders, with sidecars and partials mixed in."""
    per_folder = max(1, files // 300)
    made: set[Path] = set()
    for i in range(files):
        folder = root / FOLDERS[i % len(FOLDERS)] / f"set{i // per_folder:03d}"
        if folder not in made:
            folder.mkdir(parents=True, exist_ok=True)
            made.add(folder)
        suffix = (".safetensors", ".civitai.info", ".safetensors.part", ".preview.png")[i % 4]
        (folder / f"model_{i:05d}{suffix}").write_bytes(b"x" * (1 + i % 97))


def median_ms(fn: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


async def median_ms_async(fn: Callable[[], Awaitable[object]], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


async def run(files: int, runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="modella-usage-") as tmp:
        root = Path(tmp) / "models"
        start = time.perf_counter()
        make_folder(root, files)
        print(f"made {files} files in {time.perf_counter() - start:.1f} s")
        listing = median_ms(lambda: sum(1 for _ in walk(root)), runs)
        async with Database(Path(tmp) / "state.db") as db:
            index = LibraryIndex(db, lambda: root)
            first = await median_ms_async(index.refresh, 1)
            snap = await index.snapshot()
            reading = await median_ms_async(index.snapshot, runs)
            aggregate = median_ms(lambda: summarize(snap), runs)
            usage = summarize(snap)

            def charts() -> None:
                for g in GROUPINGS:
                    bars = [
                        Bar(group_label(g, x), x.bytes, x.share(usage.total_bytes))
                        for x in usage.groups[g]
                    ]
                    chart_lines(g, bars, 116)

            drawing = median_ms(charts, runs)
            landed = root / "Lora" / "set000" / "model_00000.safetensors"

            async def landing() -> None:
                entry = await index.record(landed)
                summarize(fold(snap, str(landed), entry))

            after_landing = await median_ms_async(landing, runs)
        state = HubState(load_catalogue())
        ctx = LineContext(lambda kind, repo: "Stable-diffusion/", 18)
        data: list[NodeData] = []
        for pkg in state.catalogue.packages:
            data.append(PackageNode(pkg))
            data.extend(FileNode(p) for p in state.package_picks(pkg))
        for pack in state.catalogue.packs:
            data.append(PackNode(pack))
            data.extend(FileNode(p) for p in state.pack_picks(pack))

        def hub_lines() -> None:
            for d in data:
                line(state, d, 110, ctx)

        hub = median_ms(hub_lines, runs)
    print(f"{'what':<52}{'ms':>10}")
    print(f"{'list the folder (os.scandir walk, reference)':<52}{listing:>10.1f}")
    print(f"{'first walk into the index (refresh)':<52}{first:>10.1f}")
    print(f"{'read the whole index (snapshot): resume, deletions':<52}{reading:>10.1f}")
    print(f"{'aggregate (summarize)':<52}{aggregate:>10.1f}")
    print(f"{'draw the three charts as text':<52}{drawing:>10.1f}")
    print(f"{'a landing: record + fold + summarize':<52}{after_landing:>10.1f}")
    print(f"{f'Hub tree: all {len(data)} catalogue lines at 110 cells':<52}{hub:>10.1f}")
    print(
        f"ratio, a landing's redraw / listing the folder: {(after_landing + drawing) / listing:.2f}"
    )


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("MODELLA_LANG", "en")
    asyncio.run(run(args.files, args.runs))


if __name__ == "__main__":
    main()
