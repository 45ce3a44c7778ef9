"""`modella lists`, `lists export/import` and `modella sync` against the fake hub."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from tests.conftest import RunCli
from tests.fakes.catalog import INK_WASH, LOGIN_REQUIRED, NO_SHA256
from tests.fakes.fakehub import FakeHub

CLIP = "comfyanonymous/flux_text_encoders"
GATED = "hf:black-forest-labs/FLUX.1-dev/ae.safetensors"
KIT = f"""\
name = "Pod kit"

[[items]]
ref = "civitai:{INK_WASH}"
title = "Ink Wash"

[[items]]
ref = "hf:{CLIP}/clip_l.safetensors"
note = "text encoder"

[[items]]
ref = "civitai:{NO_SHA256}"
"""


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def db_rows(home: Path, sql: str) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(home / "modella.db")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def count(home: Path, table: str) -> int:
    """Rows of a state table (0 when no command has made the database yet)."""
    if not (home / "modella.db").exists():
        return 0
    return int(db_rows(home, f"SELECT count(*) FROM {table}")[0][0])


def file_bytes_served(hub: FakeHub) -> int:
    """Bytes of model files the fake hub sent (API answers not counted)."""
    return sum(r.bytes_sent for r in hub.log if r.blob_id)


def kit_file(tmp_path: Path, text: str = KIT) -> Path:
    path = tmp_path / "kit.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_list_file_syncs_without_an_import_and_a_second_sync_moves_nothing(
    run_cli: RunCli, fakehub: FakeHub, tmp_path: Path, isolated_home: Path
) -> None:
    kit = kit_file(tmp_path, KIT + f'\n[[items]]\nref = "{GATED}"\n')
    proc = run_cli("sync", str(kit))
    # The gated file needs a token: exit 3, and everything else still lands.
    assert proc.returncode == 3, proc.stderr
    assert "gated" in proc.stderr and "Traceback" not in proc.stderr
    models = tmp_path / "models"
    ink = models / "Lora" / "inkWashLora_v20.safetensors"
    clip = models / "text_encoder" / "clip_l.safetensors"
    assert sha256_of(ink) == fakehub.version(1012).files[0].blob.sha256
    entry = fakehub.catalog.repos[CLIP].entry("clip_l.safetensors")
    assert entry is not None and sha256_of(clip) == entry.blob.sha256
    assert (models / "embeddings" / "unhashed.safetensors").is_file()
    verified = dict(db_rows(isolated_home, "SELECT path, verified FROM downloaded_models"))
    assert verified[str(ink)] == 1 and verified[str(clip)] == 1
    assert "3 landed" in proc.stdout and "1 failed" in proc.stdout
    # A file is used as it is: no list was stored.
    assert count(isolated_home, "lists") == 0

    served = file_bytes_served(fakehub)
    assert served > 0
    again = run_cli("sync", str(kit))
    assert again.returncode == 3, again.stderr
    assert file_bytes_served(fakehub) == served
    assert "3 already here" in again.stdout and "0 B downloaded" in again.stdout


def test_without_the_gated_item_a_sync_exits_0(run_cli: RunCli, tmp_path: Path) -> None:
    proc = run_cli("sync", str(kit_file(tmp_path)))
    assert proc.returncode == 0, proc.stderr
    assert "3 landed" in proc.stdout


def test_import_then_export_round_trips(
    run_cli: RunCli, tmp_path: Path, isolated_home: Path
) -> None:
    kit = kit_file(tmp_path)
    proc = run_cli("lists", "import", str(kit))
    assert proc.returncode == 0, proc.stderr
    assert "Pod kit" in proc.stdout and "3 item" in proc.stdout
    again = run_cli("lists", "import", str(kit))
    assert again.returncode == 0 and "0 item(s) new, 3 already there" in again.stdout
    listed = run_cli("lists", "--json")
    assert json.loads(listed.stdout.splitlines()[0])["items"] == 3
    out = tmp_path / "out.toml"
    assert run_cli("lists", "export", "pod KIT", "--output", str(out)).returncode == 0
    assert out.read_text(encoding="utf-8") == run_cli("lists", "export", "Pod kit").stdout
    assert out.read_text(encoding="utf-8") == KIT
    out.write_text("# edited by hand\n", encoding="utf-8")
    kept = run_cli("lists", "export", "Pod kit", "--output", str(out))
    assert kept.returncode == 2 and "--force" in kept.stderr
    assert out.read_text(encoding="utf-8") == "# edited by hand\n"
    assert run_cli("lists", "export", "Pod kit", "-o", str(out), "--force").returncode == 0
    assert out.read_text(encoding="utf-8") == KIT
    shown = run_cli("lists", "Pod kit", "--offline")
    rows = [json.loads(line) for line in shown.stdout.splitlines()]
    assert [(r["ref"], r["status"]) for r in rows] == [
        (f"civitai:{INK_WASH}", "missing"),
        (f"hf:{CLIP}/clip_l.safetensors", "missing"),
        (f"civitai:{NO_SHA256}", "missing"),
    ]
    assert run_cli("sync", "Pod kit").returncode == 0
    after = [json.loads(line) for line in run_cli("lists", "Pod kit").stdout.splitlines()]
    assert [(r["status"], r["verified"], r["checked"]) for r in after] == [
        ("local", True, True),
        ("local", True, True),
        ("local", False, True),  # Civitai publishes no hash for that one
    ]


def test_bad_toml_names_its_line_and_imports_nothing(
    run_cli: RunCli, tmp_path: Path, isolated_home: Path
) -> None:
    kit = kit_file(tmp_path, KIT + "\n[[items]]\nref = civitai:12\n")
    proc = run_cli("lists", "import", str(kit))
    assert proc.returncode == 2
    assert f"{kit}:15:7: " in proc.stderr and "Traceback" not in proc.stderr
    assert run_cli("sync", str(kit)).returncode == 2
    assert count(isolated_home, "list_models") == 0


def test_unknown_refs_are_reported_by_line_and_nothing_is_imported(
    run_cli: RunCli, tmp_path: Path, isolated_home: Path
) -> None:
    bad = KIT + '\n[[items]]\nref = "civitai:latest"\n\n[[items]]\nref = "12345"\n'
    proc = run_cli("lists", "import", str(kit_file(tmp_path, bad)))
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert any(line.startswith(f"{tmp_path / 'kit.toml'}:15:") for line in lines)
    assert any(":18:" in line and "civitai:12345" in line for line in lines)
    assert "2 problem(s)" in proc.stderr
    assert count(isolated_home, "lists") == 0


def test_a_ref_the_source_does_not_know_fails_alone(run_cli: RunCli, tmp_path: Path) -> None:
    kit = kit_file(tmp_path, KIT + '\n[[items]]\nref = "civitai:999999"\n')
    proc = run_cli("sync", str(kit))
    assert proc.returncode == 4, proc.stderr
    assert "civitai:999999" in proc.stderr and "3 landed" in proc.stdout


def test_a_pasted_key_never_reaches_the_database(
    run_cli: RunCli, tmp_path: Path, isolated_home: Path
) -> None:
    secret = "SECRETKEY0123456789"
    text = f'name = "k"\n[[items]]\nref = "https://civitai.com/models/{INK_WASH}?token={secret}"\n'
    proc = run_cli("lists", "import", str(kit_file(tmp_path, text)))
    assert proc.returncode == 0, proc.stderr
    assert "dropped" in proc.stderr.lower() or "key" in proc.stderr.lower()
    assert db_rows(isolated_home, "SELECT ref FROM list_models") == [(f"civitai:{INK_WASH}",)]
    for f in isolated_home.iterdir():
        if f.is_file():
            assert secret.encode() not in f.read_bytes(), f


def test_unknown_names_and_bad_usage(run_cli: RunCli, tmp_path: Path) -> None:
    proc = run_cli("sync", "Nope")
    assert proc.returncode == 4 and "no lists yet" in proc.stderr
    assert run_cli("lists", "import", str(kit_file(tmp_path))).returncode == 0
    proc = run_cli("lists", "Nope")
    assert proc.returncode == 4 and "Pod kit" in proc.stderr
    assert run_cli("sync", str(tmp_path / "absent.toml")).returncode == 4
    assert run_cli("lists", "a", "b").returncode == 2
    assert run_cli("lists", "Pod kit", "--output", "x.toml").returncode == 2
    empty = run_cli("lists")
    assert empty.returncode == 0


def test_a_missing_argument_is_bad_usage_not_a_list_name(run_cli: RunCli, tmp_path: Path) -> None:
    assert run_cli("lists", "import", str(kit_file(tmp_path))).returncode == 0
    out = str(tmp_path / "out.toml")
    for args, missing in (
        (("lists", "import"), "FILE"),
        (("lists", "import", "--name", "Kit"), "FILE"),
        (("lists", "export"), "NAME"),
        (("lists", "export", "--output", out), "NAME"),
    ):
        proc = run_cli(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert f"modella lists {args[1]} needs" in proc.stderr and missing in proc.stderr
        assert "no list named" not in proc.stderr.lower() and proc.stdout == ""


def test_syncing_a_folder_says_it_is_a_folder(run_cli: RunCli, tmp_path: Path) -> None:
    folder = tmp_path / "kits"
    folder.mkdir()
    for target in (str(folder), str(folder) + "/"):
        proc = run_cli("sync", target)
        assert proc.returncode == 2, proc.stderr
        assert "is a folder, not a list file" in proc.stderr and "no list" not in proc.stderr
    kit_file(tmp_path)
    proc = run_cli("sync", str(tmp_path))  # a list file inside it does not change that
    assert proc.returncode == 2 and "folder" in proc.stderr


def test_a_failed_row_carries_its_reason(run_cli: RunCli, tmp_path: Path) -> None:
    kit = kit_file(tmp_path, KIT + '\n[[items]]\nref = "civitai:999999"\n')
    proc = run_cli("sync", str(kit))
    assert proc.returncode == 4, proc.stderr
    failed = [line.split("\t") for line in proc.stdout.splitlines() if "civitai:999999" in line]
    assert len(failed) == 1 and failed[0][:2] == ["✗ failed", "civitai:999999"]
    assert "999999" in failed[0][5] and failed[0][5] in proc.stderr


def test_a_second_sync_names_a_file_it_tries_again(
    run_cli: RunCli, fakehub: FakeHub, tmp_path: Path
) -> None:
    kit = kit_file(tmp_path, f'name = "kit"\n\n[[items]]\nref = "civitai:{LOGIN_REQUIRED}"\n')
    first = run_cli("sync", str(kit))
    assert first.returncode != 0 and "membersOnly_v1.safetensors" in first.stdout
    again = run_cli("sync", str(kit))  # the failed row is queued again, and fails again
    assert again.returncode == first.returncode
    lines = again.stdout.splitlines()
    assert any(line.endswith("\tmembersOnly_v1.safetensors") for line in lines), again.stdout
    # Never a bare row number where its file's name belongs.
    assert not any(line.split("\t")[-1].isdigit() for line in lines), again.stdout
