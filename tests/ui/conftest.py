"""Fixtures for the app tests: settings in the isolated home, fake services, the fake hub."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from modella_tui.core import config
from modella_tui.core.config import Settings
from modella_tui.ui.app import ModellaApp, make_app
from modella_tui.ui.services import Services
from tests.fakes.fakehub import FakeHub
from tests.ui.fakes import Enqueued, FakeCivitai, FakeEngine

SIZE = (120, 40)


@pytest.fixture
def settings() -> Settings:
    """Settings read from the test's private home."""
    return config.load()


@pytest.fixture
def fake_civitai() -> FakeCivitai:
    """A Civitai client that serves generated pages."""
    return FakeCivitai()


@pytest.fixture
def engine() -> FakeEngine:
    """A download engine stand-in."""
    return FakeEngine()


@pytest.fixture
def enqueued() -> Enqueued:
    """Records what the app queued."""
    return Enqueued()


@pytest.fixture
def app(
    settings: Settings, fake_civitai: FakeCivitai, engine: FakeEngine, enqueued: Enqueued
) -> ModellaApp:
    """The app over fakes."""
    services = Services(
        settings=settings, civitai=fake_civitai, engine=engine, enqueue_civitai=enqueued
    )
    return make_app(settings, services)


@pytest.fixture(scope="module")
def hub() -> Iterator[FakeHub]:
    """The project's fake Civitai/Hub/CDN on loopback."""
    with FakeHub() as running:
        yield running
