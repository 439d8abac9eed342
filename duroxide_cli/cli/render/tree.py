"""``duroxide tree``: an instance and its sub-orchestrations with their statuses."""

from __future__ import annotations

from typing import Any

from rich.live import Live
from rich.text import Text
from rich.tree import Tree

from .console import json_line, json_result, out, status_text
from .text import printable


def tree_document(tree: Any) -> dict[str, Any]:
    """``{"instance_id", "name", "status", "children": [...]}``, recursively."""
    state = tree.state
    return {
        "instance_id": state.instance_id,
        "name": state.name,
        "status": state.status,
        "children": [tree_document(child) for child in tree.children],
    }


def instance_tree(tree: Any, output: str) -> None:
    """The tree once, drawn with guide lines (without colour when stdout is not a terminal), or as JSON."""
    if output != "table":
        json_result(tree_document(tree), output)
    else:
        out().print(_drawing(tree))


class TreeFollowView:
    """``tree --follow``: redraws the tree in place on a terminal; elsewhere prints it again
    (for json and jsonl: one JSON line) each time it changes."""

    def __init__(self, output: str):
        self._output = output
        self._live: Live | None = None
        self._last: dict[str, Any] | None = None

    def __enter__(self) -> TreeFollowView:
        if self._output == "table" and out().is_terminal:
            self._live = Live(console=out(), auto_refresh=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def update(self, tree: Any) -> None:
        document = tree_document(tree)
        if self._live is not None:
            self._live.update(_drawing(tree), refresh=True)
            return
        if document == self._last:
            return
        if self._output != "table":
            json_line(document)
        else:
            if self._last is not None:
                out().print()
            out().print(_drawing(tree))
        self._last = document


def _drawing(tree: Any) -> Tree:
    root = Tree(_label(tree.state), guide_style="dim")
    _add_children(root, tree)
    return root


def _add_children(branch: Tree, tree: Any) -> None:
    for child in tree.children:
        _add_children(branch.add(_label(child.state)), child)


def _label(state: Any) -> Text:
    label = Text.assemble((printable(state.instance_id), "bold"), f"  {printable(state.name)}  ", status_text(state.status))
    if state.error:
        label.append(f"  {printable(state.error)}", style="dim")
    return label
