-- duroxide PostgreSQL schema, version 4: leaner calls. Runs with search_path set to the store's
-- schema. What changed from version 2, measured with `duroxide bench --store postgresql://...`:
--
-- A fetch of orchestration work whose cost follows the size of the fetch, not of the queue.
-- Version 2 joined the whole queue with the whole instances table and sorted the result (the
-- planner chose hash joins and sequential scans: a fresh schema has no statistics, and the lease
-- tests defeat its estimates), some 10 ms a fetch with 2,000 instances queued. Here the queue is
-- walked in order from its oldest visible message (the orchestrator_queue_by_visible index) and
-- each message's instance is looked up by its key (a LATERAL subquery that OFFSET 0 keeps from
-- being flattened into a join), so the walk stops after the few dozen rows it needs. The
-- candidates are then locked one at a time by key, skipping (never waiting for) an instance
-- another fetch or a commit holds, and each one's messages are tagged and read in one statement.
--
-- What the caller holds of each history comes as four texts of parallel lists (instance ids and
-- incarnations separated by U+001F, executions and event counts by commas) instead of a JSON
-- object: a runtime with a thousand cached generators sent a JSON document of some 60 kB with
-- every fetch, which took about 1 ms to encode in Python and was parsed again by every
-- `p_known -> id` lookup here (and as text[] parameters asyncpg spent more still checking each
-- element). Should an instance id contain the separator, the lists no longer line up; then
-- nothing is taken as known and every history is sent whole, which is always correct.
--
-- Fetches commit without waiting for their WAL record to reach the disk (synchronous_commit off
-- for their transaction only): a fetch writes nothing but leases and delivery counts, and the
-- next durable commit (a turn, a completion) flushes the log up to and past it. A crash of the
-- server can undo only leases whose holders then fail to commit (a lost lease) and the count of
-- that one delivery; everything acknowledged stays durable. This takes a disk flush off every
-- fetch, which the runtime waits for before it can run anything.

-- The version 2 function (same name, other parameters) stays, so that processes of the previous
-- duroxide still running against this schema during a rolling upgrade keep fetching; the same
-- goes for commit_turn(bigint, json) below.

