"""Download benchmarks: `modella download` and the engine against curl and aria2c, on loopback.

Run through `bash benchmarks/run.sh downloads` (it installs nginx, curl and aria2 when missing).
Prints each of the speed bars (defined in benchmarks/README.md) as a ratio against a reference
tool measured in the same run, with PASS/FAIL; exits 0 whatever the figures, 1 only if something
broke.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import math
import os
import platform
import random
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

import _api  # noqa: E402
import _nginx  # noqa: E402
import _tools  # noqa: E402
from _tools import Sample  # noqa: E402

MiB = 1024 * 1024
GiB = 1024 * MiB
CHUNK = 16 * MiB
TOOL_TIMEOUT_S = 600.0
TICK_S = 0.005
SMALL_FILES = 30
# A 1x1 PNG: the preview every benchmark model points at (a sidecar is fetched per file).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@dataclass(frozen=True)
class TestFile:
    """A file nginx serves, with its SHA256 computed once when it was made."""

    name: str
    size: int
    sha256: str


@dataclass
class Timings:
    """Samples per tool, in the order they were measured."""

    runs: dict[str, list[Sample]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def add(self, tool: str, sample: Sample) -> None:
        """Record one run of `tool`."""
        self.runs.setdefault(tool, []).append(sample)

    def median(self, tool: str, what: str = "wall") -> float | None:
        """The median wall time (or `cpu`, or `note` startup) of `tool`; None when it never ran."""
        values = [getattr(s, what) for s in self.runs.get(tool, [])]
        return statistics.median(values) if values else None


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


# ---------------------------------------------------------------- measuring


def measure(
    label: str, tools: dict[str, Callable[[Path], Sample]], runs: int, out_dir: Path
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
                sample = tools[name](out_dir)
            except Exception as exc:
                timings.errors[name] = f"{type(exc).__name__}: {exc}"
                print(f"  {label} {name}: FAILED {timings.errors[name]}", flush=True)
                if not isinstance(exc, (subprocess.SubprocessError, ImportError, RuntimeError)):
                    traceback.print_exc()
                continue
            finally:
                shutil.rmtree(out_dir, ignore_errors=True)
                os.sync()  # pending writeback from one tool must not slow the next
            timings.add(name, sample)
            note = f"   ({sample.note})" if sample.note else ""
            print(
                f"  {label} round {r + 1}: {name:<22} {sample.wall:7.2f} s, CPU {sample.cpu:5.2f} s"
                f"{note}",
                flush=True,
            )
    return timings


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


@dataclass
class Row:
    """One speed bar: a ratio against its bar."""

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


def default_connections() -> int:
    """`connections_per_file` as a fresh install has it (the setting's default)."""
    from modella_tui.core.config import SPEC_BY_KEY

    return int(SPEC_BY_KEY["connections_per_file"].default)


def engine_tool(
    work: Path, items: list[tuple[str, TestFile, str]], conns: int
) -> Callable[[Path], Sample]:
    """The engine in-process (no start-up, no look-ups): from `add` to idle, SHA256 checked."""

    def go(out: Path) -> Sample:
        er = run_engine(work / "engine", items, max_parallel=3, connections=conns)
        return Sample(er.seconds, er.process_cpu, 0.0,
                      note=f"loop thread CPU {er.loop_cpu:.2f} s")  # fmt: skip

    return go


def cli_tool(
    work: Path, api: _api.Api, refs: list[str], expect: Callable[[Path], dict[Path, int]],
    config: Path | None = None, sidecars: bool = False, command: str = "download",
) -> Callable[[Path], Sample]:  # fmt: skip
    """`modella download REF…` as a whole process, a fresh state folder each run.

    With `command="sync"`, `modella sync FILE` of a list file naming the same REFs instead.

    With `sidecars`, every model file must also have its `.civitai.info`, `.preview.png` and Forge
    `.json` when the command returns (they are part of what is timed).
    """

    def go(out: Path) -> Sample:
        shutil.rmtree(work / "cli-home", ignore_errors=True)
        models = out / "models"
        env = _tools.modella_env(work, api.url, models, config)
        api.first_download = None
        start = time.perf_counter()
        files = expect(models)
        if command == "sync":
            kit = work / "sync-list.toml"
            kit.write_text('name = "bench"\n' + "".join(
                f'\n[[items]]\nref = "{ref}"\n' for ref in refs), encoding="utf-8")  # fmt: skip
            s = _tools.modella(["sync", str(kit)], env, files)
        else:
            s = _tools.modella(["download", *refs], env, files)
        if sidecars:
            check_sidecars(files)
        startup = api.first_download - start if api.first_download is not None else None
        note = "" if startup is None else f"start-up to first download request {startup:.2f} s"
        return Sample(s.wall, s.user, s.system, note=note, startup=startup)

    return go


def check_sidecars(files: dict[Path, int]) -> None:
    """Every model file has its three sidecars, the preview a PNG."""
    for path in files:
        stem = path.name.rsplit(".", 1)[0]
        for suffix in (".civitai.info", ".json", ".preview.png"):
            if not (path.parent / f"{stem}{suffix}").is_file():
                raise RuntimeError(f"{path.name}: no {suffix} beside it")
        if not (path.parent / f"{stem}.preview.png").read_bytes().startswith(PNG[:8]):
            raise RuntimeError(f"{path.name}: the preview is not the PNG served")


def hash_rate() -> float:
    """Seconds of hashlib SHA256 CPU per GiB on this machine (64 MiB from memory, scaled)."""
    block = os.urandom(64 * MiB)
    start = time.process_time()
    hashlib.sha256(block).hexdigest()
    return (time.process_time() - start) * GiB / len(block)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Make the files, start nginx and the API server, measure, print the speed bars."""
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
    small_range = (64 * 1024, 256 * 1024) if args.quick else (1 * MiB, 4 * MiB)

    work: Path = args.work.resolve()
    www = work / "www"
    www.mkdir(parents=True, exist_ok=True)
    os.environ["MODELLA_HOME"] = str(work / "home")
    for var in ("HF_TOKEN", "CIVITAI_API_KEY", "CIVITAI_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        os.environ.pop(var, None)  # no credential may reach the benchmark server
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
    rng = random.Random(7)
    small = [
        make_file(www, f"{pre}lora{i:02d}.safetensors", rng.randint(*small_range))
        for i in range(1, SMALL_FILES + 1)
    ]
    (www / "preview.png").write_bytes(PNG)
    warm(www, [big, *stall_files, *small])
    _tools.compile_modella()
    print(f"  ready in {time.perf_counter() - t0:.1f} s", flush=True)

    conns = default_connections()
    out_dir = work / "out"
    one_conn = work / "one-connection.toml"
    one_conn.write_text("connections_per_file = 1\n", encoding="utf-8")
    broken: list[str] = []
    results: dict[str, Any] = {"machine": info, "runs": runs, "quick": args.quick}
    api = _api.Api()
    hashing = hash_rate()

    with _nginx.serve(www, work) as ng, _api.serve(api):
        api.fast = f"http://127.0.0.1:{ng.fast_port}"
        api.slow = f"http://127.0.0.1:{ng.slow_port}"
        for f in (big, mid):
            api.hub[f.name] = _api.Served(f.name, f.size, f.sha256)
        for i, f in enumerate(small, 1):
            api.civitai[i] = _api.Served(f.name, f.size, f.sha256)
        print(
            f"nginx on 127.0.0.1:{ng.fast_port} (unlimited), :{ng.slow_port} (25 MB/s a "
            f"connection); metadata server on {api.url}"
        )

        def sd(f: TestFile) -> Callable[[Path], dict[Path, int]]:
            return lambda models: {models / "Stable-diffusion" / f.name: f.size}

        def loras(models: Path) -> dict[Path, int]:
            return {models / "Lora" / f.name: f.size for f in small}

        print(f"\n[1] {big.size // MiB} MiB, unlimited server", flush=True)
        one = measure(
            "1GiB",
            {
                "curl -o": lambda out: _tools.curl(ng.fast_url(big.name), out / big.name, big.size),
                "curl -o && sync": lambda out: _tools.curl(
                    ng.fast_url(big.name), out / big.name, big.size, sync=True
                ),
                "modella download": cli_tool(work, api, [f"hf:bench/fast/{big.name}"], sd(big)),
                f"engine(c={conns})": engine_tool(
                    work, [(ng.fast_url(big.name), big, big.name)], conns
                ),
            },
            runs,
            out_dir,
        )
        print(f"\n[2] {mid.size // MiB} MiB, 25 MB/s per connection", flush=True)
        two = measure(
            "256MiB",
            {
                "curl -o": lambda out: _tools.curl(ng.slow_url(mid.name), out / mid.name, mid.size),
                "aria2c -x8": lambda out: _tools.aria2(
                    ng.slow_url(mid.name), out / mid.name, mid.size
                ),
                "modella download": cli_tool(work, api, [f"hf:bench/slow/{mid.name}"], sd(mid)),
            },
            runs,
            out_dir,
        )
        total_small = sum(f.size for f in small)
        print(
            f"\n[3] {SMALL_FILES} files, {total_small / MiB:.0f} MiB in all, one command",
            flush=True,
        )
        three = measure(
            "30files",
            {
                # The reference fetches the same Civitai download links a user would hand it
                # (each answers 307 to the storage host), as `modella download` does.
                "aria2c -j3 -i": lambda out: _tools.aria2_list(
                    [
                        f"{api.url}/api/download/models/{100000 + i}"
                        for i in range(1, len(small) + 1)
                    ],
                    out,
                    {f.name: f.size for f in small},
                ),
                "aria2c -j3 -i (storage URLs)": lambda out: _tools.aria2_list(
                    [ng.fast_url(f.name) for f in small], out, {f.name: f.size for f in small}
                ),
                "modella download": cli_tool(
                    work,
                    api,
                    [f"civitai:{i}" for i in range(1, SMALL_FILES + 1)],
                    loras,
                    sidecars=True,
                ),
                "modella sync": cli_tool(
                    work,
                    api,
                    [f"civitai:{i}" for i in range(1, SMALL_FILES + 1)],
                    loras,
                    sidecars=True,
                    command="sync",
                ),
                "engine": engine_tool(
                    work, [(ng.fast_url(f.name), f, f.name) for f in small], conns
                ),
            },
            runs,
            out_dir,
        )
        print(f"\n[4] CPU for {big.size // MiB} MiB on one connection", flush=True)
        four = measure(
            "CPU",
            {
                "modella download c=1": cli_tool(
                    work, api, [f"hf:bench/fast/{big.name}"], sd(big), one_conn
                ),
                "sha256sum": lambda out: _tools.sha256sum_cpu(www / big.name),
            },
            runs,
            out_dir,
        )

        stall: dict[str, Any] = {}
        if not args.skip_stall:
            print(f"\n[5] event loop: 4 x {mid.size // MiB} MiB at full speed, max_parallel=4")
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

    tables = (("1GiB", one), ("256MiB", two), ("30files", three), ("CPU", four))
    for label, tm in tables:
        broken += [f"{label} {k}: {v}" for k, v in tm.errors.items()]
    if "error" in stall:
        broken.append(f"stall: {stall['error']}")

    gib = big.size / GiB
    cli1, sync1, curl1 = (
        one.median("modella download"),
        one.median("curl -o && sync"),
        one.median("curl -o"),
    )
    c2, a2, m2 = two.median("curl -o"), two.median("aria2c -x8"), two.median("modella download")
    a3, m3 = three.median("aria2c -j3 -i"), three.median("modella download")
    cpu_ours = four.median("modella download c=1", "cpu")
    cpu_curl = one.median("curl -o", "cpu")
    cpu_hash = four.median("sha256sum", "cpu")
    reference = None if cpu_curl is None or cpu_hash is None else cpu_curl + cpu_hash
    rows = [
        ratio_row("1 GiB: modella download / (curl -o && sync)", cli1, sync1, "≤ 1.0",
                  lambda r: r <= 1.0),
        ratio_row("256 MiB @25 MB/s/conn: curl / modella download", c2, m2, "≥ 5×",
                  lambda r: r >= 5.0),
        ratio_row("256 MiB @25 MB/s/conn: modella download / aria2c -x8", m2, a2, "≤ 1.2",
                  lambda r: r <= 1.2),
        ratio_row(f"{SMALL_FILES} files: modella download (sidecars too) / aria2c -j3", m3, a3,
                  "≤ 2.0", lambda r: r <= 2.0),
        ratio_row(f"{SMALL_FILES} files: modella sync LIST (sidecars too) / aria2c -j3",
                  three.median("modella sync"), a3, "≤ 2.0", lambda r: r <= 2.0),
        ratio_row("CPU per GiB, 1 connection: modella / (curl + sha256sum)",
                  None if cpu_ours is None else cpu_ours / gib,
                  None if reference is None else reference / gib, "≤ 1.5", lambda r: r <= 1.5),
    ]  # fmt: skip
    for label, tm, tool in (("hf: 1 GiB", one, "modella download"),
                            (f"civitai: x{SMALL_FILES}", three, "modella download")):  # fmt: skip
        st = tm.median(tool, "startup")
        rows.append(Row(f"start-up to first download request ({label})", st, "≤ 0.4 s",
                        None if st is None else st <= 0.4, "process start to the redirect"))  # fmt: skip
    rows.append(ratio_row("  (information) 1 GiB: engine in-process / curl -o",
                          one.median(f"engine(c={conns})"), curl1, "—", lambda r: True))  # fmt: skip
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
    print(f"\nload average before {info['load']}, after {info['load_after']} (a shared machine "
          "skews figures)")  # fmt: skip
    print("median wall times" + (" (QUICK: small files, not comparable)" if args.quick else ""))
    for label, tm in tables:
        for name, samples in tm.runs.items():
            shown = ", ".join(f"{s.wall:.2f}" for s in samples)
            cpu = tm.median(name, "cpu")
            print(
                f"  {label:<8} {name:<22} {fmt(tm.median(name)):>9}   CPU {fmt(cpu):>8}   ({shown})"
            )
    if cpu_ours is not None:
        user = four.median("modella download c=1", "user") or 0.0
        system = four.median("modella download c=1", "system") or 0.0
        print(
            f"\nCPU per GiB, modella on one connection: {cpu_ours / gib:.2f} s = user {user / gib:.2f}"
            f" + system {system / gib:.2f}; of the user time, SHA256 is about {hashing:.2f} s/GiB "
            f"(hashlib here), the rest is Python (start-up, HTTP, buffers) and the interpreter; the "
            f"system time is the kernel's socket receive and page-cache writes. References: curl "
            f"{fmt(cpu_curl)}, sha256sum {fmt(cpu_hash)} per {gib:.2f} GiB."
        )
    print("\nspeed bars")
    for row in rows:
        verdict = "n/a " if row.ok is None else ("PASS" if row.ok else "FAIL")
        unit = " ms" if "stall" in row.what else (" s" if "start-up" in row.what else "")
        figure = "n/a" if row.ratio is None else f"{row.ratio:.2f}{unit}"
        print(f"  {verdict}  {row.what:<62} {figure:>9}  bar {row.bar:<8} {row.detail}")
    if broken:
        print("\nbroken:\n  " + "\n  ".join(broken))

    results.update(
        samples={
            label: {k: [s.__dict__ for s in v] for k, v in tm.runs.items()} for label, tm in tables
        },
        hash_cpu_per_gib=hashing,
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
