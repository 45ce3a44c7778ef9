"""Whole processes timed for the download benchmarks: curl, aria2c, sha256sum and `modella`.

Each run returns its wall time and the CPU (user + system) the process and its children used,
from `getrusage(RUSAGE_CHILDREN)` around it.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

TOOL_TIMEOUT_S = 600.0
HERE = Path(__file__).resolve().parent
MODELLA = Path(sys.executable).with_name("modella")


@dataclass(frozen=True)
class Sample:
    """One timed run: wall seconds, CPU seconds (user, system), and a note for the log."""

    wall: float
    user: float = 0.0
    system: float = 0.0
    note: str = ""
    startup: float | None = None  # seconds from process start to the first download request

    @property
    def cpu(self) -> float:
        """User plus system CPU seconds."""
        return self.user + self.system


def timed(cmd: Sequence[str], env: dict[str, str] | None = None) -> Sample:
    """Run `cmd` to the end (exit 0 required); its wall time and CPU."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        list(cmd), timeout=TOOL_TIMEOUT_S, stdin=subprocess.DEVNULL, env=env,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{cmd[0]} exited {done.returncode}: {' | '.join(tail)}")
    return Sample(wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime)


def check_sizes(files: dict[Path, int]) -> None:
    """Every output exists with its expected size."""
    for path, size in files.items():
        got = path.stat().st_size if path.is_file() else -1
        if got != size:
            raise RuntimeError(f"{path.name}: {got} bytes on disk, expected {size}")


def curl(url: str, out: Path, size: int, *, sync: bool = False) -> Sample:
    """`curl -s -o OUT URL`, or `curl -s -o OUT URL && sync OUT` (the file made durable)."""
    if sync:
        sample = timed(["sh", "-c", 'curl -s -o "$1" "$2" && sync "$1"', "sh", str(out), url])
    else:
        sample = timed(["curl", "-s", "-o", str(out), url])
    check_sizes({out: size})
    return sample


def aria2(url: str, out: Path, size: int) -> Sample:
    """`aria2c -x8 -s8 -k1M` one file."""
    sample = timed([
        "aria2c", "--no-conf", "-x8", "-s8", "-k1M", "--file-allocation=none",
        "--allow-overwrite=true", "-q", "-d", str(out.parent), "-o", out.name, url,
    ])  # fmt: skip
    check_sizes({out: size})
    return sample


def aria2_list(urls: list[str], out_dir: Path, sizes: dict[str, int]) -> Sample:
    """`aria2c -j3 -i URLS`: many files, three at a time."""
    listing = out_dir / "urls.txt"
    # Each URL with the name its file must have (a redirect's target need not end in it).
    names = list(sizes)
    listing.write_text(
        "".join(f"{url}\n  out={name}\n" for url, name in zip(urls, names, strict=True)),
        encoding="utf-8",
    )
    sample = timed([
        "aria2c", "--no-conf", "-j3", "--file-allocation=none", "--allow-overwrite=true",
        "-q", "-d", str(out_dir), "-i", str(listing),
    ])  # fmt: skip
    check_sizes({out_dir / name: size for name, size in sizes.items()})
    return sample


def sha256sum_cpu(path: Path) -> Sample:
    """coreutils `sha256sum` of a file (its CPU is the hashing share of the CPU bar)."""
    return timed(["sha256sum", str(path)])


def compile_modella() -> None:
    """Byte-compile the installed package once, so no measured run pays for it."""
    import modella_tui

    subprocess.run(
        [str(MODELLA.with_name("python")), "-m", "compileall", "-q",
         str(Path(modella_tui.__file__).parent)],
        check=True,
    )  # fmt: skip


def modella_env(work: Path, api_url: str, models: Path, config: Path | None) -> dict[str, str]:
    """A fresh state folder and models folder; both services at the benchmark's API server."""
    # PYTHONDONTWRITEBYTECODE (set in some sandboxes) would make every run compile Modella's
    # modules again (~60 ms); an installed package has its byte code, as a user's does.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HF_", "CIVITAI_", "MODELLA_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        MODELLA_HOME=str(work / "cli-home"),
        MODELLA_MODELS_DIR=str(models),
        MODELLA_CIVITAI_URL=api_url,
        HF_ENDPOINT=api_url,
        HF_HOME=str(work / "hf-home-empty"),  # no stored token may reach the benchmark server
        LANG="C.UTF-8",
    )
    if config is not None:
        env["MODELLA_CONFIG"] = str(config)
    return env


def modella(args: list[str], env: dict[str, str], expect: dict[Path, int]) -> Sample:
    """`modella ARGS…` (`download REF…`, `sync FILE`) as a user runs it; every expected file must
    land whole."""
    sample = timed([str(MODELLA), *args], env)
    check_sizes(expect)
    return sample
