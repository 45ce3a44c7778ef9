"""The Library with 20,000 files in a few hundred folders: sizes on screen in < 3 s, the cursor in
< 20 ms a key (median and p95), and a second `modella scan` that reads no unchanged file.

    .venv/bin/python benchmarks/library.py [--files 20000] [--presses 300] [--json]

The files are sparse (made with `truncate`, 4 KiB to 1 MiB each, ~4 GB in all), so the first scan
really hashes every byte without filling the disk. Everything runs in this process:

- `modella scan --offline` three times through the real command (`modella_tui.cli.main`), with
  `os.open`, `open`, `os.read` and `os.readv` counted for paths under the models folder: a cold
  scan, a second one (no file may be opened), and one after touching 10 files (only those).
  Offline, because 20,000 by-hash look-ups would measure the network, not the library.
- The app, headless: time from pressing `5` to the tree showing the totals of all files, first
  with an empty state database (the folder is walked and stored) and then with the database the
  scans filled (the stored sizes show at once, the walk follows).
- Cursor keys in the Library once its scan is done, with the biggest group (thousands of files)
  open: time from posting each key to the frame it produces (as `ui_grid.py` measures the grid).
"""

from __future__ import annotations

import argparse
import asyncio
import builtins
import contextlib
import io
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work" / "library"
sys.path.insert(0, str(ROOT / "benchmarks"))

import _keys  # noqa: E402

SIZES_BAR_S = 3.0
KEY_BAR_MS = 20.0
FOLDERS = {
    "Lora": 160, "Stable-diffusion": 40, "embeddings": 30, "VAE": 10, "ControlNet": 20,
    "ESRGAN": 10, "text_encoder": 10, "Other": 20,
}  # fmt: skip
EXTS = (".safetensors",) * 8 + (".ckpt", ".pt")


def make_folder(root: Path, count: int) -> int:
    """`count` sparse files spread over the folders above, some sidecars and partial files."""
    rng = random.Random(20_000)
    shutil.rmtree(root, ignore_errors=True)
    folders = [root / top / f"set{n:03d}" for top, n_sub in FOLDERS.items() for n in range(n_sub)]
    for folder in folders:
        folder.mkdir(parents=True)
    total = 0
    for n in range(count):
        folder = folders[n % len(folders)]
        kind = n % 50
        if kind == 0:
            name = f"file{n:05d}.safetensors.part"
        elif kind == 1:
            name = f"file{n - 1:05d}.civitai.info"
        else:
            name = f"file{n:05d}{EXTS[n % len(EXTS)]}"
        size = int(4096 * 2 ** (rng.random() * 8))  # 4 KiB .. 1 MiB, log-uniform
        with open(folder / name, "wb") as fh:
            fh.truncate(size)
        total += size
    return total


class Reads:
    """Counts opens and bytes read of files under one folder while installed."""

    def __init__(self, root: Path) -> None:
        self.root = str(root)
        self.opens = 0
        self.bytes = 0
        self.paths: list[str] = []

    @contextlib.contextmanager
    def installed(self) -> Iterator[Reads]:
        real_open, real_os_open = builtins.open, os.open
        real_read, real_readv = os.read, os.readv
        fds: set[int] = set()

        def mine(path: Any) -> bool:
            return isinstance(path, (str, os.PathLike)) and os.fspath(path).startswith(self.root)

        def os_open(path: Any, *args: Any, **kwargs: Any) -> int:
            fd = real_os_open(path, *args, **kwargs)
            if mine(path):
                self.opens += 1
                self.paths.append(os.fspath(path))
                fds.add(fd)
            return fd

        def py_open(file: Any, *args: Any, **kwargs: Any) -> Any:
            if mine(file):
                self.opens += 1
                self.paths.append(os.fspath(file))
            return real_open(file, *args, **kwargs)

        def read(fd: int, n: int) -> bytes:
            data = real_read(fd, n)
            if fd in fds:
                self.bytes += len(data)
            return data

        def readv(fd: int, buffers: Any) -> int:
            n = real_readv(fd, buffers)
            if fd in fds:
                self.bytes += n
            return n

        os.open, builtins.open, io.open = os_open, py_open, py_open  # type: ignore[assignment]
        os.read, os.readv = read, readv
        try:
            yield self
        finally:
            os.open, builtins.open, io.open = real_os_open, real_open, real_open  # type: ignore[assignment]
            os.read, os.readv = real_read, real_readv


