"""SPEC §8 download benchmarks: Modella's engine against curl and aria2c on a private loopback nginx.

Run through `bash benchmarks/run.sh downloads` (it installs nginx, curl and aria2 when missing).
Prints the §8 rows as ratios with PASS/FAIL; exits 0 whatever the figures, 1 only if something broke.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import inspect
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"
sys.path.insert(0, str(HERE))

import _nginx  # noqa: E402

MiB = 1024 * 1024
GiB = 1024 * MiB
CHUNK = 16 * MiB
TOOL_TIMEOUT_S = 600.0
TICK_S = 0.005


@dataclass(frozen=True)
class TestFile:
    """A file nginx serves, with its SHA256 computed once when it was made."""

    name: str
    size: int
    sha256: str


@dataclass
class Timings:
    """Wall times per tool (seconds), in the order they were measured."""

    runs: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def add(self, tool: str, seconds: float) -> None:
        """Record one run of `tool`."""
        self.runs.setdefault(tool, []).append(seconds)

    def median(self, tool: str) -> float | None:
        """The median wall time of `tool`, or None when it never completed."""
        values = self.runs.get(tool)
        return statistics.median(values) if values else None

    def best(self, tool: str) -> float | None:
        """The fastest run of `tool` (timeit's rule: slower runs measure interference)."""
        values = self.runs.get(tool)
        return min(values) if values else None


# ---------------------------------------------------------------- test files


def make_file(root: Path, name: str, size: int) -> TestFile:
    """Random bytes of `size`; hashed while written, and reused by later runs if unchanged."""
    path = root / name
    sidecar = root / f"{name}.sha256.json"
    with contextlib.suppress(OSError, ValueError, KeyError):
        info = json.loads(sidecar.read_text(encoding="utf-8"))
        st = path.stat()
        if info["size"] == size == st.st_size and info["mtime_ns"] == st.st_mtime_ns:
            return TestFile(name, size, str(info["sha256"]))
    digest = hashlib.sha256()
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        left = size
        while left:
            block = os.urandom(min(CHUNK, left))
            digest.update(block)
            fh.write(block)
            left -= len(block)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    st = path.stat()
    sha = digest.hexdigest()
    sidecar.write_text(
        json.dumps({"size": size, "mtime_ns": st.st_mtime_ns, "sha256": sha}), encoding="utf-8"
    )
    return TestFile(name, size, sha)


def warm(root: Path, files: list[TestFile]) -> None:
    """Read each source file once so every tool finds it in the page cache (nothing is dropped)."""
    for f in files:
        with open(root / f.name, "rb") as fh:
            while fh.read(CHUNK):
                pass


# ---------------------------------------------------------------- reference tools


def _run_tool(cmd: list[str], out: Path, expected: int) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, timeout=TOOL_TIMEOUT_S, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    got = out.stat().st_size
    if got != expected:
        raise RuntimeError(f"{cmd[0]} wrote {got} bytes, expected {expected}")
    return elapsed


def run_curl(url: str, out_dir: Path, f: TestFile) -> float:
    """`curl -s -o` one file; wall time in seconds."""
    out = out_dir / f.name
    return _run_tool(["curl", "-s", "-o", str(out), url], out, f.size)


def run_aria2(url: str, out_dir: Path, f: TestFile) -> float:
    """`aria2c -x8 -s8 -k1M` one file; wall time in seconds."""
    out = out_dir / f.name
    cmd = [
        "aria2c", "--no-conf", "-x8", "-s8", "-k1M", "--file-allocation=none",
        "--allow-overwrite=true", "-q", "-d", str(out_dir), "-o", f.name, url,
    ]  # fmt: skip
    return _run_tool(cmd, out, f.size)


# ---------------------------------------------------------------- the engine


def default_connections() -> int:
    """`connections_per_file` as a fresh install has it (the engine's default, else the setting's)."""
    from modella_tui.core.config import SPEC_BY_KEY

    setting = int(SPEC_BY_KEY["connections_per_file"].default)
    with contextlib.suppress(ImportError, ValueError, TypeError):
        from modella_tui.core.downloads.engine import DownloadEngine

        param = inspect.signature(DownloadEngine).parameters.get("connections_per_file")
        if param is not None and isinstance(param.default, int):
            return param.default
    return setting


@dataclass
class EngineRun:
    """One engine session: wall time from `add` to idle, and the ticker's lateness samples (s)."""

    seconds: float
    lateness: list[float]
    loop_cpu: float = 0.0  # CPU seconds of the event-loop thread during the session
    process_cpu: float = 0.0  # CPU seconds of the whole process (hash and write threads too)


async def _ticker(stop: asyncio.Event, lateness: list[float]) -> None:
    # Sleeps 5 ms again and again; anything past 5 ms is time the loop was busy elsewhere.
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(TICK_S)
        lateness.append(max(0.0, time.perf_counter() - start - TICK_S))


async def engine_session(
    run_dir: Path,
    items: list[tuple[str, TestFile, str]],
    *,
    max_parallel: int,
    connections: int,
    tick: bool = False,
) -> EngineRun:
    """Download `items` (url, file, saved name) through the real engine, headless, SHA256 checked."""
    from modella_tui.core.downloads import engine as engine_mod
    from modella_tui.core.store.db import Database

    models = run_dir / "models"
    target = models / "bench"
    target.mkdir(parents=True, exist_ok=True)
    db = Database(run_dir / "state.db")
    await db.open()
    lateness: list[float] = []
    stop = asyncio.Event()
    ticker: asyncio.Task[None] | None = None
    try:
        engine = engine_mod.DownloadEngine(
            db,
            models_dir=models,
            max_parallel=max_parallel,
            connections_per_file=connections,
            auth_headers=lambda url: {},
        )
        requests = [
            engine_mod.QueueRequest(
                source="huggingface",
                dedupe_key=f"bench:{run_dir.name}:{i}",
                title=f"bench {saved}",
                file_name=saved,
                type="Other",
                base_model="",
                url=url,
                target_dir=target,
                expected_size=f.size,
                sha256=f.sha256,
                model_id=None,
                version_id=None,
                file_id=None,
                meta={},
                allow_pickle=True,
            )
            for i, (url, f, saved) in enumerate(items)
        ]
        if tick:
            ticker = asyncio.create_task(_ticker(stop, lateness))
        start = time.perf_counter()
        cpu0, proc0 = time.thread_time(), time.process_time()
        added = await engine.add(requests)
        await engine.start()
        try:
            # A hung engine must end the benchmark, not stall CI.
            summary = await asyncio.wait_for(engine.run_until_idle(), TOOL_TIMEOUT_S)
            elapsed = time.perf_counter() - start
            loop_cpu, process_cpu = time.thread_time() - cpu0, time.process_time() - proc0
        finally:
            await engine.stop()
    finally:
        stop.set()
        if ticker is not None:
            await ticker
        await db.close()
    if any(a.status != "queued" for a in added):
        raise RuntimeError(f"engine did not queue every file: {[a.status for a in added]}")
    failed = [(i.file_name, i.state, i.error) for i in summary.items if i.state != "done"]
    if failed or summary.exit_code() != 0:
        raise RuntimeError(f"engine did not finish: {failed}")
    for a, (_url, f, saved) in zip(added, items, strict=True):
        landed = Path(a.path or target / saved)
        if not landed.is_file() or landed.stat().st_size != f.size:
            raise RuntimeError(f"engine did not land {saved} at {landed}")
    return EngineRun(elapsed, lateness, loop_cpu, process_cpu)


def run_engine(
    run_dir: Path,
    items: list[tuple[str, TestFile, str]],
    *,
    max_parallel: int,
    connections: int,
    tick: bool = False,
) -> EngineRun:
    """One engine session in a fresh event loop and a fresh database."""
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    try:
        return asyncio.run(
            engine_session(
                run_dir, items, max_parallel=max_parallel, connections=connections, tick=tick
            )
        )
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def idle_lateness(seconds: float = 1.0) -> list[float]:
    """The ticker alone on an idle loop: the floor the stall figures sit on."""

    async def go() -> list[float]:
        lateness: list[float] = []
        stop = asyncio.Event()
        task = asyncio.create_task(_ticker(stop, lateness))
        await asyncio.sleep(seconds)
        stop.set()
        await task
        return lateness

    return asyncio.run(go())


# ---------------------------------------------------------------- measuring


Measured = float | tuple[float, str]  # wall seconds, optionally with a note for the log


def measure(
    label: str, tools: dict[str, Callable[[], Measured]], runs: int, out_dir: Path
) -> Timings:
    """Run every tool `runs` times, rotating their order each round; outputs deleted between runs."""
    timings = Timings()
    names = list(tools)
    for r in range(runs):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            if name in timings.errors:
                continue
            shutil.rmtree(out_dir, ignore_errors=True)
            out_dir.mkdir(parents=True)
            try:
                got = tools[name]()
            except Exception as exc:
                timings.errors[name] = f"{type(exc).__name__}: {exc}"
                print(f"  {label} {name}: FAILED {timings.errors[name]}", flush=True)
                if not isinstance(exc, (subprocess.SubprocessError, ImportError)):
                    traceback.print_exc()
                continue
            finally:
                shutil.rmtree(out_dir, ignore_errors=True)
                os.sync()  # pending writeback from one tool must not slow the next
            seconds, note = got if isinstance(got, tuple) else (got, "")
            timings.add(name, seconds)
            note = f"   ({note})" if note else ""
            print(f"  {label} round {r + 1}: {name:<16} {seconds:7.2f} s{note}", flush=True)
    return timings


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


@dataclass
class Row:
    """One §8 row: a ratio against its bar."""

    what: str
    ratio: float | None
    bar: str
    ok: bool | None
    detail: str


def ratio_row(
    what: str, num: float | None, den: float | None, bar: str, test: Callable[[float], bool]
) -> Row:
    """A row from two medians; n/a when either is missing."""
    if num is None or den is None or den == 0:
        return Row(what, None, bar, None, "n/a (a tool failed)")
    ratio = num / den
    return Row(what, ratio, bar, test(ratio), f"{num:.2f} s / {den:.2f} s")


def machine() -> dict[str, str]:
    """What the figures were measured on."""

    def out(cmd: list[str]) -> str:
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return "n/a"
        return (done.stdout or done.stderr).strip()

    free = out(["free", "-h"]).splitlines()
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"),
        "nproc": out(["nproc"]),
        "memory": " ".join(free[1].split()[1:2]) if len(free) > 1 else "n/a",
        "free -h": " | ".join(" ".join(line.split()) for line in free),
        "arch": platform.machine(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "nginx": out(["nginx", "-v"]).replace("nginx version: ", ""),
        "curl": out(["curl", "--version"]).split("\n")[0].split(" (")[0],
        "aria2": out(["aria2c", "--version"]).split("\n")[0],
    }


def fmt(value: float | None, unit: str = "s") -> str:
    """A figure for the tables."""
    return "n/a" if value is None else f"{value:.2f} {unit}".strip()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Make the files, start nginx, measure, print the §8 rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="measurements per tool (median kept)")
    parser.add_argument("--quick", action="store_true", help="small files, one run: a smoke test")
    parser.add_argument("--skip-stall", action="store_true", help="leave out the event-loop row")
    parser.add_argument(
        "--work", type=Path, default=WORK, help="work folder (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    runs = 1 if args.quick else args.runs
    big_size, mid_size = (64 * MiB, 16 * MiB) if args.quick else (GiB, 256 * MiB)

    work: Path = args.work.resolve()
    www = work / "www"
    www.mkdir(parents=True, exist_ok=True)
    os.environ["MODELLA_HOME"] = str(work / "home")
    os.environ.pop("HF_TOKEN", None)  # no credential may reach the benchmark server
    os.environ.pop("CIVITAI_API_KEY", None)
    # SIGTERM (CI cancelling) unwinds like Ctrl-C so nginx is stopped by its context manager.
    signal.signal(signal.SIGTERM, _interrupt)

    info = machine()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items() if k != "free -h"))
    print(f"making test files in {www} ...", flush=True)
    t0 = time.perf_counter()
    pre = "quick-" if args.quick else ""  # own names, so a smoke test keeps the big files
    big = make_file(www, f"{pre}big.safetensors", big_size)
    mid = make_file(www, f"{pre}mid.safetensors", mid_size)
    stall_files = [mid] + [
        make_file(www, f"{pre}stall{i}.safetensors", mid_size) for i in (2, 3, 4)
    ]
    warm(www, [big, *stall_files])
    print(f"  ready in {time.perf_counter() - t0:.1f} s", flush=True)

    conns = default_connections()
    out_dir = work / "out"
    broken: list[str] = []
    results: dict[str, Any] = {"machine": info, "runs": runs, "quick": args.quick}

    with _nginx.serve(www, work) as ng:
        print(
            f"nginx on 127.0.0.1:{ng.fast_port} (unlimited), :{ng.slow_port} (25 MB/s a connection)"
        )

        def eng(url: str, f: TestFile, c: int) -> Callable[[], Measured]:
            def go() -> Measured:
                items = [(url, f, f.name)]
                er = run_engine(work / "engine", items, max_parallel=3, connections=c)
                note = f"loop thread CPU {er.loop_cpu:.2f} s, process CPU {er.process_cpu:.2f} s"
                return er.seconds, note

            return go

        print(f"\n[1] {big.size // MiB} MiB, unlimited server", flush=True)
        one = measure(
            "1GiB",
            {
                "curl": lambda: run_curl(ng.fast_url(big.name), out_dir, big),
                f"engine(c={conns})": eng(ng.fast_url(big.name), big, conns),
            },
            runs,
            out_dir,
        )
        print(f"\n[2] {mid.size // MiB} MiB, 25 MB/s per connection", flush=True)
        two_tools: dict[str, Callable[[], Measured]] = {
            "curl": lambda: run_curl(ng.slow_url(mid.name), out_dir, mid),
            "aria2c -x8": lambda: run_aria2(ng.slow_url(mid.name), out_dir, mid),
            f"engine(c={conns})": eng(ng.slow_url(mid.name), mid, conns),
        }
        if conns != 8:
            two_tools["engine(c=8)"] = eng(ng.slow_url(mid.name), mid, 8)
        two = measure("256MiB", two_tools, runs, out_dir)

        stall: dict[str, Any] = {}
        if not args.skip_stall:
            print(f"\n[3] event loop: 4 x {mid.size // MiB} MiB at full speed, max_parallel=4")
            floor = idle_lateness()
            stall["idle_max_ms"] = max(floor) * 1000
            stall["idle_p99_ms"] = percentile(floor, 99) * 1000
            stall["runs"] = []
            items = [
                (ng.fast_url(f.name), f, f"par{i}.safetensors")
                for i, f in enumerate(stall_files, 1)
            ]
            for r in range(runs):
                try:
                    er = run_engine(
                        work / "engine", items, max_parallel=4, connections=conns, tick=True
                    )
                except Exception as exc:
                    stall["error"] = f"{type(exc).__name__}: {exc}"
                    print(f"  FAILED {stall['error']}", flush=True)
                    if not isinstance(exc, ImportError):
                        traceback.print_exc()
                    break
                finally:
                    os.sync()
                one_run = {
                    "seconds": er.seconds,
                    "ticks": len(er.lateness),
                    "max_ms": max(er.lateness, default=0.0) * 1000,
                    "p99_ms": percentile(er.lateness, 99) * 1000 if er.lateness else 0.0,
                }
                stall["runs"].append(one_run)
                print(
                    f"  round {r + 1}: {er.seconds:6.2f} s for {4 * mid.size // MiB} MiB in all, "
                    f"{one_run['ticks']} ticks, max {one_run['max_ms']:.1f} ms, "
                    f"p99 {one_run['p99_ms']:.1f} ms; loop thread CPU {er.loop_cpu:.2f} s",
                    flush=True,
                )

    for label, tm in (("1GiB", one), ("256MiB", two)):
        broken += [f"{label} {k}: {v}" for k, v in tm.errors.items()]
    if "error" in stall:
        broken.append(f"stall: {stall['error']}")

    e1, c1 = one.median(f"engine(c={conns})"), one.median("curl")
    c2, a2 = two.median("curl"), two.median("aria2c -x8")
    e2 = two.median(f"engine(c={conns})")
    e2_8 = two.median("engine(c=8)") if conns != 8 else e2
    rows = [
        ratio_row(
            f"1 GiB: engine(c={conns}, SHA256) / curl -o", e1, c1, "≤ 1.0", lambda r: r <= 1.0
        ),
        ratio_row(
            f"256 MiB @25 MB/s/conn: curl / engine(c={conns})", c2, e2, "≥ 5×", lambda r: r >= 5.0
        ),
        ratio_row(
            f"256 MiB @25 MB/s/conn: engine(c={conns}) / aria2c -x8",
            e2,
            a2,
            "≤ 1.2",
            lambda r: r <= 1.2,
        ),
    ]
    # On this kind of VM a 1 GiB write into the page cache takes 0.2 s or 2+ s of system time at
    # random (a bare pwrite loop shows it), for curl and the engine alike: the best runs compare the
    # tools' own costs, so that row is shown too, beside the median.
    rows.append(
        ratio_row(
            f"  (best of runs) 1 GiB: engine(c={conns}) / curl -o",
            one.best(f"engine(c={conns})"),
            one.best("curl"),
            "≤ 1.0",
            lambda r: r <= 1.0,
        )
    )
    if conns != 8:
        rows += [
            ratio_row("  (same, engine c=8) curl / engine", c2, e2_8, "≥ 5×", lambda r: r >= 5.0),
            ratio_row(
                "  (same, engine c=8) engine / aria2c", e2_8, a2, "≤ 1.2", lambda r: r <= 1.2
            ),
        ]
    if stall.get("runs"):
        max_ms = statistics.median(r["max_ms"] for r in stall["runs"])
        p99_ms = statistics.median(r["p99_ms"] for r in stall["runs"])
        worst = max(r["max_ms"] for r in stall["runs"])
        rows += [
            Row("4 downloads: event-loop stall max", max_ms, "< 50 ms", max_ms < 50,
                f"median of {len(stall['runs'])}, worst {worst:.1f} ms"),
            Row("4 downloads: event-loop stall p99", p99_ms, "< 20 ms", p99_ms < 20,
                f"idle loop: max {stall['idle_max_ms']:.2f} ms"),
        ]  # fmt: skip

    info["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\nload average before {info['load']}, after {info['load_after']} (other work skews figures)"
    )
    print("median wall times" + (" (QUICK: small files, not comparable)" if args.quick else ""))
    for label, tm in (("1GiB", one), ("256MiB", two)):
        for name, values in tm.runs.items():
            shown = ", ".join(f"{v:.2f}" for v in values)
            print(f"  {label:<7} {name:<16} {fmt(tm.median(name)):>9}   ({shown})")
    print("\nSPEC §8 rows")
    for row in rows:
        verdict = "n/a " if row.ok is None else ("PASS" if row.ok else "FAIL")
        unit = " ms" if "stall" in row.what else ""
        figure = "n/a" if row.ratio is None else f"{row.ratio:.2f}{unit}"
        print(f"  {verdict}  {row.what:<52} {figure:>9}  bar {row.bar:<8} {row.detail}")
    if broken:
        print("\nbroken:\n  " + "\n  ".join(broken))

    results.update(
        medians={
            "1GiB": {k: one.median(k) for k in one.runs},
            "256MiB": {k: two.median(k) for k in two.runs},
        },
        samples={"1GiB": one.runs, "256MiB": two.runs},
        stall=stall,
        rows=[row.__dict__ for row in rows],
        broken=broken,
    )
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = work / f"results-{stamp}.json"
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"\nresults: {out}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
