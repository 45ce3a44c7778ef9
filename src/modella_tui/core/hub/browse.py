"""What the Hugging Face screen needs beyond the client: picks to queue, types for repos that are
not curated, and repo metadata kept for a while (memory, then the `model_cache` table)."""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from typing import Any

from modella_tui.core.downloads.resolve import WEIGHT_SUFFIXES, guess_hub_type
from modella_tui.core.errors import ModellaError, NetworkError
from modella_tui.core.models import HubFile, HubRepo
from modella_tui.core.protocols import HubAPI
from modella_tui.core.store.cache import ResponseCache

log = logging.getLogger("modella.hub")

MIB = 1024 * 1024
GIB = 1024 * MIB
REPO_TTL = 24 * 3600.0
"""Sizes of a revision rarely change, and queueing reads each file's size and hash again."""


@dataclass(frozen=True)
class HubPick:
    """One Hub file a user chose, with the type that decides its folder."""

    repo: str
    path: str
    type: str
    revision: str = "main"
    title: str = ""
    base_model: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        """(repo, revision, path): the same file wherever the tree lists it."""
        return (self.repo, self.revision, self.path)

    @property
    def is_pickle(self) -> bool:
        """A format that can run code when loaded: queued only after the user agrees."""
        return self.path.lower().endswith((".ckpt", ".pt", ".pth", ".bin", ".pkl"))


def guess_type(path: str, size: int | None) -> str:
    """The type of a file from a repo outside the catalogue: its name first, then its size.

    Names say most (`vae`, `clip_l`, `lora`…). A weight file the name says nothing about is a
    checkpoint when it is large; a small one is far more often a LoRA, and a tiny one an
    embedding.
    """
    kind = guess_hub_type(path)
    if kind != "Checkpoint" or size is None:
        return kind
    if size < MIB:
        return "TextualInversion"
    if size < GIB:
        return "LORA"
    return kind


def weight_files(repo: HubRepo) -> list[HubFile]:
    """The files of a repo worth downloading (model weights), in path order."""
    return sorted(
        (f for f in repo.files if f.path.lower().endswith(WEIGHT_SUFFIXES)), key=lambda f: f.path
    )


def repo_to_json(repo: HubRepo) -> str:
    """A HubRepo as the text kept in `model_cache`."""
    return json.dumps(
        {
            "id": repo.id,
            "sha": repo.sha,
            "gated": repo.gated,
            "files": [[f.path, f.size, f.sha256, f.revision] for f in repo.files],
        }
    )


def repo_from_json(text: str) -> HubRepo:
    """The HubRepo `repo_to_json` wrote; ValueError for anything else."""
    data: Any = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise ValueError("not a cached repo")
    files: list[HubFile] = []
    for entry in data.get("files") or []:
        path, size, sha, revision = entry
        files.append(HubFile(data["id"], str(path), size, sha, str(revision)))
    gated = data.get("gated", False)
    return HubRepo(
        id=data["id"],
        sha=data.get("sha"),
        gated=gated if isinstance(gated, (bool, str)) else False,
        files=tuple(files),
    )


class CachedHub:
    """A `HubAPI` whose `repo_info` answers from memory, then `model_cache`, then the Hub.

    When the Hub cannot be reached, an expired entry is still shown (sizes of a known revision
    are better than none); everything else goes straight to the client.
    """

    def __init__(
        self, hub: HubAPI, cache: ResponseCache | None = None, ttl: float = REPO_TTL
    ) -> None:
        self.hub = hub
        self.cache = cache
        self.ttl = ttl
        self._memory: dict[tuple[str, str], HubRepo] = {}
        self._memory_for: str | None = None

    @property
    def endpoint(self) -> str:
        """The Hub's base URL now."""
        return self.hub.endpoint

    def model_page_url(self, repo: str) -> str:
        """The repo's page, where a gated licence is accepted."""
        return self.hub.model_page_url(repo)

    def _key(self, repo: str, revision: str) -> str:
        return f"hub:repo:{self.endpoint}:{repo}@{revision}"

    async def repo_info(self, repo: str, revision: str = "main") -> HubRepo:
        """A repo's files with sizes; cached for `ttl` seconds."""
        memory = self._memory_now()
        hit = memory.get((repo, revision))
        if hit is not None:
            return hit
        key = self._key(repo, revision)
        cached = await self._read(key, stale=False)
        if cached is not None:
            memory[(repo, revision)] = cached
            return cached
        try:
            info = await self.hub.repo_info(repo, revision)
        except NetworkError:
            stale = await self._read(key, stale=True)
            if stale is None:
                raise
            return stale
        memory[(repo, revision)] = info
        if self.cache is not None:
            try:
                await self.cache.put(key, repo_to_json(info), self.ttl)
            except (sqlite3.Error, ModellaError) as exc:
                log.debug("hub cache write failed: %s", type(exc).__name__)
        return info

    def _memory_now(self) -> dict[tuple[str, str], HubRepo]:
        # One endpoint's answers are no answer for another (HF_ENDPOINT changed at run time).
        endpoint = self.endpoint
        if endpoint != self._memory_for:
            self._memory = {}
            self._memory_for = endpoint
        return self._memory

    async def _read(self, key: str, *, stale: bool) -> HubRepo | None:
        if self.cache is None:
            return None
        try:
            text = await (self.cache.get_stale(key) if stale else self.cache.get(key))
            return None if text is None else repo_from_json(text)
        except (sqlite3.Error, ModellaError, ValueError, TypeError) as exc:
            log.debug("hub cache read failed: %s", type(exc).__name__)
            return None

    async def file_info(self, repo: str, path: str, revision: str = "main") -> HubFile:
        """One file's size and SHA256, always fresh (queueing relies on it)."""
        return await self.hub.file_info(repo, path, revision)

    async def check_access(self, repo: str) -> None:
        """Raise AuthError when the token in use may not download this repo."""
        await self.hub.check_access(repo)

    async def check_token(self) -> None:
        """Raise AuthError unless the token works."""
        await self.hub.check_token()

    async def close(self) -> None:
        """Close the client underneath."""
        await self.hub.close()
