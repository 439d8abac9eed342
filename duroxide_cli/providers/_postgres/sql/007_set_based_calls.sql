-- duroxide PostgreSQL schema, version 7: set-based calls. Runs with search_path set to the
-- store's schema. Same functions, same signatures and results as version 5 (processes of that
-- version keep working on a schema migrated under them); what changed is how much the server
-- does per call, measured with `duroxide bench --store postgresql://...`:
--
-- A batch of turns, a fetch of several instances, a batch of completions and a group of
-- creations each ran a loop with several statements per item (commit_turn: about a dozen, each
-- in a subtransaction of its own), and the executor's start-up per statement was the larger
-- part of the server's time. Here each of them runs a fixed handful of statements whatever the
-- batch's size, each statement handling every item of the batch.
--
-- record_execution was a LANGUAGE sql function: PostgreSQL (before 18) plans such a function's
-- statement again at every call, which cost more than the insert itself; as PL/pgSQL its plan is
-- kept for the session.

CREATE OR REPLACE FUNCTION record_execution(p_id text, p_execution integer, p_status text, p_now bigint, p_ended bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO executions (instance_id, execution_id, status, started_at_ms, ended_at_ms)
    VALUES (p_id, p_execution, p_status, p_now, p_ended)
    ON CONFLICT (instance_id, execution_id) DO UPDATE SET
        status = excluded.status,
        ended_at_ms = CASE WHEN excluded.ended_at_ms IS NULL THEN NULL
                           ELSE COALESCE(executions.ended_at_ms, excluded.ended_at_ms) END;
END $$;

-- Turns that only append events, update their instance, schedule activities (leasing some to
-- the caller), consume messages and carry local results (see commit_turn, version 5): every turn
-- of a batch of them, each committed or refused whole, in a fixed number of statements. The
-- caller (commit_turns) sends only batches whose instances are distinct and whose turns start,
-- send, cancel and continue nothing. A turn is refused ('lock_lost', nothing written) when its
-- instance's lease has moved on, a result it carries has lost its lease, or one of its event
-- ids is taken (another process wrote this turn). Instances are locked in id order, then the
-- work items of the results in id order, as commit_turns does one at a time.
CREATE FUNCTION commit_plain_turns(p_now bigint, p_turns jsonb) RETURNS json LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off
AS $$
DECLARE
    v_count integer := jsonb_array_length(p_turns);
    v_ok integer[];        -- the turns that commit (ordinal positions in p_turns)
    v_recorded integer[];  -- those of them whose execution's row changes (status or end)
    v_held integer[];      -- per result still held by its lease: its turn's position
    v_ids text[];
    v_leased jsonb := '{}';
    v_queued integer := 0;
    v_pending boolean;
BEGIN
    SELECT array_agg(x.ord), array_agg(x.ord) FILTER (WHERE x.recorded) INTO v_ok, v_recorded
    FROM (SELECT t.ord,
                 (t.turn -> 'instance' ->> 'status') IN ('Completed', 'Failed', 'Cancelled')
                 OR (t.turn -> 'instance' ->> 'status') IS DISTINCT FROM i.status AS recorded
          FROM jsonb_array_elements(p_turns) WITH ORDINALITY AS t(turn, ord)
          JOIN instances AS i ON i.id = t.turn ->> 'instance_id'
          WHERE i.lock_token = t.turn ->> 'lock_token' AND i.locked_until_ms > p_now
          ORDER BY i.id
          FOR UPDATE OF i) AS x;
    IF v_ok IS NULL THEN
        RETURN (SELECT json_agg(json_build_object('outcome', 'lock_lost', 'ignored', '[]'::json, 'leased', '[]'::json))
                FROM generate_series(1, v_count));
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(v_ok) AS o(ord)
               WHERE jsonb_array_length(COALESCE(p_turns -> (o.ord - 1) -> 'completed_work', '[]')) > 0) THEN
        SELECT array_agg(x.ord) INTO v_held
        FROM (SELECT o.ord FROM unnest(v_ok) AS o(ord)
              CROSS JOIN LATERAL jsonb_array_elements(p_turns -> (o.ord - 1) -> 'completed_work') AS c
              JOIN worker_queue AS w ON w.id = (c ->> 0)::bigint AND w.lock_token = c ->> 1
              ORDER BY w.id
              FOR UPDATE OF w) AS x;
    END IF;
    -- keep the turns whose results are all held and whose events are all new
    SELECT array_agg(o.ord ORDER BY o.ord), array_agg(p_turns -> (o.ord - 1) ->> 'instance_id' ORDER BY o.ord)
    INTO v_ok, v_ids
    FROM unnest(v_ok) AS o(ord)
    WHERE jsonb_array_length(COALESCE(p_turns -> (o.ord - 1) -> 'completed_work', '[]'))
          = COALESCE(cardinality(array_positions(v_held, o.ord::integer)), 0)
      AND COALESCE((SELECT max(h.event_id) FROM history AS h
                    WHERE h.instance_id = p_turns -> (o.ord - 1) ->> 'instance_id'
                      AND h.execution_id = (p_turns -> (o.ord - 1) ->> 'execution_id')::integer), 0)
          < (SELECT min((e ->> 0)::integer) FROM jsonb_array_elements(p_turns -> (o.ord - 1) -> 'events') AS e);
    IF v_ok IS NOT NULL THEN
        IF v_held IS NOT NULL THEN
            DELETE FROM worker_queue
            WHERE id IN (SELECT (c ->> 0)::bigint FROM unnest(v_ok) AS o(ord)
                         CROSS JOIN LATERAL jsonb_array_elements(p_turns -> (o.ord - 1) -> 'completed_work') AS c);
        END IF;
        INSERT INTO history (instance_id, execution_id, event_id, kind, timestamp_ms, body)
        SELECT t ->> 'instance_id', (t ->> 'execution_id')::integer, (e ->> 0)::integer, e ->> 1, (e ->> 2)::bigint, e ->> 3
        FROM unnest(v_ok) AS o(ord)
        CROSS JOIN LATERAL (SELECT p_turns -> (o.ord - 1) AS t) AS x
        CROSS JOIN LATERAL jsonb_array_elements(x.t -> 'events') AS e;
        IF v_recorded IS NOT NULL THEN
            INSERT INTO executions AS ex (instance_id, execution_id, status, started_at_ms, ended_at_ms)
            SELECT t ->> 'instance_id', (t ->> 'execution_id')::integer, t -> 'instance' ->> 'status', p_now,
                   CASE WHEN t -> 'instance' ->> 'status' IN ('Completed', 'Failed', 'Cancelled') THEN p_now END
            FROM unnest(v_recorded) AS o(ord)
            CROSS JOIN LATERAL (SELECT p_turns -> (o.ord - 1) AS t) AS x
            WHERE o.ord = ANY (v_ok)
            ON CONFLICT (instance_id, execution_id) DO UPDATE SET
                status = excluded.status,
                ended_at_ms = CASE WHEN excluded.ended_at_ms IS NULL THEN NULL
                                   ELSE COALESCE(ex.ended_at_ms, excluded.ended_at_ms) END;
        END IF;
        UPDATE instances AS i SET status = u ->> 'status', version = u ->> 'version', output = u ->> 'output',
            error = u ->> 'error', failure = u ->> 'failure', custom_status = u ->> 'custom_status',
            updated_at_ms = p_now, held = NULL,
            lock_token = NULL, lock_owner = NULL, locked_until_ms = NULL, backoff_until_ms = NULL
        FROM (SELECT p_turns -> (o.ord - 1) ->> 'instance_id' AS id, p_turns -> (o.ord - 1) -> 'instance' AS u
              FROM unnest(v_ok) AS o(ord)) AS x
        WHERE i.id = x.id;
        IF EXISTS (SELECT 1 FROM unnest(v_ok) AS o(ord)
                   WHERE jsonb_array_length(p_turns -> (o.ord - 1) -> 'activities') > 0) THEN
            -- of each turn, the first "lease_activities".limit are leased to the caller (none when
            -- the turn ends its execution); the others are queued for fetches
            WITH wanted AS (
                SELECT t ->> 'instance_id' AS id, a.value AS a, a.ordinality AS n, t -> 'lease_activities' AS lease,
                       CASE WHEN t -> 'instance' ->> 'status' IN ('Completed', 'Failed', 'Cancelled') THEN 0
                            ELSE COALESCE((t -> 'lease_activities' ->> 'limit')::integer, 0) END AS lease_limit,
                       o.ord
                FROM unnest(v_ok) AS o(ord)
                CROSS JOIN LATERAL (SELECT p_turns -> (o.ord - 1) AS t) AS x
                CROSS JOIN LATERAL jsonb_array_elements(x.t -> 'activities') WITH ORDINALITY AS a
            ), added AS (
                INSERT INTO worker_queue (instance_id, execution_id, event_id, body, visible_at_ms,
                                          lock_token, lock_owner, locked_until_ms, delivery_count)
                SELECT id, (a ->> 0)::integer, (a ->> 1)::integer, a ->> 2, p_now,
                       CASE WHEN n <= lease_limit THEN new_token() END,
                       CASE WHEN n <= lease_limit THEN lease ->> 'owner' END,
                       CASE WHEN n <= lease_limit THEN p_now + (lease ->> 'lock_timeout_ms')::bigint END,
                       CASE WHEN n <= lease_limit THEN 1 ELSE 0 END
                FROM wanted
                ORDER BY ord, n
                RETURNING *
            )
            SELECT COALESCE((SELECT jsonb_object_agg(l.instance_id, l.work)
                             FROM (SELECT instance_id, jsonb_agg(jsonb_build_array(id, lock_token, instance_id, execution_id,
                                                                                   event_id, body, delivery_count) ORDER BY id) AS work
                                   FROM added WHERE lock_token IS NOT NULL GROUP BY instance_id) AS l), '{}'),
                   (SELECT count(*) FROM added WHERE lock_token IS NULL)
            INTO v_leased, v_queued;
            IF v_queued > 0 THEN
                PERFORM wake('worker');
            END IF;
        END IF;
        IF EXISTS (SELECT 1 FROM unnest(v_ok) AS o(ord)
                   WHERE p_turns -> (o.ord - 1) -> 'instance' ->> 'status' IN ('Completed', 'Failed', 'Cancelled')) THEN
            -- the end of an execution removes what is left of its work and messages
            DELETE FROM worker_queue AS w
            USING unnest(v_ok) AS o(ord)
            WHERE p_turns -> (o.ord - 1) -> 'instance' ->> 'status' IN ('Completed', 'Failed', 'Cancelled')
              AND w.instance_id = p_turns -> (o.ord - 1) ->> 'instance_id'
              AND w.execution_id <= (p_turns -> (o.ord - 1) ->> 'execution_id')::integer;
            DELETE FROM orchestrator_queue AS q
            USING unnest(v_ok) AS o(ord)
            WHERE p_turns -> (o.ord - 1) -> 'instance' ->> 'status' IN ('Completed', 'Failed', 'Cancelled')
              AND q.instance_id = p_turns -> (o.ord - 1) ->> 'instance_id'
              AND q.execution_id <= (p_turns -> (o.ord - 1) ->> 'execution_id')::integer;
        END IF;
        IF EXISTS (SELECT 1 FROM unnest(v_ok) AS o(ord)
                   WHERE jsonb_array_length(p_turns -> (o.ord - 1) -> 'consumed_message_ids') > 0) THEN
            DELETE FROM orchestrator_queue AS q
            USING unnest(v_ok) AS o(ord)
            CROSS JOIN LATERAL jsonb_array_elements_text(p_turns -> (o.ord - 1) -> 'consumed_message_ids') AS m
            WHERE q.instance_id = p_turns -> (o.ord - 1) ->> 'instance_id' AND q.id = m.value::bigint;
        END IF;
        -- what the turns' fetches tagged and they did not consume goes back to the queue
        WITH released AS (
            UPDATE orchestrator_queue AS q SET lock_token = NULL
            FROM unnest(v_ok) AS o(ord)
            WHERE q.instance_id = p_turns -> (o.ord - 1) ->> 'instance_id'
              AND q.lock_token = p_turns -> (o.ord - 1) ->> 'lock_token'
        )
        SELECT EXISTS (SELECT 1 FROM orchestrator_queue WHERE instance_id = ANY (v_ids)) INTO v_pending;
        IF v_pending THEN
            PERFORM wake('orchestrator');
        END IF;
    END IF;
    RETURN (SELECT json_agg(CASE WHEN n = ANY (v_ok)
                                 THEN json_build_object('outcome', 'committed', 'ignored', '[]'::json, 'leased',
                                                        COALESCE(v_leased -> (p_turns -> (n - 1) ->> 'instance_id'), '[]'))
                                 ELSE json_build_object('outcome', 'lock_lost', 'ignored', '[]'::json, 'leased', '[]'::json)
                            END ORDER BY n)
            FROM generate_series(1, v_count) AS n);
