-- duroxide PostgreSQL schema, version 5: turns that lease the activities they schedule to the
-- committing process and carry the results of activities it ran (Provider.commit_turns_leasing),
-- and locking one instance without a visible message (Provider.lock_instance). Runs with
-- search_path set to the store's schema.

-- Lock one instance (the caller has checked it may) and return its work as a fetch does:
-- {"instance", "lock_token", "history_after", "history", "messages"}. p_incarnation,
-- p_execution and p_count: what the caller holds of its history (NULLs: nothing).
CREATE FUNCTION lock_instance_work(p_now bigint, p_id text, p_lock_ms bigint, p_owner text,
                                   p_incarnation text, p_execution integer, p_count integer)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    v_token text := new_token();
    v_row instances%ROWTYPE;
    v_after integer;
BEGIN
    UPDATE instances SET lock_token = v_token, lock_owner = p_owner, locked_until_ms = p_now + p_lock_ms
    WHERE id = p_id RETURNING * INTO v_row;
    v_after := CASE WHEN p_incarnation = v_row.incarnation AND p_execution = v_row.execution_id
                    THEN p_count ELSE 0 END;
    UPDATE orchestrator_queue SET delivery_count = delivery_count + 1, lock_token = v_token
    WHERE instance_id = p_id AND visible_at_ms <= p_now;
    RETURN json_build_object(
        'instance', row_to_json(v_row),
        'lock_token', v_token,
        'history_after', v_after,
        'history', (SELECT COALESCE(json_agg(json_build_array(h.event_id, h.kind, h.timestamp_ms, h.body)
                                             ORDER BY h.event_id), '[]')
                    FROM history AS h
                    WHERE h.instance_id = p_id AND h.execution_id = v_row.execution_id AND h.event_id > v_after),
        'messages', (SELECT COALESCE(json_agg(json_build_array(q.id, q.execution_id, q.kind, q.body,
                                                               q.delivery_count) ORDER BY q.id), '[]')
                     FROM orchestrator_queue AS q WHERE q.instance_id = p_id AND q.lock_token = v_token));
END $$;

-- Provider.lock_instance: the instance's work, or NULL when it is missing, locked (by a live lease,
-- or by a transaction taking it right now) or backed off. Like a fetch, it writes only a lease
-- and commits without waiting for the disk (see version 4).
CREATE FUNCTION lock_instance(p_now bigint, p_id text, p_lock_ms bigint, p_owner text,
                              p_incarnation text, p_execution integer, p_count integer)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    v_now bigint := clock_ms(p_now);
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM 1 FROM instances
    WHERE id = p_id AND COALESCE(locked_until_ms, 0) <= v_now AND COALESCE(backoff_until_ms, 0) <= v_now
    FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN lock_instance_work(v_now, p_id, p_lock_ms, p_owner, p_incarnation, p_execution, p_count);
END $$;

-- One turn, as in version 4, and: the results it carries ("completed_work": [[work id, lock
-- token], ...]) remove their work items, refused whole ('lock_lost') when a lease has moved on;
-- the first "lease_activities".limit activities it schedules are leased to
-- "lease_activities".owner (none when the turn ends its execution). Returns
-- {"outcome", "ignored": [ids of ignored starts], "leased": [work leased to the caller]}.
CREATE OR REPLACE FUNCTION commit_turn(p_now bigint, p_turn jsonb) RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    v_id text := p_turn ->> 'instance_id';
    v_token text := p_turn ->> 'lock_token';
    v_execution integer := (p_turn ->> 'execution_id')::integer;
    v_next integer := (p_turn ->> 'next_execution_id')::integer;
    v_update jsonb := p_turn -> 'instance';
    v_status text := v_update ->> 'status';
    v_terminal boolean := v_status IN ('Completed', 'Failed', 'Cancelled');
    v_lease jsonb := p_turn -> 'lease_activities';
    v_lease_limit integer := COALESCE((p_turn -> 'lease_activities' ->> 'limit')::integer, 0);
    v_completed jsonb := COALESCE(p_turn -> 'completed_work', '[]'::jsonb);
    v_held integer;
    v_leased json := '[]'::json;
    v_queued integer := 0;
    v_was text;
    v_ignored text[] := '{}';
    v_start jsonb;
    v_message jsonb;
BEGIN
    SELECT status INTO v_was FROM instances WHERE id = v_id AND lock_token = v_token AND locked_until_ms > p_now
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN json_build_object('outcome', 'lock_lost', 'ignored', '[]'::json, 'leased', '[]'::json);
    END IF;
    IF jsonb_typeof(v_completed) = 'array' AND jsonb_array_length(v_completed) > 0 THEN
        -- the activities whose results this turn carries must still be held by their leases
        PERFORM 1 FROM worker_queue AS w
        JOIN jsonb_array_elements(v_completed) AS c ON w.id = (c ->> 0)::bigint AND w.lock_token = c ->> 1
        FOR UPDATE OF w;
        GET DIAGNOSTICS v_held = ROW_COUNT;
        IF v_held <> jsonb_array_length(v_completed) THEN
            RETURN json_build_object('outcome', 'lock_lost', 'ignored', '[]'::json, 'leased', '[]'::json);
        END IF;
        DELETE FROM worker_queue WHERE id IN (SELECT (c ->> 0)::bigint FROM jsonb_array_elements(v_completed) AS c);
    END IF;
    IF v_terminal OR v_next IS NOT NULL THEN
        v_lease_limit := 0;  -- the end of the execution removes its activity work below: nothing to run
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
        -- the first v_lease_limit activities are leased to the caller; the others are queued for fetches
        WITH added AS (
            INSERT INTO worker_queue (instance_id, execution_id, event_id, body, visible_at_ms,
                                      lock_token, lock_owner, locked_until_ms, delivery_count)
            SELECT v_id, (a.value ->> 0)::integer, (a.value ->> 1)::integer, a.value ->> 2, p_now,
                   CASE WHEN a.ordinality <= v_lease_limit THEN new_token() END,
                   CASE WHEN a.ordinality <= v_lease_limit THEN v_lease ->> 'owner' END,
                   CASE WHEN a.ordinality <= v_lease_limit THEN p_now + (v_lease ->> 'lock_timeout_ms')::bigint END,
                   CASE WHEN a.ordinality <= v_lease_limit THEN 1 ELSE 0 END
            FROM jsonb_array_elements(p_turn -> 'activities') WITH ORDINALITY AS a
            RETURNING *
        )
        SELECT COALESCE(json_agg(json_build_array(id, lock_token, instance_id, execution_id, event_id, body,
                                                  delivery_count) ORDER BY id) FILTER (WHERE lock_token IS NOT NULL),
                        '[]'::json),
               count(*) FILTER (WHERE lock_token IS NULL)
        INTO v_leased, v_queued
        FROM added;
        IF v_queued > 0 THEN
            PERFORM wake('worker');
        END IF;
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
    RETURN json_build_object('outcome', 'committed', 'ignored', to_json(v_ignored), 'leased', v_leased);
END $$;

-- As in version 4; a turn refused by a unique violation leases nothing either.
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
            v_results[v_turn.ordinality] := json_build_object('outcome', 'lock_lost', 'ignored', '[]'::json,
                                                              'leased', '[]'::json);
        END;
    END LOOP;
    RETURN array_to_json(v_results);
END $$;