def scan_cli(models: Path) -> tuple[float, Reads, dict[str, Any]]:
    """`modella scan --offline --json` in this process; (seconds, reads, its report)."""
    from modella_tui.cli import main

    out = io.StringIO()
    reads = Reads(models)
    start = time.perf_counter()
    with reads.installed(), contextlib.redirect_stdout(out):
        code = main(["scan", "--offline", "--json"])
    elapsed = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"modella scan exited {code}")
    return elapsed, reads, json.loads(out.getvalue())


async def until(pilot: Any, done: Callable[[], bool], seconds: float = 600) -> None:
    """Let the app work until `done()`."""
    async with asyncio.timeout(seconds):
        while not done():
            await pilot.pause(0.005)


async def time_keys(app: Any, tree: Any, presses: int, run: int = 25) -> list[float]:
    """Milliseconds per cursor key in the tree: `run` downs, then as many ups, again and again."""
    return await _keys.time_keys(
        app, presses, lambda i: "down" if (i // run) % 2 == 0 else "up", lambda: tree.cursor_line
    )


async def run_app(models: Path, home: Path, count: int, presses: int) -> dict[str, Any]:
    """Open the Library; seconds until all sizes show; then cursor keys in a big open group."""
    from textual import events

    from modella_tui.core.config import Settings
    from modella_tui.core.library import LibraryIndex
    from modella_tui.core.store.db import Database
    from modella_tui.ui.app import make_app
    from modella_tui.ui.screens.library import LibraryScreen
    from modella_tui.ui.services import Services

    settings = Settings(
        path=home / "config.toml", env={}, file_data={"models_dir": str(models), "language": "en"}
    )
    db = Database(home / "modella.db")
    library = LibraryIndex(db, lambda: models)
    app = make_app(settings, Services(settings=settings, db=db, library=library))
    out: dict[str, Any] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, app.ready.is_set)
        await pilot.pause()
        start = time.perf_counter()
        # Posted as the terminal would: Pilot.press would also wait for the scan to settle.
        key = events.Key("5", "5")
        key.set_sender(app)
        app._driver.send_message(key)
        await until(pilot, lambda: isinstance(app.screen, LibraryScreen))
        screen = app.screen
        assert isinstance(screen, LibraryScreen)

        def all_sizes() -> bool:
            view = screen.view
            return view is not None and view.file_count == count and screen.files_tree.by_key != {}

        await until(pilot, all_sizes)
        out["sizes_s"] = time.perf_counter() - start
        if screen.scanning:  # hashing in its thread: does the cursor still answer?
            times = await time_keys(app, screen.files_tree, 100, run=1)
            out["during_scan"] = {
                "median_ms": statistics.median(times),
                "p95_ms": _keys.percentile(times, 95),
                "still_scanning": screen.scanning,
            }
        await until(pilot, lambda: screen.last_report is not None and not screen.scanning)
        out["scan_in_app_s"] = time.perf_counter() - start
        await screen.workers.wait_for_complete()
        await pilot.pause()
        tree = screen.files_tree
        view = screen.view
        assert view is not None
        # The biggest group of files (not of groups), opened from the keyboard.
        leaves = [g for top in view.groups for g in _groups(top) if g.files and not g.children]
        biggest = max(leaves, key=lambda g: g.count)
        for key in _ancestors(biggest.key):
            tree.focus_key(key)
            await pilot.pause()
            node = tree.cursor_node
            if node is not None and not node.is_expanded:
                await pilot.press("right")
        tree.focus_key(biggest.key)
        await pilot.pause()
        opened = time.perf_counter()
        await pilot.press("right")
        await pilot.pause()
        out["open_group_ms"] = (time.perf_counter() - opened) * 1000
        out["open_group_files"] = biggest.count
        await pilot.press(*["down"] * 60)
        await pilot.pause()
        out["tree_lines"] = tree.last_line + 1
        times = await time_keys(app, tree, presses)
        out.update(
            presses=presses,
            median_ms=statistics.median(times),
            p95_ms=_keys.percentile(times, 95),
            max_ms=max(times),
        )
    return out


def _ancestors(key: str) -> list[str]:
    parts = key.split("/")
    return ["/".join(parts[:n]) for n in range(1, len(parts))]


