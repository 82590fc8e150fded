-- The unified audit trail (ADR-034 fields), partitioned by month on event_date.
--
-- event_date is derived from the client's event_timestamp (UTC), never from the server clock,
-- so a retried or replayed write lands in the same partition and is recognised as a repeat.
-- parent_event_id is a soft link (no foreign key): events of one trail come from different
-- services and may arrive, or be replayed from the dead-letter queue, in any order.
CREATE TABLE audit_events (
    event_id          uuid         NOT NULL,
    event_date        date         NOT NULL,
    event_timestamp   timestamptz  NOT NULL,
    version           varchar(20)  NOT NULL,
    event_type        varchar(100) NOT NULL,
    event_category    varchar(50)  NOT NULL,
    event_action      varchar(50)  NOT NULL,
    event_outcome     varchar(20)  NOT NULL,
    actor_type        varchar(50),
    actor_id          varchar(255),
    resource_type     varchar(100),
    resource_id       varchar(255),
    resource_name     varchar(255),
    correlation_id    varchar(255) NOT NULL,
    parent_event_id   uuid,
    parent_event_date date,
    trace_id          varchar(128),
    span_id           varchar(128),
    namespace         varchar(253),
    cluster_name      varchar(255),
    severity          varchar(50),
    duration_ms       bigint,
    error_code        varchar(100),
    error_message     varchar(8192),
    event_data        jsonb        NOT NULL,
    retention_days    integer      NOT NULL DEFAULT 2555,
    is_sensitive      boolean      NOT NULL DEFAULT false,
    -- SHA-256 of the event's canonical content: a re-send with the same event_id is a
    -- harmless repeat when this matches and a conflict when it does not.
    content_hash      bytea        NOT NULL,
    created_at        timestamptz  NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, event_date),
    CONSTRAINT audit_events_event_date_matches_timestamp
        CHECK (event_date = (event_timestamp AT TIME ZONE 'UTC')::date),
    CONSTRAINT audit_events_event_category_known CHECK (event_category IN
        ('gateway', 'notification', 'analysis', 'signalprocessing', 'workflow', 'execution',
         'orchestration')),
    CONSTRAINT audit_events_event_outcome_known
        CHECK (event_outcome IN ('success', 'failure', 'pending')),
    CONSTRAINT audit_events_duration_ms_not_negative CHECK (duration_ms >= 0),
    CONSTRAINT audit_events_retention_days_in_range CHECK (retention_days BETWEEN 1 AND 36500),
    CONSTRAINT audit_events_event_data_is_object CHECK (jsonb_typeof(event_data) = 'object'),
    CONSTRAINT audit_events_content_hash_is_sha256 CHECK (octet_length(content_hash) = 32)
) PARTITION BY RANGE (event_date);

-- Every listing is newest first with event_id as tie-break; keyset pages seek on this.
CREATE INDEX audit_events_timestamp_idx ON audit_events (event_timestamp DESC, event_id DESC);
-- Idempotency: a client-supplied event_id is looked up across partitions.
CREATE INDEX audit_events_event_id_idx ON audit_events (event_id);
-- One index per documented filter, each ending in the listing order.
CREATE INDEX audit_events_correlation_idx
    ON audit_events (correlation_id, event_timestamp, event_id);
CREATE INDEX audit_events_event_type_idx
    ON audit_events (event_type, event_timestamp DESC, event_id DESC);
CREATE INDEX audit_events_event_category_idx
    ON audit_events (event_category, event_timestamp DESC, event_id DESC);
CREATE INDEX audit_events_event_outcome_idx
    ON audit_events (event_outcome, event_timestamp DESC, event_id DESC);
CREATE INDEX audit_events_severity_idx
    ON audit_events (severity, event_timestamp DESC, event_id DESC) WHERE severity IS NOT NULL;
CREATE INDEX audit_events_resource_idx
    ON audit_events (resource_type, resource_id, event_timestamp DESC) WHERE resource_type IS NOT NULL;
CREATE INDEX audit_events_resource_id_idx
    ON audit_events (resource_id, event_timestamp DESC) WHERE resource_id IS NOT NULL;
CREATE INDEX audit_events_actor_idx
    ON audit_events (actor_id, event_timestamp DESC) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_events_event_data_idx ON audit_events USING GIN (event_data jsonb_path_ops);

-- Creates the monthly partition holding `day`, if it does not exist yet. Safe to call
-- concurrently: creators serialise on an advisory lock.
CREATE FUNCTION audit_events_ensure_partition(day date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    month_start date := date_trunc('month', day)::date;
    month_end   date := (date_trunc('month', day) + interval '1 month')::date;
    partition   text := format('audit_events_%s', to_char(month_start, 'YYYY_MM'));
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('audit_events_ensure_partition'));
    IF to_regclass(partition) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF audit_events FOR VALUES FROM (%L) TO (%L)',
                       partition, month_start, month_end);
    END IF;
END;
$$;
