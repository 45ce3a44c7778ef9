"""What the Hugging Face tree knows: its node kinds and the state behind them (sizes from the
Hub, gated access, marks, local and queued files). The screen fills it as answers arrive; the
lines (`hub_lines.py`) are drawn from it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from modella_tui.core import paths
from modella_tui.core.errors import ModellaError
from modella_tui.core.hub.browse import HubPick, guess_type, weight_files
from modella_tui.core.hub.packages import Catalogue, Pack, Package
from modella_tui.core.hub.search import HubSearchResult
from modella_tui.core.models import HubRepo
from modella_tui.core.refs import HubRef

FileKey = tuple[str, str, str]
"""(repo, revision, path in repo): one file wherever the tree lists it."""
RepoKey = tuple[str, str]
"""(repo, revision)."""


@dataclass(frozen=True)
class CategoryNode:
    """A group: a catalogue category, the packs, or the search results."""

    id: str
    title_key: str
    count: int = 0
    query: str = ""


@dataclass(frozen=True)
class PackageNode:
    """A curated package (one repo, some of its files)."""

    package: Package


@dataclass(frozen=True)
class PackNode:
    """A ready-made set of files from several packages."""

    pack: Pack


@dataclass(frozen=True)
class FileNode:
    """One file, as it would be queued."""

    pick: HubPick


@dataclass(frozen=True)
class RepoNode:
    """A repo the search found; its weight files load when it is opened."""

    result: HubSearchResult


@dataclass(frozen=True)
class NoteNode:
    """A line of text in the tree (loading, nothing found, an error)."""

    text: str


NodeData = CategoryNode | PackageNode | PackNode | FileNode | RepoNode | NoteNode


@dataclass
class HubState:
    """Everything the tree's lines depend on; the screen fills it as answers arrive."""

    catalogue: Catalogue
    infos: dict[RepoKey, HubRepo] = field(default_factory=dict)
    errors: dict[RepoKey, ModellaError] = field(default_factory=dict)
    gates: dict[str, ModellaError | None] = field(default_factory=dict)
    """Gated repos whose access was checked: None when the token may download them."""
    checking: set[str] = field(default_factory=set)
    marks: set[FileKey] = field(default_factory=set)
    picks: dict[FileKey, HubPick] = field(default_factory=dict)
    local: set[FileKey] = field(default_factory=set)
    queued: dict[FileKey, str] = field(default_factory=dict)
    found: dict[str, HubSearchResult] = field(default_factory=dict)
    """Repos the last search listed, by id."""

    # ----- picks -------------------------------------------------------------------------------
    def package_picks(self, package: Package) -> list[HubPick]:
        """The package's files as picks (type, title and base model from the catalogue)."""
        return [self._remember(_package_pick(package, f.path, f.type)) for f in package.files]

    def pack_picks(self, pack: Pack) -> list[HubPick]:
        """Every file the pack queues, each once."""
        return [
            self._remember(_package_pick(pkg, f.path, f.type))
            for pkg, f in self.catalogue.pack_files(pack.id)
        ]

    def repo_picks(self, repo: str, revision: str = "main") -> list[HubPick] | None:
        """A searched repo's weight files with guessed types; None until its files are known."""
        info = self.infos.get((repo, revision))
        if info is None:
            return None
        return [
            self._remember(HubPick(repo, f.path, guess_type(f.path, f.size), revision, repo))
            for f in weight_files(info)
        ]

    def picks_of(self, data: NodeData) -> list[HubPick]:
        """The files a line stands for (what `space` marks and `d` queues)."""
        if isinstance(data, FileNode):
            return [data.pick]
        if isinstance(data, PackageNode):
            return self.package_picks(data.package)
        if isinstance(data, PackNode):
            return self.pack_picks(data.pack)
        if isinstance(data, RepoNode):
            return self.repo_picks(data.result.id) or []
        return []

    def _remember(self, pick: HubPick) -> HubPick:
        self.picks.setdefault(pick.key, pick)
        return pick

    def marked(self) -> list[HubPick]:
        """The marked files, in a stable order."""
        return [self.picks[k] for k in sorted(self.marks) if k in self.picks]

    # ----- facts -------------------------------------------------------------------------------
    def size_of(self, pick: HubPick) -> int | None:
        """The file's size from the Hub, once its repo's metadata arrived."""
        info = self.infos.get((pick.repo, pick.revision))
        if info is None:
            return None
        return next((f.size for f in info.files if f.path == pick.path), None)

    def sha_of(self, pick: HubPick) -> str | None:
        """The file's LFS SHA256 from the Hub, once known."""
        info = self.infos.get((pick.repo, pick.revision))
        if info is None:
            return None
        sha = next((f.sha256 for f in info.files if f.path == pick.path), None)
        return sha.lower() if sha else None

    def missing(self, pick: HubPick) -> bool:
        """The repo answered and does not hold this file."""
        info = self.infos.get((pick.repo, pick.revision))
        return info is not None and all(f.path != pick.path for f in info.files)

    def is_gated(self, repo: str) -> bool:
        """The catalogue, the repo's metadata or the search listing says a licence is needed."""
        if any(p.gated for p in self.catalogue.packages if p.repo == repo):
            return True
        if any(bool(info.gated) for (r, _), info in self.infos.items() if r == repo):
            return True
        found = self.found.get(repo)
        return found is not None and bool(found.gated)

    def repo_error(self, repo: str, revision: str = "main") -> ModellaError | None:
        """Why the repo's metadata could not be read, if it could not."""
        return self.errors.get((repo, revision))

    def gate_problem(self, repo: str) -> ModellaError | None:
        """The access error of a gated repo (no token, licence not accepted), once checked."""
        return self.gates.get(repo)

    def refs_of(self, data: NodeData | None) -> list[tuple[str, str | None]]:
        """(REF, file glob or None) of the marked files, else of the line `data` (for lists)."""
        marked = self.marked()
        if marked:
            return [(_file_ref(p), None) for p in marked]
        if isinstance(data, RepoNode):
            return [(HubRef(data.result.id).canonical(), None)]
        if isinstance(data, PackageNode):
            pkg = data.package
            curated = {f.path for _, f in self.catalogue.find(pkg.repo)}
            if curated == {f.path for f in pkg.files}:
                # `hf:ORG/REPO` means exactly the catalogue's files of that repo.
                return [(HubRef(pkg.repo, None, pkg.revision).canonical(), None)]
        picks = self.picks_of(data) if data is not None else []
        return [(_file_ref(p), None) for p in picks]

    def apply_local(self, folder_of: FolderOf, found: LocalFacts) -> None:
        """Which listed files are on disk already, and which are queued.

        A file is local when its target path is indexed (and, where both hashes are known, with
        the Hub's SHA256: three repos ship an `ae.safetensors`; where the index knows the file
        came from another repo, only with the same hash), or when the index holds a file of that
        name (or that name numbered, `ae (2).safetensors`) downloaded from that repo; queued when
        an unfinished download matches it.
        """
        self.local.clear()
        self.queued.clear()
        for key, pick in self.picks.items():
            name = paths.safe_name(pick.path.rsplit("/", 1)[-1])
            target = str(folder_of(pick.type, pick.repo) / name)
            if target in found.paths:
                here, there = found.paths[target], self.sha_of(pick)
                owner = found.owners.get(target)
                if here and there:
                    same = here.lower() == there
                else:  # a hash unknown: the name decides, unless another repo's file has it
                    same = owner is None or owner == pick.repo
                if same:
                    self.local.add(key)
                    continue
            if (pick.repo, name) in found.ids:
                self.local.add(key)
            elif (pick.repo, name) in found.queued:
                self.queued[key] = found.queued[(pick.repo, name)]


