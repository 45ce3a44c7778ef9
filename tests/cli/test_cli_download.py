"""`modella download` and `modella queue --run` end to end against the fake hub (issue 3's "must show")."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCli
from tests.fakes.catalog import (
    EARLY_ACCESS,
    INK_WASH,
    INKPUNK,
    KIB,
    MIB,
    Blob,
    HEntry,
    HRepo,
    default_catalog,
)
from tests.fakes.fakehub import Attempt, FakeHub

SENTINEL = "SENTINELKEY0123456789abcdef"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def db_rows(home: Path, sql: str) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(home / "modella.db")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_civitai_download_lands_verified_with_sidecars(
    run_cli: RunCli, fakehub: FakeHub, tmp_path: Path, isolated_home: Path
) -> None:
    proc = run_cli("download", f"civitai:{INK_WASH}", env={"CIVITAI_API_KEY": SENTINEL})
    assert proc.returncode == 0, proc.stderr
    lora = tmp_path / "models" / "Lora"
    final = lora / "inkWashLora_v20.safetensors"
    assert final.is_file()
    assert sha256_of(final) == fakehub.version(1012).files[0].blob.sha256
    for sidecar in (
        "inkWashLora_v20.civitai.info",
        "inkWashLora_v20.preview.png",
        "inkWashLora_v20.json",
    ):
        assert (lora / sidecar).is_file(), sidecar
    forge = json.loads((lora / "inkWashLora_v20.json").read_text())
    assert "inkwash style" in forge["activation text"]
    assert forge["sd version"] == "SDXL 1.0"
    assert not list(lora.glob("*.part*"))
    rows = db_rows(
        isolated_home,
        "SELECT source, type, base_model, path, size, sha256, verified FROM downloaded_models",
    )
    assert rows == [
        ("civitai", "LORA", "SDXL 1.0", str(final), final.stat().st_size, sha256_of(final), 1)
    ]
    # The storage host never saw the key; the API host did, as a header only.
    cdn = fakehub.requests("cdn")
    assert cdn and all(r.authorization is None for r in cdn)
    api = fakehub.requests("civitai", "/api/download")
    assert api and all(r.authorization == f"Bearer {SENTINEL}" for r in api)
    assert all(SENTINEL not in json.dumps(r.query) for r in fakehub.log)
    assert SENTINEL not in proc.stdout + proc.stderr
    for f in isolated_home.iterdir():
        if f.is_file():
            assert SENTINEL.encode() not in f.read_bytes(), f


def test_hub_file_lands_in_its_type_folder(
    run_cli: RunCli, fakehub: FakeHub, tmp_path: Path
) -> None:
    proc = run_cli("download", "hf:comfyanonymous/flux_text_encoders/clip_l.safetensors")
    assert proc.returncode == 0, proc.stderr
    final = tmp_path / "models" / "text_encoder" / "clip_l.safetensors"
    assert final.is_file()
    entry = fakehub.catalog.repos["comfyanonymous/flux_text_encoders"].entry("clip_l.safetensors")
    assert entry is not None
    assert sha256_of(final) == entry.blob.sha256
    assert "verified" in proc.stdout.lower()


def test_comfyui_layout(run_cli: RunCli, tmp_path: Path) -> None:
    assert run_cli("config", "set", "layout", "comfyui").returncode == 0
    proc = run_cli("download", "hf:comfyanonymous/flux_text_encoders/clip_l.safetensors")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "models" / "text_encoders" / "clip_l.safetensors").is_file()


def test_corrupted_transfer_fails_and_leaves_nothing(
    run_cli: RunCli, fakehub: FakeHub, tmp_path: Path
) -> None:
    blob = fakehub.version(1012).files[0].blob
    fakehub.script(blob.id, [Attempt(corrupt_at=1000)])
    proc = run_cli("download", f"civitai:{INK_WASH}")
    assert proc.returncode == 1, proc.stderr
    assert "hash" in proc.stderr.lower() and "Traceback" not in proc.stderr
    lora = tmp_path / "models" / "Lora"
    assert not (lora / "inkWashLora_v20.safetensors").exists()
    assert not list(lora.glob("*.part*")) if lora.exists() else True


def test_gated_repo_download_needs_token_and_licence(run_cli: RunCli) -> None:
    proc = run_cli("download", "hf:black-forest-labs/FLUX.1-dev/ae.safetensors")
    assert proc.returncode == 3, proc.stderr
    assert "licen" in proc.stderr.lower() and "Traceback" not in proc.stderr


def test_pickle_needs_consent(run_cli: RunCli, fakehub: FakeHub) -> None:
    pickle_model = next(
        m for m in fakehub.catalog.models.values()
        if any(f.name.endswith(".ckpt") for v in m.versions for f in v.files)
    )  # fmt: skip
    proc = run_cli("download", f"civitai:{pickle_model.id}")
    assert proc.returncode != 0
    assert "--allow-pickle" in proc.stderr or "--force" in proc.stderr


def test_same_file_twice_is_not_downloaded_again(run_cli: RunCli, fakehub: FakeHub) -> None:
    assert run_cli("download", f"civitai:{INK_WASH}").returncode == 0
    blob = fakehub.version(1012).files[0].blob
    served = fakehub.bytes_served(blob.id)
    proc = run_cli("download", f"civitai:{INK_WASH}@1012")
    assert proc.returncode == 0, proc.stderr
    assert fakehub.bytes_served(blob.id) == served


def _wait_durable(home: Path, at_least: int, timeout: float) -> bool:
    """Poll the state database until the recorded ranges cover `at_least` bytes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            rows = db_rows(home, "SELECT coalesce(sum(done), 0) FROM queue_segments")
        except sqlite3.Error:
            rows = [(0,)]
        if rows[0][0] >= at_least:
            return True
        time.sleep(0.1)
    return False


