"""The search box's "open this" intents — a pasted link or a file hash — resolved to a model.

The app's browser and `modella search` share this, so a hash or a version link means the same
model *and version* everywhere.
"""

from __future__ import annotations

from modella_tui.core.civitai.query import SearchIntent
from modella_tui.core.errors import NotFoundError, UsageError
from modella_tui.core.models import CivitaiModel, CivitaiVersion
from modella_tui.core.protocols import CivitaiAPI
from modella_tui.core.refs import CivitaiRef


async def open_intent(
    civitai: CivitaiAPI, intent: SearchIntent
) -> tuple[CivitaiModel, CivitaiVersion | None]:
    """The model a hash or a Civitai link names, and the version it names (None: none named).

    A Hub link is a usage error here (callers say where Hub links go); the client's errors (not
    found, auth, network) pass as they come.
    """
    if intent.kind == "hash" and intent.hash:
        info = await civitai.by_hash(intent.hash)
        if info.model_id is None:
            raise NotFoundError("civitai.error.hash_not_found", hash=intent.hash)
        model = await civitai.model(info.model_id)
        # The model's list can leave out some versions (early access): keep the hash's own.
        return model, model.version(info.version.id) or info.version
    if isinstance(intent.ref, CivitaiRef):
        model, version = await civitai.resolve(intent.ref)
        return model, version if intent.ref.version_id is not None else None
    raise UsageError("error.search_needs_words")
