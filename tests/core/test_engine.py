"""The download engine against the fake hub: landing, verification, placement, sidecars."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from modella_tui.core.downloads.events import Progress, SidecarsWritten, StateChanged
from modella_tui.core.store.db import Database
from tests.core.engine_support import civitai_request, make_engine, simple_model
from tests.fakes.catalog import KIB, MIB
from tests.fakes.fakehub import Attempt, FakeHub


async def test_download_lands_verified_with_sidecars(
    hub: FakeHub, db: Database, models: Path
) -> None:
    model = simple_model(hub, "Plain Lora", 300 * KIB)
    blob = model.versions[0].files[0].blob
    engine = make_engine(db, models)
    events: list[object] = []
    engine.add_listener(events.append)
    old = os.umask(0o022)
    try:
        (res,) = await engine.add([civitai_request(hub, model, models / "Lora")])
        assert res.status == "queued"
        assert await engine.start() is True
        summary = await engine.run_until_idle()
    finally:
        os.umask(old)
        await engine.stop()
    assert summary.exit_code() == 0
    item = summary.items[0]
    assert item.state == "done" and item.verified
    final = models / "Lora" / model.versions[0].files[0].name
    assert item.final_path == str(final)
    assert hashlib.sha256(final.read_bytes()).hexdigest() == blob.sha256
    assert stat.S_IMODE(final.stat().st_mode) == 0o644
    assert not list((models / "Lora").glob("*.part*"))
    stem = final.name.rsplit(".", 1)[0]
    info = json.loads((models / "Lora" / f"{stem}.civitai.info").read_text())
    assert info["id"] == model.versions[0].id
    forge = json.loads((models / "Lora" / f"{stem}.json").read_text())
    assert forge["activation text"] == "alpha, beta gamma"
    assert forge["sd version"] == model.versions[0].base_model
    assert forge["preferred weight"] == 0 and forge["notes"] == ""
    assert (models / "Lora" / f"{stem}.preview.png").read_bytes().startswith(b"\x89PNG")
    row = await db.fetchone("SELECT * FROM downloaded_models WHERE path = ?", (str(final),))
    assert row is not None and row["verified"] == 1 and row["sha256"] == blob.sha256
    states = [e.state for e in events if isinstance(e, StateChanged)]
    assert states[:1] == ["pending"] and states[-2:] == ["verifying", "done"]
    # the key went to the API host only, never to the CDN.
    assert all(r.authorization is None for r in hub.requests("cdn"))


async def test_auth_only_on_api_host(hub: FakeHub, db: Database, models: Path) -> None:
    model = simple_model(hub, "Keyed", 64 * KIB)
    hub.civitai_key = "SENTINELKEY123"
    api_host = hub.civitai_url.split("//")[1]

    def auth(url: str) -> dict[str, str]:
        return {"Authorization": "Bearer SENTINELKEY123"} if f"//{api_host}/" in url else {}

    engine = make_engine(db, models, auth_headers=auth)
    await engine.add([civitai_request(hub, model, models / "Lora")])
    await engine.start()
    summary = await engine.run_until_idle()
    await engine.stop()
    assert summary.items[0].state == "done"
    api = hub.requests("civitai", "/api/download")
    assert api and all(r.authorization == "Bearer SENTINELKEY123" for r in api)
    cdn = hub.requests("cdn", "/files/")
    assert cdn and all(r.authorization is None for r in cdn)
    dump = db.path.read_bytes() + b"".join(
        p.read_bytes() for p in db.path.parent.iterdir() if p.is_file()
    )
    assert b"SENTINELKEY123" not in dump and b"sig=" not in dump  # no key, no signed URL


async def test_hash_mismatch_removes_part(hub: FakeHub, db: Database, models: Path) -> None:
    model = simple_model(hub, "Corrupt", 200 * KIB)
    blob = model.versions[0].files[0].blob
    hub.script(blob.id, [Attempt(corrupt_at=1000)])
    engine = make_engine(db, models)
    await engine.add([civitai_request(hub, model, models / "Lora")])
    await engine.start()
    summary = await engine.run_until_idle()
    await engine.stop()
    item = summary.items[0]
    assert item.state == "failed" and item.error == "engine.hash_mismatch"
    assert list((models / "Lora").iterdir()) == []
    assert summary.exit_code() == 1


async def test_unverified_when_no_hash(hub: FakeHub, db: Database, models: Path) -> None:
    model = simple_model(hub, "NoHash", 100 * KIB)
    engine = make_engine(db, models)
    await engine.add([civitai_request(hub, model, models / "Lora", sha256=None)])
    await engine.start()
    summary = await engine.run_until_idle()
    await engine.stop()
    item = summary.items[0]
    assert item.state == "done" and not item.verified
    row = await db.fetchone("SELECT verified FROM downloaded_models")
    assert row is not None and row[0] == 0


async def test_existing_different_file_not_overwritten(
    hub: FakeHub, db: Database, models: Path
) -> None:
    model = simple_model(hub, "Clash", 100 * KIB)
    name = model.versions[0].files[0].name
    (models / "Lora").mkdir()
    (models / "Lora" / name).write_bytes(b"someone else's file")
    engine = make_engine(db, models)
    await engine.add([civitai_request(hub, model, models / "Lora")])
    await engine.start()
    summary = await engine.run_until_idle()
    await engine.stop()
    assert (models / "Lora" / name).read_bytes() == b"someone else's file"
    stem, ext = name.rsplit(".", 1)
    assert summary.items[0].final_path == str(models / "Lora" / f"{stem} (2).{ext}")


async def test_the_sidecars_are_announced_once_they_are_on_disk(
    hub: FakeHub, db: Database, models: Path
) -> None:
    model = simple_model(hub, "Announced", 100 * KIB)
    engine = make_engine(db, models)
    seen: list[tuple[str, bool]] = []

    def on_event(event: object) -> None:
        if isinstance(event, SidecarsWritten):  # the library index records them on this
            info = Path(event.path).with_suffix(".civitai.info")
            seen.append((event.path, info.is_file()))

    engine.add_listener(on_event)
    await engine.add([civitai_request(hub, model, models / "Lora")])
    await engine.start()
    summary = await engine.run_until_idle()
    await engine.stop()
    assert seen == [(summary.items[0].final_path, True)]


async def test_same_file_already_there(hub: FakeHub, db: Database, models: Path) -> None:
    model = simple_model(hub, "Have", 100 * KIB)
    f = model.versions[0].files[0]
    (models / "Lora").mkdir()
    (models / "Lora" / f.name).write_bytes(f.blob.read(0, f.blob.size))
    engine = make_engine(db, models)
    (res,) = await engine.add([civitai_request(hub, model, models / "Lora")])
    assert res.status == "already_have"
    assert hub.bytes_served(f.blob.id) == 0


async def test_the_same_bytes_under_another_name_are_not_downloaded_again(
    hub: FakeHub, db: Database, models: Path
) -> None:
    model = simple_model(hub, "Copied by hand", 100 * KIB)
    f = model.versions[0].files[0]
    data = f.blob.read(0, f.blob.size)
    (models / "misc").mkdir()
    copy = models / "misc" / "renamed by hand.safetensors"
    copy.write_bytes(data)
    st = copy.stat()
    # What a scan records once it has hashed the file.
    await db.execute(
        "INSERT INTO local_files (path, size, mtime, sha256, scanned_at) VALUES (?, ?, ?, ?, 0)",
        (str(copy), st.st_size, st.st_mtime, hashlib.sha256(data).hexdigest()),
    )
    engine = make_engine(db, models)
    (res,) = await engine.add([civitai_request(hub, model, models / "Lora")])
    assert (res.status, res.path) == ("already_have", str(copy))
    assert hub.bytes_served(f.blob.id) == 0

    copy.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # changed since the scan hashed it
    os.utime(copy, (st.st_atime, st.st_mtime + 5))
    (res,) = await engine.add([civitai_request(hub, model, models / "Lora")])
    assert res.status == "queued"


async def test_a_landed_file_moved_by_hand_is_not_downloaded_again(
    hub: FakeHub, db: Database, models: Path
) -> None:
    model = simple_model(hub, "Moved by hand", 100 * KIB)
    f = model.versions[0].files[0]
    engine = make_engine(db, models)
    await engine.add([civitai_request(hub, model, models / "Lora")])
    await engine.start()
    summary = await engine.run_until_idle()
    await engine.stop()
    landed = Path(summary.items[0].final_path or "")
    moved = models / "misc" / "mine.safetensors"
    moved.parent.mkdir()
    os.replace(landed, moved)
    st = moved.stat()
    await db.execute(  # what a scan records once it has hashed the file under its new name
        "INSERT INTO local_files (path, size, mtime, sha256, scanned_at) VALUES (?, ?, ?, ?, 0)",
        (str(moved), st.st_size, st.st_mtime, f.blob.sha256),
    )
    (res,) = await engine.add([civitai_request(hub, model, models / "Lora")])
    assert (res.status, res.path) == ("already_have", str(moved))
    assert hub.bytes_served(f.blob.id) == f.blob.size  # the first download only


async def test_dedupe_already_queued(hub: FakeHub, db: Database, models: Path) -> None:
    model = simple_model(hub, "Twice", 100 * KIB)
    engine = make_engine(db, models)
    req = civitai_request(hub, model, models / "Lora")
    first, second = await engine.add([req, req])
    assert first.status == "queued" and second.status == "already_queued"
    assert len(await engine.items()) == 1


async def test_html_instead_of_file_is_refused(hub: FakeHub, db: Database, models: Path) -> None:
    model = simple_model(hub, "Html", 100 * KIB)
    blob = model.versions[0].files[0].blob
    hub.script(blob.id, [Attempt(body=b"<html>log in</html>", content_type="text/html")])
    engine = make_engine(db, models)
    await engine.add([civitai_request(hub, model, models / "Lora")])
    await engine.start()
    summary = await engine.run_until_idle()
    await engine.stop()
    assert summary.items[0].error == "engine.web_page"
    assert list((models / "Lora").iterdir()) == []


async def test_progress_events_are_throttled(hub: FakeHub, db: Database, models: Path) -> None:
    model = simple_model(hub, "Slow", 1 * MIB)
    hub.rate_per_connection = 2 * MIB
    engine = make_engine(db, models)
    seen: list[Progress] = []
    engine.add_listener(lambda e: seen.append(e) if isinstance(e, Progress) else None)
    await engine.add([civitai_request(hub, model, models / "Lora")])
    await engine.start()
    await engine.run_until_idle()
    await engine.stop()
    assert seen, "no progress at all"
    assert len(seen) <= 12  # ~0.5 s of transfer at ≤ 10 Hz
    assert all(p.total == 1 * MIB for p in seen)


@pytest.mark.parametrize("label", ["text/plain", "binary/octet-stream", ""])
async def test_model_bytes_labelled_as_anything_land_verified(
    hub: FakeHub, db: Database, models: Path, label: str
) -> None:
    # Storage hosts label model files text/plain, binary/octet-stream or not at all: the SHA256
    # decides, not the label ("" = no Content-Type header).
    model = simple_model(hub, f"Labelled {label or 'none'}", 100 * KIB)
    blob = model.versions[0].files[0].blob
    hub.script(blob.id, [Attempt(content_type=label)])
    engine = make_engine(db, models)
    await engine.add([civitai_request(hub, model, models / "Lora")])
    await engine.start()
    summary = await asyncio.wait_for(engine.run_until_idle(), 20)
    await engine.stop()
    item = summary.items[0]
    assert item.state == "done" and item.verified, item.error
    assert (models / "Lora" / item.file_name).read_bytes() == blob.read(0, blob.size)
    cdn = [r for r in hub.requests("cdn", "/files/") if r.method == "GET"]
    assert cdn and cdn[0].status in (200, 206)


async def test_html_labelled_text_plain_is_a_clear_failure(
    hub: FakeHub, db: Database, models: Path
) -> None:
    model = simple_model(hub, "Html as text", 100 * KIB)
    blob = model.versions[0].files[0].blob
    page = b"<!doctype html><html><body>Please log in</body></html>"
    hub.script(blob.id, [Attempt(body=page, content_type="text/plain")])
    engine = make_engine(db, models)
    await engine.add([civitai_request(hub, model, models / "Lora")])
    await engine.start()
    summary = await asyncio.wait_for(engine.run_until_idle(), 20)
    await engine.stop()
    item = summary.items[0]
    assert item.state == "failed" and item.error == "engine.web_page"
    assert "web page" in (item.message or "")
    assert list((models / "Lora").iterdir()) == []  # nothing saved, not even a .part


async def test_a_removed_listener_hears_nothing_more(
    hub: FakeHub, db: Database, models: Path
) -> None:
    heard: list[object] = []
    engine = make_engine(db, models)
    engine.add_listener(heard.append)
    first = simple_model(hub, "Heard", 10 * KIB)
    await engine.add([civitai_request(hub, first, models / "Lora")])
    assert heard
    engine.remove_listener(heard.append)
    engine.remove_listener(heard.append)  # twice, or never added: no error
    count = len(heard)
    second = simple_model(hub, "Not heard", 10 * KIB)
    await engine.add([civitai_request(hub, second, models / "Lora")])
    await engine.start()
    await asyncio.wait_for(engine.run_until_idle(), 20)
    await engine.stop()
    assert len(heard) == count
    assert not hasattr(engine, "subscribe")
