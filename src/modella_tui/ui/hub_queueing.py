"""Queueing Hub files from the Hugging Face screen: gated repos are checked first, pickle formats
asked about, and one toast says what happened."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from modella_tui.core.errors import AuthError, ModellaError
from modella_tui.core.hub.browse import HubPick
from modella_tui.core.i18n import t
from modella_tui.ui.screens.modals.confirm import ConfirmScreen
from modella_tui.ui.textutil import clean

if TYPE_CHECKING:
    from modella_tui.ui.app import ModellaApp

GateCheck = Callable[[str], Awaitable[ModellaError | None]]
"""Ask whether the token may download a gated repo; the AuthError that says why not, or None."""


async def queue_hub(
    app: ModellaApp,
    picks: Sequence[HubPick],
    title: str,
    *,
    gated: Callable[[str], bool],
    check_gate: GateCheck,
    refused: Callable[[str], None],
) -> bool:
    """Queue `picks`; False when nothing was handed to the engine (refused, declined, no engine).

    Nothing is queued while one of the gated repos among them lets this token not in: `refused`
    shows why, in place, before any file starts (a pack would otherwise land half its files).
    """
    enqueue = app.services.enqueue_hub
    if enqueue is None:
        app.notify(t("ui.queue.unavailable"), severity="warning", markup=False)
        return False
    for repo in dict.fromkeys(p.repo for p in picks if gated(p.repo)):
        problem = await check_gate(repo)
        if isinstance(problem, AuthError):
            refused(repo)
            app.notify(
                t("ui.hub.nothing_queued", reason=problem.message),
                severity="error",
                markup=False,
                timeout=10,
            )
            return False
    pickles = [clean(p.path.rsplit("/", 1)[-1]) for p in picks if p.is_pickle]
    if pickles:
        question = t("ui.queue.confirm_pickle", files=", ".join(pickles))
        if not await app.push_screen_wait(ConfirmScreen(question)):
            return False
    result = await enqueue(picks)
    titles = {p.title for p in picks}
    what = clean(title or (titles.pop() if len(titles) == 1 else ""))
    if result.added:
        text = (
            t("ui.hub.queued", count=result.added, title=what)
            if what
            else t("ui.hub.queued_files", count=result.added)
        )
    else:
        text = (
            t("ui.hub.nothing_new", count=result.wanted, title=what)
            if what
            else t("ui.hub.nothing_new_files", count=result.wanted)
        )
    if result.skipped:
        reason = result.skipped[0].message
        text += " " + t("ui.hub.skipped", count=len(result.skipped), reason=reason)
    app.notify(text, markup=False, severity="warning" if result.skipped else "information")
    return True
