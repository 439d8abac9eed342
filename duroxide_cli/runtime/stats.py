"""Counters a Runtime keeps for live views (``duroxide run``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class RuntimeStats:
    """What this runtime has done since it started."""

    turns: int = 0
    instances_started: int = 0
    instances_completed: int = 0
    instances_failed: int = 0
    instances_cancelled: int = 0
    activities_running: int = 0
    activities_completed: int = 0
    activities_failed: int = 0
