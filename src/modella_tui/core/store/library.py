"""Reads of the library tables (`downloaded_models`, `local_files`) for the screens and the CLI."""

from __future__ import annotations

from modella_tui.core.store.db import Database


class Library:
    """What has landed in the models folder, as the database knows it."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def local_model_ids(self, source: str) -> set[str]:
        """Model ids (Civitai ids, Hub repos) of `source` with at least one landed file."""
        if self.db.conn is None:
            return set()
        rows = await self.db.fetchall(
            "SELECT DISTINCT model_id FROM downloaded_models "
            "WHERE source = ? AND model_id IS NOT NULL",
            (source,),
        )
        return {str(r[0]) for r in rows}
