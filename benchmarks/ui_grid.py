"""Speed bars (see benchmarks/README.md): the Civitai grid with 1,000 loaded cards — cursor moves
in < 20 ms a key, and < 100 MB more memory than with 20 cards. Runs the real app headless over
a fake client, in this process.

    .venv/bin/python benchmarks/ui_grid.py [--presses 300] [--json]

Time per key = from posting the key to the app to the next frame it produces (see `time_keys`). Memory = tracemalloc's traced bytes
after loading 20 cards vs 1,000 cards (the same app code, the same process), plus the RSS delta.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `tests.ui.snapdata` holds the fixed catalogue
sys.path.insert(0, str(ROOT / "benchmarks"))

import _keys  # noqa: E402

KEY_BAR_MS = 20.0
MEMORY_BAR_MB = 100.0
KEYS = ("down", "right", "pagedown", "up", "left", "pageup")


def rss_mb() -> float:
    """Resident memory of this process (Linux `/proc`), in MB."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError):
        return float("nan")


async def time_keys(app: Any, grid: Any, presses: int) -> list[float]:
    """Milliseconds per cursor key in the grid (`_keys.time_keys`), the keys of `KEYS` in turn."""
    return await _keys.time_keys(app, presses, lambda i: KEYS[i % len(KEYS)], lambda: grid.cursor)


async def run(cards: int, presses: int) -> dict[str, Any]:
    """Load `cards` cards, then time `presses` cursor keys; returns the figures."""
    from modella_tui.core.config import Settings
    from modella_tui.ui.app import make_app
    from modella_tui.ui.services import Services
    from modella_tui.ui.widgets.card_grid import CardGrid
    from tests.ui.snapdata import FixedCivitai

    home = Path(tempfile.mkdtemp(prefix="modella-bench-"))
    settings = Settings(path=home / "config.toml", env={}, file_data={"models_dir": str(home)})
    civitai = FixedCivitai(total=cards, per_page=100)
    app = make_app(settings, Services(settings=settings, civitai=civitai))
    gc.collect()
    rss_before = rss_mb()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    async with app.run_test(size=(160, 50)) as pilot:
        grid = app.screen.query_one(CardGrid)
        # Infinite scroll loads a page when the cursor nears the end: `end` until all are in.
        for _ in range(cards // 10 + 20):
            await app.workers.wait_for_complete()
            await app.screen.workers.wait_for_complete()
            await pilot.pause()
            if len(grid.cards) >= cards:
                break
            await pilot.press("end")
        loaded = len(grid.cards)
        await pilot.press("home")
        await pilot.pause()
        gc.collect()
        traced = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        rss_after = rss_mb()
        # Start in the middle so every key really moves (no clamping at the edges).
        grid.cursor = loaded // 2
        await pilot.pause()
        times = await time_keys(app, grid, presses)
        await pilot.pause()
    return {
        "cards": loaded,
        "presses": presses,
        "median_ms": statistics.median(times),
        "p95_ms": _keys.percentile(times, 95),
        "max_ms": max(times),
        "traced_mb": traced / 1e6,
        "rss_delta_mb": rss_after - rss_before,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the 20-card reference and the 1,000-card case; print ratios against the bars."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presses", type=int, default=300)
    parser.add_argument("--cards", type=int, default=1000)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    os.environ.setdefault("MODELLA_LANG", "en")
    ref = asyncio.run(run(20, args.presses))
    big = asyncio.run(run(args.cards, args.presses))
    extra_mb = big["traced_mb"] - ref["traced_mb"]
    result = {
        "reference_20": ref,
        "loaded_1000": big,
        "key_median_ratio_to_bar": big["median_ms"] / KEY_BAR_MS,
        "key_p95_ratio_to_bar": big["p95_ms"] / KEY_BAR_MS,
        "key_median_ratio_to_20_cards": big["median_ms"] / ref["median_ms"],
        "extra_traced_mb": extra_mb,
        "extra_memory_ratio_to_bar": extra_mb / MEMORY_BAR_MB,
        "extra_rss_mb": big["rss_delta_mb"] - ref["rss_delta_mb"],
        "pass": big["p95_ms"] < KEY_BAR_MS and extra_mb < MEMORY_BAR_MB,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0 if result["pass"] else 1
    print(f"cursor key, {ref['cards']} cards : median {ref['median_ms']:.2f} ms, "
          f"p95 {ref['p95_ms']:.2f} ms, max {ref['max_ms']:.2f} ms")  # fmt: skip
    print(f"cursor key, {big['cards']} cards: median {big['median_ms']:.2f} ms, "
          f"p95 {big['p95_ms']:.2f} ms, max {big['max_ms']:.2f} ms")  # fmt: skip
    print(f"  vs bar {KEY_BAR_MS:.0f} ms: median ×{result['key_median_ratio_to_bar']:.3f}, "
          f"p95 ×{result['key_p95_ratio_to_bar']:.3f}; vs 20 cards: "
          f"×{result['key_median_ratio_to_20_cards']:.2f}")  # fmt: skip
    print(f"memory, traced: {ref['traced_mb']:.1f} MB (20) → {big['traced_mb']:.1f} MB "
          f"({big['cards']}): +{extra_mb:.1f} MB, ×{result['extra_memory_ratio_to_bar']:.3f} "
          f"of the {MEMORY_BAR_MB:.0f} MB bar; RSS +{result['extra_rss_mb']:.1f} MB")  # fmt: skip
    print("PASS" if result["pass"] else "FAIL")
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
