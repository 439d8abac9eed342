-- duroxide PostgreSQL schema, version 3: the runtimes that serve the store, and new executions
-- from copied histories (Provider.reset_execution, Provider.fork_instance). Runs with search_path
-- set to the store's schema.

-- One row per runtime serving the store (`duroxide workers`), keyed by its worker id; times are
-- the registering runtime's clock.
CREATE TABLE runtimes (
    worker_id       text PRIMARY KEY,
    host            text NOT NULL,
    pid             integer NOT NULL,
    app             text,
    started_at_ms   bigint NOT NULL,
    last_seen_at_ms bigint NOT NULL
);
CREATE INDEX runtimes_by_last_seen ON runtimes (last_seen_at_ms);

-- Insert a copied history: p_events is [[event_id, kind, timestamp_ms, body], ...].
CREATE FUNCTION insert_history(p_id text, p_execution integer, p_events json) RETURNS void LANGUAGE sql AS $$
    INSERT INTO history (instance_id, execution_id, event_id, kind, timestamp_ms, body)
    SELECT p_id, p_execution, (e ->> 0)::integer, e ->> 1, (e ->> 2)::bigint, e ->> 3
    FROM json_array_elements(p_events) AS e
$$;

-- Queue messages: p_messages is [[instance, execution, kind, body], ...].
CREATE FUNCTION send_all(p_now bigint, p_messages json) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_message json;
BEGIN
    FOR v_message IN SELECT * FROM json_array_elements(p_messages) LOOP
        PERFORM send(p_now, v_message ->> 0, (v_message ->> 1)::integer, v_message ->> 2, v_message ->> 3, NULL);
    END LOOP;
END $$;

-- Provider.reset_execution. Returns 'reset', 'missing' (no such instance) or the execution the
-- instance is at when it is no longer p_from.
CREATE FUNCTION reset_execution(p_now bigint, p_id text, p_from integer, p_events json, p_messages json)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_now bigint := clock_ms(p_now);
    v_current integer;
BEGIN
    SELECT execution_id INTO v_current FROM instances WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'missing';
    END IF;
    IF v_current <> p_from THEN
        RETURN v_current::text;
    END IF;
    UPDATE executions SET ended_at_ms = COALESCE(ended_at_ms, v_now),
        status = CASE WHEN status IN ('Pending', 'Running') THEN 'Cancelled' ELSE status END
    WHERE instance_id = p_id AND execution_id = p_from;
    INSERT INTO executions (instance_id, execution_id, status, started_at_ms) VALUES (p_id, p_from + 1, 'Running', v_now);
    PERFORM insert_history(p_id, p_from + 1, p_events);
    UPDATE instances SET status = 'Running', execution_id = p_from + 1, output = NULL, error = NULL, failure = NULL,
        custom_status = NULL, held = NULL, updated_at_ms = v_now,
        lock_token = NULL, lock_owner = NULL, locked_until_ms = NULL, backoff_until_ms = NULL
    WHERE id = p_id;
    DELETE FROM worker_queue WHERE instance_id = p_id;
    DELETE FROM orchestrator_queue
    WHERE instance_id = p_id AND execution_id <= p_from AND kind IN ('TimerFired', 'ActivityCompleted', 'ActivityFailed');
    PERFORM send_all(v_now, p_messages);
    RETURN 'reset';
END $$;

-- Provider.fork_instance; false when the id is taken.
CREATE FUNCTION fork_instance(p_now bigint, p_id text, p_name text, p_version text, p_events json, p_messages json)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    v_now bigint := clock_ms(p_now);
BEGIN
    INSERT INTO instances (id, name, version, status, execution_id, created_at_ms, updated_at_ms, incarnation)
    VALUES (p_id, p_name, p_version, 'Running', 1, v_now, v_now, new_token())
    ON CONFLICT (id) DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO executions (instance_id, execution_id, status, started_at_ms) VALUES (p_id, 1, 'Running', v_now);
    PERFORM insert_history(p_id, 1, p_events);
    PERFORM send_all(v_now, p_messages);
    RETURN true;
END $$;
