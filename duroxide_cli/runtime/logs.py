"""Loggers of the ``duroxide`` tree, and the fields every record carries."""

from __future__ import annotations

import logging
from typing import Any

from ..replay import TurnResult
from ..replay.actions import Failed
from .turn import error_line

orchestration_log = logging.getLogger("duroxide.orchestration")
activity_log = logging.getLogger("duroxide.activity")
runtime_log = logging.getLogger("duroxide.runtime")

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def instance_fields(instance_id: str, execution_id: int, name: str, version: str | None) -> dict[str, Any]:
    return {
        "instance_id": instance_id,
        "execution_id": execution_id,
        "orchestration_name": name,
        "orchestration_version": version or "",
    }


def log_turn(instance_id: str, execution_id: int, name: str, version: str, result: TurnResult) -> None:
    """Log what a turn's code traced, the messages it dropped, and a failure it ended in."""
    fields = instance_fields(instance_id, execution_id, name, version)
    for level, message in result.traces:
        orchestration_log.log(LEVELS.get(level, 20), message, extra=fields)
    for dropped in result.dropped:
        if dropped.warn:
            orchestration_log.warning("dropped a message: %s", dropped.reason, extra=fields)
    if isinstance(result.outcome, Failed):
        orchestration_log.warning("%s failed: %s", instance_id, error_line(result.outcome.failure), extra=fields)
