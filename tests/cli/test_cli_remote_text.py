"""What the CLI does with remote data: no escape sequence on a pipe or a terminal, scan results
in words, oversized answers refused."""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.conftest import RunCli
from tests.fakes.catalog import ESCAPE_NAME, KIB, Blob, CFile, CModel, CVersion
from tests.fakes.fakehub import FakeHub

# What a terminal would act on: any escape, the bell that ends an OSC, a bare carriage return.
SGR = re.compile(rb"\x1b\[[0-9;]*m")


def modella(*args: str) -> list[str]:
    return [sys.executable, "-m", "modella_tui", *args]


def run_on_pipe(fakehub: FakeHub, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "MODELLA_CIVITAI_URL": fakehub.civitai_url, "HF_ENDPOINT": fakehub.hub_url}
    return subprocess.run(modella(*args), capture_output=True, env=env, timeout=60, check=False)


def run_on_terminal(fakehub: FakeHub, *args: str, timeout: float = 60) -> tuple[int, bytes]:
    """Run with stdout and stderr on a pseudo-terminal (200×50); its exit code and every byte."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    env = {
        **os.environ,
        "MODELLA_CIVITAI_URL": fakehub.civitai_url,
        "HF_ENDPOINT": fakehub.hub_url,
        "TERM": "xterm-256color",
    }
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        modella(*args), stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env
    )
    os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return code, bytes(out)


def assert_no_remote_escape(data: bytes) -> None:
    """No escape sequence but the colour and bold codes the table itself uses."""
    rest = SGR.sub(b"", data)
    assert b"\x1b" not in rest, rest[max(0, rest.find(b"\x1b") - 40) : rest.find(b"\x1b") + 40]
    assert b"\x07" not in data
    assert "\u202e".encode() not in data


def test_search_on_a_pipe_writes_no_escape_byte(fakehub: FakeHub) -> None:
    proc = run_on_pipe(fakehub, "search", "Red Alert")
    assert proc.returncode == 0, proc.stderr
    assert b"\x1b" not in proc.stdout + proc.stderr
    found = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [m["id"] for m in found] == [ESCAPE_NAME]
    assert found[0]["name"].startswith("\x1b[31mRed Alert")  # kept exactly, as JSON escapes


@pytest.mark.parametrize("json_flag", [(), ("--json",)], ids=["text", "json"])
def test_show_on_a_pipe_writes_no_escape_byte(fakehub: FakeHub, json_flag: tuple[str, ...]) -> None:
    proc = run_on_pipe(fakehub, "show", f"civitai:{ESCAPE_NAME}", *json_flag)
    assert proc.returncode == 0, proc.stderr
    assert b"\x1b" not in proc.stdout + proc.stderr and b"\x07" not in proc.stdout
    text = proc.stdout.decode()
    if json_flag:
        data = json.loads(text)
        assert "<pre>" in data["description"] and data["versions"][0]["trainedWords"]
    else:
        assert "Red Alert" in text and "redalert.safetensors" in text.replace("[2J", "")
        assert "]52;c;ZXZpbA==" in text  # what is left of the sequence is inert text


def test_search_on_a_terminal_writes_no_remote_escape(fakehub: FakeHub) -> None:
    code, out = run_on_terminal(fakehub, "search", "Red Alert")
    assert code == 0, out
    assert b"Red Alert" in out
    assert_no_remote_escape(out)


def test_show_on_a_terminal_writes_no_remote_escape(fakehub: FakeHub) -> None:
    code, out = run_on_terminal(fakehub, "show", f"civitai:{ESCAPE_NAME}")
    assert code == 0, out
    assert b"Red Alert" in out and b"siren" in out  # the trained words, cleaned
    assert_no_remote_escape(out)


def scan_model(fakehub: FakeHub) -> CModel:
    """A model whose files carry each scan result Civitai reports."""
    catalog = fakehub.catalog
    files = [
        CFile(
            catalog.next_id(),
            f"{name}.safetensors",
            Blob(f"scan-{name}", 4 * KIB),
            pickle_scan=pickle,
            virus_scan=virus,
        )
        for name, pickle, virus in (
            ("clean", "Success", "Success"),
            ("waiting", "Pending", "Pending"),
            ("broken", "Error", "Success"),
            ("infected", "Success", "Danger"),
            ("unpickled", "Danger", "Success"),
        )
    ]
    version = CVersion(catalog.next_id(), "v1", "SD 1.5", files, catalog.epoch)
    return catalog.add_model(CModel(catalog.next_id(), "Scan States", "LORA", "tester", [version]))


def table_row(out: str, name: str) -> str:
    (row,) = [line for line in out.splitlines() if line.startswith(name)]
    return row


def test_show_marks_pending_and_failed_scans_with_a_word_and_danger_clearly(
    fakehub: FakeHub,
) -> None:
    model = scan_model(fakehub)
    proc = run_on_pipe(fakehub, "show", f"civitai:{model.id}")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert "WARNING" not in table_row(out, "clean.safetensors")
    assert "WARNING: scan pending" in table_row(out, "waiting.safetensors")
    assert "WARNING: scan failed" in table_row(out, "broken.safetensors")
    assert "DANGER" in table_row(out, "infected.safetensors")  # the virus scan counts too
    assert "DANGER" in table_row(out, "unpickled.safetensors")
    notes = [line.strip() for line in out.splitlines() if line.startswith("  ")]
    assert any(n.startswith("Warning:") and "waiting.safetensors" in n for n in notes)
    assert any(n.startswith("Warning:") and "broken.safetensors" in n for n in notes)
    assert any(n.startswith("DANGER:") and "infected.safetensors" in n for n in notes)
    assert not any("clean.safetensors" in n for n in notes)
    data = json.loads(run_on_pipe(fakehub, "show", f"civitai:{model.id}", "--json").stdout)
    states = {f["name"]: f["scan"] for f in data["versions"][0]["files"]}
    assert states == {
        "clean.safetensors": "ok",
        "waiting.safetensors": "pending",
        "broken.safetensors": "error",
        "infected.safetensors": "danger",
        "unpickled.safetensors": "danger",
    }


def test_config_output_is_cleaned(tmp_path: Path, fakehub: FakeHub) -> None:
    hostile = str(tmp_path / "models\x1b]52;c;ZXZpbA==\x07\x1b[2J")
    env = {**os.environ, "MODELLA_MODELS_DIR": hostile}
    for args in (("config", "get", "models_dir"), ("config",)):
        proc = subprocess.run(modella(*args), capture_output=True, env=env, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        assert b"\x1b" not in proc.stdout + proc.stderr and b"models" in proc.stdout


def test_an_oversized_api_answer_is_one_sentence_and_exit_5(
    run_cli: RunCli, fakehub: FakeHub
) -> None:
    padding = b" " * (17 * 1024 * 1024)  # past the 16 MiB cap
    fakehub.fail_next("civitai", "/api/v1/models", 200, body=b'{"items": []' + padding + b"}")
    proc = run_cli("search", "ink")
    assert proc.returncode == 5, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "16 MB" in lines[0] and "Traceback" not in proc.stderr
