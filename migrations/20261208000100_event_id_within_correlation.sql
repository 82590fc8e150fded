-- An event_id is unique within its correlation (issue 26, DESIGN.md §9).
--
-- Until now an event_id was unique across the whole table, checked by the writer under an
-- advisory lock per id, because a table partitioned by month cannot hold a unique index on
-- event_id alone. Neither survives audit_events being spread over several machines (Citus
-- distributes it by correlation_id): every unique constraint of a distributed table must
-- include the distribution column, and an advisory lock taken on one node is not seen by
-- another. So the key becomes (correlation_id, event_id): one remediation's events stay
-- together, and two correlations may use the same id without seeing each other.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_pkey;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_pkey
    PRIMARY KEY (correlation_id, event_id, event_date);

-- Idempotency, decided by a constraint: the writer inserts every event's id here with
-- ON CONFLICT DO NOTHING in the event's transaction. A row it did not insert is a repeat,
-- harmless when the content hash matches and a conflict when it does not. Not partitioned,
-- unlike audit_events, so that the same id re-sent with another timestamp (another month)
-- is still found; a concurrent writer of the same id waits on the key instead of a lock.
-- On Citus it is distributed by correlation_id beside audit_events (co-located), so the
-- check stays on the event's own shard.
CREATE TABLE audit_event_ids (
    correlation_id varchar(255) NOT NULL,
    event_id       uuid         NOT NULL,
    event_date     date         NOT NULL,
    content_hash   bytea        NOT NULL
        CONSTRAINT audit_event_ids_content_hash_is_sha256 CHECK (octet_length(content_hash) = 32),
    PRIMARY KEY (correlation_id, event_id)
);

-- Every stored event's id. Ids were unique across the table until now, so nothing collides;
-- ON CONFLICT only makes a re-run harmless.
INSERT INTO audit_event_ids (correlation_id, event_id, event_date, content_hash)
SELECT correlation_id, event_id, event_date, content_hash FROM audit_events
ON CONFLICT DO NOTHING;

-- Retention drops a month's ids with its events, so a pruned event sent again is stored
-- again, as before. Replaced whole: SECURITY DEFINER and the pinned search_path are set
-- again (a replaced function keeps its owner and grants, not its other attributes).
CREATE OR REPLACE FUNCTION audit_events_drop_partition(month date) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    partition text := format('audit_events_%s', to_char(date_trunc('month', month), 'YYYY_MM'));
BEGIN
    EXECUTE format('DELETE FROM audit_event_ids i USING %I e
                    WHERE i.correlation_id = e.correlation_id AND i.event_id = e.event_id
                      AND i.event_date = e.event_date', partition);
    -- The plain DETACH (not CONCURRENTLY), so the caller's record of the drop commits with
    -- it; Citus refuses CONCURRENTLY on a distributed table anyway.
    EXECUTE format('ALTER TABLE audit_events DETACH PARTITION %I', partition);
    EXECUTE format('DROP TABLE %I', partition);
END;
$$;

DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION audit_events_drop_partition(date) SET search_path = %I, pg_temp',
                   current_schema());
END;
$$;
