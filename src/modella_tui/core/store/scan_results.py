"""What a library scan writes: hashes, Civitai identities, header readings, models' versions.

Every write names the (path, size, mtime) it was computed for and changes nothing when the row has
moved on since (the file changed or went while it was being read), so a stale answer never sticks
to new bytes. `core/library.py` owns the rest of `local_files`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from modella_tui.core.library_files import LocalFile, ModelVersions
from modella_tui.core.safetensors import HeaderInfo
from modella_tui.core.store.db import Database

_SAME = "WHERE path = ? AND size = ? AND mtime = ?"


@dataclass(frozen=True)
class Identity:
    """Who a file is, from Civitai's by-hash look-up."""

    model_id: str
    version_id: str
    file_id: str | None
    name: str
    type: str
    base_model: str


def _key(f: LocalFile) -> tuple[str, int, float]:
    return (f.path, f.size, f.mtime)


async def save_hashes(db: Database, hashed: Sequence[tuple[LocalFile, str]]) -> None:
    """SHA256s computed for these files' bytes (one transaction for a batch)."""
    if hashed:
        async with db.write() as conn:
            await conn.executemany(
                f"UPDATE local_files SET sha256 = ? {_SAME}", [(sha, *_key(f)) for f, sha in hashed]
            )


async def save_identity(db: Database, f: LocalFile, who: Identity, now: float) -> None:
    """Civitai knows the hash: the file is that model's version from now on."""
    await db.execute(
        "UPDATE local_files SET source = 'civitai', model_id = ?, version_id = ?, file_id = ?, "
        f"name = ?, type = ?, base_model = ?, lookup = 'found', identified_at = ? {_SAME}",
        (who.model_id, who.version_id, who.file_id, who.name, who.type, who.base_model, now,
         *_key(f)),
    )  # fmt: skip


async def save_unknown(db: Database, f: LocalFile, now: float) -> None:
    """Civitai does not know the hash: not asked again until the file changes."""
    await db.execute(
        f"UPDATE local_files SET lookup = 'unknown', identified_at = ? {_SAME}", (now, *_key(f))
    )


async def save_headers(db: Database, read: Sequence[tuple[LocalFile, HeaderInfo]]) -> None:
    """What safetensors headers said; a type or base model one names replaces the guess."""
    if read:
        async with db.write() as conn:
            await conn.executemany(
                "UPDATE local_files SET header = ?, type = coalesce(?, type), "
                f"base_model = coalesce(?, base_model) {_SAME}",
                [(h.status, h.type, h.base_model, *_key(f)) for f, h in read],
            )


async def save_versions(db: Database, versions: ModelVersions) -> None:
    """A model's versions as Civitai lists them now."""
    await db.execute(
        "INSERT INTO civitai_versions (model_id, versions, checked_at) VALUES (?, ?, ?) "
        "ON CONFLICT(model_id) DO UPDATE SET versions = excluded.versions, "
        "checked_at = excluded.checked_at",
        (versions.model_id, versions.to_json(), versions.checked_at),
    )
