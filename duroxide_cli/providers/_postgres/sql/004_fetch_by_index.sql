-- duroxide PostgreSQL schema, version 4: a fetch of orchestration work whose cost follows the
-- size of the fetch, not the size of the queue. Runs with search_path set to the store's schema.
--
-- Version 2 joined the whole queue with the whole instances table and sorted the result (the
-- planner chose hash joins and sequential scans: a fresh schema has no statistics, and the lease
-- tests defeat its estimates), some 10 ms a fetch with 2,000 instances queued. Here the queue is
-- walked in order from its oldest visible message (the orchestrator_queue_by_visible index) and
-- each message's instance is looked up by its key (a LATERAL subquery that OFFSET 0 keeps from
-- being flattened into a join), so the walk stops after the few dozen rows it needs. The
-- candidates are then locked one at a time by key, skipping (never waiting for) an instance
-- another fetch or a commit holds, and each one's messages are tagged and read in one statement.
--
-- What the caller holds of each history comes as four parallel arrays (instance ids,
-- incarnations, executions, event counts) instead of a JSON object: a runtime with a thousand
-- cached generators sent a JSON document of some 60 kB with every fetch, which took about 1 ms to
-- encode in Python and was parsed again by every `p_known -> id` lookup here.

DROP FUNCTION fetch_orchestration_work(bigint, integer, bigint, text, json, text[]);

CREATE FUNCTION fetch_orchestration_work(p_now bigint, p_limit integer, p_lock_ms bigint, p_owner text,
                                         p_known_ids text[], p_known_incarnations text[],
                                         p_known_executions integer[], p_known_counts integer[], p_scope text[])
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    v_now bigint := clock_ms(p_now);
    v_candidates text[];
    v_id text;
    v_token text;
    v_after integer;
    v_known integer;
    v_row instances%ROWTYPE;
    v_work json[] := '{}';
BEGIN
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
        v_known := array_position(p_known_ids, v_id);
        v_after := CASE WHEN p_known_incarnations[v_known] = v_row.incarnation
                             AND p_known_executions[v_known] = v_row.execution_id
                        THEN p_known_counts[v_known] ELSE 0 END;
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
