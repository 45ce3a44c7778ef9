"""One item from start to landing: free space, the transfer job, verification, no-clobber rename."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any

from modella_tui.core import errors
from modella_tui.core.downloads import partmeta
from modella_tui.core.downloads.events import SidecarsWritten
from modella_tui.core.downloads.job import Job, JobResult, open_both
from modella_tui.core.downloads.partmeta import Target, UnsafePathError, make_target
from modella_tui.core.downloads.sidecars import fetch_preview_bytes, preview_url, write_sidecars
from modella_tui.core.downloads.state import log
from modella_tui.core.downloads.transfer import Fetcher, TransferError
from modella_tui.core.downloads.waiting import FolderWait
from modella_tui.core.store.queue import Landed, QueueItem, Segment
from modella_tui.core.textsafe import redact_url
from modella_tui.core.units import human_size


class Landing(FolderWait):
    """Runs one item's download task and lands the file."""

    async def _work(self, item: QueueItem, segments: list[Segment]) -> None:
        try:
            await self._download(item, segments)
        except asyncio.CancelledError:
            reason = self._stop_reason.get(item.id, "stop")
            await asyncio.shield(self._after_stop(item, reason))
        except TransferError as exc:
            await self._fail(item, exc.key, exc.params)
        except UnsafePathError as exc:
            await self._fail(item, "engine.unsafe_path", {"path": os.path.basename(str(exc))})
        except errors.DiskSpaceError as exc:
            # Waits (paused) rather than fails: it resumes by itself once there is room.
            await self._set_state(item.id, "paused", "engine.disk_space", exc.params)
        except OSError as exc:
            if not await self._folder_error(item, exc):
                await self._fail(item, "engine.io_error", {"reason": exc.strerror or str(exc)})
        except Exception as exc:
            log.exception("download of item %s failed", item.id)
            await self._fail(item, "engine.internal", {"reason": type(exc).__name__})
        finally:
            preview = self._previews.pop(item.id, None)
            if preview is not None:  # not landed: nobody will write it
                preview.cancel()
                if preview.done() and not preview.cancelled():
                    preview.exception()  # retrieved, so never reported as lost
            self._tasks.pop(item.id, None)
            self._jobs.pop(item.id, None)
            self._speed.pop(item.id, None)
            self._stop_reason.pop(item.id, None)
            handed = self._handover.pop(item.id, None)
            if handed is not None:
                # The slot goes straight to the item claimed with this one's landing (no await
                # in between: the scheduler never sees the slot free).
                self._start_item(*handed, checked=False)
            self._wake.set()
            self._changed.set()

    async def _fail(self, item: QueueItem, key: str, params: dict[str, Any]) -> None:
        # Nothing worth resuming: leave no empty `.part` debris behind.
        if not any(s.done for s in await self.store.segments(item.id, self.boot_id)):
            with contextlib.suppress(UnsafePathError, OSError):
                target = make_target(item.target_dir, item.file_name, self._all_roots())
                await asyncio.to_thread(partmeta.remove_part, target)
        await self._set_state(item.id, "failed", key, params)

    async def _after_stop(self, item: QueueItem, reason: str) -> None:
        if reason == "cancel":
            with contextlib.suppress(UnsafePathError):
                partmeta.remove_part(
                    make_target(item.target_dir, item.file_name, self._all_roots())
                )
            await self.store.clear_segments(item.id)
            await self._set_state(item.id, "cancelled")
        elif reason == "pause":
            await self._set_state(item.id, "paused")
        else:
            await self._set_state(item.id, "pending")

    async def _download(self, item: QueueItem, segments: list[Segment]) -> None:
        target = make_target(item.target_dir, item.file_name, self._all_roots())
        if await self._already_landed(item, target):
            return
        await self._check_space(item, target, sum(s.done for s in segments))
        fetcher = Fetcher(
            self._client(),
            item.url,
            source=item.source,
            auth_headers=self.auth_headers,
            timeouts=self.timeouts,
            file_name=target.name,
        )

        async def checkpoint(segs: list[Segment], etag: str | None, total: int | None) -> None:
            await self.store.save_progress(item.id, segs, etag, self.boot_id)
            if total is not None and item.expected_size is None:
                item.expected_size = total
                await self.store.update(item.id, expected_size=total)
            item.etag = etag
            with contextlib.suppress(OSError):
                await asyncio.to_thread(
                    partmeta.write_meta, target, self._meta_for(item, segs), self._key()
                )

        job = Job(
            fetcher=fetcher,
            target=target,
            segments=segments,
            total=item.expected_size,
            etag=item.etag,
            checkpoint=checkpoint,
            connections=self.connections_per_file,
            multi_min=self.multi_min,
            checkpoint_interval=self.checkpoint_interval,
            sync_interval=self.sync_interval,
            fsync=self._fsync,
            sleep=self._sleep,
            pwritev=self._pwritev,
        )
        url = preview_url(item.meta) if _gets_sidecars(item) else None
        if url is not None:
            # The preview image comes in beside the file, so its sidecars need only be written
            # once it lands.
            self._previews[item.id] = asyncio.ensure_future(
                fetch_preview_bytes(self._client(), url, self.timeouts.headers)
            )
        # A fresh file's first request goes out while its folder, `.part.json` and `.part` are
        # made (none of its bytes is written before they are). Not for a missing folder: one that
        # cannot be made waits without a request.
        if target.directory.is_dir():
            job.send_first_request()
        try:
            fds = await asyncio.to_thread(
                _prepare, target, self._meta_for(item, segments), self._key()
            )
        except BaseException:
            await job.drop_first_request()
            raise
        self._jobs[item.id] = job
        result = await job.run(fds)
        matches = not item.sha256 or result.sha256 == item.sha256
        if matches and not os.path.lexists(target.final):
            await self._land_at_once(item, target, job.final_segments(), result)
            return
        # The ranges (all synced now) and the state in one transaction: a crash before the
        # rename resumes from a whole `.part` without fetching anything again.
        await self.store.save_progress(
            item.id, job.final_segments(), result.etag, self.boot_id, state="verifying"
        )
        self._state_changed(item.id, "verifying", None, None)
        if not matches:
            await asyncio.to_thread(partmeta.remove_part, target)
            await self.store.clear_segments(item.id)
            await self._fail(item, "engine.hash_mismatch", {"name": item.file_name})
            return
        final = await self._land(item, target, result.sha256)
        await self._finish(item, final, result.size, result.sha256, bool(item.sha256))

    async def _land_at_once(
        self, item: QueueItem, target: Target, segments: list[Segment], result: JobResult
    ) -> None:
        """A verified file whose name is free: its ranges recorded whole (verifying), the rename,
        and the item done (with the next one claimed for this slot) in one trip to the database's
        thread, in that order: a crash between them costs nothing (see `QueueStore.land`)."""

        def rename() -> Path:
            self._crash("before_rename")
            return self._rename_into_place(target)

        def record(final: Path) -> tuple[Landed, dict[str, Any]]:
            return self._landed_record(item, final, result.size, result.sha256, bool(item.sha256))

        final, moved, handed = await self.store.land(
            item.id, segments, result.etag, self.boot_id, rename, record,
            claim_next=item.id in self._tasks and self._may_hand_over(),
        )  # fmt: skip
        self._state_changed(item.id, "verifying", None, None)
        self._after_finish(item, final, moved, handed)

    async def _land(self, item: QueueItem, target: Target, sha: str) -> Path:
        # An identical file already under the final name: keep it, drop ours.
        if await self._same_file(target.final, sha, None):
            await asyncio.to_thread(partmeta.remove_part, target)
            return target.final
        self._crash("before_rename")
        return await asyncio.to_thread(self._rename_into_place, target)

    def _rename_into_place(self, target: Target) -> Path:
        """The no-clobber rename, then the `.part.json` goes (in a worker thread: one trip)."""
        final = partmeta.land(target)
        self._crash("after_rename")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(target.meta)
        return final

    def _landed_record(
        self, item: QueueItem, final: Path, size: int, sha: str | None, verified: bool
    ) -> tuple[Landed, dict[str, Any]]:
        """The library row of a landed file and the columns its queue row gets when done."""
        landed = Landed(
            item.source, item.model_id, item.version_id, item.file_id, item.title, item.type,
            item.base_model, str(final), size, sha, verified,
        )  # fmt: skip
        done = {"final_path": str(final), "verified": int(verified), "bytes_done": size,
                "expected_size": size}  # fmt: skip
        return landed, done

    async def _finish(
        self, item: QueueItem, final: Path, size: int, sha: str | None, verified: bool
    ) -> None:
        landed, done = self._landed_record(item, final, size, sha, verified)
        # One transaction: the library row, the ranges forgotten, the item done, and the next
        # pending item claimed for this download slot (started when this task ends).
        if item.id in self._tasks and self._may_hand_over():
            moved, handed = await self.store.finish_and_claim(item.id, landed, self.boot_id, **done)
        else:
            moved, handed = await self.store.finish(item.id, landed, **done), None
        self._after_finish(item, final, moved, handed)

    def _after_finish(
        self,
        item: QueueItem,
        final: Path,
        moved: bool,
        handed: tuple[QueueItem, list[Segment]] | None,
    ) -> None:
        """Events, the slot handed on, and the sidecars, once the item is recorded done."""
        if moved:
            self._state_changed(item.id, "done", None, None)
        if handed is not None:
            self._handover[item.id] = handed
            self._state_changed(handed[0].id, "running", None, None)
        # Sidecars are written after the download slot is free (off the critical path), with the
        # preview fetched while the file came in; run_until_idle and stop wait for them.
        if _gets_sidecars(item):
            task = asyncio.create_task(
                write_sidecars(
                    self._client(), final, item.meta, item.base_model, self.timeouts.headers,
                    self._previews.pop(item.id, None),
                ),
                name=f"modella-sidecars-{item.id}",
            )  # fmt: skip
            self._side_tasks.add(task)
            task.add_done_callback(self._side_tasks.discard)
            task.add_done_callback(
                lambda t: (
                    None
                    if t.cancelled() or t.exception() is not None
                    else self._emit(SidecarsWritten(item.id, str(final)))
                )
            )

    async def _already_landed(self, item: QueueItem, target: Target) -> bool:
        """The file is already in place: an identical one exists, or a crash hit after the rename."""
        if not os.path.lexists(target.final):
            return False
        if item.sha256:
            if await self._same_file(target.final, item.sha256, item.expected_size):
                await asyncio.to_thread(partmeta.remove_part, target)
                await self._finish(
                    item, target.final, os.path.getsize(target.final), item.sha256, True
                )
                return True
            return False
        # Unverified: only trust it when our sidecar says the `.part` was renamed.
        meta = partmeta.read_meta(target.meta)
        if meta is not None and not partmeta.is_signed(meta, self._key()):
            meta = None  # not written by this installation: proves nothing
        size = os.path.getsize(target.final) if os.path.isfile(target.final) else -1
        if meta and partmeta.part_size(target) is None and size == meta.get("expected_size"):
            await asyncio.to_thread(partmeta.remove_part, target)
            await self._finish(item, target.final, size, None, False)
            return True
        return False

    async def _check_space(self, item: QueueItem, target: Target, done: int) -> None:
        """Refuse to start without room for this file's rest plus every running remainder."""
        size = item.expected_size or item.meta.get("size_hint")
        if not isinstance(size, int):
            return
        need = max(0, size - done)
        for other_id, job in self._jobs.items():
            if other_id != item.id and job.total is not None:
                need += max(0, job.total - job.received)
        folder = target.directory
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        free = int(self._disk_usage(str(folder)).free)
        if need > free:
            raise errors.DiskSpaceError(
                "engine.disk_space",
                bytes=need,
                need=human_size(need),
                free=human_size(free),
                name=item.file_name,
            )

    def _meta_for(self, item: QueueItem, segments: list[Segment]) -> dict[str, Any]:
        return {
            "source": item.source,
            "dedupe_key": item.dedupe_key,
            "model_id": item.model_id,
            "version_id": item.version_id,
            "file_id": item.file_id,
            "title": item.title,
            "file_name": item.file_name,
            "type": item.type,
            "base_model": item.base_model,
            "url": redact_url(item.url),
            "expected_size": item.expected_size,
            "sha256": item.sha256,
            "etag": item.etag,
            "ranges": [[s.start, s.end, s.done, s.synced] for s in segments],
            "boot_id": self.boot_id,
            "meta": item.meta,
        }


def _prepare(target: Target, meta: dict[str, Any], key: bytes) -> tuple[int, int]:
    """The folder, the signed `.part.json` and the `.part` opened, before any byte (in a worker
    thread: one trip)."""
    target.directory.mkdir(parents=True, exist_ok=True)
    partmeta.write_meta(target, meta, key)
    return open_both(target)


def _gets_sidecars(item: QueueItem) -> bool:
    """Only a Civitai model file gets sidecars: a version's Config `.yaml` or VAE would otherwise
    write an empty card over the model's `<stem>.json`."""
    return item.source == "civitai" and isinstance(item.meta.get("version_json"), dict)
