"""A worker that fails while secrets are set: the user is told, the log has the detail, and no
secret shows up anywhere the failure goes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from textual.worker import WorkerState

from modella_tui.core import applog, config, paths
from modella_tui.core.civitai.client import CivitaiClient
from modella_tui.core.store.cache import ResponseCache
from modella_tui.core.store.db import Database
from modella_tui.ui.app import make_app
from modella_tui.ui.services import Services
from tests.fakes.fakehub import FakeHub
from tests.ui.conftest import SIZE

CIVITAI_KEY = "SENTINELKEY0123456789abcdef"
HF_TOKEN = "hf_SENTINEL0123456789abcdef"
SECRETS = (CIVITAI_KEY, HF_TOKEN)


@pytest.fixture
def secrets_set(monkeypatch: pytest.MonkeyPatch) -> config.Settings:
    """Both secrets in the environment, as on a pod; the settings that hold them."""
    monkeypatch.setenv("CIVITAI_API_KEY", CIVITAI_KEY)
    monkeypatch.setenv("HF_TOKEN", HF_TOKEN)
    return config.load()


@pytest.fixture
def log_file(secrets_set: config.Settings) -> Iterator[Path]:
    """The log file as `modella` installs it, removed again after the test."""
    handler = applog.install_log_file(
        lambda: [s.reveal() for s in (secrets_set.civitai_key, secrets_set.hf_token) if s]
    )
    yield paths.log_path()
    applog.remove_log_file(handler)


def leaky_error() -> httpx.HTTPStatusError:
    """The kind of error that carries secrets: a request with the key in its URL and headers."""
    request = httpx.Request(
        "GET",
        f"https://civitai.example/api/v1/models?token={CIVITAI_KEY}",
        headers={"Authorization": f"Bearer {CIVITAI_KEY}", "X-Token": HF_TOKEN},
    )
    response = httpx.Response(500, request=request, text=f"echo {HF_TOKEN}")
    return httpx.HTTPStatusError(
        f"Server error for url {request.url} with token {HF_TOKEN}",
        request=request,
        response=response,
    )


def assert_no_secret(where: str, data: bytes | str) -> None:
    raw = data.encode() if isinstance(data, str) else data
    for secret in SECRETS:
        assert secret.encode() not in raw, f"{secret[:11]}… in {where}"


async def test_a_failing_worker_is_reported_without_any_secret(
    secrets_set: config.Settings,
    log_file: Path,
    fakehub: FakeHub,
    capfd: pytest.CaptureFixture[str],
) -> None:
    settings = secrets_set
    db = Database(paths.db_path())
    civitai = CivitaiClient(
        fakehub.civitai_url, settings.civitai_key, ResponseCache(db), cache_ttl=600
    )
    services = Services(settings=settings, db=db, civitai=civitai)
    app = make_app(settings, services)
    async with app.run_test(size=SIZE) as pilot:
        async with asyncio.timeout(60):
            await app.ready.wait()
        await app.workers.wait_for_complete()

        async def fails() -> None:
            key = settings.civitai_key.reveal()  # a local holding the secret, as in real code
            assert key
            raise leaky_error()

        worker = app.run_worker(fails(), exit_on_error=False, name="forced-failure")
        for _ in range(200):  # its state change reaches the app's funnel as a message
            if worker.is_finished and any(n.severity == "error" for n in app._notifications):
                break
            await pilot.pause()
        assert worker.state is WorkerState.ERROR
        assert any(n.severity == "error" for n in app._notifications), "the failure was not shown"
        for note in app._notifications:
            assert_no_secret("a notification", f"{note.title} {note.message}")
        assert_no_secret("the screenshot", app.export_screenshot())
    await civitai.close()

    # The log has the detail, with the secrets masked.
    logging.getLogger(applog.LOGGERS[0]).handlers[-1].flush()
    logged = log_file.read_text(encoding="utf-8")
    assert "HTTPStatusError" in logged and "***" in logged
    assert_no_secret("the log file", logged)
    # The database holds the cached search, never a secret.
    stored = [p for p in paths.db_path().parent.glob("modella.db*") if p.is_file()]
    assert stored
    for path in stored:
        assert_no_secret(path.name, path.read_bytes())
    out, err = capfd.readouterr()
    assert_no_secret("stdout", out)
    assert_no_secret("stderr", err)
