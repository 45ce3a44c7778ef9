"""Speed bars (see benchmarks/README.md): `modella --version` in < 0.3 s, the app's first frame
in < 1.5 s (wall time).

    .venv/bin/python benchmarks/startup.py [--runs 10] [--json]

Both run `modella` in a fresh process, as a user would. The first frame is timed from spawning
`modella` (the real CLI path: argument parsing, settings, services, Textual) to the moment the app
hands its first frame to the terminal driver; the headless driver stands in for a terminal.
Reference in the same run: a bare `python -c pass`, to show what the interpreter alone costs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VERSION_BAR_S = 0.3
FRAME_BAR_S = 1.5
MARK = "MODELLA-FIRST-FRAME"
# Runs `modella` (cli.main) with App._display wrapped: the first real frame prints MARK and exits.
CHILD = f"""
import os, sys
from textual.app import App
_display = App._display
def display(self, screen, renderable):
    _display(self, screen, renderable)
    if renderable is not None:
        sys.stdout.write("{MARK}\\n"); sys.stdout.flush(); os._exit(0)
App._display = display
from modella_tui.cli import main
sys.exit(main([]))
"""


def modella_bin() -> list[str]:
    """The installed console script next to this interpreter, else `python -m modella_tui`."""
    script = Path(sys.executable).with_name("modella")
    return [str(script)] if script.exists() else [sys.executable, "-m", "modella_tui"]


def timed(cmd: list[str], env: dict[str, str], until: str | None = None) -> float:
    """Wall seconds from spawn to exit (or to the line `until` on stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if until is None:
            proc.communicate(timeout=30)
            if proc.returncode != 0:
                raise SystemExit(f"{cmd[0]} failed with exit code {proc.returncode}")
            return time.perf_counter() - start
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == until:
                return time.perf_counter() - start
        _, err = proc.communicate(timeout=30)
        raise SystemExit(f"no first frame; stderr: {err[-2000:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    """Medians of `--runs` runs each; ratios against the bars and the bare interpreter."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="modella-startup-"))
    env = {
        **os.environ,
        "MODELLA_HOME": str(home / "home"),
        "MODELLA_MODELS_DIR": str(home / "models"),
        "MODELLA_CIVITAI_URL": "http://127.0.0.1:9",  # nothing listens: no network, fast refusal
        "HF_ENDPOINT": "http://127.0.0.1:9",
        "HF_HOME": str(home / "hf"),
        "TEXTUAL_DRIVER": "textual.drivers.headless_driver:HeadlessDriver",
        "MODELLA_LANG": "en",
    }
    bare = [timed([sys.executable, "-c", "pass"], env) for _ in range(args.runs)]
    version = [timed([*modella_bin(), "--version"], env) for _ in range(args.runs)]
    frame = [timed([sys.executable, "-c", CHILD], env, until=MARK) for _ in range(args.runs)]
    result = {
        "runs": args.runs,
        "python_bare_s": statistics.median(bare),
        "version_s": statistics.median(version),
        "version_ratio_to_bar": statistics.median(version) / VERSION_BAR_S,
        "version_ratio_to_bare_python": statistics.median(version) / statistics.median(bare),
        "first_frame_s": statistics.median(frame),
        "first_frame_max_s": max(frame),
        "first_frame_ratio_to_bar": statistics.median(frame) / FRAME_BAR_S,
    }
    result["pass"] = result["version_s"] < VERSION_BAR_S and result["first_frame_s"] < FRAME_BAR_S
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"python -c pass      : {result['python_bare_s'] * 1000:.0f} ms (reference)")
        print(f"modella --version   : {result['version_s'] * 1000:.0f} ms median of {args.runs}, "
              f"×{result['version_ratio_to_bar']:.2f} of the {VERSION_BAR_S}s bar, "
              f"×{result['version_ratio_to_bare_python']:.2f} of bare python")  # fmt: skip
        print(f"first frame of app  : {result['first_frame_s'] * 1000:.0f} ms median "
              f"(max {result['first_frame_max_s'] * 1000:.0f} ms), "
              f"×{result['first_frame_ratio_to_bar']:.2f} of the {FRAME_BAR_S}s bar")  # fmt: skip
        print("PASS" if result["pass"] else "FAIL")
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