def _groups(group: Any) -> Iterator[Any]:
    yield group
    for child in group.children:
        yield from _groups(child)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "nproc": os.cpu_count(),
        "load": [round(x, 2) for x in load],
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def main(argv: list[str] | None = None) -> int:
    """Make the folder, scan three times, open the Library twice; print figures against the bars."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--presses", type=int, default=300)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    models = WORK / "models"
    homes = Path(tempfile.mkdtemp(prefix="modella-bench-library-"))
    os.environ.update(
        MODELLA_HOME=str(homes / "cli"), MODELLA_MODELS_DIR=str(models), MODELLA_LANG="en"
    )
    result: dict[str, Any] = {"machine": machine(), "files": args.files}
    try:
        result["bytes"] = make_folder(models, args.files)
        cold_s, cold, report = scan_cli(models)
        again_s, again, _ = scan_cli(models)
        touched = sorted(models.rglob("*.safetensors"))[:10]
        for path in touched:
            os.utime(path, (time.time(), time.time() + 5))
        touched_s, after_touch, _ = scan_cli(models)
        result["scan"] = {
            "cold": {"s": cold_s, "opens": cold.opens, "bytes_read": cold.bytes,
                     "hashed": report["hashed"]},
            "second": {"s": again_s, "opens": again.opens, "bytes_read": again.bytes},
            "after_touching_10": {"s": touched_s, "opens": after_touch.opens,
                                  "bytes_read": after_touch.bytes,
                                  "files_opened": len(set(after_touch.paths))},
        }  # fmt: skip
        result["app_empty_db"] = asyncio.run(
            run_app(models, homes / "app", args.files, args.presses)
        )
        result["app_known_db"] = asyncio.run(
            run_app(models, homes / "cli", args.files, args.presses)
        )
    finally:
        shutil.rmtree(homes, ignore_errors=True)
    scan2 = result["scan"]["second"]
    worst_sizes = max(result["app_empty_db"]["sizes_s"], result["app_known_db"]["sizes_s"])
    worst_p95 = max(result["app_empty_db"]["p95_ms"], result["app_known_db"]["p95_ms"])
    result["pass"] = (
        worst_sizes < SIZES_BAR_S
        and worst_p95 < KEY_BAR_MS
        and scan2["opens"] == 0
        and scan2["bytes_read"] == 0
        and result["scan"]["after_touching_10"]["files_opened"] == 10
    )
    if args.json:
        print(json.dumps(result, indent=2))
        return 0 if result["pass"] else 1
    _print(result)
    return 0 if result["pass"] else 1


def _print(r: dict[str, Any]) -> None:
    m, s = r["machine"], r["scan"]
    print(f"{r['files']} files, {r['bytes'] / 1e9:.1f} GB (sparse); nproc {m['nproc']}, "
          f"load {m['load']}, Python {m['python']}")  # fmt: skip
    c, a, t = s["cold"], s["second"], s["after_touching_10"]
    print(f"modella scan, cold     : {c['s']:.1f} s, {c['opens']} opens, "
          f"{c['bytes_read'] / 1e9:.2f} GB read, {c['hashed']} hashed")  # fmt: skip
    print(f"modella scan, again    : {a['s']:.2f} s, {a['opens']} opens, {a['bytes_read']} B read")
    print(f"after touching 10 files: {t['s']:.2f} s, {t['opens']} opens of "
          f"{t['files_opened']} files, {t['bytes_read'] / 1e6:.1f} MB read")  # fmt: skip
    for label, key in (("empty database", "app_empty_db"), ("known database", "app_known_db")):
        x = r[key]
        print(f"Library, {label}: sizes in {x['sizes_s']:.2f} s (bar {SIZES_BAR_S:.0f} s, "
              f"×{x['sizes_s'] / SIZES_BAR_S:.2f}); scan done in {x['scan_in_app_s']:.1f} s")  # fmt: skip
        if "during_scan" in x:
            d = x["during_scan"]
            print(f"  cursor key while the scan hashes: median {d['median_ms']:.2f} ms, "
                  f"p95 {d['p95_ms']:.2f} ms (still hashing at the end: {d['still_scanning']})")  # fmt: skip
        print(f"  open a group of {x['open_group_files']} files: {x['open_group_ms']:.0f} ms; "
              f"{x['tree_lines']} lines")  # fmt: skip
        print(f"  cursor key: median {x['median_ms']:.2f} ms, p95 {x['p95_ms']:.2f} ms, "
              f"max {x['max_ms']:.2f} ms (bar {KEY_BAR_MS:.0f} ms: median "
              f"×{x['median_ms'] / KEY_BAR_MS:.3f}, p95 ×{x['p95_ms'] / KEY_BAR_MS:.3f})")  # fmt: skip
    print("PASS" if r["pass"] else "FAIL")


if __name__ == "__main__":
    raise SystemExit(main())
