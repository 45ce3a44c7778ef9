"""`modella scan` end to end against the fake hub: a file copied in by hand is identified, the rest
typed from their headers, a second run reads nothing, and bad input gets one sentence."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.cli.test_cli import assert_one_clean_sentence
from tests.conftest import RunCli
from tests.core.test_safetensors import safetensors
from tests.fakes.catalog import INK_WASH
from tests.fakes.fakehub import FakeHub


def models_dir() -> Path:
    return Path(os.environ["MODELLA_MODELS_DIR"])


def put(rel: str, data: bytes) -> Path:
    path = models_dir() / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_scan_identifies_a_copied_file_and_reads_nothing_the_second_time(
    run_cli: RunCli, fakehub: FakeHub
) -> None:
    put("Lora/copied by hand.safetensors", fakehub.version(1011).files[0].blob.data())
    meta = {"__metadata__": {"modelspec.architecture": "stable-diffusion-xl-v1-base/lora"}}
    put("Lora/mine.safetensors", safetensors(meta))
    put("Lora/\x1b[2Jhostile.safetensors", b"\xff" * 40)
    put("Lora/half.safetensors.part", b"p" * 10)
    put("Lora/half.safetensors.part.json", b"{}")

    first = run_cli("scan")
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert (
        f"Lora/copied by hand.safetensors → Ink Wash LoRA · v1.0 (civitai:{INK_WASH}@1011)" in out
    )
    assert f"v1.0 → v2.0 (civitai:{INK_WASH}@1012)" in out  # the newer version is offered
    assert "unreadable header: Lora/[2Jhostile.safetensors" in out  # ESC removed, text kept
    assert "\x1b" not in out and "\x1b" not in first.stderr
    assert "Partial downloads: 1 file(s)" in out
    assert "  Lora/mine.safetensors: LORA · SDXL 1.0" in out  # what its header says, by name

    second = run_cli("scan", "--json")
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)
    assert report["hashed"] == 0 and report["identified"] == []
    assert [u["newerVersionName"] for u in report["updates"]] == ["v2.0"]
    unknown = {u["path"]: u for u in report["unknown"]}
    assert unknown["Lora/mine.safetensors"]["baseModel"] == "SDXL 1.0"
    assert unknown["Lora/mine.safetensors"]["type"] == "LORA"
    assert report["bytes"] == sum(p.stat().st_size for p in models_dir().rglob("*") if p.is_file())
    requests = fakehub.requests("civitai", "/api/v1/model-versions/by-hash/")
    third = run_cli("scan")
    assert "no file was read" in third.stdout
    assert fakehub.requests("civitai", "/api/v1/model-versions/by-hash/") == requests


def test_offline_scan_asks_nothing(run_cli: RunCli, fakehub: FakeHub) -> None:
    put("Lora/copied.safetensors", fakehub.version(1011).files[0].blob.data())
    proc = run_cli("scan", "--offline", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["hashed"] == 1
    assert fakehub.requests("civitai") == []


def test_a_missing_models_folder_is_one_sentence(run_cli: RunCli, tmp_path: Path) -> None:
    proc = run_cli("scan", env={"MODELLA_MODELS_DIR": str(tmp_path / "nowhere")})
    assert_one_clean_sentence(proc, 4)
    assert "models_dir" in proc.stderr


def test_an_unreachable_civitai_exits_5_after_saving_the_hashes(run_cli: RunCli) -> None:
    put("Lora/x.safetensors", b"\0" * 64)
    env = {"MODELLA_CIVITAI_URL": "http://127.0.0.1:9"}
    proc = run_cli("scan", env=env)
    assert_one_clean_sentence(proc, 5)
    assert "modella scan again" in proc.stderr
    again = run_cli("scan", "--offline", env=env)
    assert "no file was read" in again.stdout
