-- One row per remediation (a correlation that chose a workflow): its last choice's time and
-- fields. The incidents read (issue 25 step 5) pages and counts this table instead of
-- folding every correlation of the range: a day of remediations at 10M events is a few
-- thousand index entries here, where the events needed a probe per correlation and
-- partition to find its last choice. Kept by the service's writer in the writing transaction
-- (not by a trigger, which Citus cannot run on a distributed table), so it is never behind the
-- events; backfilled below from the events already stored.

-- The domain's `text(data, key)`: a non-empty JSON string, else NULL (the incident rules).
CREATE FUNCTION audit_text(data jsonb, key text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN jsonb_typeof(data -> key) = 'string' AND data ->> key <> '' THEN data ->> key END;

CREATE TABLE remediations (
    -- As audit_events' (Citus co-locates the two by it).
    correlation_id varchar(255) PRIMARY KEY,
    -- The last remediation.workflow_created of the correlation (timestamp, then event id).
    action_at timestamptz NOT NULL,
    action_event_id uuid NOT NULL,
    action_type text,
    target_resource text
);
-- The listing order (newest first, then id bytewise as the domain sorts ids), read
-- backwards; counts of a range read it only.
CREATE INDEX remediations_action_at_idx ON remediations (action_at, correlation_id COLLATE "C");

INSERT INTO remediations (correlation_id, action_at, action_event_id, action_type, target_resource)
SELECT DISTINCT ON (correlation_id) correlation_id, event_timestamp, event_id,
       audit_text(event_data, 'action_type'), audit_text(event_data, 'target_resource')
FROM audit_events WHERE event_type = 'remediation.workflow_created'
ORDER BY correlation_id, event_timestamp DESC, event_id DESC;

-- A target's remediation history (GET /remediation-history/context) reads its choices newest
-- first: one range of this partial index (the choices only, a tenth of the events or less).
CREATE INDEX audit_events_workflow_target_idx
    ON audit_events ((event_data ->> 'target_resource'), event_timestamp DESC, event_id DESC)
    WHERE event_type = 'remediation.workflow_created';
