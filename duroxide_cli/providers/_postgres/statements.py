"""The PostgreSQL store's statements: one per provider call. ``$1`` is always the injected time
(or NULL for the server's clock, see ``clock_ms``) where the statement needs the time."""

from __future__ import annotations

from .codec import INSTANCE_COLUMNS

# -- instances and messages -------------------------------------------------------------------

CREATE_INSTANCE = "SELECT insert_instance(clock_ms($1), $2, $3, $4, $5, $6)"
ENQUEUE_MESSAGE = "SELECT send(clock_ms($1), $2, $3, $4, $5, $6)"
CREATE_INSTANCES = "SELECT insert_instances($1, $2::json)"
ENQUEUE_MESSAGES = "SELECT send_each($1, $2::json)"
FETCH_ORCHESTRATION_WORK = "SELECT fetch_orchestration_work($1, $2, $3, $4, $5, $6, $7, $8, $9)"
COMMIT_TURNS = "SELECT commit_turns($1, $2::json)"
COMMIT_TURNS_TAKING_LOCKS = "SELECT commit_turns_taking_locks($1, $2::json)"
COMMIT_LONE_TURN_TAKING_LOCK = (
    "SELECT commit_lone_turn_taking_lock($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,"
    " $18, $19, $20, $21, $22, $23)"
)
LOCK_INSTANCE = "SELECT lock_instance($1, $2, $3, $4, $5, $6, $7)"
LOCK_INSTANCES = "SELECT lock_instances($1, $2::json)"
ABANDON_ORCHESTRATION = "SELECT abandon_orchestration($1, $2, $3, $4, $5, $6)"
DROP_MESSAGES = "SELECT drop_messages($1, $2, $3, $4)"
SET_INSTANCE_HELD = """
UPDATE instances SET held = $3, updated_at_ms = clock_ms($1)
WHERE id = $2 AND status IN ('Pending', 'Running')
"""

# -- activities -------------------------------------------------------------------------------

FETCH_ACTIVITY_WORK = "SELECT fetch_activity_work($1, $2, $3, $4, $5)"
RENEW_ACTIVITY_LOCK = "UPDATE worker_queue SET locked_until_ms = clock_ms($1) + $4 WHERE id = $2 AND lock_token = $3"
COMPLETE_ACTIVITIES = "SELECT complete_activities($1, $2::json)"
ABANDON_ACTIVITY = """
WITH released AS (
    UPDATE worker_queue SET lock_token = NULL, lock_owner = NULL, locked_until_ms = NULL,
        visible_at_ms = clock_ms($1) + greatest($4::bigint, 0),
        delivery_count = CASE WHEN $5 THEN delivery_count ELSE greatest(delivery_count - 1, 0) END
    WHERE id = $2 AND lock_token = $3
    RETURNING 1
)
SELECT wake('worker') FROM released
"""

# -- new executions from copied histories ----------------------------------------------------

RESET_EXECUTION = "SELECT reset_execution($1, $2, $3, $4::json, $5::json)"
FORK_INSTANCE = "SELECT fork_instance($1, $2, $3, $4, $5::json, $6::json)"

# -- runtimes -----------------------------------------------------------------------------------

REGISTER_RUNTIMES = """
INSERT INTO runtimes (worker_id, host, pid, app, started_at_ms, last_seen_at_ms)
SELECT r ->> 0, r ->> 1, (r ->> 2)::integer, r ->> 3, (r ->> 4)::bigint, (r ->> 5)::bigint
FROM json_array_elements($1::json) AS r
ON CONFLICT (worker_id) DO UPDATE SET host = excluded.host, pid = excluded.pid, app = excluded.app,
    started_at_ms = excluded.started_at_ms, last_seen_at_ms = excluded.last_seen_at_ms
"""
REMOVE_RUNTIMES = """
WITH gone AS (
    DELETE FROM runtimes WHERE worker_id = ANY ($1::text[]) OR last_seen_at_ms < $2 RETURNING 1
)
SELECT count(*) FROM gone
"""
LIST_RUNTIMES = """
SELECT worker_id, host, pid, app, started_at_ms, last_seen_at_ms FROM runtimes
WHERE $1::bigint IS NULL OR last_seen_at_ms >= $1
ORDER BY started_at_ms, worker_id
"""

# -- reads, admin and metrics -----------------------------------------------------------------

GET_INSTANCE = f"SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = $1"
LIST_CHILDREN = "SELECT id FROM instances WHERE parent_instance_id = $1 ORDER BY created_at_ms, seq"
LIST_EXECUTIONS = """
SELECT e.execution_id, e.status, count(h.event_id)::integer AS event_count, e.started_at_ms, e.ended_at_ms
FROM executions AS e
LEFT JOIN history AS h ON h.instance_id = e.instance_id AND h.execution_id = e.execution_id
WHERE e.instance_id = $1
GROUP BY e.execution_id, e.status, e.started_at_ms, e.ended_at_ms
ORDER BY e.execution_id
"""
READ_HISTORY = """
SELECT event_id, kind, timestamp_ms, body, execution_id FROM history
WHERE instance_id = $1 AND execution_id = COALESCE($2, (SELECT execution_id FROM instances WHERE id = $1))
ORDER BY event_id
"""
DELETE_INSTANCES = """
WITH gone AS (DELETE FROM instances WHERE id = ANY ($1::text[]) RETURNING 1),
     history_gone AS (DELETE FROM history WHERE instance_id = ANY ($1::text[])),
     executions_gone AS (DELETE FROM executions WHERE instance_id = ANY ($1::text[])),
     messages_gone AS (DELETE FROM orchestrator_queue WHERE instance_id = ANY ($1::text[])),
     work_gone AS (DELETE FROM worker_queue WHERE instance_id = ANY ($1::text[]))
SELECT count(*) FROM gone
"""
PRUNE_EXECUTIONS = """
WITH doomed AS (
    SELECT execution_id FROM executions WHERE instance_id = $1 ORDER BY execution_id DESC OFFSET $2
), history_gone AS (
    DELETE FROM history WHERE instance_id = $1 AND execution_id IN (SELECT execution_id FROM doomed)
), gone AS (
    DELETE FROM executions WHERE instance_id = $1 AND execution_id IN (SELECT execution_id FROM doomed) RETURNING 1
)
SELECT count(*) FROM gone
"""
INSTANCES_BY_STATUS = "SELECT status, count(*) AS count FROM instances GROUP BY status"
QUEUE_DEPTHS = """
SELECT count(*) FILTER (WHERE visible_at_ms <= clock_ms($1)) AS orchestrator,
       count(*) FILTER (WHERE visible_at_ms > clock_ms($1)) AS timer,
       (SELECT count(*) FROM worker_queue) AS worker
FROM orchestrator_queue
"""
