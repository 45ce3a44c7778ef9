"""`modella du`: the models folder's usage as text bars or one JSON document whose totals are the
bytes on disk."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import RunCli

SDXL_FILE = "hf:stabilityai/stable-diffusion-xl-base-1.0/sd_xl_base_1.0.safetensors"


def models_dir() -> Path:
    return Path(os.environ["MODELLA_MODELS_DIR"])


def put(rel: str, size: int) -> None:
    path = models_dir() / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * size)


def bytes_on_disk(root: Path) -> int:
    """What `du -sb` counts of the files: each file once, however many names (hard links) it has."""
    sizes = {}
    for p in root.rglob("*"):
        if p.is_file():
            st = p.stat()
            sizes[(st.st_dev, st.st_ino)] = st.st_size
    return sum(sizes.values())


def test_json_totals_are_the_bytes_on_disk(run_cli: RunCli) -> None:
    landed = run_cli("download", SDXL_FILE)
    assert landed.returncode == 0, landed.stderr
    put("Lora/by_hand.safetensors", 30_000)
    put("Lora/by_hand.preview.png", 2_000)
    put("VAE/gone.safetensors.part", 5_000)
    put("notes.txt", 100)
    proc = run_cli("du", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    root = models_dir()
    assert doc["total_bytes"] == bytes_on_disk(root)
    assert doc["files"] == sum(1 for p in root.rglob("*") if p.is_file())
    for grouping in ("source", "base", "type"):
        assert sum(g["bytes"] for g in doc["by"][grouping]) == doc["total_bytes"]
    source = {g["key"]: g["bytes"] for g in doc["by"]["source"]}
    assert source["huggingface"] == 2 * 1024 * 1024
    assert source["unknown"] == 30_000
    types = {g["key"]: g["bytes"] for g in doc["by"]["type"]}
    assert types["Checkpoint"] == 2 * 1024 * 1024 and types["LORA"] == 30_000
    assert doc["reclaimable"]["partial_bytes"] == 5_000
    assert doc["volume"]["free"] > 0


def test_hard_links_are_one_file_and_extra_copies_are_counted(run_cli: RunCli) -> None:
    put("Lora/a.safetensors", 30_000)
    (models_dir() / "misc").mkdir()
    os.link(models_dir() / "Lora/a.safetensors", models_dir() / "misc/hard.safetensors")
    for rel in ("Lora/b.safetensors", "Lora/b2.safetensors", "Lora/b3.safetensors"):
        put(rel, 1_000)  # one file and two extra copies
    for rel in ("VAE/c.safetensors", "VAE/c2.safetensors"):
        put(rel, 2_000)  # one file and one extra copy
    scanned = run_cli("scan", "--offline")
    assert scanned.returncode == 0, scanned.stderr
    doc = json.loads(run_cli("du", "--json").stdout)
    root = models_dir()
    assert doc["total_bytes"] == bytes_on_disk(root) == 30_000 + 3 * 1_000 + 2 * 2_000
    assert doc["files"] == 7
    for grouping in ("source", "base", "type"):
        assert sum(g["bytes"] for g in doc["by"][grouping]) == doc["total_bytes"]
    reclaim = doc["reclaimable"]
    assert reclaim["bytes"] == reclaim["duplicate_bytes"] == 2 * 1_000 + 2_000
    assert reclaim["extra_copies"] == 3
    assert sorted((d["copies"], len(d["paths"])) for d in reclaim["duplicates"]) == [(2, 2), (3, 3)]
    assert not any("a.safetensors" in p for d in reclaim["duplicates"] for p in d["paths"])
    text = run_cli("du").stdout
    assert "extra copies: 3 in 2 group(s) (3.9 KB)" in text
    assert "hard.safetensors" not in text and "a.safetensors" not in text


def test_a_forge_card_beside_its_model_is_a_sidecar(run_cli: RunCli) -> None:
    put("Lora/ink.safetensors", 3_000)
    put("Lora/ink.json", 120)  # the card Modella writes beside a model, as Forge reads it
    put("Lora/ink.civitai.info", 80)
    put("Lora/lonely.json", 7)  # no model of that stem: any other file
    doc = json.loads(run_cli("du", "--json").stdout)
    for grouping in ("source", "base", "type"):
        buckets = {g["key"]: g["bytes"] for g in doc["by"][grouping] if g["kind"] != "model"}
        assert buckets == {"sidecar": 200, "other": 7}
    text = run_cli("du", "--by", "type").stdout
    sidecar = next(line for line in text.splitlines() if "Sidecar files" in line)
    assert "200 B" in sidecar


def test_text_bars_and_one_grouping(run_cli: RunCli) -> None:
    put("Lora/a.safetensors", 3_000)
    put("Stable-diffusion/b.safetensors", 1_000)
    proc = run_cli("du", "--by", "type")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "By type" in out and "By source" not in out
    lora = next(line for line in out.splitlines() if line.strip().startswith("LORA"))
    assert "█" in lora and "75.0%" in lora
    assert "Nothing to reclaim" in out
    doc = json.loads(run_cli("du", "--by", "base", "--json").stdout)
    assert list(doc["by"]) == ["base"]


def test_bad_usage_and_a_missing_folder(run_cli: RunCli) -> None:
    bad = run_cli("du", "--by", "colour")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    missing = run_cli("du", env={"MODELLA_MODELS_DIR": str(models_dir() / "nowhere")})
    assert missing.returncode == 4
    assert "does not exist" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
