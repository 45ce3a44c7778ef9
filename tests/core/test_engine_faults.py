"""Faults and hostile inputs for the engine, against the fake hub (byte faults) and respx (status logic)."""

from __future__ import annotations

import asyncio
import email.utils
import errno
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from modella_tui.core.downloads import partmeta
from modella_tui.core.downloads.engine import DownloadEngine, QueueRequest
from modella_tui.core.store.db import Database
from tests.core.engine_support import FakeSleep, civitai_request, make_engine, simple_model
from tests.fakes.catalog import KIB, MIB, Blob, HEntry, HRepo
from tests.fakes.fakehub import Attempt, FakeHub


async def run_one(engine: DownloadEngine, req: QueueRequest) -> Any:
    """Queue one request, work the queue, stop; return the item."""
    await engine.add([req])
    await engine.start()
    try:
        summary = await asyncio.wait_for(engine.run_until_idle(), 20)
    finally:
        await engine.stop()
    return summary.items[0]


def cdn_gets(hub: FakeHub) -> list[Any]:
    return [r for r in hub.requests("cdn", "/files/") if r.method == "GET"]


# -- byte-level faults (fake hub) -------------------------------------------------------------


async def test_t1_reset_resumes_by_range(hub: FakeHub, db: Database, models: Path) -> None:
    m = simple_model(hub, "Reset", 400 * KIB)
    blob = m.versions[0].files[0].blob
    hub.script(blob.id, [Attempt(drop_after=150 * KIB)])
    item = await run_one(make_engine(db, models), civitai_request(hub, m, models / "Lora"))
    assert item.state == "done" and item.verified
    gets = cdn_gets(hub)
    assert gets[-1].headers.get("range") == f"bytes={150 * KIB}-"
    assert gets[-1].headers.get("if-range")  # the ETag guards the splice
    assert hub.bytes_served(blob.id) <= 1.05 * blob.size


async def test_t2_range_ignored_restarts(hub: FakeHub, db: Database, models: Path) -> None:
    m = simple_model(hub, "NoRange", 300 * KIB)
    blob = m.versions[0].files[0].blob
    hub.script(blob.id, [Attempt(drop_after=100 * KIB), Attempt(ignore_range=True)])
    item = await run_one(make_engine(db, models), civitai_request(hub, m, models / "Lora"))
    assert item.state == "done" and item.verified
    final = Path(item.final_path)
    assert final.stat().st_size == blob.size  # truncated and restarted, never appended


async def test_t3_wrong_content_range_discarded(hub: FakeHub, db: Database, models: Path) -> None:
    m = simple_model(hub, "BadRange", 300 * KIB)
    blob = m.versions[0].files[0].blob
    hub.script(blob.id, [Attempt(drop_after=100 * KIB), Attempt(wrong_content_range=True)])
    item = await run_one(make_engine(db, models), civitai_request(hub, m, models / "Lora"))
    assert item.state == "done" and item.verified


async def test_t4_remote_changed_restarts(hub: FakeHub, db: Database, models: Path) -> None:
    m = simple_model(hub, "Changed", 300 * KIB)
    blob = m.versions[0].files[0].blob
    # Second attempt: another ETag; the fake honours If-Range and sends the whole body (200).
    hub.script(blob.id, [Attempt(drop_after=100 * KIB), Attempt(etag='"v2"')])
    item = await run_one(make_engine(db, models), civitai_request(hub, m, models / "Lora"))
    assert item.state == "done" and item.verified
    assert Path(item.final_path).stat().st_size == blob.size


async def test_t5_complete_part_verifies_without_request(
    hub: FakeHub, db: Database, models: Path
) -> None:
    m = simple_model(hub, "Complete", 200 * KIB)
    blob = m.versions[0].files[0].blob
    engine = make_engine(db, models)
    (res,) = await engine.add([civitai_request(hub, m, models / "Lora")])
    assert res.item_id is not None
    target = partmeta.Target(models / "Lora", m.versions[0].files[0].name)
    target.directory.mkdir(parents=True)
    target.part.write_bytes(blob.read(0, blob.size))
    from modella_tui.core.store.queue import Segment

    await engine.store.save_progress(
        res.item_id, [Segment(0, blob.size, blob.size, blob.size)], None
    )
    item = await run_one(engine, civitai_request(hub, m, models / "Lora"))
    assert item.state == "done" and item.verified
    assert cdn_gets(hub) == [] and hub.requests("civitai", "/api/download") == []


