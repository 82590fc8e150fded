-- One row per remediation (a correlation that chose a workflow): its last choice's time and
-- fields. The incidents read (issue 25 step 5) pages and counts this table instead of
-- folding every correlation of the range: a day of remediations at 10M events is a few
-- thousand index entries here, where the events needed a probe per correlation and
-- partition to find its last choice. Kept by a statement trigger in the writing transaction,
-- so it is never behind the events; backfilled below from the events already stored.

-- The domain's `text(data, key)`: a non-empty JSON string, else NULL (the incident rules).
CREATE FUNCTION audit_text(data jsonb, key text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN jsonb_typeof(data -> key) = 'string' AND data ->> key <> '' THEN data ->> key END;

CREATE TABLE remediations (
    -- Bytewise order, as the domain sorts ids.
    correlation_id text COLLATE "C" PRIMARY KEY,
    -- The last remediation.workflow_created of the correlation (timestamp, then event id).
    action_at timestamptz NOT NULL,
    action_event_id uuid NOT NULL,
    action_type text,
    target_resource text
);
-- The listing order (newest first, then id), read backwards; counts of a range read it only.
CREATE INDEX remediations_action_at_idx ON remediations (action_at, correlation_id);

CREATE FUNCTION remediations_track() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO remediations AS r
        (correlation_id, action_at, action_event_id, action_type, target_resource)
    SELECT DISTINCT ON (correlation_id) correlation_id, event_timestamp, event_id,
           audit_text(event_data, 'action_type'), audit_text(event_data, 'target_resource')
    FROM inserted_events WHERE event_type = 'remediation.workflow_created'
    ORDER BY correlation_id, event_timestamp DESC, event_id DESC
    -- A choice recorded late (a replay, a slow producer) never replaces a later one.
    ON CONFLICT (correlation_id) DO UPDATE SET
        action_at = EXCLUDED.action_at, action_event_id = EXCLUDED.action_event_id,
        action_type = EXCLUDED.action_type, target_resource = EXCLUDED.target_resource
    WHERE (EXCLUDED.action_at, EXCLUDED.action_event_id) > (r.action_at, r.action_event_id);
    RETURN NULL;
END;
$$;

CREATE TRIGGER remediations_track
    AFTER INSERT ON audit_events
    REFERENCING NEW TABLE AS inserted_events
    FOR EACH STATEMENT EXECUTE FUNCTION remediations_track();

INSERT INTO remediations (correlation_id, action_at, action_event_id, action_type, target_resource)
SELECT DISTINCT ON (correlation_id) correlation_id, event_timestamp, event_id,
       audit_text(event_data, 'action_type'), audit_text(event_data, 'target_resource')
FROM audit_events WHERE event_type = 'remediation.workflow_created'
ORDER BY correlation_id, event_timestamp DESC, event_id DESC;
