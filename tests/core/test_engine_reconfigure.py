"""Settings change in the running engine: models folder, parallel files, connections per file."""

from __future__ import annotations

from pathlib import Path

from modella_tui.core.store.db import Database
from tests.core.engine_support import civitai_request, make_engine, simple_model
from tests.core.test_engine_folders import wait_until
from tests.fakes.catalog import KIB, MIB
from tests.fakes.fakehub import FakeHub


async def test_a_new_models_folder_takes_new_items_while_running_ones_finish_where_they_are(
    hub: FakeHub, db: Database, tmp_path: Path
) -> None:
    old, new = tmp_path / "old-models", tmp_path / "new-models"
    slow = simple_model(hub, "Running while moved", 1 * MIB)
    waiting = simple_model(hub, "Queued before the move", 100 * KIB)
    later = simple_model(hub, "Queued after the move", 100 * KIB)
    hub.rate_per_connection = 2 * MIB
    engine = make_engine(db, old, max_parallel=1)
    await engine.add([civitai_request(hub, m, old / "Lora") for m in (slow, waiting)])
    await engine.start()
    try:
        await wait_until(engine, lambda xs: xs[0].state == "running" and xs[0].bytes_done > 0)
        engine.reconfigure(models_dir=new)
        (refused,) = await engine.add([civitai_request(hub, later, old / "Lora")])
        assert refused.status == "refused" and refused.key == "engine.unsafe_path"
        (added,) = await engine.add([civitai_request(hub, later, new / "Lora")])
        assert added.status == "queued"
        hub.rate_per_connection = None
        items = await wait_until(engine, lambda xs: all(i.state == "done" for i in xs))
    finally:
        await engine.stop()
    landed = {i.title: Path(i.final_path or "") for i in items}
    assert landed["Running while moved"].parent == old / "Lora"  # finished where it started
    assert landed["Queued before the move"].parent == new / "Lora"  # nothing written yet: moved
    assert landed["Queued after the move"].parent == new / "Lora"
    assert all(i.verified for i in items)


async def test_a_higher_max_parallel_starts_pending_items_at_once(
    hub: FakeHub, db: Database, models: Path
) -> None:
    ms = [simple_model(hub, f"Parallel {n}", 2 * MIB) for n in range(3)]
    hub.rate_per_connection = 1 * MIB
    engine = make_engine(db, models, max_parallel=1, connections_per_file=1)
    await engine.add([civitai_request(hub, m, models / "Lora") for m in ms])
    await engine.start()
    try:
        await wait_until(engine, lambda xs: [i.state for i in xs].count("running") == 1)
        engine.reconfigure(max_parallel=3)
        await wait_until(engine, lambda xs: [i.state for i in xs].count("running") == 3, 5)
        hub.rate_per_connection = None
        await wait_until(engine, lambda xs: all(i.state == "done" for i in xs))
    finally:
        await engine.stop()


async def test_connections_per_file_applies_to_new_jobs_and_caps_running_ones(
    hub: FakeHub, db: Database, models: Path
) -> None:
    first = simple_model(hub, "Ramp ceiling", 3 * MIB)
    second = simple_model(hub, "One connection", 3 * MIB)
    hub.rate_per_connection = 1 * MIB
    engine = make_engine(db, models, multi_min=256 * KIB, connections_per_file=4)
    (res,) = await engine.add([civitai_request(hub, first, models / "Lora")])
    await engine.start()
    try:
        await wait_until(engine, lambda xs: xs[0].state == "running")
        engine.reconfigure(connections_per_file=1)
        assert res.item_id is not None
        job = engine._jobs.get(res.item_id)
        assert job is None or job.connections == 1  # the running job's ramp ceiling
        await wait_until(engine, lambda xs: xs[0].state == "done")
        await engine.add([civitai_request(hub, second, models / "Lora")])
        await wait_until(engine, lambda xs: all(i.state == "done" for i in xs))
    finally:
        await engine.stop()
    blob = second.versions[0].files[0].blob
    gets = [r for r in hub.requests("cdn", "/files/") if r.method == "GET" and r.blob_id == blob.id]
    assert len(gets) == 1  # capped server, but only one connection allowed now


async def test_a_queued_item_follows_a_models_folder_changed_while_modella_was_closed(
    hub: FakeHub, db: Database, tmp_path: Path
) -> None:
    old, new = tmp_path / "old-models", tmp_path / "new-models"
    m = simple_model(hub, "Queued, then the folder changed", 100 * KIB)
    before = make_engine(db, old)
    (res,) = await before.add([civitai_request(hub, m, old / "Lora")])  # never started
    assert res.item_id is not None
    # A new process with another models folder: it never knew the old one as a former folder.
    after = make_engine(db, new)
    await after.start()
    try:
        summary = await after.run_until_idle([res.item_id])
    finally:
        await after.stop()
    (item,) = summary.items
    assert item.state == "done", item.error
    assert item.final_path == str(new / "Lora" / item.file_name)
    assert not (old / "Lora").exists()


async def test_a_failed_item_asked_for_again_goes_to_the_current_models_folder(
    hub: FakeHub, db: Database, tmp_path: Path
) -> None:
    old, new = tmp_path / "old-models", tmp_path / "new-models"
    m = simple_model(hub, "Failed under the old folder", 100 * KIB)
    (res,) = await make_engine(db, old).add([civitai_request(hub, m, old / "Lora")])
    assert res.item_id is not None
    # It failed there ("outside the models folder") in a version that kept no record of its root.
    await db.execute(
        "UPDATE queue_items SET state = 'failed', error = 'engine.unsafe_path', meta = '{}'"
    )
    engine = make_engine(db, new)
    (again,) = await engine.add([civitai_request(hub, m, new / "Lora")])
    assert (again.status, again.item_id) == ("requeued", res.item_id)
    await engine.start()
    try:
        summary = await engine.run_until_idle([res.item_id])
    finally:
        await engine.stop()
    (item,) = summary.items
    assert item.state == "done" and item.final_path == str(new / "Lora" / item.file_name)