CREATE FUNCTION fetch_orchestration_work(p_now bigint, p_limit integer, p_lock_ms bigint, p_owner text,
                                         p_known_ids text, p_known_incarnations text,
                                         p_known_executions text, p_known_counts text, p_scope text[])
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    v_now bigint := clock_ms(p_now);
    v_candidates text[];
    v_id text;
    v_token text;
    v_after integer;
    v_known integer;
    v_known_ids text[] := string_to_array(p_known_ids, E'\x1f');
    v_known_incarnations text[] := string_to_array(p_known_incarnations, E'\x1f');
    v_known_executions integer[] := string_to_array(p_known_executions, ',')::integer[];
    v_known_counts integer[] := string_to_array(p_known_counts, ',')::integer[];
    v_row instances%ROWTYPE;
    v_work json[] := '{}';
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    IF cardinality(v_known_ids) IS DISTINCT FROM cardinality(v_known_counts)
       OR cardinality(v_known_incarnations) IS DISTINCT FROM cardinality(v_known_counts) THEN
        v_known_ids := '{}';  -- a separator inside an id: know nothing rather than misread
    END IF;
    -- candidates: instances with a visible message and no live lease or back-off, by oldest message
    SELECT array_agg(c.instance_id ORDER BY c.first_visible, c.first_id) INTO v_candidates
    FROM (SELECT w.instance_id, min(w.visible_at_ms) AS first_visible, min(w.id) AS first_id
          FROM (SELECT q.instance_id, q.visible_at_ms, q.id
                FROM orchestrator_queue AS q
                CROSS JOIN LATERAL (SELECT 1 FROM instances AS i
                                    WHERE i.id = q.instance_id
                                      AND (i.locked_until_ms IS NULL OR i.locked_until_ms <= v_now)
                                      AND (i.backoff_until_ms IS NULL OR i.backoff_until_ms <= v_now)
                                    OFFSET 0) AS free
                WHERE q.visible_at_ms <= v_now
                  AND (p_scope IS NULL OR q.instance_id = ANY (p_scope))
                ORDER BY q.visible_at_ms, q.id
                LIMIT p_limit * 4 + 16) AS w
          GROUP BY w.instance_id) AS c;
    FOREACH v_id IN ARRAY COALESCE(v_candidates, '{}') LOOP
        EXIT WHEN cardinality(v_work) >= p_limit;
        v_token := new_token();
        -- one another fetch or a commit holds is skipped, never waited for (so a fetch cannot
        -- take part in a deadlock); the lease is checked again under the row lock
        UPDATE instances SET lock_token = v_token, lock_owner = p_owner, locked_until_ms = v_now + p_lock_ms
        WHERE id = (SELECT i.id FROM instances AS i
                    WHERE i.id = v_id
                      AND (i.locked_until_ms IS NULL OR i.locked_until_ms <= v_now)
                      AND (i.backoff_until_ms IS NULL OR i.backoff_until_ms <= v_now)
                    FOR UPDATE SKIP LOCKED)
        RETURNING * INTO v_row;
        CONTINUE WHEN NOT FOUND;
        v_known := array_position(v_known_ids, v_id);
        v_after := CASE WHEN v_known_incarnations[v_known] = v_row.incarnation
                             AND v_known_executions[v_known] = v_row.execution_id
                        THEN v_known_counts[v_known] ELSE 0 END;
        WITH tagged AS (
            UPDATE orchestrator_queue SET delivery_count = delivery_count + 1, lock_token = v_token
            WHERE instance_id = v_id AND visible_at_ms <= v_now
            RETURNING id, execution_id, kind, body, delivery_count
        )
        SELECT v_work || json_build_object(
            'instance', row_to_json(v_row),
            'lock_token', v_token,
            'history_after', v_after,
            'history', (SELECT COALESCE(json_agg(json_build_array(h.event_id, h.kind, h.timestamp_ms, h.body)
                                                 ORDER BY h.event_id), '[]')
                        FROM history AS h
                        WHERE h.instance_id = v_id AND h.execution_id = v_row.execution_id AND h.event_id > v_after),
            'messages', (SELECT COALESCE(json_agg(json_build_array(t.id, t.execution_id, t.kind, t.body,
                                                                   t.delivery_count) ORDER BY t.id), '[]')
                         FROM tagged AS t))
        INTO v_work;
    END LOOP;
    IF cardinality(v_work) > 0 THEN
        RETURN json_build_object('work', array_to_json(v_work), 'next_due_in_ms', NULL);
    END IF;
    RETURN json_build_object('work', '[]'::json, 'next_due_in_ms', least(
        (SELECT min(visible_at_ms) FROM orchestrator_queue WHERE visible_at_ms > v_now),
        (SELECT min(locked_until_ms) FROM instances WHERE locked_until_ms > v_now),
        (SELECT min(backoff_until_ms) FROM instances WHERE backoff_until_ms > v_now)) - v_now);
END $$;

-- As in version 2, but committed without waiting for the disk, as above.
CREATE OR REPLACE FUNCTION fetch_activity_work(p_now bigint, p_limit integer, p_lock_ms bigint, p_owner text,
                                               p_scope text[])
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    v_now bigint := clock_ms(p_now);
    v_work json;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    WITH picked AS (
        SELECT id FROM worker_queue
        WHERE visible_at_ms <= v_now AND COALESCE(locked_until_ms, 0) <= v_now
          AND (p_scope IS NULL OR instance_id = ANY (p_scope))
        ORDER BY visible_at_ms, id
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    ), locked AS (
        UPDATE worker_queue AS w
        SET lock_token = new_token(), lock_owner = p_owner, locked_until_ms = v_now + p_lock_ms,
            delivery_count = w.delivery_count + 1
        FROM picked WHERE w.id = picked.id
        RETURNING w.*
    )
    SELECT json_agg(json_build_array(id, lock_token, instance_id, execution_id, event_id, body, delivery_count)
                    ORDER BY visible_at_ms, id) INTO v_work
    FROM locked;
    IF v_work IS NOT NULL THEN
        RETURN json_build_object('work', v_work, 'next_due_in_ms', NULL);
    END IF;
    RETURN json_build_object('work', '[]'::json, 'next_due_in_ms', least(
        (SELECT min(visible_at_ms) FROM worker_queue WHERE visible_at_ms > v_now),
        (SELECT min(locked_until_ms) FROM worker_queue WHERE locked_until_ms > v_now)) - v_now);