FolderOf = Callable[[str, str], Path]
"""(type, repo) → the absolute folder a file lands in under the current layout."""


@dataclass
class LocalFacts:
    """What the index and the queue say is there: indexed model files (path → SHA256 when
    computed), Hub files by (repo, name), and unfinished downloads by (repo, name) → state."""

    paths: dict[str, str | None] = field(default_factory=dict)
    ids: set[tuple[str, str]] = field(default_factory=set)
    queued: dict[tuple[str, str], str] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    """Indexed path → the Hub repo it was downloaded from, where known."""


_NUMBERED = re.compile(r"^(.*) \(\d+\)(\.[^./]+)?$")


def planned_name(name: str) -> str:
    """The name a file was asked for under, before landing numbered it (`ae (2).safetensors`)."""
    m = _NUMBERED.match(name)
    return m.group(1) + (m.group(2) or "") if m else name


def _file_ref(pick: HubPick) -> str:
    return HubRef(pick.repo, pick.path, pick.revision).canonical()


def title_of(data: NodeData) -> str:
    """What a line is called in a toast: the package, pack or repo, or the file's name."""
    if isinstance(data, PackageNode):
        return data.package.title
    if isinstance(data, PackNode):
        return data.pack.title
    if isinstance(data, RepoNode):
        return data.result.id
    if isinstance(data, FileNode):
        return data.pick.path.rsplit("/", 1)[-1]
    return ""


def _package_pick(package: Package, path: str, kind: str) -> HubPick:
    return HubPick(
        package.repo,
        path,
        kind,
        package.revision,
        title=package.title,
        base_model=package.base_model or "",
    )
