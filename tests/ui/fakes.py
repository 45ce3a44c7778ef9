"""Small fakes for UI tests: a Civitai client that records calls, an engine with a listener."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from modella_tui.core.errors import ModellaError
from modella_tui.core.models import (
    CivitaiFile,
    CivitaiModel,
    CivitaiStats,
    CivitaiVersion,
    SearchPage,
)


def make_model(i: int, name: str | None = None, **kw: Any) -> CivitaiModel:
    """A model with one version and one primary file."""
    version = CivitaiVersion(
        id=10_000 + i,
        name="v1",
        model_id=i,
        base_model="SDXL 1.0",
        trained_words=(f"word{i}",),
        files=(
            CivitaiFile(id=20_000 + i, name=f"model{i}.safetensors", primary=True, size_kb=1024),
        ),
    )
    base = CivitaiModel(
        id=i,
        name=name or f"Model {i}",
        type="LORA",
        description=f"<p>Description of <b>model {i}</b></p>",
        stats=CivitaiStats(downloads=1000 * i, likes=10 * i, rating=4.5),
        versions=(version,),
    )
    return replace(base, **kw)


@dataclass
class FakeCivitai:
    """Pages of `per_page` models up to `total`; records each search's params."""

    total: int = 100
    per_page: int = 20
    searches: list[Any] = field(default_factory=list)
    error: ModellaError | None = None
    models: dict[int, CivitaiModel] = field(default_factory=dict)
    empty_pages: int = 0  # pages with no items (but a cursor) before the real ones

    async def search(self, params: Any) -> SearchPage:
        self.searches.append(params)
        await asyncio.sleep(0)
        if self.error is not None:
            raise self.error
        start = int(params.cursor or 0)
        if self.empty_pages and start < 0:
            pass
        if start == 0 and self.empty_pages:
            self.empty_pages -= 1
            return SearchPage((), "0")
        items = []
        for i in range(start + 1, min(self.total, start + self.per_page) + 1):
            items.append(self.models.get(i) or make_model(i))
        nxt = str(start + self.per_page) if start + self.per_page < self.total else None
        return SearchPage(tuple(items), nxt)

    async def model(self, model_id: int) -> CivitaiModel:
        return self.models.get(model_id) or make_model(model_id)


@dataclass
class FakeItem:
    id: int
    title: str
    file_name: str
    state: str = "pending"
    bytes_done: int = 0
    expected_size: int | None = 1000
    model_id: str | None = None
    error: str | None = None
    error_params: str | None = None


class FakeEngine:
    """Items and a listener list; actions record what they were asked."""

    def __init__(self) -> None:
        self.listeners: list[Callable[[object], None]] = []
        self._items: dict[int, FakeItem] = {}
        self.calls: list[tuple[str, Any]] = []

    def subscribe(self, listener: Callable[[object], None]) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def emit(self, event: object) -> None:
        for listener in list(self.listeners):
            listener(event)

    def put(self, item: FakeItem) -> None:
        self._items[item.id] = item

    async def items(self) -> list[FakeItem]:
        return list(self._items.values())

    async def start(self) -> None:
        self.calls.append(("start", None))

    async def stop(self) -> None:
        self.calls.append(("stop", None))

    async def pause(self, item_id: int) -> None:
        self.calls.append(("pause", item_id))
        self._items[item_id].state = "paused"

    async def resume(self, item_id: int) -> None:
        self.calls.append(("resume", item_id))
        self._items[item_id].state = "pending"

    async def cancel(self, item_id: int) -> None:
        self.calls.append(("cancel", item_id))
        self._items[item_id].state = "cancelled"

    async def retry(self, item_id: int) -> None:
        self.calls.append(("retry", item_id))

    async def clear_finished(self) -> None:
        self.calls.append(("clear_finished", None))
        for key in [k for k, v in self._items.items() if v.state in ("done", "cancelled")]:
            del self._items[key]


@dataclass
class Enqueued:
    calls: list[tuple[CivitaiModel, CivitaiVersion, list[CivitaiFile]]] = field(
        default_factory=list
    )

    async def __call__(
        self, model: CivitaiModel, version: CivitaiVersion, files: Sequence[CivitaiFile]
    ) -> int:
        self.calls.append((model, version, list(files)))
        return len(files)
