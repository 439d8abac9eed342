"""Loggers of the ``duroxide`` tree, and the fields every record carries."""

from __future__ import annotations

import logging
from typing import Any

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
