-- The remediation workflow catalog: one row per (workflow_name, version).
--
-- Versions are semver; version_norm (no leading 'v', no build metadata) makes `v1.0.0` and
-- `1.0.0` the same version. Exactly one row per name is the latest version; registration
-- moves the flag in the same transaction as the insert. The five mandatory labels are
-- columns (hard filters, indexable); detected and custom labels are JSONB.
CREATE TABLE workflows (
    workflow_id       uuid          PRIMARY KEY,
    workflow_name     varchar(255)  NOT NULL,
    version           varchar(50)   NOT NULL,
    version_norm      varchar(50)   NOT NULL,
    title             varchar(255)  NOT NULL,
    description       text          NOT NULL,
    content           text          NOT NULL,
    content_hash      char(64)      NOT NULL,
    signal_type       varchar(100)  NOT NULL,
    severity          varchar(20)   NOT NULL,
    component         varchar(100)  NOT NULL,
    environment       varchar(100)  NOT NULL,
    priority          varchar(10)   NOT NULL,
    detected_labels   jsonb         NOT NULL DEFAULT '{}',
    custom_labels     jsonb         NOT NULL DEFAULT '{}',
    parameters        jsonb         NOT NULL DEFAULT '{}',
    execution_engine  varchar(100)  NOT NULL,
    container_image   varchar(512),
    container_digest  varchar(100),
    owner             varchar(255),
    maintainer        varchar(255),
    version_notes     text,
    change_summary    text,
    status            varchar(20)   NOT NULL,
    status_reason     text,
    disabled_at       timestamptz,
    disabled_by       varchar(1000),
    disabled_reason   text,
    is_latest_version boolean       NOT NULL,
    previous_version  varchar(50),
    -- SHA-256 of the immutable fields: an identical re-registration is a harmless repeat.
    registration_hash bytea         NOT NULL,
    created_at        timestamptz   NOT NULL,
    created_by        varchar(255),
    updated_at        timestamptz   NOT NULL,
    updated_by        varchar(1000),
    CONSTRAINT workflows_name_version_unique UNIQUE (workflow_name, version_norm),
    CONSTRAINT workflows_status_known
        CHECK (status IN ('active', 'disabled', 'deprecated', 'archived'))
);

CREATE UNIQUE INDEX workflows_one_latest_per_name ON workflows (workflow_name) WHERE is_latest_version;
-- Search: hard filters on the latest versions.
CREATE INDEX workflows_search_idx
    ON workflows (lower(signal_type), severity, status) WHERE is_latest_version;