async def test_t6_oversized_part_restarts(hub: FakeHub, db: Database, models: Path) -> None:
    m = simple_model(hub, "Oversize", 200 * KIB)
    blob = m.versions[0].files[0].blob
    target = partmeta.Target(models / "Lora", m.versions[0].files[0].name)
    target.directory.mkdir(parents=True)
    target.part.write_bytes(b"x" * (blob.size + 999))
    item = await run_one(make_engine(db, models), civitai_request(hub, m, models / "Lora"))
    assert item.state == "done" and item.verified


async def test_t7_early_close_without_length(hub: FakeHub, db: Database, models: Path) -> None:
    m = simple_model(hub, "Short", 300 * KIB)
    blob = m.versions[0].files[0].blob
    hub.script(blob.id, [Attempt(no_content_length=True, drop_after=30 * KIB)])
    item = await run_one(make_engine(db, models), civitai_request(hub, m, models / "Lora"))
    assert item.state == "done" and item.verified
    assert cdn_gets(hub)[-1].headers.get("range") == f"bytes={30 * KIB}-"


async def test_t8_header_timeout_and_stall(hub: FakeHub, db: Database, models: Path) -> None:
    m = simple_model(hub, "Stall", 300 * KIB)
    blob = m.versions[0].files[0].blob
    hub.script(blob.id, [Attempt(header_delay=2.0), Attempt(stall_after=50 * KIB)])
    started = time.monotonic()
    item = await run_one(make_engine(db, models), civitai_request(hub, m, models / "Lora"))
    assert item.state == "done" and item.verified
    assert time.monotonic() - started < 8
    assert cdn_gets(hub)[-1].headers.get("range") == f"bytes={50 * KIB}-"


async def test_t9_5xx_backoff_then_success(hub: FakeHub, db: Database, models: Path) -> None:
    m = simple_model(hub, "Flaky", 100 * KIB)
    blob = m.versions[0].files[0].blob
    hub.script(blob.id, [Attempt(status=503), Attempt(status=502)])
    sleep = FakeSleep()
    item = await run_one(
        make_engine(db, models, sleep=sleep), civitai_request(hub, m, models / "Lora")
    )
    assert item.state == "done"
    assert len(sleep.delays) == 2
    assert 1.0 <= sleep.delays[0] <= 1.25 and 2.0 <= sleep.delays[1] <= 2.5


async def test_t9_all_5xx_fails_after_five(hub: FakeHub, db: Database, models: Path) -> None:
    m = simple_model(hub, "Down", 100 * KIB)
    blob = m.versions[0].files[0].blob
    hub.script(blob.id, [Attempt(status=503)] * 6)
    sleep = FakeSleep()
    item = await run_one(
        make_engine(db, models, sleep=sleep), civitai_request(hub, m, models / "Lora")
    )
    assert item.state == "failed" and item.error == "engine.server_error"
    assert len(sleep.delays) == 4 and max(sleep.delays) <= 60
    assert len(cdn_gets(hub)) == 5


@pytest.mark.parametrize(
    ("header", "low", "high"),
    [("3", 3.0, 3.0), ("999999", 600.0, 600.0), ("date", 3.0, 6.0)],
)
async def test_t10_retry_after(
    hub: FakeHub, db: Database, models: Path, header: str, low: float, high: float
) -> None:
    m = simple_model(hub, f"Busy {header}", 100 * KIB)
    blob = m.versions[0].files[0].blob
    if header == "date":
        header = email.utils.formatdate(time.time() + 5, usegmt=True)
    hub.script(blob.id, [Attempt(status=429, retry_after=header)])
    sleep = FakeSleep()
    item = await run_one(
        make_engine(db, models, sleep=sleep), civitai_request(hub, m, models / "Lora")
    )
    assert item.state == "done"
    assert len(sleep.delays) == 1 and low <= sleep.delays[0] <= high


