-- duroxide PostgreSQL schema, version 8: one turn taking its instance's lock, committed by a
-- function of its own. Runs with search_path set to the store's schema. Functions of earlier
-- versions are unchanged (processes of version 7 keep working on a schema migrated under them).
--
-- A runtime that runs a chain of activities commits one such turn per step (the activity's
-- result, the next activity leased to itself): commit_turns_taking_locks handled it as any batch,
-- parsing a JSON document, in a subtransaction, taking the lock (an update of the instance's row)
-- and releasing it (a second update), about a dozen statements. Here the turn comes as plain
-- parameters and arrays, the instance's row is updated once (the lock is held as a row lock for
-- the transaction, never written), and there are three statements, planned once per session.
--
-- Refusals: NULL (nothing written) when the instance is not as the turn assumed (see
-- take_free_lock, version 6). A result whose lease has moved on raises SQLSTATE 'DXL01', and an
-- event id that is taken raises unique_violation: the statement is the whole transaction, so the
-- error undoes everything, and the caller reads either as "lock_lost".
CREATE FUNCTION commit_lone_turn_taking_lock(
    p_now bigint, p_id text, p_incarnation text, p_execution integer, p_history_len integer,
    p_event_ids integer[], p_event_kinds text[], p_event_times bigint[], p_event_bodies text[],
    p_status text, p_version text, p_output text, p_error text, p_failure text, p_custom_status text,
    p_activity_executions integer[], p_activity_event_ids integer[], p_activity_bodies text[],
    p_lease_owner text, p_lease_ms bigint, p_lease_limit integer,
    p_completed_ids bigint[], p_completed_tokens text[]
) RETURNS json LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_now bigint := clock_ms(p_now);
    v_terminal boolean := p_status IN ('Completed', 'Failed', 'Cancelled');
    v_lease_limit integer := CASE WHEN v_terminal THEN 0 ELSE COALESCE(p_lease_limit, 0) END;
    v_was text;
    v_held integer;
    v_leased json;
    v_queued integer;
    v_pending boolean;
BEGIN
    -- the instance as the turn assumed it, locked for this transaction (another session taking
    -- it right now is skipped, not waited for)
    SELECT status INTO v_was FROM instances
    WHERE id = p_id AND incarnation = p_incarnation AND execution_id = p_execution
      AND status IN ('Pending', 'Running')
      AND COALESCE(locked_until_ms, 0) <= v_now AND COALESCE(backoff_until_ms, 0) <= v_now
    FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    -- checked under the row lock, so a commit that held it before is seen
    IF EXISTS (SELECT 1 FROM history
               WHERE instance_id = p_id AND execution_id = p_execution AND event_id > p_history_len)
       OR EXISTS (SELECT 1 FROM orchestrator_queue WHERE instance_id = p_id AND visible_at_ms <= v_now) THEN
        RETURN NULL;
    END IF;
    IF v_terminal OR p_status IS DISTINCT FROM v_was THEN
        PERFORM record_execution(p_id, p_execution, p_status, v_now, CASE WHEN v_terminal THEN v_now END);
    END IF;
    -- the results' work items, the events, the instance's row and the activities (the first
    -- v_lease_limit of them leased to the caller, the others queued for fetches) in one statement
    WITH done AS (
        -- by the primary key whatever the plan (this function's plans are generic: planning its
        -- statements at every call cost more than running them)
        DELETE FROM worker_queue
        WHERE id = ANY (p_completed_ids) AND lock_token = p_completed_tokens[array_position(p_completed_ids, id)]
        RETURNING 1
    ), appended AS (
        INSERT INTO history (instance_id, execution_id, event_id, kind, timestamp_ms, body)
        SELECT p_id, p_execution, e.id, e.kind, e.at, e.body
        FROM unnest(p_event_ids, p_event_kinds, p_event_times, p_event_bodies) AS e(id, kind, at, body)
    ), updated AS (
        UPDATE instances SET status = p_status, version = p_version, output = p_output, error = p_error,
            failure = p_failure, custom_status = p_custom_status, updated_at_ms = v_now, held = NULL,
            lock_token = NULL, lock_owner = NULL, locked_until_ms = NULL, backoff_until_ms = NULL
        WHERE id = p_id
    ), added AS (
        INSERT INTO worker_queue (instance_id, execution_id, event_id, body, visible_at_ms,
                                  lock_token, lock_owner, locked_until_ms, delivery_count)
        SELECT p_id, a.execution, a.event_id, a.body, v_now,
               CASE WHEN a.n <= v_lease_limit THEN new_token() END,
               CASE WHEN a.n <= v_lease_limit THEN p_lease_owner END,
               CASE WHEN a.n <= v_lease_limit THEN v_now + p_lease_ms END,
               CASE WHEN a.n <= v_lease_limit THEN 1 ELSE 0 END
        FROM unnest(p_activity_executions, p_activity_event_ids, p_activity_bodies) WITH ORDINALITY
             AS a(execution, event_id, body, n)
        ORDER BY a.n
        RETURNING *
    )
    SELECT (SELECT count(*) FROM done),
           (SELECT COALESCE(json_agg(json_build_array(id, lock_token, instance_id, execution_id, event_id, body,
                                                      delivery_count) ORDER BY id), '[]'::json)
            FROM added WHERE lock_token IS NOT NULL),
           (SELECT count(*) FROM added WHERE lock_token IS NULL),
           EXISTS (SELECT 1 FROM orchestrator_queue WHERE instance_id = p_id)
    INTO v_held, v_leased, v_queued, v_pending;
    IF v_held <> cardinality(p_completed_ids) THEN
        -- a result whose lease has moved on: the error undoes all of the above
        RAISE EXCEPTION 'a result of the turn of instance % has lost its lease', p_id USING ERRCODE = 'DXL01';
    END IF;
    IF v_queued > 0 THEN
        PERFORM wake('worker');
    END IF;
    IF v_terminal THEN
        DELETE FROM worker_queue WHERE instance_id = p_id AND execution_id <= p_execution;
        DELETE FROM orchestrator_queue WHERE instance_id = p_id AND execution_id <= p_execution;
        v_pending := EXISTS (SELECT 1 FROM orchestrator_queue WHERE instance_id = p_id);
    END IF;
    -- a message that arrived while the row was locked was skipped by fetches: wake them
    IF v_pending THEN
        PERFORM wake('orchestrator');
    END IF;
    RETURN v_leased;
END $$;
