"""The download queue's rows as Python values: an item, its brief, a byte range, a landed file."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from modella_tui.core.i18n import t


@dataclass
class QueueItem:
    """One row of `queue_items`, with its JSON columns decoded."""

    id: int
    source: str
    dedupe_key: str
    model_id: str | None
    version_id: str | None
    file_id: str | None
    title: str
    file_name: str
    type: str
    base_model: str
    url: str
    target_dir: str
    expected_size: int | None
    sha256: str | None
    etag: str | None
    state: str
    error: str | None
    error_params: dict[str, Any]
    bytes_done: int
    attempts: int
    verified: bool
    final_path: str | None
    meta: dict[str, Any]
    created_at: float
    updated_at: float
    finished_at: float | None

    @property
    def message(self) -> str | None:
        """The translated failure or pause reason, if any."""
        return t(self.error, **self.error_params) if self.error else None

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> QueueItem:
        """Decode a database row."""
        return cls(
            id=row["id"],
            source=row["source"],
            dedupe_key=row["dedupe_key"],
            model_id=row["model_id"],
            version_id=row["version_id"],
            file_id=row["file_id"],
            title=row["title"],
            file_name=row["file_name"],
            type=row["type"],
            base_model=row["base_model"],
            url=row["url"],
            target_dir=row["target_dir"],
            expected_size=row["expected_size"],
            sha256=row["sha256"],
            etag=row["etag"],
            state=row["state"],
            error=row["error"],
            error_params=loads_object(row["error_params"]),
            bytes_done=row["bytes_done"],
            attempts=row["attempts"],
            verified=bool(row["verified"]),
            final_path=row["final_path"],
            meta=loads_object(row["meta"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            finished_at=row["finished_at"],
        )


@dataclass(frozen=True)
class ItemBrief:
    """The columns of a queue row the engine's bookkeeping needs, without decoding its JSON."""

    id: int
    state: str
    dedupe_key: str
    target_dir: str
    file_name: str
    sha256: str | None
    bytes_done: int


@dataclass
class Segment:
    """A byte range of one file; `done` bytes from `start` are written. `end` None = unknown size.

    `synced` of those bytes were covered by an fdatasync; the rest may exist only in the page cache.
    """

    start: int
    end: int | None
    done: int = 0
    synced: int = 0

    @property
    def pos(self) -> int:
        """The next byte to fetch."""
        return self.start + self.done

    @property
    def remaining(self) -> int | None:
        """Bytes still to fetch, None when the size is unknown."""
        return None if self.end is None else max(0, self.end - self.pos)


@dataclass
class Landed:
    """A row for `downloaded_models`."""

    source: str
    model_id: str | None
    version_id: str | None
    file_id: str | None
    name: str
    type: str
    base_model: str
    path: str
    size: int
    sha256: str | None
    verified: bool
    extra: dict[str, Any] = field(default_factory=dict)


def loads_object(text: str | None) -> dict[str, Any]:
    """A JSON column that holds an object; {} for nothing, bad JSON or another kind of value."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
