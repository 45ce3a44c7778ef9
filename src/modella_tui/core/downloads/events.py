"""Plain events the download engine emits; the UI turns them into messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ItemAdded:
    """A new row entered the queue."""

    item_id: int
    title: str
    file_name: str


@dataclass(frozen=True)
class StateChanged:
    """An item moved to another state; `error_key` names a locale string when it failed or paused."""

    item_id: int
    state: str
    error_key: str | None = None
    error_params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Progress:
    """A snapshot of one item's transfer, at most ~10 a second per item."""

    item_id: int
    done: int
    total: int | None
    speed_bps: float
    eta_s: float | None


@dataclass(frozen=True)
class ItemRemoved:
    """A finished row was cleared from the queue."""

    item_id: int


@dataclass(frozen=True)
class SidecarsWritten:
    """A landed model's sidecars (`.civitai.info`, preview, Forge card) are on disk beside it,
    a moment after its "done": the library index takes them in."""

    item_id: int
    path: str
    """The model file they belong to."""


Event = ItemAdded | StateChanged | Progress | ItemRemoved | SidecarsWritten
