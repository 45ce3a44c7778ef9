"""A download engine in its own process, for the kill and crash tests.

`python -m tests.core.engine_worker CONFIG_JSON` queues one request and works the queue; with
`crash_at` set, the engine's crash hook ends the process (exit 137, as a SIGKILL would leave it)
at that named point.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from modella_tui.core.downloads.engine import DownloadEngine, QueueRequest
from modella_tui.core.store.db import Database


def crash_at(point: str | None) -> Any:
    """A crash hook that exits at once, without cleanup, at `point`."""

    def hook(name: str) -> None:
        if name == point:
            os._exit(137)

    return hook


async def main(cfg: dict[str, Any]) -> None:
    """Queue `cfg["req"]` (when given) and run until idle."""
    db = await Database(Path(cfg["db"])).open()
    engine = DownloadEngine(
        db,
        models_dir=Path(cfg["models"]),
        checkpoint_interval=cfg.get("checkpoint_interval", 0.05),
        sync_interval=cfg.get("sync_interval", 0.05),
        poll_interval=0.05,
        multi_min=cfg["multi_min"],
        connections_per_file=cfg["connections"],
        crash_hook=crash_at(cfg.get("crash_at")),
    )
    req = cfg.get("req")
    if req:
        req["target_dir"] = Path(req["target_dir"])
        await engine.add([QueueRequest(**req)])
    await engine.start()
    print("started", flush=True)
    await engine.run_until_idle()
    await engine.stop()
    await db.close()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
