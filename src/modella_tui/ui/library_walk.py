"""One walk of the models folder per app run, shared by the screens that need fresh sizes.

The dashboard and the disk usage screen both want the folder walked once when they first show
(the index may be from an earlier run); whichever asks first starts the walk and the other waits
for the same one. `ctrl+r` starts another. Later changes come file by file (`record`/`forget`),
never by walking again.
"""

from __future__ import annotations

import asyncio
import weakref

from modella_tui.core.library_files import LibrarySnapshot
from modella_tui.core.protocols import LibraryStore

_walks: weakref.WeakKeyDictionary[LibraryStore, asyncio.Future[LibrarySnapshot]] = (
    weakref.WeakKeyDictionary()
)


async def walk_once(library: LibraryStore) -> LibrarySnapshot:
    """The snapshot of this run's walk, starting it if no screen has (a failed walk is retried)."""
    walk = _walks.get(library)
    if walk is None or (walk.done() and (walk.cancelled() or walk.exception() is not None)):
        return await walk_again(library)
    # shield: a screen leaving (its worker cancelled) must not cancel the walk others wait on.
    return await asyncio.shield(walk)


async def walk_again(library: LibraryStore) -> LibrarySnapshot:
    """Walk now (`ctrl+r`), whatever walked before."""
    walk = asyncio.ensure_future(library.refresh())
    _walks[library] = walk
    return await asyncio.shield(walk)


def walked(library: LibraryStore) -> bool:
    """Whether this run's walk finished."""
    walk = _walks.get(library)
    return walk is not None and walk.done() and not walk.cancelled() and walk.exception() is None
