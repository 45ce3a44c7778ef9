"""Where a list's items stand (local, queued, missing, gone), and removing a list's files."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modella_tui.core.downloads.resolve import PlannedFile
from modella_tui.core.errors import AuthError, ModellaError, NotFoundError
from modella_tui.core.hub.packages import load_catalogue
from modella_tui.core.list_status import (
    Holdings,
    PlanOutcome,
    item_status,
    measure,
    offline_status,
    plan_entries,
    remove_files,
)
from modella_tui.core.listfile import ListEntry
from modella_tui.core.lists import LandedFile, ListStore
from modella_tui.core.protocols import QueueItemView
from modella_tui.core.refs import CivitaiRef, Ref
from modella_tui.core.store.db import Database

SHA = "a" * 64


@dataclass
class Row:
    """A queue row as the status code reads it."""

    id: int
    source: str
    model_id: str | None
    version_id: str | None
    file_id: str | None
    file_name: str
    dedupe_key: str
    state: str = "pending"
    title: str = ""
    bytes_done: int = 0
    expected_size: int | None = None
    error: str | None = None
    error_params: dict[str, Any] = field(default_factory=dict)
    target_dir: str = ""
    final_path: str | None = None
    finished_at: float | None = None


_row: QueueItemView = Row(1, "civitai", "7", "70", "700", "a.safetensors", "civitai:file:700")


def landed(root: Path, name: str, **kw: Any) -> LandedFile:
    path = root / "Lora" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * 10)
    values: dict[str, Any] = {
        "source": "civitai", "model_id": "7", "version_id": "70", "file_id": "700",
        "path": str(path), "size": 10, "sha256": SHA, "verified": True,
    }  # fmt: skip
    values.update(kw)
    return LandedFile(**values)


def planned(**kw: Any) -> PlannedFile:
    values: dict[str, Any] = {
        "source": "civitai", "dedupe_key": "civitai:file:700", "title": "Seven",
        "file_name": "a.safetensors", "type": "LORA", "base_model": "", "url": "http://x",
        "target_dir": Path("/m/Lora"), "expected_size": 10, "sha256": SHA,
        "model_id": "7", "version_id": "70", "file_id": "700",
    }  # fmt: skip
    values.update(kw)
    return PlannedFile(**values)


async def test_offline_status_from_records_on_disk_and_the_queue(tmp_path: Path) -> None:
    root = tmp_path / "models"
    kept = landed(root, "a.safetensors")
    moved = landed(tmp_path / "old", "b.safetensors", version_id="71", file_id="701")
    resized = landed(root, "c.safetensors", version_id="72", file_id="702", size=99)
    queue = [
        Row(1, "civitai", "8", "80", "800", "q.safetensors", "civitai:file:800"),
        Row(2, "civitai", "9", "90", "900", "d.safetensors", "civitai:file:900", state="done"),
    ]
    holdings = await Holdings.gather([kept, moved, resized], queue, [root])
    assert holdings.landed == [kept] and [q.id for q in holdings.queued] == [1]

    def state(ref: str, glob: str | None = None) -> str:
        status = offline_status(ListEntry(ref, glob), holdings)
        return status.state + ("✓" if status.verified else "")

    assert state("civitai:7") == "local✓"
    assert state("civitai:7@70") == "local✓"
    assert state("civitai:@70", "A.SAFE*") == "local✓"
    assert state("civitai:7@70", "*.ckpt") == "missing"
    assert state("civitai:7@71") == "missing"  # recorded, but under an earlier models folder
    assert state("civitai:7@72") == "missing"  # changed on disk since it landed
    assert state("civitai:8") == "queued"
    assert state("civitai:9") == "missing"  # its queue row is finished, its file is not here


async def test_a_file_a_scan_hashed_counts_as_here_while_it_is_unchanged(
    tmp_path: Path, db: Database
) -> None:
    root = tmp_path / "models"
    copy = root / "misc" / "copied by hand.safetensors"
    copy.parent.mkdir(parents=True)
    copy.write_bytes(b"x" * 10)
    st = copy.stat()
    await db.execute(
        "INSERT INTO local_files (path, size, mtime, sha256, source, model_id, version_id, "
        "file_id, scanned_at) VALUES (?, ?, ?, ?, 'civitai', '7', '70', '700', 0)",
        (str(copy), 10, st.st_mtime, SHA),
    )
    found = await ListStore(db).landed()
    assert [(f.path, f.verified, f.mtime) for f in found] == [(str(copy), True, st.st_mtime)]
    holdings = await Holdings.gather(found, [], [root])
    assert holdings.have(planned()) is not None  # same hash, whatever its name
    assert offline_status(ListEntry("civitai:7@70"), holdings).state == "local"

    os.utime(copy, (st.st_atime, st.st_mtime + 5))  # changed since the scan hashed it
    holdings = await Holdings.gather(await ListStore(db).landed(), [], [root])
    assert holdings.have(planned()) is None


async def test_a_curated_hub_package_is_local_only_when_all_its_files_are(
    tmp_path: Path,
) -> None:
    catalogue = load_catalogue()
    repo = "comfyanonymous/flux_text_encoders"
    curated = [f.path for _, f in catalogue.find(repo, None)]
    assert len(curated) > 1
    root = tmp_path / "models"
    first = landed(
        root, curated[0], source="huggingface", model_id=repo, version_id="main",
        file_id=curated[0], sha256=None, verified=False,
    )  # fmt: skip
    holdings = await Holdings.gather([first], [], [root])
    whole = offline_status(ListEntry(f"hf:{repo}"), holdings, catalogue)
    assert (whole.state, whole.wanted, whole.paths) == ("missing", len(curated), (first.path,))
    one = offline_status(ListEntry(f"hf:{repo}/{curated[0]}"), holdings, catalogue)
    assert (one.state, one.verified) == ("local", False)
    assert offline_status(ListEntry(f"hf:{repo}@dev/{curated[0]}"), holdings).state == "missing"


async def test_a_resolve_decides_and_a_404_means_gone(tmp_path: Path) -> None:
    root = tmp_path / "models"
    kept = landed(root, "a.safetensors")
    queue = [Row(1, "civitai", "7", "71", "701", "b.safetensors", "civitai:file:701")]
    holdings = await Holdings.gather([kept], queue, [root])
    item = ListEntry("civitai:7")
    here = item_status(item, holdings, PlanOutcome([planned()]))
    assert (here.state, here.verified, here.checked, here.wanted) == ("local", True, True, 1)
    newer = planned(dedupe_key="civitai:file:701", file_id="701", version_id="71", sha256="b" * 64)
    assert item_status(item, holdings, PlanOutcome([newer])).state == "queued"
    republished = planned(sha256="c" * 64)
    assert item_status(item, holdings, PlanOutcome([republished])).state == "missing"
    gone = item_status(item, holdings, PlanOutcome(error=NotFoundError("civitai.error.gone")))
    assert gone.state == "gone" and gone.reason and "archived" in gone.reason
    # The source could not answer: what this machine knows, with the reason.
    locked = item_status(item, holdings, PlanOutcome(error=AuthError("error.auth_required")))
    assert locked.state == "local" and not locked.checked and locked.reason


async def test_resolves_run_a_few_at_a_time_and_keep_their_order() -> None:
    running = 0
    peak = 0

    async def planner(ref: Ref, glob: str | None, skipped: list[ModellaError]) -> list[PlannedFile]:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        import asyncio

        await asyncio.sleep(0.01)
        running -= 1
        assert isinstance(ref, CivitaiRef)
        if ref.model_id == 3:
            raise NotFoundError("civitai.error.gone")
        return [planned(file_id=str(ref.model_id))]

    items = [ListEntry(f"civitai:{n}") for n in range(1, 11)]
    outcomes = await plan_entries(items, planner, concurrency=3)
    assert peak == 3
    assert [o.files[0].file_id if o.files else "gone" for o in outcomes] == [
        "1", "2", "gone", *[str(n) for n in range(4, 11)]
    ]  # fmt: skip


def test_removing_files_takes_their_cards_and_stays_in_the_models_folder(tmp_path: Path) -> None:
    root = tmp_path / "models"
    lora = landed(root, "a.safetensors")
    for card in ("a.civitai.info", "a.preview.png", "a.json"):
        (root / "Lora" / card).write_bytes(b"yy")
    hub = landed(root, "config.safetensors", source="huggingface")
    (root / "Lora" / "config.json").write_bytes(b"keep me")  # not a card of a Hub file
    outside = landed(tmp_path / "elsewhere", "z.safetensors")
    assert measure([lora, hub]) == 10 + 6 + 10
    done = remove_files([lora, hub, outside], root)
    assert done.freed == 26 and sorted(p.name for p in done.removed) == [
        "a.safetensors",
        "config.safetensors",
    ]
    assert [p.name for p, _ in done.failed] == ["z.safetensors"]
    assert sorted(p.name for p in (root / "Lora").iterdir()) == ["config.json"]
    assert Path(outside.path).exists()


async def test_planning_ahead_starts_every_look_up_before_it_is_asked_for() -> None:
    import asyncio

    from modella_tui.core.provision import PlanningAhead

    asked: list[str] = []
    release = asyncio.Event()

    async def planner(ref: Ref, glob: str | None, skipped: list[ModellaError]) -> list[PlannedFile]:
        asked.append(ref.canonical())
        await release.wait()
        assert isinstance(ref, CivitaiRef)
        if ref.model_id == 2:
            skipped.append(NotFoundError("civitai.error.gone"))
        if ref.model_id == 3:
            raise AuthError("civitai.error.auth")
        return [planned(file_id=str(ref.model_id))]

    entries = [ListEntry("civitai:1"), ListEntry("civitai:2"), ListEntry("civitai:1"),
               ListEntry("civitai:3"), ListEntry("not a ref")]  # fmt: skip
    ahead = PlanningAhead(planner, entries, concurrency=2)
    await asyncio.sleep(0.01)
    assert len(asked) == 2  # under way before anyone asks, two at a time
    release.set()
    outcomes = await plan_entries(entries, ahead, concurrency=8)
    await ahead.close()
    assert sorted(asked) == ["civitai:1", "civitai:2", "civitai:3"]  # the repeated REF: one look-up
    assert [o.files[0].file_id if o.files else None for o in outcomes] == [
        "1", "2", "1", None, None
    ]  # fmt: skip
    assert [type(e).__name__ for e in outcomes[1].skipped] == ["NotFoundError"]
    assert isinstance(outcomes[3].error, AuthError)
    assert outcomes[4].error is not None
    # A REF it was not built for goes to the planner as it is.
    extra = await ahead(CivitaiRef(model_id=9), None, [])
    assert [f.file_id for f in extra] == ["9"]


async def test_planning_ahead_cancels_what_nobody_asked_for() -> None:
    import asyncio

    from modella_tui.core.provision import PlanningAhead

    started = asyncio.Event()

    async def planner(ref: Ref, glob: str | None, skipped: list[ModellaError]) -> list[PlannedFile]:
        started.set()
        await asyncio.sleep(60)
        return []

    ahead = PlanningAhead(planner, [ListEntry("civitai:1")], concurrency=1)
    await started.wait()
    await asyncio.wait_for(ahead.close(), 1)
