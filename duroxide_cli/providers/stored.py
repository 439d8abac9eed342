"""What both stores keep the same way: their migration files, and the body of activity work.

A store's dialect stays in its own package; these are the parts that are not dialect: how
numbered ``NNN_name.sql`` files are found and ordered, and the JSON an activity work item holds.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .. import payloads
from .values import NewActivity

_FILE_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def older_schema_message(where: str, current: int, latest: int) -> str:
    """Why a reading command does not read the store ``where``: its schema is older than the code."""
    return (
        f"the store {where} has schema version {current}, older than this duroxide's {latest}; reading commands do"
        " not upgrade it: run a command that writes to it (`duroxide run`, `duroxide start`) once, then read it"
    )


def newer_schema_message(where: str, current: int, latest: int) -> str:
    """Why no command uses the store ``where``: its schema was written by a newer duroxide."""
    return (
        f"the store {where} has schema version {current}, but this duroxide knows versions up to"
        f" {latest}; it was written by a newer duroxide, so upgrade duroxide to use it"
    )


def load_migrations(folder: Path) -> list[Migration]:
    """The ``NNN_name.sql`` files in ``folder`` (shipped as package data), in version order (1, 2,
    ... without gaps)."""
    found = []
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda migration: migration.version)
    if [migration.version for migration in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"the shipped migrations in {folder} are not numbered 1..n: {[m.name for m in found]}")
    return found


def activity_body(activity: NewActivity) -> str:
    """The JSON an activity work item stores (its ids are columns of their own)."""
    return payloads.dumps(
        {
            "name": activity.name,
            "input": activity.input,
            "attempt": activity.attempt,
            "orchestration_name": activity.orchestration_name,
            "orchestration_version": activity.orchestration_version,
        }
    )


def activity_from_body(body: str, execution_id: int, event_id: int) -> NewActivity:
    """The activity a stored body describes; ValueError, TypeError or KeyError for a damaged one."""
    values = json.loads(body)
    return NewActivity(
        execution_id=execution_id,
        event_id=event_id,
        name=values["name"],
        input=values["input"],
        attempt=values["attempt"],
        orchestration_name=values["orchestration_name"],
        orchestration_version=values["orchestration_version"],
    )
