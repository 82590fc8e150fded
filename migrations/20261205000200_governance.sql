-- Legal holds (DESIGN.md §11): a hold covers every event of its correlation, present and
-- future, until released. Kept with their history; at most one active hold per correlation.
CREATE TABLE audit_legal_holds (
    id             bigserial    PRIMARY KEY,
    correlation_id varchar(255) NOT NULL,
    reason         text         NOT NULL,
    placed_by      text         NOT NULL,
    placed_at      timestamptz  NOT NULL,
    released_by    text,
    released_at    timestamptz,
    release_reason text,
    CONSTRAINT audit_legal_holds_release_is_whole
        CHECK ((released_at IS NULL) = (released_by IS NULL))
);
CREATE UNIQUE INDEX audit_legal_holds_one_active
    ON audit_legal_holds (correlation_id) WHERE released_at IS NULL;

-- Months retention dropped. Their events' leaves stay in the log; verify-chain reports such
-- events as pruned, not missing.
CREATE TABLE audit_log_pruned (
    month      date        PRIMARY KEY,
    events     bigint      NOT NULL,
    log_ranges jsonb       NOT NULL,
    pruned_at  timestamptz NOT NULL
);

-- Retention finds a month's leaves by scanning the leaves once per dropped month: an index
-- on their date would cost every sequenced event an index insert for a monthly job.
