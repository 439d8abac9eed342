-- duroxide PostgreSQL schema, version 2: the server-side functions that make each provider call
-- one statement (one network round trip). They follow the rules of providers/base.py; each says
-- which Provider method it serves. Runs with search_path set to the store's schema.

-- The store clock: the server's, unless the caller passes the time it injects (tests).
CREATE FUNCTION clock_ms(p_injected bigint) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT COALESCE(p_injected, (extract(epoch FROM now()) * 1000)::bigint)
$$;

CREATE FUNCTION new_token() RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT replace(gen_random_uuid()::text, '-', '')
$$;

-- Wakes the idle dispatchers of every process listening on this schema's channel (sent at commit).
CREATE FUNCTION wake(p_queue text) RETURNS void LANGUAGE sql AS $$
    SELECT pg_notify('duroxide_' || current_schema(), p_queue)
$$;

-- Queue a message for an instance that exists; false (nothing written) when it does not.
CREATE FUNCTION send(p_now bigint, p_instance text, p_execution integer, p_kind text, p_body text, p_visible bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO orchestrator_queue (instance_id, execution_id, kind, body, visible_at_ms)
    SELECT p_instance, p_execution, p_kind, p_body, COALESCE(p_visible, p_now)
    WHERE EXISTS (SELECT 1 FROM instances WHERE id = p_instance);
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM wake('orchestrator');  -- delayed ones too: an idle dispatcher learns when it comes due
    RETURN true;
END $$;

-- A Pending instance at execution 1 with its start queued; false when the id is taken.
CREATE FUNCTION insert_instance(p_now bigint, p_id text, p_name text, p_version text, p_parent text, p_body text)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO instances (id, name, version, status, execution_id, parent_instance_id, created_at_ms,
                           updated_at_ms, incarnation)
    VALUES (p_id, p_name, p_version, 'Pending', 1, p_parent, p_now, p_now, new_token())
    ON CONFLICT (id) DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO executions (instance_id, execution_id, status, started_at_ms) VALUES (p_id, 1, 'Pending', p_now);
    RETURN send(p_now, p_id, 1, 'OrchestrationStarted', p_body, NULL);
END $$;

-- Lock up to p_limit fetchable instances, the one whose message has waited longest first.
-- Returns {"work": [...], "next_due_in_ms": n or null}; see Provider.fetch_orchestration_work.
CREATE FUNCTION fetch_orchestration_work(p_now bigint, p_limit integer, p_lock_ms bigint, p_owner text,
                                         p_known json, p_scope text[])
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    v_now bigint := clock_ms(p_now);
    v_candidates text[];
    v_chosen text[];
    v_id text;
    v_token text;
    v_after integer;
    v_known json;
    v_row instances%ROWTYPE;
    v_work json[] := '{}';
BEGIN
    -- candidates: instances with a visible message and no live lease or back-off, by oldest message
    SELECT array_agg(c.instance_id ORDER BY c.first_visible, c.first_id) INTO v_candidates
    FROM (SELECT w.instance_id, min(w.visible_at_ms) AS first_visible, min(w.id) AS first_id
          FROM (SELECT q.instance_id, q.visible_at_ms, q.id
                FROM orchestrator_queue AS q JOIN instances AS i ON i.id = q.instance_id
                WHERE q.visible_at_ms <= v_now
                  AND COALESCE(i.locked_until_ms, 0) <= v_now AND COALESCE(i.backoff_until_ms, 0) <= v_now
                  AND (p_scope IS NULL OR q.instance_id = ANY (p_scope))
                ORDER BY q.visible_at_ms, q.id
                LIMIT p_limit * 4 + 16) AS w
          GROUP BY w.instance_id) AS c;
    -- lock the oldest p_limit of them; one another fetch holds is skipped, never waited for (so
    -- a fetch cannot take part in a deadlock, whatever order it locks in)
    SELECT array_agg(l.id ORDER BY l.position) INTO v_chosen
    FROM (SELECT i.id, array_position(v_candidates, i.id) AS position FROM instances AS i
          WHERE i.id = ANY (v_candidates)
            AND COALESCE(i.locked_until_ms, 0) <= v_now AND COALESCE(i.backoff_until_ms, 0) <= v_now
          ORDER BY position
          LIMIT p_limit
          FOR UPDATE SKIP LOCKED) AS l;
    FOREACH v_id IN ARRAY COALESCE(v_chosen, '{}') LOOP
        v_token := new_token();
        UPDATE instances SET lock_token = v_token, lock_owner = p_owner, locked_until_ms = v_now + p_lock_ms
        WHERE id = v_id RETURNING * INTO v_row;
        UPDATE orchestrator_queue SET delivery_count = delivery_count + 1, lock_token = v_token
        WHERE instance_id = v_id AND visible_at_ms <= v_now;
        v_known := p_known -> v_id;
        v_after := CASE WHEN v_known ->> 0 = v_row.incarnation AND (v_known ->> 1)::integer = v_row.execution_id
                        THEN (v_known ->> 2)::integer ELSE 0 END;
        v_work := v_work || json_build_object(
            'instance', row_to_json(v_row),
            'lock_token', v_token,
            'history_after', v_after,
            'history', (SELECT COALESCE(json_agg(json_build_array(h.event_id, h.kind, h.timestamp_ms, h.body)
                                                 ORDER BY h.event_id), '[]')
                        FROM history AS h
                        WHERE h.instance_id = v_id AND h.execution_id = v_row.execution_id AND h.event_id > v_after),
            'messages', (SELECT COALESCE(json_agg(json_build_array(q.id, q.execution_id, q.kind, q.body,
                                                                   q.delivery_count) ORDER BY q.id), '[]')
                         FROM orchestrator_queue AS q WHERE q.instance_id = v_id AND q.lock_token = v_token));
    END LOOP;
    IF cardinality(v_work) > 0 THEN
        RETURN json_build_object('work', array_to_json(v_work), 'next_due_in_ms', NULL);
    END IF;
    RETURN json_build_object('work', '[]'::json, 'next_due_in_ms', least(
        (SELECT min(visible_at_ms) FROM orchestrator_queue WHERE visible_at_ms > v_now),
        (SELECT min(locked_until_ms) FROM instances WHERE locked_until_ms > v_now),
        (SELECT min(backoff_until_ms) FROM instances WHERE backoff_until_ms > v_now)) - v_now);
END $$;

CREATE FUNCTION record_execution(p_id text, p_execution integer, p_status text, p_now bigint, p_ended bigint)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO executions (instance_id, execution_id, status, started_at_ms, ended_at_ms)
    VALUES (p_id, p_execution, p_status, p_now, p_ended)
    ON CONFLICT (instance_id, execution_id) DO UPDATE SET
        status = excluded.status,
        ended_at_ms = CASE WHEN excluded.ended_at_ms IS NULL THEN NULL
                           ELSE COALESCE(executions.ended_at_ms, excluded.ended_at_ms) END
$$;

-- One turn; see Provider.commit_turns. Returns {"outcome": ..., "ignored": [ids of ignored starts]}.
CREATE FUNCTION commit_turn(p_now bigint, p_turn json) RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    v_id text := p_turn ->> 'instance_id';
    v_token text := p_turn ->> 'lock_token';
    v_execution integer := (p_turn ->> 'execution_id')::integer;
    v_next integer := (p_turn ->> 'next_execution_id')::integer;
    v_update json := p_turn -> 'instance';
    v_status text := v_update ->> 'status';
    v_terminal boolean := v_status IN ('Completed', 'Failed', 'Cancelled');
    v_ignored text[] := '{}';
    v_start json;
    v_message json;
BEGIN
    PERFORM 1 FROM instances WHERE id = v_id AND lock_token = v_token AND locked_until_ms > p_now FOR UPDATE;
    IF NOT FOUND THEN
        RETURN json_build_object('outcome', 'lock_lost', 'ignored', '[]'::json);
    END IF;
    INSERT INTO history (instance_id, execution_id, event_id, kind, timestamp_ms, body)
    SELECT v_id, v_execution, (e ->> 0)::integer, e ->> 1, (e ->> 2)::bigint, e ->> 3
    FROM json_array_elements(p_turn -> 'events') AS e;
    IF v_next IS NOT NULL THEN
        PERFORM record_execution(v_id, v_execution, 'Completed', p_now, p_now);
        PERFORM record_execution(v_id, v_next, v_status, p_now, NULL);
    ELSE
        PERFORM record_execution(v_id, v_execution, v_status, p_now, CASE WHEN v_terminal THEN p_now END);
    END IF;
    UPDATE instances SET status = v_status, version = v_update ->> 'version', output = v_update ->> 'output',
        error = v_update ->> 'error', failure = v_update ->> 'failure',
        custom_status = v_update ->> 'custom_status', updated_at_ms = p_now,
        execution_id = COALESCE(v_next, execution_id), held = NULL,
        lock_token = NULL, lock_owner = NULL, locked_until_ms = NULL, backoff_until_ms = NULL
    WHERE id = v_id;
    INSERT INTO worker_queue (instance_id, execution_id, event_id, body, visible_at_ms)
    SELECT v_id, (a ->> 0)::integer, (a ->> 1)::integer, a ->> 2, p_now
    FROM json_array_elements(p_turn -> 'activities') AS a;
    IF FOUND THEN
        PERFORM wake('worker');
    END IF;
    FOR v_start IN SELECT * FROM json_array_elements(p_turn -> 'starts') LOOP
        CONTINUE WHEN insert_instance(p_now, v_start ->> 0, v_start ->> 1, v_start ->> 2, v_start ->> 3, v_start ->> 4);
        IF json_typeof(v_start -> 5) = 'array' THEN
            PERFORM send(p_now, v_start -> 5 ->> 0, (v_start -> 5 ->> 1)::integer, v_start -> 5 ->> 2,
                         v_start -> 5 ->> 3, NULL);
        ELSE
            v_ignored := v_ignored || (v_start ->> 0);
        END IF;
    END LOOP;
    FOR v_message IN SELECT * FROM json_array_elements(p_turn -> 'messages') LOOP
        PERFORM send(p_now, v_message ->> 0, (v_message ->> 1)::integer, v_message ->> 2, v_message ->> 3,
                     (v_message ->> 4)::bigint);
    END LOOP;
    DELETE FROM worker_queue
    WHERE instance_id = v_id
      AND event_id IN (SELECT value::text::integer FROM json_array_elements(p_turn -> 'cancel_activities'));
    IF v_terminal OR v_next IS NOT NULL THEN
        DELETE FROM worker_queue WHERE instance_id = v_id AND execution_id <= v_execution;
        DELETE FROM orchestrator_queue WHERE instance_id = v_id AND execution_id <= v_execution;
    END IF;
    DELETE FROM orchestrator_queue
    WHERE instance_id = v_id
      AND id IN (SELECT value::text::bigint FROM json_array_elements(p_turn -> 'consumed_message_ids'));
    UPDATE orchestrator_queue SET lock_token = NULL WHERE instance_id = v_id AND lock_token = v_token;
    IF EXISTS (SELECT 1 FROM orchestrator_queue WHERE instance_id = v_id) THEN
        PERFORM wake('orchestrator');
    END IF;
    RETURN json_build_object('outcome', 'committed', 'ignored', to_json(v_ignored));
END $$;

-- Each turn in its own subtransaction (a savepoint), in instance-id order; results in the
-- batch's order. An event id that exists already means another process wrote this turn: lock_lost.
CREATE FUNCTION commit_turns(p_now bigint, p_turns json) RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    v_now bigint := clock_ms(p_now);
    v_results json[] := array_fill(NULL::json, ARRAY[json_array_length(p_turns)]);
    v_turn record;
BEGIN
    FOR v_turn IN SELECT t.value, t.ordinality FROM json_array_elements(p_turns) WITH ORDINALITY AS t
                  ORDER BY t.value ->> 'instance_id', t.ordinality LOOP
        BEGIN
            v_results[v_turn.ordinality] := commit_turn(v_now, v_turn.value);
        EXCEPTION WHEN unique_violation THEN
            v_results[v_turn.ordinality] := json_build_object('outcome', 'lock_lost', 'ignored', '[]'::json);
        END;
    END LOOP;
    RETURN array_to_json(v_results);
END $$;

-- Remove each work item its token holds and queue its result; results in the batch's order.
CREATE FUNCTION complete_activities(p_now bigint, p_completions json) RETURNS boolean[] LANGUAGE plpgsql AS $$
DECLARE
    v_now bigint := clock_ms(p_now);
    v_results boolean[] := array_fill(false, ARRAY[json_array_length(p_completions)]);
    v_item record;
BEGIN
    FOR v_item IN SELECT c.value, c.ordinality FROM json_array_elements(p_completions) WITH ORDINALITY AS c
                  ORDER BY (c.value ->> 0)::bigint LOOP
        DELETE FROM worker_queue WHERE id = (v_item.value ->> 0)::bigint AND lock_token = v_item.value ->> 1;
        IF FOUND THEN
            v_results[v_item.ordinality] := true;
            PERFORM send(v_now, v_item.value ->> 2, (v_item.value ->> 3)::integer, v_item.value ->> 4,
                         v_item.value ->> 5, NULL);
        END IF;
    END LOOP;
    RETURN v_results;
END $$;

-- Unlock an instance without a turn; see Provider.abandon_orchestration.
CREATE FUNCTION abandon_orchestration(p_now bigint, p_id text, p_token text, p_delay_ms bigint, p_reason text,
                                      p_count_delivery boolean)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_now bigint := clock_ms(p_now);
BEGIN
    UPDATE instances SET lock_token = NULL, lock_owner = NULL, locked_until_ms = NULL,
        backoff_until_ms = CASE WHEN p_delay_ms > 0 THEN v_now + p_delay_ms END,
        error = COALESCE(p_reason, error),
        updated_at_ms = CASE WHEN p_reason IS NULL THEN updated_at_ms ELSE v_now END
    WHERE id = p_id AND lock_token = p_token;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    UPDATE orchestrator_queue SET lock_token = NULL,
        delivery_count = CASE WHEN p_count_delivery THEN delivery_count ELSE greatest(delivery_count - 1, 0) END
    WHERE instance_id = p_id AND lock_token = p_token;
    IF EXISTS (SELECT 1 FROM orchestrator_queue WHERE instance_id = p_id) THEN
        PERFORM wake('orchestrator');
    END IF;
END $$;

-- Delete messages of a locked instance and unlock it, leaving its row; see Provider.drop_messages.
CREATE FUNCTION drop_messages(p_now bigint, p_id text, p_token text, p_message_ids bigint[])
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    v_now bigint := clock_ms(p_now);
BEGIN
    UPDATE instances SET lock_token = NULL, lock_owner = NULL, locked_until_ms = NULL
    WHERE id = p_id AND lock_token = p_token AND locked_until_ms > v_now;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    DELETE FROM orchestrator_queue WHERE instance_id = p_id AND id = ANY (p_message_ids);
    UPDATE orchestrator_queue SET lock_token = NULL WHERE instance_id = p_id AND lock_token = p_token;
    IF EXISTS (SELECT 1 FROM orchestrator_queue WHERE instance_id = p_id) THEN
        PERFORM wake('orchestrator');
    END IF;
    RETURN true;
END $$;

-- Lock up to p_limit visible activity work items, oldest first.
-- Returns {"work": [...], "next_due_in_ms": n or null}.
CREATE FUNCTION fetch_activity_work(p_now bigint, p_limit integer, p_lock_ms bigint, p_owner text, p_scope text[])
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    v_now bigint := clock_ms(p_now);
    v_work json;
BEGIN
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