class ExpiringSleep(FakeSleep):
    """Moves the fake hub's clock two days on at the first backoff: the signed URL expires."""

    def __init__(self, hub: FakeHub) -> None:
        super().__init__()
        self.hub = hub

    async def __call__(self, seconds: float) -> None:
        if not self.delays:
            self.hub.now += 2 * 86400
        await super().__call__(seconds)


async def test_t12_expired_signed_url_re_resolved(hub: FakeHub, db: Database, models: Path) -> None:
    m = simple_model(hub, "Expiring", 300 * KIB)
    blob = m.versions[0].files[0].blob
    hub.script(blob.id, [Attempt(drop_after=120 * KIB)])
    engine = make_engine(db, models, sleep=ExpiringSleep(hub))
    item = await run_one(engine, civitai_request(hub, m, models / "Lora"))
    assert item.state == "done" and item.verified
    assert len(hub.requests("civitai", "/api/download")) == 2
    gets = cdn_gets(hub)
    assert [g.status for g in gets] == [206, 403, 206]
    assert gets[-1].headers.get("range") == f"bytes={120 * KIB}-"


async def test_t13_login_and_early_access(hub: FakeHub, db: Database, models: Path) -> None:
    hub.civitai_key = "KEY"
    login = simple_model(hub, "Login Only", 64 * KIB)
    login.versions[0].login_required = True
    early = simple_model(hub, "Early", 64 * KIB)
    early.versions[0].early_access = True
    engine = make_engine(db, models)
    await engine.add(
        [civitai_request(hub, login, models / "Lora"), civitai_request(hub, early, models / "Lora")]
    )
    await engine.start()
    summary = await asyncio.wait_for(engine.run_until_idle(), 20)
    await engine.stop()
    errs = {i.title: i.error for i in summary.items}
    assert errs == {"Login Only": "engine.auth_login", "Early": "engine.early_access"}
    assert summary.exit_code() == 3
    assert len(hub.requests("civitai", "/api/download")) == 2  # no retries
    assert list((models / "Lora").iterdir()) == []


async def test_t14_hub_gated(hub: FakeHub, db: Database, models: Path) -> None:
    repo = hub.catalog.add_repo(
        HRepo("test/gated", [HEntry("m.safetensors", Blob("hf:gated", 4 * KIB, 3))], gated="manual")
    )
    req = QueueRequest(
        source="huggingface", dedupe_key="hf:test/gated@main:m.safetensors", title=repo.id,
        file_name="m.safetensors", type="DiffusionModel", base_model="",
        url=f"{hub.hub_url}/test/gated/resolve/main/m.safetensors", target_dir=models / "unet",
    )  # fmt: skip
    item = await run_one(make_engine(db, models), req)
    assert item.state == "failed" and item.error == "engine.gated"


async def test_hub_lfs_redirect_and_direct(hub: FakeHub, db: Database, models: Path) -> None:
    big = Blob("hf:t/r:big", 300 * KIB, 5)
    small = Blob.from_bytes("hf:t/r:cfg", b'{"a": 1}\n')
    hub.catalog.add_repo(
        HRepo("t/r", [HEntry("w.safetensors", big), HEntry("c.yaml", small, lfs=False)])
    )
    hub.hf_token = "hf_SENTINEL"
    hub_host = hub.hub_url.split("//")[1]

    def auth(url: str) -> dict[str, str]:
        return {"Authorization": "Bearer hf_SENTINEL"} if f"//{hub_host}/" in url else {}

    reqs = [
        QueueRequest(
            source="huggingface",
            dedupe_key=f"hf:t/r@main:{p}",
            title="t/r",
            file_name=p,
            type="Other",
            base_model="",
            url=f"{hub.hub_url}/t/r/resolve/main/{p}",
            target_dir=models / "Other",
            expected_size=b.size,
            sha256=sha,
        )
        for p, b, sha in (("w.safetensors", big, big.sha256), ("c.yaml", small, None))
    ]
    engine = make_engine(db, models, auth_headers=auth)
    await engine.add(reqs)
    await engine.start()
    summary = await asyncio.wait_for(engine.run_until_idle(), 20)
    await engine.stop()
    assert [i.state for i in summary.items] == ["done", "done"]
    assert (models / "Other" / "c.yaml").read_bytes() == b'{"a": 1}\n'
    assert all(r.authorization is None for r in hub.requests("cdn"))


