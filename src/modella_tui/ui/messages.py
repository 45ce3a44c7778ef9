"""Messages about the download queue, the library and the settings: the bridge (or a screen)
posts them to the app, the app relays them to every screen, and screens that show what changed
declare handlers (`on_queue_changed`, …)."""

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


class QueueProgress(Message, bubble=False):
    """A snapshot of progress; a newer one replaces an older still queued."""

    def __init__(self, snapshot: dict[int, ProgressInfo]) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        """Only the newest snapshot matters."""
        return isinstance(message, QueueProgress)


class QueueChanged(Message, bubble=False):
    """Items were added or changed state: screens reload rows from the engine."""

    def __init__(self, item_id: int | None = None) -> None:
        super().__init__()
        self.item_id = item_id

    def can_replace(self, message: Message) -> bool:
        """A burst of changes needs one reload."""
        return isinstance(message, QueueChanged)


class DownloadFinished(Message, bubble=False):
    """One download ended (done or failed): the app notifies wherever the user is."""

    def __init__(self, item_id: int, state: str, title: str, reason: str | None) -> None:
        super().__init__()
        self.item_id = item_id
        self.state = state
        self.title = title
        self.reason = reason


class LibraryChanged(Message, bubble=False):
    """Files of the models folder were deleted, renamed or indexed outside a download: screens
    that show the library read the index again (post it to the app, which relays it)."""

    def can_replace(self, message: Message) -> bool:
        """A burst of changes needs one reload."""
        return isinstance(message, LibraryChanged)


class SettingChanged(Message, bubble=False):
    """A setting was saved or removed and the services took it up (`ModellaApp.apply_setting`):
    screens that show what it affects look again (the Hub screen asks gated repos again when
    the token changed)."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
