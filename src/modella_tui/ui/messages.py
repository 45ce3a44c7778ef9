"""Messages the app posts to screens: engine events turned into Textual messages."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass(frozen=True)
class ProgressInfo:
    """The latest progress of one download."""

    done: int
    total: int | None
    speed_bps: float | None
    eta_s: float | None


class QueueProgress(Message):
    """A snapshot of progress; a newer one replaces an older still queued."""

    def __init__(self, snapshot: dict[int, ProgressInfo]) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        """Only the newest snapshot matters."""
        return isinstance(message, QueueProgress)


class QueueChanged(Message):
    """Items were added or changed state: screens reload rows from the engine."""

    def __init__(self, item_id: int | None = None) -> None:
        super().__init__()
        self.item_id = item_id

    def can_replace(self, message: Message) -> bool:
        """A burst of changes needs one reload."""
        return isinstance(message, QueueChanged)
