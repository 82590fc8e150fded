-- The transparency log over every stored audit event (DESIGN.md §10).
--
-- A trigger queues every inserted event in audit_log_pending in the inserting transaction, so
-- whatever writes a row (a single event, a batch's COPY, a dead-letter replay, or anyone with
-- SQL access) puts it in line for the log. The sequencer moves pending events into leaves in
-- one transaction under an advisory lock: one sequencer at a time across replicas, and a
-- sequencer that dies leaves nothing half-done.
--
-- The service's writer computes each event's leaf hash as it writes the row (leaf_hash), so
-- the sequencer need not read the events back; a row written any other way has none, and
-- the sequencer computes it from the row. A leaf_hash that does not match its row is logged
-- as it is, and verify-chain reports the row as tampered.
ALTER TABLE audit_events ADD COLUMN leaf_hash bytea
    CONSTRAINT audit_events_leaf_hash_is_sha256 CHECK (octet_length(leaf_hash) = 32);

CREATE TABLE audit_log_pending (
    seq            bigserial    PRIMARY KEY,
    event_id       uuid         NOT NULL,
    event_date     date         NOT NULL,
    correlation_id varchar(255) NOT NULL,
    leaf_hash      bytea,
    committed_at   timestamptz  NOT NULL DEFAULT clock_timestamp()
);

-- One row per leaf: which event it is. The leaf hashes themselves are in the tiles.
CREATE TABLE audit_log_leaves (
    log_index      bigint       PRIMARY KEY CHECK (log_index >= 0),
    event_id       uuid         NOT NULL,
    event_date     date         NOT NULL,
    correlation_id varchar(255) NOT NULL
);
CREATE INDEX audit_log_leaves_event_idx ON audit_log_leaves (event_id);
CREATE INDEX audit_log_leaves_correlation_idx ON audit_log_leaves (correlation_id, log_index);

-- Hash tiles as C2SP tlog-tiles lays them out: up to 256 hashes of tree level 8·level, back
-- to back; a partial tile at the right edge is rewritten as it grows.
CREATE TABLE audit_log_tiles (
    level  smallint NOT NULL CHECK (level >= 0),
    idx    bigint   NOT NULL CHECK (idx >= 0),
    hashes bytea    NOT NULL
        CHECK (octet_length(hashes) BETWEEN 32 AND 8192 AND octet_length(hashes) % 32 = 0),
    PRIMARY KEY (level, idx)
);

-- The log's size: one row.
CREATE TABLE audit_log_state (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    size     bigint  NOT NULL CHECK (size >= 0)
);
INSERT INTO audit_log_state (size) VALUES (0);

-- Every signed checkpoint is kept.
CREATE TABLE audit_log_checkpoints (
    tree_size bigint      NOT NULL CHECK (tree_size >= 0),
    root      bytea       NOT NULL CHECK (octet_length(root) = 32),
    signed_at timestamptz NOT NULL,
    note      text        NOT NULL,
    PRIMARY KEY (tree_size, signed_at)
);

-- Statement-level with a transition table: one insert per COPY or multi-row insert.
CREATE FUNCTION audit_log_enqueue() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log_pending (event_id, event_date, correlation_id, leaf_hash)
    SELECT event_id, event_date, correlation_id, leaf_hash FROM inserted_events;
    RETURN NULL;
END;
$$;

CREATE TRIGGER audit_log_enqueue
    AFTER INSERT ON audit_events
    REFERENCING NEW TABLE AS inserted_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_enqueue();
