"""Timing cursor keys in a running Textual app, for the UI benchmarks (`ui_grid.py`, `library.py`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


async def time_keys(
    app: Any, presses: int, key_for: Callable[[int], str], position: Callable[[], object]
) -> list[float]:
    """Milliseconds from posting each key (`key_for(i)`) to the next screen update the app makes.

    The update is timed where the app hands a frame to the driver (`App._display`, private: a
    benchmark only); the headless driver writes nothing, so the wrapper also builds the terminal
    bytes a real one would write. Pilot's own `press` waits for CPU idle with polling sleeps,
    which would swamp the figure. `position()` tells whether a key moved the cursor: when fewer
    than nine in ten did, the figure is void and the run stops.
    """
    from textual import events
    from textual._compositor import CompositorUpdate

    frame = asyncio.Event()
    stamp = [0.0]
    original = app._display

    def display(screen: Any, renderable: Any) -> None:
        if renderable is not None:
            if isinstance(renderable, CompositorUpdate):
                renderable.render_segments(app.console)
            stamp[0] = time.perf_counter()
            frame.set()
        original(screen, renderable)

    app._display = display
    times: list[float] = []
    moved = 0
    try:
        for i in range(presses):
            before = position()
            await asyncio.sleep(0.02)  # let any earlier frame go out first
            frame.clear()
            start = time.perf_counter()
            event = events.Key(key_for(i), None)
            event.set_sender(app)
            app._driver.send_message(event)
            await asyncio.wait_for(frame.wait(), timeout=2)
            times.append((stamp[0] - start) * 1000)
            moved += position() != before
    finally:
        app._display = original
    if moved < presses * 0.9:
        raise SystemExit(f"only {moved} of {presses} keys moved the cursor: the figure is void")
    return times