END $$;

-- A turn, as in version 2 (see Provider.commit_turns), with the work it does per turn cut down:
-- the document is read as jsonb, parsed once (a json value is parsed again at every `->`);
-- statements for empty parts (no activities, starts, messages, cancels) are skipped; and the
-- execution's row is rewritten only when the turn changes its status or ends it.
CREATE FUNCTION commit_turn(p_now bigint, p_turn jsonb) RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    v_id text := p_turn ->> 'instance_id';
    v_token text := p_turn ->> 'lock_token';
    v_execution integer := (p_turn ->> 'execution_id')::integer;
    v_next integer := (p_turn ->> 'next_execution_id')::integer;
    v_update jsonb := p_turn -> 'instance';
    v_status text := v_update ->> 'status';
    v_terminal boolean := v_status IN ('Completed', 'Failed', 'Cancelled');
    v_was text;
    v_ignored text[] := '{}';
    v_start jsonb;
    v_message jsonb;
BEGIN
    SELECT status INTO v_was FROM instances WHERE id = v_id AND lock_token = v_token AND locked_until_ms > p_now
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN json_build_object('outcome', 'lock_lost', 'ignored', '[]'::json);
    END IF;
    INSERT INTO history (instance_id, execution_id, event_id, kind, timestamp_ms, body)
    SELECT v_id, v_execution, (e ->> 0)::integer, e ->> 1, (e ->> 2)::bigint, e ->> 3
    FROM jsonb_array_elements(p_turn -> 'events') AS e;
    IF v_next IS NOT NULL THEN
        PERFORM record_execution(v_id, v_execution, 'Completed', p_now, p_now);
        PERFORM record_execution(v_id, v_next, v_status, p_now, NULL);
    ELSIF v_terminal OR v_status IS DISTINCT FROM v_was THEN
        PERFORM record_execution(v_id, v_execution, v_status, p_now, CASE WHEN v_terminal THEN p_now END);
    END IF;
    UPDATE instances SET status = v_status, version = v_update ->> 'version', output = v_update ->> 'output',
        error = v_update ->> 'error', failure = v_update ->> 'failure',
        custom_status = v_update ->> 'custom_status', updated_at_ms = p_now,
        execution_id = COALESCE(v_next, execution_id), held = NULL,
        lock_token = NULL, lock_owner = NULL, locked_until_ms = NULL, backoff_until_ms = NULL
    WHERE id = v_id;
    IF jsonb_array_length(p_turn -> 'activities') > 0 THEN
        INSERT INTO worker_queue (instance_id, execution_id, event_id, body, visible_at_ms)
        SELECT v_id, (a ->> 0)::integer, (a ->> 1)::integer, a ->> 2, p_now
        FROM jsonb_array_elements(p_turn -> 'activities') AS a;
        PERFORM wake('worker');
    END IF;
    FOR v_start IN SELECT * FROM jsonb_array_elements(p_turn -> 'starts') LOOP
        CONTINUE WHEN insert_instance(p_now, v_start ->> 0, v_start ->> 1, v_start ->> 2, v_start ->> 3, v_start ->> 4);
        IF jsonb_typeof(v_start -> 5) = 'array' THEN
            PERFORM send(p_now, v_start -> 5 ->> 0, (v_start -> 5 ->> 1)::integer, v_start -> 5 ->> 2,
                         v_start -> 5 ->> 3, NULL);
        ELSE
            v_ignored := v_ignored || (v_start ->> 0);
        END IF;
    END LOOP;
    FOR v_message IN SELECT * FROM jsonb_array_elements(p_turn -> 'messages') LOOP
        PERFORM send(p_now, v_message ->> 0, (v_message ->> 1)::integer, v_message ->> 2, v_message ->> 3,
                     (v_message ->> 4)::bigint);
    END LOOP;
    IF jsonb_array_length(p_turn -> 'cancel_activities') > 0 THEN
        DELETE FROM worker_queue
        WHERE instance_id = v_id
          AND event_id IN (SELECT value::integer FROM jsonb_array_elements_text(p_turn -> 'cancel_activities'));
    END IF;
    IF v_terminal OR v_next IS NOT NULL THEN
        DELETE FROM worker_queue WHERE instance_id = v_id AND execution_id <= v_execution;
        DELETE FROM orchestrator_queue WHERE instance_id = v_id AND execution_id <= v_execution;
    END IF;
    IF jsonb_array_length(p_turn -> 'consumed_message_ids') > 0 THEN
        DELETE FROM orchestrator_queue
        WHERE instance_id = v_id
          AND id IN (SELECT value::bigint FROM jsonb_array_elements_text(p_turn -> 'consumed_message_ids'));
    END IF;
    UPDATE orchestrator_queue SET lock_token = NULL WHERE instance_id = v_id AND lock_token = v_token;
    IF EXISTS (SELECT 1 FROM orchestrator_queue WHERE instance_id = v_id) THEN
        PERFORM wake('orchestrator');
    END IF;
    RETURN json_build_object('outcome', 'committed', 'ignored', to_json(v_ignored));
