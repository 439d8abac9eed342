-- duroxide PostgreSQL schema, version 6: a turn run without the instance's lock, whose commit
-- takes the lock itself (TurnCommit.take_lock, Provider.commit_turns_leasing). Runs with
-- search_path set to the store's schema.
--
-- A runtime that holds an activity's result and the instance's cached generator runs the next
-- turn at once and commits it here, instead of first locking the instance (a round trip of its
-- own, lock_instance in version 5). The lock is taken in the commit's transaction, and only if
-- the instance is as the turn assumed; the commit then releases it, so no other session ever sees
-- it. Turns without "take_lock" go to commit_turn as in commit_turns.

-- The lock for a turn that carries "take_lock": {"incarnation", "history_len"}, as a fresh token,
-- or NULL (nothing written) when the instance is not as the turn assumed: missing, another
-- incarnation or execution, finished, locked (a live lease, or a transaction taking it right
-- now), backed off, with events past "history_len", or with a visible message. The row is locked
-- first, so that the checks of history and messages (statements of their own, each with a fresh
-- snapshot) see whatever a commit that held it before has written.
CREATE FUNCTION take_free_lock(p_now bigint, p_turn jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_id text := p_turn ->> 'instance_id';
    v_execution integer := (p_turn ->> 'execution_id')::integer;
    v_token text;
BEGIN
    PERFORM 1 FROM instances
    WHERE id = v_id AND incarnation = p_turn -> 'take_lock' ->> 'incarnation' AND execution_id = v_execution
      AND status IN ('Pending', 'Running')
      AND COALESCE(locked_until_ms, 0) <= p_now AND COALESCE(backoff_until_ms, 0) <= p_now
    FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM history
               WHERE instance_id = v_id AND execution_id = v_execution
                 AND event_id > (p_turn -> 'take_lock' ->> 'history_len')::integer)
       OR EXISTS (SELECT 1 FROM orchestrator_queue WHERE instance_id = v_id AND visible_at_ms <= p_now) THEN
        RETURN NULL;
    END IF;
    v_token := new_token();
    -- held for this transaction only: commit_turn releases it
    UPDATE instances SET lock_token = v_token, lock_owner = NULL, locked_until_ms = p_now + 1 WHERE id = v_id;
    RETURN v_token;
END $$;

-- commit_turns, for a batch with turns that take their instance's lock: each such turn takes it
-- (take_free_lock) and is committed with it, inside the turn's own savepoint, so a turn refused
-- by a unique violation leaves no lock behind either.
CREATE FUNCTION commit_turns_taking_locks(p_now bigint, p_turns json) RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    v_now bigint := clock_ms(p_now);
    v_turns jsonb := p_turns::jsonb;
    v_results json[] := array_fill(NULL::json, ARRAY[jsonb_array_length(v_turns)]);
    v_lost json := json_build_object('outcome', 'lock_lost', 'ignored', '[]'::json, 'leased', '[]'::json);
    v_turn record;
    v_token text;
BEGIN
    FOR v_turn IN SELECT t.value, t.ordinality FROM jsonb_array_elements(v_turns) WITH ORDINALITY AS t
                  ORDER BY t.value ->> 'instance_id', t.ordinality LOOP
        BEGIN
            IF jsonb_typeof(v_turn.value -> 'take_lock') = 'object' THEN
                v_token := take_free_lock(v_now, v_turn.value);
                IF v_token IS NULL THEN
                    v_results[v_turn.ordinality] := v_lost;
                    CONTINUE;
                END IF;
                v_results[v_turn.ordinality] := commit_turn(v_now, v_turn.value || jsonb_build_object('lock_token', v_token));
            ELSE
                v_results[v_turn.ordinality] := commit_turn(v_now, v_turn.value);
            END IF;
        EXCEPTION WHEN unique_violation THEN
            v_results[v_turn.ordinality] := v_lost;
        END;
    END LOOP;
    RETURN array_to_json(v_results);
END $$;
