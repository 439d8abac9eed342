"""The only place that prints: rich views and ``--json`` from the same data.

stdout carries only the result (an id, a JSON document, a table); progress, logs and errors go
to stderr, through the two consoles of ``console.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...lazy import lazy_exports

if TYPE_CHECKING:
    from .bench import bench_progress, bench_record, bench_table
    from .bulk import bulk_ids, bulk_matched, bulk_summary, confirm
    from .console import (
        ConsoleLogHandler,
        err,
        error,
        json_document,
        json_line,
        json_result,
        note,
        out,
        result_line,
        stderr_is_terminal,
        user_traceback,
        warning,
    )
    from .history import history_event_json, history_event_line, history_export, history_inspect, history_table
    from .instances import final_state_line, instance_count, instance_list, instance_state, metrics, state_document
    from .live import RunView
    from .replay import divergence_list, replay_report, replay_summary
    from .runtimes import runtime_document, runtime_list
    from .tree import TreeFollowView, instance_tree, tree_document

__all__ = [
    "ConsoleLogHandler",
    "RunView",
    "TreeFollowView",
    "bench_progress",
    "bench_record",
    "bench_table",
    "bulk_ids",
    "bulk_matched",
    "bulk_summary",
    "confirm",
    "divergence_list",
    "err",
    "error",
    "final_state_line",
    "history_event_json",
    "history_event_line",
    "history_export",
    "history_inspect",
    "history_table",
    "instance_count",
    "instance_list",
    "instance_state",
    "instance_tree",
    "json_document",
    "json_line",
    "json_result",
    "metrics",
    "note",
    "out",
    "replay_report",
    "replay_summary",
    "result_line",
    "runtime_document",
    "runtime_list",
    "state_document",
    "stderr_is_terminal",
    "tree_document",
    "user_traceback",
    "warning",
]

# Each view module is imported on first use: a command pays only for the rich parts it draws
# (``duroxide status`` needs no live display, progress bar or tree).
_EXPORTS: dict[str, str] = {
    "ConsoleLogHandler": ".console",
    "RunView": ".live",
    "TreeFollowView": ".tree",
    "bench_progress": ".bench",
    "bench_record": ".bench",
    "bench_table": ".bench",
    "bulk_ids": ".bulk",
    "bulk_matched": ".bulk",
    "bulk_summary": ".bulk",
    "confirm": ".bulk",
    "divergence_list": ".replay",
    "err": ".console",
    "error": ".console",
    "final_state_line": ".instances",
    "history_event_json": ".history",
    "history_event_line": ".history",
    "history_export": ".history",
    "history_inspect": ".history",
    "history_table": ".history",
    "instance_count": ".instances",
    "instance_list": ".instances",
    "instance_state": ".instances",
    "instance_tree": ".tree",
    "json_document": ".console",
    "json_line": ".console",
    "json_result": ".console",
    "metrics": ".instances",
    "note": ".console",
    "out": ".console",
    "replay_report": ".replay",
    "replay_summary": ".replay",
    "result_line": ".console",
    "runtime_document": ".runtimes",
    "runtime_list": ".runtimes",
    "state_document": ".instances",
    "stderr_is_terminal": ".console",
    "tree_document": ".tree",
    "user_traceback": ".console",
    "warning": ".console",
}


__getattr__ = lazy_exports(__name__, globals(), _EXPORTS)
