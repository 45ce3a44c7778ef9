"""What the Dashboard and the Disk usage screen share: one reader of the library index, read again
when a download lands, when files change elsewhere in the app, and when the user comes back."""

from __future__ import annotations

from textual import work

from modella_tui.ui.messages import LibraryChanged, QueueChanged
from modella_tui.ui.screens.base import BaseScreen
from modella_tui.ui.usage_data import UsageReader


class UsageScreenBase(BaseScreen):
    """A screen drawn from the index's figures; subclasses draw them in `_reload`."""

    def __init__(self) -> None:
        super().__init__()
        self.reader: UsageReader | None = None

    def start_reading(self) -> None:
        """Make the reader (the app's services exist now), draw what is known, then walk once."""
        self.reader = UsageReader(self.modella.services, self.modella.settings)
        self._reload()
        self._walk(again=False)

    def on_queue_changed(self, message: QueueChanged) -> None:
        """A download started, landed or failed."""
        if self.is_mounted:
            self._reload()

    def on_library_changed(self, message: LibraryChanged) -> None:
        """Files were deleted or renamed elsewhere in the app: read the whole index again."""
        self._read_all_again()

    def on_screen_resume(self) -> None:
        """Back here: the models folder setting or the index may have changed meanwhile."""
        super().on_screen_resume()
        self._read_all_again()

    def _read_all_again(self) -> None:
        if self.is_mounted and self.reader is not None:
            self.reader.stale = True
            self._reload()

    def _reload(self) -> object:
        """Read the figures and draw them (a worker in each subclass)."""
        raise NotImplementedError

    @work(group="usage-walk", exclusive=True, exit_on_error=False)
    async def _walk(self, again: bool) -> None:
        if self.reader is None:
            return
        await self.modella.ready.wait()
        await self.reader.read("again" if again else "once")
        self._reload()  # the walk stored what it found; one reload draws it
