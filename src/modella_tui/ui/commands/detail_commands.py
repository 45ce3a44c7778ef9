"""Commands of the model detail pane."""

from __future__ import annotations

from modella_tui.ui.commands.base import Command
from modella_tui.ui.commands.lists_commands import AddToList


class MarkFile(Command):
    """Mark or unmark the file under the cursor (marks span versions)."""

    KEY = "space"
    ACTION = "mark"
    LABEL = "ui.cmd.mark"
    HELP = "ui.cmd.mark.help"


class QueueMarked(Command):
    """Queue the marked files, or the highlighted one when none is marked."""

    KEY = "d"
    ACTION = "queue_marked"
    LABEL = "ui.cmd.queue_marked"
    HELP = "ui.cmd.queue_marked.help"


class PrevVersions(Command):
    """The previous ten versions."""

    KEY = "pageup"
    ACTION = "version_page(-1)"
    LABEL = "ui.cmd.prev_versions"
    HELP = "ui.cmd.prev_versions.help"
    SHOW = False
    PRIORITY = True


class NextVersions(Command):
    """The next ten versions."""

    KEY = "pagedown"
    ACTION = "version_page(1)"
    LABEL = "ui.cmd.next_versions"
    HELP = "ui.cmd.next_versions.help"
    SHOW = False
    PRIORITY = True


class PrevImage(Command):
    """The previous example image."""

    KEY = "left"
    ACTION = "image(-1)"
    LABEL = "ui.cmd.prev_image"
    HELP = "ui.cmd.prev_image.help"
    SHOW = False
    PRIORITY = True


class NextImage(Command):
    """The next example image."""

    KEY = "right"
    ACTION = "image(1)"
    LABEL = "ui.cmd.next_image"
    HELP = "ui.cmd.next_image.help"
    SHOW = False
    PRIORITY = True


class OpenImage(Command):
    """Open the current image's link (over SSH: show and copy it)."""

    KEY = "o"
    ACTION = "open_image"
    LABEL = "ui.cmd.open_image"
    HELP = "ui.cmd.open_image.help"


class TogglePreview(Command):
    """Show or hide image previews (saved as the `previews` setting)."""

    KEY = "i"
    ACTION = "toggle_preview"
    LABEL = "ui.cmd.toggle_preview"
    HELP = "ui.cmd.toggle_preview.help"
    SHOW = False  # the footer is full at 120 columns already: `?` and the palette list it


class CopyWords(Command):
    """Copy the trained words of the version."""

    KEY = "y"
    ACTION = "copy_words"
    LABEL = "ui.cmd.copy_words"
    HELP = "ui.cmd.copy_words.help"


class MoveRows(Command):
    """Up and down move in the versions or the files list."""

    KEY = "up,down"
    KEY_DISPLAY = "↑ ↓"
    ACTION = ""
    LABEL = "ui.cmd.move_rows"
    HELP = "ui.cmd.move_rows.help"
    HELP_ONLY = True


class SwitchList(Command):
    """Tab goes from the versions to the files and back."""

    KEY = "tab,shift+tab"
    KEY_DISPLAY = "tab, shift+tab"
    ACTION = ""
    LABEL = "ui.cmd.switch_list"
    HELP = "ui.cmd.switch_list.help"
    HELP_ONLY = True


DETAIL: tuple[type[Command], ...] = (
    MarkFile, QueueMarked, AddToList, PrevVersions, NextVersions, PrevImage, NextImage, OpenImage, TogglePreview,
    CopyWords, MoveRows, SwitchList,
)  # fmt: skip