def test_kill_9_then_queue_run_resumes(tmp_path: Path, isolated_home: Path) -> None:
    home = isolated_home
    catalog = default_catalog()
    big = catalog.add_big_model(size=24 * MIB)
    hub = FakeHub(catalog).start()
    try:
        hub.rate_per_connection = 3 * MIB
        env = {
            **os.environ,
            "MODELLA_CIVITAI_URL": hub.civitai_url,
            "HF_ENDPOINT": hub.hub_url,
        }
        blob = big.versions[0].files[0].blob
        cmd = [sys.executable, "-m", "modella_tui", "download", f"civitai:{big.id}"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            assert hub.wait_served(blob.id, int(blob.size * 0.45), timeout=60)
            # Kill once the engine has made an offset durable (it records ranges only after the
            # bytes are synced to disk), so the resume has something to start from.
            assert _wait_durable(home, int(blob.size * 0.3), timeout=60)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        before = hub.bytes_served(blob.id)
        assert before < blob.size
        hub.rate_per_connection = None
        done = subprocess.run(
            [sys.executable, "-m", "modella_tui", "queue", "--run"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        final = tmp_path / "models" / "Stable-diffusion"
        files = [p for p in final.iterdir() if p.suffix == ".safetensors"]
        assert len(files) == 1
        assert sha256_of(files[0]) == blob.sha256
        total = hub.bytes_served(blob.id)
        assert total <= 1.25 * blob.size, (before, total, blob.size)
        assert not list(final.glob("*.part*"))
    finally:
        hub.stop()


def test_gated_repo_downloads_with_an_accepted_token(
    run_cli: RunCli, fakehub: FakeHub, tmp_path: Path
) -> None:
    fakehub.hf_token = "hf_accepted_token_0123456789"
    proc = run_cli(
        "download",
        "hf:black-forest-labs/FLUX.1-dev/ae.safetensors",
        env={"HF_TOKEN": "hf_accepted_token_0123456789"},
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "models" / "VAE" / "ae.safetensors").is_file()
    hub_hits = fakehub.requests("hub", "/black-forest-labs/FLUX.1-dev/resolve/")
    assert hub_hits and all(r.authorization for r in hub_hits)
    assert all(r.authorization is None for r in fakehub.requests("cdn"))


def test_same_name_from_two_repos_lands_twice_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = default_catalog()
    one = catalog.add_repo(
        HRepo("orga/one", [HEntry("model.safetensors", Blob("one", 300 * KIB, seed=1))])
    )
    two = catalog.add_repo(
        HRepo("orgb/two", [HEntry("model.safetensors", Blob("two", 500 * KIB, seed=2))])
    )
    with FakeHub(catalog) as hub:
        env = {**os.environ, "MODELLA_CIVITAI_URL": hub.civitai_url, "HF_ENDPOINT": hub.hub_url}
        proc = subprocess.run(
            [sys.executable, "-m", "modella_tui", "download", "hf:orga/one", "hf:orgb/two"],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "models" / "Stable-diffusion"
    hashes = {sha256_of(p) for p in folder.glob("model*.safetensors")}
    assert hashes == {one.entries[0].blob.sha256, two.entries[0].blob.sha256}
    assert not list(folder.glob("*.part*"))


def test_config_file_does_not_overwrite_the_model_card(run_cli: RunCli, tmp_path: Path) -> None:
    assert run_cli("download", f"civitai:{INKPUNK}").returncode == 0
    card = tmp_path / "models" / "Stable-diffusion" / "inkpunkDiffusion_v2.json"
    before = card.read_text()
    assert "nvinkpunk" in before
    proc = run_cli("download", f"civitai:{INKPUNK}", "--file", "*.yaml")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "models" / "Stable-diffusion" / "inkpunkDiffusion_v2.yaml").is_file()
    assert card.read_text() == before


def test_queue_run_judges_only_pending_work(run_cli: RunCli) -> None:
    assert run_cli("download", f"civitai:{EARLY_ACCESS}").returncode == 3
    proc = run_cli("queue", "--run")
    assert proc.returncode == 0, proc.stderr
    assert "Landed" not in proc.stdout


def test_queue_run_never_fetches_a_planted_part_json(
    run_cli: RunCli, fakehub: FakeHub, tmp_path: Path
) -> None:
    from modella_tui.core.downloads import partmeta

    folder = tmp_path / "models" / "Stable-diffusion"
    folder.mkdir(parents=True)
    target = partmeta.Target(folder, "payload.ckpt")
    foreign = f"{fakehub.cdn_url}/planted/payload.ckpt"
    partmeta.write_meta(
        target,
        {
            "source": "civitai", "dedupe_key": "civitai:file:777", "title": "x",
            "file_name": "payload.ckpt", "type": "Checkpoint", "base_model": "", "url": foreign,
            "expected_size": 100, "sha256": None, "ranges": [], "meta": {"allow_pickle": True},
        },
    )  # fmt: skip
    proc = run_cli("queue", "--run")
    assert proc.returncode == 0, proc.stderr
    assert [r for r in fakehub.log if "planted" in r.path] == []
    assert str(target.meta) in proc.stderr and "delete them" in proc.stderr
    listed = run_cli("queue")
    assert str(target.meta) in listed.stderr and "not written by this Modella" in listed.stderr
    assert [r for r in fakehub.log if "planted" in r.path] == []


def test_a_traversal_file_name_lands_inside_the_models_folder(
    run_cli: RunCli, fakehub: FakeHub, tmp_path: Path, isolated_home: Path
) -> None:
    from tests.fakes.catalog import TRAVERSAL_FILE

    proc = run_cli("download", f"civitai:{TRAVERSAL_FILE}")
    assert proc.returncode == 0, proc.stderr
    models = os.path.realpath(tmp_path / "models")
    written = [Path(d) / f for d, _, fs in os.walk(tmp_path) for f in fs]
    ours = [p for p in written if not str(p).startswith(str(isolated_home))]
    assert any(p.name.endswith(".bashrc") or "bashrc" in p.name for p in ours), ours
    for path in ours:
        if "hf-home" in path.parts:
            continue
        assert os.path.realpath(path).startswith(models + os.sep), path
    assert not (tmp_path / ".bashrc").exists() and not (tmp_path.parent / ".bashrc").exists()


def _scanned(fakehub: FakeHub, name: str, status: str) -> int:
    model = fakehub.catalog.add_simple_model(name, type="Checkpoint")
    model.versions[0].files[0].pickle_scan = status
    return model.id


@pytest.mark.parametrize("status", ["Pending", "Error"])
def test_an_unconfirmed_scan_prints_a_warning_and_still_downloads(
    run_cli: RunCli, fakehub: FakeHub, status: str
) -> None:
    model_id = _scanned(fakehub, f"Scan {status}", status)
    proc = run_cli("download", f"civitai:{model_id}")
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("Warning:")]
    expected = "not finished scanning" if status == "Pending" else "failed with an error"
    assert len(warnings) == 1 and expected in warnings[0], proc.stderr


def test_a_clean_scan_prints_no_warning(run_cli: RunCli, fakehub: FakeHub) -> None:
    model_id = _scanned(fakehub, "Scan clean", "Success")
    proc = run_cli("download", f"civitai:{model_id}")
    assert proc.returncode == 0 and "Warning:" not in proc.stderr, proc.stderr


def test_a_dangerous_scan_is_refused_without_force(run_cli: RunCli, fakehub: FakeHub) -> None:
    from tests.fakes.catalog import PICKLE_DANGER

    refused = run_cli("download", f"civitai:{PICKLE_DANGER}", "--allow-pickle")
    assert refused.returncode != 0
    assert "flagged" in refused.stderr and "--force" in refused.stderr
    assert fakehub.requests("civitai", "/api/download") == []
    forced = run_cli("download", f"civitai:{PICKLE_DANGER}", "--allow-pickle", "--force")
    assert forced.returncode == 0, forced.stderr
    assert fakehub.requests("civitai", "/api/download")


def test_each_file_starts_as_soon_as_its_own_look_up_is_done(
    run_cli: RunCli, fakehub: FakeHub
) -> None:
    import threading

    slow = fakehub.catalog.add_simple_model("Slow look-up", size=64 * KIB)
    fast = fakehub.catalog.add_simple_model("Fast look-up", size=300 * KIB)
    gate = threading.Event()
    fakehub.holds[f"/api/v1/models/{slow.id}"] = gate
    done: list[subprocess.CompletedProcess[str]] = []
    runner = threading.Thread(
        target=lambda: done.append(run_cli("download", f"civitai:{slow.id}", f"civitai:{fast.id}"))
    )
    runner.start()
    try:
        blob = fast.versions[0].files[0].blob
        # The second REF's file is fetched whole while the first REF's look-up is still held.
        assert fakehub.wait_served(blob.id, blob.size, 30)
        assert not done
    finally:
        gate.set()
        runner.join(60)
    assert done and done[0].returncode == 0, done[0].stderr if done else "no result"


async def test_download_look_ups_do_not_wait_for_the_state_database(
    fakehub: FakeHub, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `modella download` opens the database while its look-ups run; here the database is held
    # mid-migration and a look-up still completes, its answer cached once the database is open.
    from modella_tui.cli.common import open_clients
    from modella_tui.core import config
    from modella_tui.core.store.db import Database

    monkeypatch.setenv("MODELLA_CIVITAI_URL", fakehub.civitai_url)
    gate = threading.Event()
    prepare = Database._prepare

    def held(self: Database, raw: sqlite3.Connection) -> None:
        gate.wait(20)
        prepare(self, raw)

    monkeypatch.setattr(Database, "_prepare", held)
    try:
        async with open_clients(config.load(), for_download=True) as clients:
            model = await asyncio.wait_for(clients.civitai.model(INK_WASH), 20)
            assert model.id == INK_WASH
            assert not clients.db.is_open
            gate.set()
            await clients.open_db()
            assert clients.civitai.cache is not None
            await clients.civitai.cache.flush()
            rows = await clients.db.fetchall("SELECT key FROM model_cache")
            assert [r[0] for r in rows] == [f"civitai:model:{INK_WASH}"]
    finally:
        gate.set()


def test_download_caches_every_answer_in_one_go(
    run_cli: RunCli, fakehub: FakeHub, isolated_home: Path
) -> None:
    proc = run_cli("download", f"civitai:{INK_WASH}", f"civitai:{INKPUNK}")
    assert proc.returncode == 0, proc.stderr
    keys = {r[0] for r in db_rows(isolated_home, "SELECT key FROM model_cache")}
    assert {f"civitai:model:{INK_WASH}", f"civitai:model:{INKPUNK}"} <= keys
    again = run_cli("download", f"civitai:{INK_WASH}", f"civitai:{INKPUNK}")
    assert again.returncode == 0, again.stderr
    # The second run found both models in the cache: no look-up reached the API.
    models = fakehub.requests("civitai", "/api/v1/models/")
    assert len(models) == 2
