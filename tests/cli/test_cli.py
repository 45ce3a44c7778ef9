"""`modella search/show/config` end to end against the fake hub (issue 2's "must show")."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCli
from tests.fakes.catalog import ESCAPE_NAME, INK_WASH, MANY_VERSIONS
from tests.fakes.fakehub import FakeHub

SENTINEL = "SENTINELKEY0123456789abcdef"


def lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def assert_one_clean_sentence(proc: subprocess.CompletedProcess[str], code: int) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    err = proc.stderr.strip()
    assert err and "Traceback" not in err and len(err.splitlines()) == 1, err


def test_version_is_fast_path(run_cli: RunCli) -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.startswith("modella ")


def test_search_ink_lora_json(run_cli: RunCli) -> None:
    proc = run_cli("search", "ink", "--type", "LORA", "--json")
    assert proc.returncode == 0, proc.stderr
    found = lines(proc.stdout)
    assert found, "no models"
    assert all(m["type"] == "LORA" for m in found)
    assert any(m["id"] == INK_WASH for m in found)
    assert all(not m["nsfw"] for m in found)  # mature ones filtered by default, also on our side
    text = json.dumps(found).lower()
    assert "ink" in text


def test_search_tag_and_user_forms(run_cli: RunCli) -> None:
    by_tag = lines(run_cli("search", "#ink", "--json").stdout)
    assert by_tag and all("ink" in m["tags"] for m in by_tag)
    by_user = lines(run_cli("search", "@inkmaster", "--json").stdout)
    assert by_user and all(m["creator"] == "inkmaster" for m in by_user)
    by_flag = lines(run_cli("search", "--user", "inkmaster", "--json").stdout)
    assert {m["id"] for m in by_flag} == {m["id"] for m in by_user}


def test_search_table_and_no_terminal_escapes(run_cli: RunCli) -> None:
    proc = run_cli("search", "Red Alert", "--limit", "5")
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout
    assert any(
        m["id"] == ESCAPE_NAME for m in lines(run_cli("search", "Red Alert", "--json").stdout)
    )


def test_show_civitai_lists_versions_files_hashes_words(run_cli: RunCli, fakehub: FakeHub) -> None:
    proc = run_cli("show", f"civitai:{INK_WASH}")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Ink Wash LoRA" in out
    assert "inkWashLora_v20.safetensors" in out and "inkWashLora_v10.safetensors" in out
    assert "inkwash style" in out and "sumi-e" in out
    sha = fakehub.version(1012).files[0].blob.sha256
    assert sha.lower() in out
    data = lines(run_cli("show", f"civitai:{INK_WASH}@1011", "--json").stdout)[0]
    assert [v["id"] for v in data["versions"]] == [1011]
    assert data["versions"][0]["files"][0]["size"] > 0


def test_show_many_versions_json(run_cli: RunCli) -> None:
    data = lines(run_cli("show", f"civitai:{MANY_VERSIONS}", "--json").stdout)[0]
    assert len(data["versions"]) == 12


def test_show_hub_repo_lists_files_with_sizes_and_sha(run_cli: RunCli) -> None:
    proc = run_cli("show", "hf:comfyanonymous/flux_text_encoders", "--json")
    assert proc.returncode == 0, proc.stderr
    repo = lines(proc.stdout)[0]
    files = {f["path"]: f for f in repo["files"]}
    assert "clip_l.safetensors" in files
    assert files["clip_l.safetensors"]["size"] > 0
    assert len(files["clip_l.safetensors"]["sha256"]) == 64
    table = run_cli("show", "hf:comfyanonymous/flux_text_encoders").stdout
    assert "clip_l.safetensors" in table


def test_config_set_get_masked_and_0600(run_cli: RunCli, isolated_home: Path) -> None:
    proc = run_cli("config", "set", "civitai.api_key", SENTINEL)
    assert proc.returncode == 0, proc.stderr
    assert SENTINEL not in proc.stdout + proc.stderr
    path = Path(run_cli("config", "path").stdout.strip())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    got = run_cli("config", "get", "civitai.api_key")
    assert got.returncode == 0
    assert SENTINEL not in got.stdout and got.stdout.strip().endswith("cdef")
    listing = run_cli("config").stdout
    assert "civitai.api_key" in listing and SENTINEL not in listing


@pytest.mark.parametrize("ref", ["nonsense", "civitai:abc", "hf:onlyorg", "https://example.com/x"])
def test_malformed_ref_exit_2(run_cli: RunCli, ref: str) -> None:
    assert_one_clean_sentence(run_cli("show", ref), 2)


def test_unreachable_server_exit_5(run_cli: RunCli) -> None:
    proc = run_cli("search", "ink", env={"MODELLA_CIVITAI_URL": "http://127.0.0.1:9"})
    assert_one_clean_sentence(proc, 5)


def test_401_exit_3(run_cli: RunCli, fakehub: FakeHub) -> None:
    fakehub.fail_next("civitai", "/api/v1/models", 401, body=b'{"error": "Unauthorized"}', times=10)
    assert_one_clean_sentence(run_cli("search", "ink"), 3)


def test_html_answer_exit_5(run_cli: RunCli, fakehub: FakeHub) -> None:
    fakehub.fail_next(
        "civitai",
        "/api/v1/models",
        200,
        body=b"<html>login</html>",
        content_type="text/html",
        times=10,
    )
    assert_one_clean_sentence(run_cli("search", "ink"), 5)


def test_not_found_exit_4(run_cli: RunCli) -> None:
    assert_one_clean_sentence(run_cli("show", "civitai:999999"), 4)


def test_gated_hub_repo_is_listed_with_licence_note(run_cli: RunCli) -> None:
    # The Hub lists a gated repo's files to anyone; only downloading them needs the token + licence.
    proc = run_cli("show", "hf:black-forest-labs/FLUX.1-dev")
    assert proc.returncode == 0, proc.stderr
    assert "licence" in proc.stdout.lower() and "flux1-dev.safetensors" in proc.stdout


def test_bad_usage_exit_2(run_cli: RunCli) -> None:
    assert run_cli("search", "--limit", "x").returncode == 2
    assert_one_clean_sentence(run_cli("config", "set", "layout", "sideways"), 2)