END $$;

-- As in version 2, handing each turn to commit_turn as jsonb.
CREATE OR REPLACE FUNCTION commit_turns(p_now bigint, p_turns json) RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    v_now bigint := clock_ms(p_now);
    v_turns jsonb := p_turns::jsonb;
    v_results json[] := array_fill(NULL::json, ARRAY[jsonb_array_length(v_turns)]);
    v_turn record;
BEGIN
    FOR v_turn IN SELECT t.value, t.ordinality FROM jsonb_array_elements(v_turns) WITH ORDINALITY AS t
                  ORDER BY t.value ->> 'instance_id', t.ordinality LOOP
        BEGIN
            v_results[v_turn.ordinality] := commit_turn(v_now, v_turn.value);
        EXCEPTION WHEN unique_violation THEN
            v_results[v_turn.ordinality] := json_build_object('outcome', 'lock_lost', 'ignored', '[]'::json);
        END;
    END LOOP;
    RETURN array_to_json(v_results);
END $$;

-- Provider.create_instance for a group of calls that arrived together (providers/_postgres/
-- grouping.py): p_starts is [[id, name, version, parent, body], ...]; one result per start, in
-- order, false where the id is taken. One transaction, one WAL flush and one NOTIFY for them all.
CREATE FUNCTION insert_instances(p_now bigint, p_starts json) RETURNS boolean[] LANGUAGE plpgsql AS $$
DECLARE
    v_now bigint := clock_ms(p_now);
    v_results boolean[] := '{}';
    v_start jsonb;
BEGIN
    FOR v_start IN SELECT * FROM jsonb_array_elements(p_starts::jsonb) LOOP
        v_results := v_results || insert_instance(v_now, v_start ->> 0, v_start ->> 1, v_start ->> 2, v_start ->> 3,
                                                  v_start ->> 4);
    END LOOP;
    RETURN v_results;
END $$;

-- Provider.enqueue_message for a group of calls: p_messages is [[instance, execution, kind, body,
-- visible_at], ...]; one result per message, in order, false where the instance does not exist.
CREATE FUNCTION send_each(p_now bigint, p_messages json) RETURNS boolean[] LANGUAGE plpgsql AS $$
DECLARE
    v_now bigint := clock_ms(p_now);
    v_results boolean[] := '{}';
    v_message jsonb;
BEGIN
    FOR v_message IN SELECT * FROM jsonb_array_elements(p_messages::jsonb) LOOP
        v_results := v_results || send(v_now, v_message ->> 0, (v_message ->> 1)::integer, v_message ->> 2,
                                       v_message ->> 3, (v_message ->> 4)::bigint);
    END LOOP;
    RETURN v_results;
END $$;