END $$;

-- One turn, as in version 5, in fewer statements: the loops over starts and messages run only
-- when there are some, and releasing the messages the turn did not consume answers whether any
-- message is left in the same statement.
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
    v_pending boolean;
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
    IF v_next IS NOT NULL THEN
        PERFORM record_execution(v_id, v_execution, 'Completed', p_now, p_now);
        PERFORM record_execution(v_id, v_next, v_status, p_now, NULL);
    ELSIF v_terminal OR v_status IS DISTINCT FROM v_was THEN
        PERFORM record_execution(v_id, v_execution, v_status, p_now, CASE WHEN v_terminal THEN p_now END);
    END IF;
    -- the events, the instance's row and the activities (the first v_lease_limit of them leased to
    -- the caller, the others queued for fetches) in one statement: three tables, no row twice
    WITH appended AS (
        INSERT INTO history (instance_id, execution_id, event_id, kind, timestamp_ms, body)
        SELECT v_id, v_execution, (e ->> 0)::integer, e ->> 1, (e ->> 2)::bigint, e ->> 3
        FROM jsonb_array_elements(p_turn -> 'events') AS e
    ), updated AS (
        UPDATE instances SET status = v_status, version = v_update ->> 'version', output = v_update ->> 'output',
            error = v_update ->> 'error', failure = v_update ->> 'failure',
            custom_status = v_update ->> 'custom_status', updated_at_ms = p_now,
            execution_id = COALESCE(v_next, execution_id), held = NULL,
            lock_token = NULL, lock_owner = NULL, locked_until_ms = NULL, backoff_until_ms = NULL
        WHERE id = v_id
    ), added AS (
        INSERT INTO worker_queue (instance_id, execution_id, event_id, body, visible_at_ms,
                                  lock_token, lock_owner, locked_until_ms, delivery_count)
        SELECT v_id, (a.value ->> 0)::integer, (a.value ->> 1)::integer, a.value ->> 2, p_now,
               CASE WHEN a.ordinality <= v_lease_limit THEN new_token() END,
               CASE WHEN a.ordinality <= v_lease_limit THEN v_lease ->> 'owner' END,
               CASE WHEN a.ordinality <= v_lease_limit THEN p_now + (v_lease ->> 'lock_timeout_ms')::bigint END,
               CASE WHEN a.ordinality <= v_lease_limit THEN 1 ELSE 0 END
        FROM jsonb_array_elements(p_turn -> 'activities') WITH ORDINALITY AS a
        ORDER BY a.ordinality
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
    IF jsonb_array_length(COALESCE(p_turn -> 'starts', '[]')) > 0 THEN
        FOR v_start IN SELECT * FROM jsonb_array_elements(p_turn -> 'starts') LOOP
            CONTINUE WHEN insert_instance(p_now, v_start ->> 0, v_start ->> 1, v_start ->> 2, v_start ->> 3,
                                          v_start ->> 4);
            IF jsonb_typeof(v_start -> 5) = 'array' THEN
                PERFORM send(p_now, v_start -> 5 ->> 0, (v_start -> 5 ->> 1)::integer, v_start -> 5 ->> 2,
                             v_start -> 5 ->> 3, NULL);
            ELSE
                v_ignored := v_ignored || (v_start ->> 0);
            END IF;
        END LOOP;
    END IF;
    IF jsonb_array_length(COALESCE(p_turn -> 'messages', '[]')) > 0 THEN
        FOR v_message IN SELECT * FROM jsonb_array_elements(p_turn -> 'messages') LOOP
            PERFORM send(p_now, v_message ->> 0, (v_message ->> 1)::integer, v_message ->> 2, v_message ->> 3,
                         (v_message ->> 4)::bigint);
        END LOOP;
    END IF;
    IF jsonb_array_length(COALESCE(p_turn -> 'cancel_activities', '[]')) > 0 THEN
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
    WITH released AS (
        UPDATE orchestrator_queue SET lock_token = NULL WHERE instance_id = v_id AND lock_token = v_token
    )
    SELECT EXISTS (SELECT 1 FROM orchestrator_queue WHERE instance_id = v_id) INTO v_pending;
    IF v_pending THEN
        PERFORM wake('orchestrator');
    END IF;
    RETURN json_build_object('outcome', 'committed', 'ignored', to_json(v_ignored), 'leased', v_leased);
END $$;

-- As in version 5, sending a batch of several plain turns (see commit_plain_turns) to
-- commit_plain_turns and any other batch (a single turn too, which commit_turn does with less)
-- through commit_turn, one turn at a time, each in a subtransaction.
CREATE OR REPLACE FUNCTION commit_turns(p_now bigint, p_turns json) RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    v_now bigint := clock_ms(p_now);
    v_turns jsonb := p_turns::jsonb;
    v_results json[] := array_fill(NULL::json, ARRAY[jsonb_array_length(v_turns)]);
    v_turn record;
BEGIN
    IF jsonb_array_length(v_turns) > 1
       AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(v_turns) AS t
                   WHERE t ->> 'next_execution_id' IS NOT NULL
                      OR jsonb_array_length(COALESCE(t -> 'starts', '[]')) > 0
                      OR jsonb_array_length(COALESCE(t -> 'messages', '[]')) > 0
                      OR jsonb_array_length(COALESCE(t -> 'cancel_activities', '[]')) > 0)
       AND (SELECT count(DISTINCT t ->> 'instance_id') = count(*) FROM jsonb_array_elements(v_turns) AS t) THEN
        RETURN commit_plain_turns(v_now, v_turns);
    END IF;
    IF jsonb_array_length(v_turns) = 1 THEN
        BEGIN
            RETURN json_build_array(commit_turn(v_now, v_turns -> 0));
        EXCEPTION WHEN unique_violation THEN
            RETURN json_build_array(json_build_object('outcome', 'lock_lost', 'ignored', '[]'::json,
                                                      'leased', '[]'::json));
        END;
    END IF;
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