async def test_t19_not_enough_space(hub: FakeHub, db: Database, models: Path) -> None:
    m = simple_model(hub, "Huge", 100 * KIB)

    def usage(path: str) -> Any:
        return os.statvfs_result if False else type("U", (), {"free": 10 * KIB})()

    item = await run_one(
        make_engine(db, models, disk_usage=usage), civitai_request(hub, m, models / "Lora")
    )
    assert item.state == "paused" and item.error == "engine.disk_space"  # waits for room
    assert set(item.error_params) >= {"need", "free"}
    from modella_tui.core.downloads.engine import Summary

    assert Summary([item]).exit_code() == 6
    assert hub.requests("civitai", "/api/download") == []


async def test_t20_enospc_mid_write_pauses(hub: FakeHub, db: Database, models: Path) -> None:
    m = simple_model(hub, "Full", 2 * MIB)
    hub.rate_per_connection = 4 * MIB
    written = 0

    def pwritev(fd: int, bufs: Sequence[bytes], off: int) -> int:
        nonlocal written
        if written > 512 * KIB:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = os.pwritev(fd, bufs, off)
        written += n
        return n

    item = await run_one(
        make_engine(db, models, pwritev=pwritev), civitai_request(hub, m, models / "Lora")
    )
    assert item.state == "paused" and item.error == "engine.folder_full"
    assert item.error_params == {"folder": str(models / "Lora")}
    target = partmeta.Target(models / "Lora", m.versions[0].files[0].name)
    assert target.part.exists() and target.meta.exists()
    assert item.bytes_done > 0


# -- status logic (respx) ---------------------------------------------------------------------


API = "https://civitai.test/api/download/models/1"


def respx_request(models: Path) -> QueueRequest:
    return QueueRequest(
        source="civitai", dedupe_key="civitai:file:1", title="R", file_name="r.safetensors",
        type="LORA", base_model="SD 1.5", url=API, target_dir=models / "Lora",
        expected_size=5, sha256=None,
    )  # fmt: skip


@respx.mock
async def test_t15_redirect_loop(db: Database, models: Path) -> None:
    respx.get(API).mock(return_value=httpx.Response(307, headers={"Location": API}))
    async with httpx.AsyncClient() as client:
        item = await run_one(make_engine(db, models, http=client), respx_request(models))
    assert item.state == "failed" and item.error == "engine.too_many_redirects"


@respx.mock
async def test_t15_https_to_http_refused(db: Database, models: Path) -> None:
    respx.get(API).mock(return_value=httpx.Response(307, headers={"Location": "http://cdn.test/f"}))
    async with httpx.AsyncClient() as client:
        item = await run_one(make_engine(db, models, http=client), respx_request(models))
    assert item.error == "engine.insecure_redirect"


@respx.mock
async def test_t16_json_error_body(db: Database, models: Path) -> None:
    respx.get(API).mock(return_value=httpx.Response(200, json={"error": "nope"}))
    async with httpx.AsyncClient() as client:
        item = await run_one(make_engine(db, models, http=client), respx_request(models))
    assert item.error == "engine.web_page"
    assert not (models / "Lora" / "r.safetensors").exists()


@respx.mock
async def test_404_and_storage_auth_never_sent(db: Database, models: Path) -> None:
    respx.get(API).mock(
        return_value=httpx.Response(
            307, headers={"Location": "https://cdn.test/f?X-Amz-Signature=S"}
        )
    )
    cdn = respx.get("https://cdn.test/f").mock(return_value=httpx.Response(404))
    async with httpx.AsyncClient() as client:
        engine = make_engine(
            db, models, http=client, auth_headers=lambda u: {"Authorization": "Bearer K"}
        )
        item = await run_one(engine, respx_request(models))
    assert item.error == "engine.not_found"
    assert cdn.calls and "authorization" not in cdn.calls[0].request.headers
    assert "X-Amz-Signature" not in str(item.error_params)
