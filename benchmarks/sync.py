"""`modella sync` of a list of 30 small files (1–4 MB, like a set of LoRAs), against `aria2c -j3 -i`.

    .venv/bin/python benchmarks/sync.py [--runs 3] [--files 30]

Both fetch the same files through the same Civitai-shaped API (the download URL answers 307 to a
signed storage URL) from the project's fake hub on 127.0.0.1, each into an empty folder:

- `modella sync kit.toml`: the whole CLI process in a fresh state folder — start-up, reading the list,
  30 resolves (four at a time), queueing, downloading with SHA256 checks, sidecars (`.civitai.info`,
  `.preview.png`, Forge's `.json`), the summary. The bar: at most 2× aria2c's wall time.
- `aria2c -j3 -i urls.txt`: three downloads at a time, no hashing, no metadata, no sidecars.
- A second `modella sync` in the same state folder: everything is already here, so it resolves and
  exits; the fake hub's byte counter proves no file byte moved.

The fake hub is a Python server, slower than nginx and sharing the two cores with the client, so
the absolute figures are small-server figures; the ratio is what to read. Prints medians and writes
nothing outside a temporary folder. Needs `aria2c` (Debian: `apt-get install aria2`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.catalog import MIB, Catalog, CModel, default_catalog  # noqa: E402
from tests.fakes.fakehub import FakeHub  # noqa: E402

BAR = 2.0


def make_catalog(count: int) -> tuple[list[CModel], Catalog]:
    """The fake hub's catalogue plus `count` one-file LoRAs of 1 to 4 MiB."""
    catalog = default_catalog()
    models = [
        catalog.add_simple_model(f"Bench LoRA {n}", size=MIB + (n * 3 * MIB) // max(1, count - 1))
        for n in range(count)
    ]
    return models, catalog


def run(
    cmd: list[str], env: dict[str, str], cwd: Path
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall time of one command, and how it ended."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, proc


def file_bytes(hub: FakeHub) -> int:
    """Model-file bytes the fake hub has sent (API answers not counted)."""
    return sum(r.bytes_sent for r in hub.log if r.blob_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--files", type=int, default=30)
    args = parser.parse_args(argv)
    if shutil.which("aria2c") is None:
        print("aria2c is missing: apt-get install aria2", file=sys.stderr)
        return 1
    models, catalog = make_catalog(args.files)
    total = sum(m.versions[0].files[0].blob.size for m in models)
    modella = [sys.executable, "-m", "modella_tui"]
    times: dict[str, list[float]] = {"sync": [], "aria2c": [], "again": []}
    moved_again: list[int] = []
    with FakeHub(catalog) as hub, tempfile.TemporaryDirectory(prefix="modella-sync-") as tmp:
        work = Path(tmp)
        kit = work / "kit.toml"
        kit.write_text(
            'name = "bench"\n' + "".join(f'\n[[items]]\nref = "civitai:{m.id}"\n' for m in models),
            encoding="utf-8",
        )
        urls = work / "urls.txt"
        urls.write_text(
            "".join(
                f"{hub.civitai_file_url(m.versions[0].id)}\n  out={m.versions[0].files[0].name}\n"
                for m in models
            ),
            encoding="utf-8",
        )
        # PYTHONDONTWRITEBYTECODE (set in some sandboxes) would make every run compile Modella's
        # modules again; an installed package has its byte code, as a user's does.
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("MODELLA_", "CIVITAI_", "HF_TOKEN", "XDG_"))
            and k != "PYTHONDONTWRITEBYTECODE"
        }
        base |= {"MODELLA_CIVITAI_URL": hub.civitai_url, "HF_ENDPOINT": hub.hub_url}
        base |= {"HF_HOME": str(work / "hf-home"), "LANG": "C.UTF-8"}
        for n in range(args.runs):
            pod = work / f"pod{n}"
            env = base | {
                "MODELLA_HOME": str(pod / "state"),
                "MODELLA_MODELS_DIR": str(pod / "models"),
            }
            pod.mkdir()
            seconds, proc = run([*modella, "sync", str(kit)], env, pod)
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return 1
            times["sync"].append(seconds)
            before = file_bytes(hub)
            seconds, proc = run([*modella, "sync", str(kit)], env, pod)
            times["again"].append(seconds)
            moved_again.append(file_bytes(hub) - before)
            out = work / f"aria{n}"
            out.mkdir()
            cmd = ["aria2c", "--no-conf", "-q", "-j3", "--allow-overwrite=true",
                   "--file-allocation=none", "-d", str(out), "-i", str(urls)]  # fmt: skip
            seconds, proc = run(cmd, base, out)
            if proc.returncode != 0:
                print(proc.stdout + proc.stderr, file=sys.stderr)
                return 1
            times["aria2c"].append(seconds)
    median = {k: statistics.median(v) for k, v in times.items()}
    ratio = median["sync"] / median["aria2c"]
    print(f"{args.files} files, {total / MIB:.1f} MiB, {args.runs} runs (median wall time)")
    for name, label in (
        ("sync", "modella sync kit.toml (fresh pod)"),
        ("aria2c", "aria2c -j3 -i urls.txt"),
        ("again", "modella sync kit.toml (second run)"),
    ):
        samples = ", ".join(f"{s:.2f}" for s in times[name])
        print(f"  {label:38} {median[name]:6.2f} s   ({samples})")
    verdict = "PASS" if ratio <= BAR else "FAIL"
    print(f"sync / aria2c = {ratio:.2f} (bar <= {BAR}): {verdict}")
    print(f"file bytes moved by the second sync: {max(moved_again)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
