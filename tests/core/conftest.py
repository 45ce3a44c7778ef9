"""Fixtures the engine tests share: a fake hub, a state database and a models folder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from modella_tui.core.store.db import Database
from tests.fakes.fakehub import FakeHub


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    """A fake hub of its own for one test."""
    h = FakeHub().start()
    yield h
    h.stop()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh state database, always closed."""
    d = await Database(tmp_path / "state" / "modella.db").open()
    yield d
    await d.close()


@pytest.fixture
def models(tmp_path: Path) -> Path:
    """An empty models folder."""
    p = tmp_path / "models"
    p.mkdir()
    return p