-- Taking and releasing an instance's lock (twice per turn) changed an indexed column, so every
-- index of the table got a new entry each time. Without an index on the lease's end (only an
-- empty fetch asked for the next lease to end, see below), such an update can stay on its page
-- and leave the indexes alone (a heap-only update), for which pages keep some room.
DROP INDEX instances_by_locked_until;
ALTER TABLE instances SET (fillfactor = 80);

-- As in version 4, with the candidates locked, their messages tagged and their work read in one
-- statement instead of three per instance. An empty fetch's next due moment counts the lease of
-- an instance only if a visible message waits for it (by the queue's index of visible times).
CREATE OR REPLACE FUNCTION fetch_orchestration_work(p_now bigint, p_limit integer, p_lock_ms bigint, p_owner text,
                                                    p_known_ids text, p_known_incarnations text,
                                                    p_known_executions text, p_known_counts text, p_scope text[])
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    v_now bigint := clock_ms(p_now);
    v_candidates text[];
    v_known_ids text[] := string_to_array(p_known_ids, E'\x1f');
    v_known_incarnations text[] := string_to_array(p_known_incarnations, E'\x1f');
    v_known_executions integer[] := string_to_array(p_known_executions, ',')::integer[];
    v_known_counts integer[] := string_to_array(p_known_counts, ',')::integer[];
    v_work json;
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
    IF v_candidates IS NOT NULL THEN
        -- the first p_limit of them that are still free; one another fetch or a commit holds is
        -- skipped, never waited for (so a fetch cannot take part in a deadlock), and the lease is
        -- checked again under the row lock
        WITH picked AS (
            SELECT i.id, c.position
            FROM unnest(v_candidates) WITH ORDINALITY AS c(id, position)
            JOIN instances AS i ON i.id = c.id
            WHERE (i.locked_until_ms IS NULL OR i.locked_until_ms <= v_now)
              AND (i.backoff_until_ms IS NULL OR i.backoff_until_ms <= v_now)
            ORDER BY c.position
            LIMIT p_limit
            FOR UPDATE OF i SKIP LOCKED
        ), locked AS (
            UPDATE instances AS i SET lock_token = new_token(), lock_owner = p_owner, locked_until_ms = v_now + p_lock_ms
            FROM picked WHERE i.id = picked.id
            RETURNING i.*
        ), tagged AS (
            UPDATE orchestrator_queue AS q SET delivery_count = q.delivery_count + 1, lock_token = l.lock_token
            FROM locked AS l
            WHERE q.instance_id = l.id AND q.visible_at_ms <= v_now
            RETURNING q.instance_id, q.id, q.execution_id, q.kind, q.body, q.delivery_count
        )
        SELECT json_agg(json_build_object(
                   'instance', row_to_json(l),
                   'lock_token', l.lock_token,
                   'history_after', a.after,
                   'history', (SELECT COALESCE(json_agg(json_build_array(h.event_id, h.kind, h.timestamp_ms, h.body)
                                                        ORDER BY h.event_id), '[]')
                               FROM history AS h
                               WHERE h.instance_id = l.id AND h.execution_id = l.execution_id AND h.event_id > a.after),
                   'messages', (SELECT COALESCE(json_agg(json_build_array(t.id, t.execution_id, t.kind, t.body,
                                                                          t.delivery_count) ORDER BY t.id), '[]')
                                FROM tagged AS t WHERE t.instance_id = l.id))
               ORDER BY array_position(v_candidates, l.id))
        INTO v_work
        FROM locked AS l
        CROSS JOIN LATERAL (SELECT COALESCE((SELECT v_known_counts[k]
                                             FROM array_position(v_known_ids, l.id) AS k
                                             WHERE v_known_incarnations[k] = l.incarnation
                                               AND v_known_executions[k] = l.execution_id), 0) AS after) AS a;
        IF v_work IS NOT NULL THEN
            RETURN json_build_object('work', v_work, 'next_due_in_ms', NULL);
        END IF;
    END IF;
    RETURN json_build_object('work', '[]'::json, 'next_due_in_ms', least(
        (SELECT min(visible_at_ms) FROM orchestrator_queue WHERE visible_at_ms > v_now),
        (SELECT min(i.locked_until_ms) FROM orchestrator_queue AS q JOIN instances AS i ON i.id = q.instance_id
         WHERE q.visible_at_ms <= v_now AND i.locked_until_ms > v_now),
        (SELECT min(backoff_until_ms) FROM instances WHERE backoff_until_ms > v_now)) - v_now);
END $$;

-- As in version 5, in one statement.
CREATE OR REPLACE FUNCTION lock_instance(p_now bigint, p_id text, p_lock_ms bigint, p_owner text,
                                         p_incarnation text, p_execution integer, p_count integer)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    v_now bigint := clock_ms(p_now);
    v_token text := new_token();
    v_work json;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    WITH locked AS (
        UPDATE instances AS i SET lock_token = v_token, lock_owner = p_owner, locked_until_ms = v_now + p_lock_ms
        WHERE i.id = (SELECT f.id FROM instances AS f
                      WHERE f.id = p_id AND COALESCE(f.locked_until_ms, 0) <= v_now
                        AND COALESCE(f.backoff_until_ms, 0) <= v_now
                      FOR UPDATE SKIP LOCKED)
        RETURNING i.*
    ), tagged AS (
        UPDATE orchestrator_queue AS q SET delivery_count = q.delivery_count + 1, lock_token = v_token
        FROM locked AS l
        WHERE q.instance_id = l.id AND q.visible_at_ms <= v_now
        RETURNING q.id, q.execution_id, q.kind, q.body, q.delivery_count
    )
    SELECT json_build_object(
        'instance', row_to_json(l),
        'lock_token', v_token,
        'history_after', a.after,
        'history', (SELECT COALESCE(json_agg(json_build_array(h.event_id, h.kind, h.timestamp_ms, h.body)
                                             ORDER BY h.event_id), '[]')
                    FROM history AS h
                    WHERE h.instance_id = l.id AND h.execution_id = l.execution_id AND h.event_id > a.after),
        'messages', (SELECT COALESCE(json_agg(json_build_array(t.id, t.execution_id, t.kind, t.body,
                                                               t.delivery_count) ORDER BY t.id), '[]')
                     FROM tagged AS t))
    INTO v_work
    FROM locked AS l
    CROSS JOIN LATERAL (SELECT CASE WHEN p_incarnation = l.incarnation AND p_execution = l.execution_id
                                    THEN p_count ELSE 0 END AS after) AS a;
    RETURN v_work;
END $$;

-- As in version 2: remove each work item its token holds and queue its result (where its
-- instance still exists); one result per completion, in the batch's order. In one statement.
CREATE OR REPLACE FUNCTION complete_activities(p_now bigint, p_completions json) RETURNS boolean[] LANGUAGE plpgsql AS $$
DECLARE
    v_now bigint := clock_ms(p_now);
    v_done bigint[];
    v_sent integer;
BEGIN
    WITH items AS (
        SELECT c.value AS v, c.ordinality AS ord FROM json_array_elements(p_completions) WITH ORDINALITY AS c
    ), gone AS (
        DELETE FROM worker_queue AS w USING items
        WHERE w.id = (items.v ->> 0)::bigint AND w.lock_token = items.v ->> 1
        RETURNING items.ord, items.v
    ), sent AS (
        INSERT INTO orchestrator_queue (instance_id, execution_id, kind, body, visible_at_ms)
        SELECT g.v ->> 2, (g.v ->> 3)::integer, g.v ->> 4, g.v ->> 5, v_now
        FROM gone AS g
        WHERE EXISTS (SELECT 1 FROM instances WHERE id = g.v ->> 2)
        ORDER BY g.ord
        RETURNING 1
    )
    SELECT (SELECT array_agg(ord) FROM gone), (SELECT count(*) FROM sent) INTO v_done, v_sent;
    IF v_sent > 0 THEN
        PERFORM wake('orchestrator');
    END IF;
    RETURN (SELECT array_agg(COALESCE(n = ANY (v_done), false) ORDER BY n)
            FROM generate_series(1, json_array_length(p_completions)) AS n);
END $$;

-- As in version 4 (see Provider.create_instance): a Pending instance at execution 1 with its
-- start queued for each start whose id is free, in one statement for the group; false where the
-- id is taken (by an earlier start of the same group too).
CREATE OR REPLACE FUNCTION insert_instances(p_now bigint, p_starts json) RETURNS boolean[] LANGUAGE plpgsql AS $$
DECLARE
    v_now bigint := clock_ms(p_now);
    v_created bigint[];
BEGIN
    WITH starts AS (
        SELECT DISTINCT ON (s.value ->> 0) s.value ->> 0 AS id, s.value ->> 1 AS name, s.value ->> 2 AS version,
               s.value ->> 3 AS parent, s.value ->> 4 AS body, s.ordinality AS ord
        FROM json_array_elements(p_starts) WITH ORDINALITY AS s
        ORDER BY s.value ->> 0, s.ordinality
    ), created AS (
        INSERT INTO instances (id, name, version, status, execution_id, parent_instance_id, created_at_ms,
                               updated_at_ms, incarnation)
        SELECT id, name, version, 'Pending', 1, parent, v_now, v_now, new_token() FROM starts ORDER BY ord
        ON CONFLICT (id) DO NOTHING
        RETURNING id
    ), executions_added AS (
        INSERT INTO executions (instance_id, execution_id, status, started_at_ms)
        SELECT id, 1, 'Pending', v_now FROM created
    ), queued AS (
        INSERT INTO orchestrator_queue (instance_id, execution_id, kind, body, visible_at_ms)
        SELECT s.id, 1, 'OrchestrationStarted', s.body, v_now FROM starts AS s JOIN created AS c ON c.id = s.id
        ORDER BY s.ord
    )
    SELECT array_agg(s.ord) INTO v_created FROM starts AS s JOIN created AS c ON c.id = s.id;
    IF v_created IS NOT NULL THEN
        PERFORM wake('orchestrator');
    END IF;
    RETURN (SELECT array_agg(COALESCE(n = ANY (v_created), false) ORDER BY n)
            FROM generate_series(1, json_array_length(p_starts)) AS n);
END $$;

-- Activity work nobody holds, in the order fetches take it. A fetch walked the queue from its
-- oldest visible item and skipped the leased ones one by one; with a thousand activities leased to
-- the processes that scheduled them (version 5) that was a thousand rows read per fetch.
CREATE INDEX worker_queue_unleased ON worker_queue (visible_at_ms, id) WHERE lock_token IS NULL;

-- As in version 4: the oldest visible work nobody holds, and work whose lease ran out (by the
-- index of lease ends), instead of every visible item, held or not.
CREATE OR REPLACE FUNCTION fetch_activity_work(p_now bigint, p_limit integer, p_lock_ms bigint, p_owner text,
                                               p_scope text[])
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    v_now bigint := clock_ms(p_now);
    v_work json;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    WITH free AS (
        SELECT id, visible_at_ms FROM worker_queue
        WHERE lock_token IS NULL AND visible_at_ms <= v_now
          AND (p_scope IS NULL OR instance_id = ANY (p_scope))
        ORDER BY visible_at_ms, id
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    ), expired AS (
        SELECT id, visible_at_ms FROM worker_queue
        WHERE locked_until_ms <= v_now AND visible_at_ms <= v_now
          AND (p_scope IS NULL OR instance_id = ANY (p_scope))
        ORDER BY locked_until_ms
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    ), picked AS (
        SELECT c.id FROM (SELECT * FROM free UNION ALL SELECT * FROM expired) AS c
        ORDER BY c.visible_at_ms, c.id
        LIMIT p_limit
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

-- Provider.lock_instance for a group of calls that arrived together (providers/_postgres/
-- grouping.py): p_requests is [[id, lock_ms, owner, incarnation, execution, count], ...]; one
-- result per request, in order: the instance's work as lock_instance returns it, or NULL. Of
-- requests for the same instance only the first can have it, as if they had come one by one.
CREATE FUNCTION lock_instances(p_now bigint, p_requests json) RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    v_now bigint := clock_ms(p_now);
    v_work json;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    WITH wanted AS (
        SELECT DISTINCT ON (r.value ->> 0) r.value ->> 0 AS id, (r.value ->> 1)::bigint AS lock_ms,
               r.value ->> 2 AS owner, r.value ->> 3 AS incarnation, (r.value ->> 4)::integer AS execution,
               (r.value ->> 5)::integer AS count, r.ordinality AS ord
        FROM json_array_elements(p_requests) WITH ORDINALITY AS r
        ORDER BY r.value ->> 0, r.ordinality
    ), picked AS (
        SELECT w.id, w.lock_ms, w.owner, w.incarnation, w.execution, w.count, w.ord
        FROM wanted AS w JOIN instances AS f ON f.id = w.id
        WHERE COALESCE(f.locked_until_ms, 0) <= v_now AND COALESCE(f.backoff_until_ms, 0) <= v_now
        ORDER BY w.id
        FOR UPDATE OF f SKIP LOCKED
    ), locked AS (
        UPDATE instances AS i SET lock_token = new_token(), lock_owner = p.owner, locked_until_ms = v_now + p.lock_ms
        FROM picked AS p WHERE i.id = p.id
        RETURNING i.*
    ), tagged AS (
        UPDATE orchestrator_queue AS q SET delivery_count = q.delivery_count + 1, lock_token = l.lock_token
        FROM locked AS l
        WHERE q.instance_id = l.id AND q.visible_at_ms <= v_now
        RETURNING q.instance_id, q.id, q.execution_id, q.kind, q.body, q.delivery_count
    ), works AS (
        SELECT p.ord, json_build_object(
            'instance', row_to_json(l),
            'lock_token', l.lock_token,
            'history_after', a.after,
            'history', (SELECT COALESCE(json_agg(json_build_array(h.event_id, h.kind, h.timestamp_ms, h.body)
                                                 ORDER BY h.event_id), '[]')
                        FROM history AS h
                        WHERE h.instance_id = l.id AND h.execution_id = l.execution_id AND h.event_id > a.after),
            'messages', (SELECT COALESCE(json_agg(json_build_array(t.id, t.execution_id, t.kind, t.body,
                                                                   t.delivery_count) ORDER BY t.id), '[]')
                         FROM tagged AS t WHERE t.instance_id = l.id)) AS work
        FROM locked AS l
        JOIN picked AS p ON p.id = l.id
        CROSS JOIN LATERAL (SELECT CASE WHEN p.incarnation = l.incarnation AND p.execution = l.execution_id
                                        THEN p.count ELSE 0 END AS after) AS a
    )
    SELECT json_agg(w.work ORDER BY n) INTO v_work
    FROM generate_series(1, json_array_length(p_requests)) AS n
    LEFT JOIN works AS w ON w.ord = n;
    RETURN v_work;
END $$;
