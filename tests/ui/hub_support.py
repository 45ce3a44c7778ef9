"""Helpers for the Hugging Face screen's tests: find lines, read them as drawn, wait."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

from rich.style import Style
from textual.pilot import Pilot
from textual.widgets.tree import TreeNode
from textual.worker import WorkerCancelled

from modella_tui.ui.app import ModellaApp
from modella_tui.ui.hub_state import FileNode, NodeData, PackageNode, PackNode, RepoNode
from modella_tui.ui.screens.hub import HubScreen

SDXL = "stabilityai/stable-diffusion-xl-base-1.0"
FLUX = "black-forest-labs/FLUX.1-dev"
LUMINA = "Comfy-Org/Lumina_Image_2.0_Repackaged"


async def until(pilot: Pilot[Any], done: Callable[[], bool], seconds: float = 30) -> None:
    """Let the app work until `done()`."""
    async with asyncio.timeout(seconds):
        while not done():
            await pilot.pause(0.02)


def nodes(screen: HubScreen) -> Iterator[TreeNode[NodeData]]:
    """Every node of the tree, depth first."""
    stack = list(reversed(screen.hub_tree.root.children))
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))


def package(screen: HubScreen, package_id: str) -> TreeNode[NodeData]:
    """The line of a catalogue package."""
    return next(
        n
        for n in nodes(screen)
        if isinstance(n.data, PackageNode) and n.data.package.id == package_id
    )


def pack(screen: HubScreen, pack_id: str) -> TreeNode[NodeData]:
    """The line of a pack."""
    return next(
        n for n in nodes(screen) if isinstance(n.data, PackNode) and n.data.pack.id == pack_id
    )


def repo_line(screen: HubScreen, repo: str) -> TreeNode[NodeData]:
    """The line of a repo the search found."""
    return next(
        n for n in nodes(screen) if isinstance(n.data, RepoNode) and n.data.result.id == repo
    )


def file_line(screen: HubScreen, parent: TreeNode[NodeData], path: str) -> TreeNode[NodeData]:
    """A file line under `parent`."""
    return next(
        n for n in parent.children if isinstance(n.data, FileNode) and n.data.pick.path == path
    )


def drawn(screen: HubScreen, node: TreeNode[NodeData]) -> str:
    """The line as the tree draws it at its width now."""
    return screen.hub_tree.render_label(node, Style(), Style()).plain


def detail(screen: HubScreen) -> str:
    """The explanation under the tree."""
    return str(screen.query_one("#hub-detail").render())


async def open_hub(pilot: Pilot[Any]) -> HubScreen:
    """Press 3 and wait until every catalogue repo answered and gated access was checked."""
    app = pilot.app
    assert isinstance(app, ModellaApp)
    await until(pilot, app.ready.is_set)
    await pilot.press("3")
    screen = app.screen
    assert isinstance(screen, HubScreen)
    await settle(pilot)
    return screen


async def settle(pilot: Pilot[Any]) -> None:
    """Every worker done and every message handled (a reload may replace another: exclusive)."""
    for _ in range(3):
        while True:
            try:
                await pilot.app.workers.wait_for_complete()
            except WorkerCancelled:
                continue
            break
        await pilot.pause()


async def goto(pilot: Pilot[Any], screen: HubScreen, node: TreeNode[NodeData]) -> None:
    """Put the cursor on a line (opening its parents first)."""
    parent = node.parent
    while parent is not None:
        parent.expand()
        parent = parent.parent
    await pilot.pause()  # the tree lays its lines out again
    screen.hub_tree.move_cursor(node)
    await pilot.pause()
    assert screen.hub_tree.cursor_node is node
