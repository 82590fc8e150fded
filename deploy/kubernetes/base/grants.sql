-- The serving role's privileges: reads and writes, no DDL, no CREATE EXTENSION.
--
-- Run as the migration role (the owner of everything the migrations create), after the
-- migrations: the migration Job runs `datastorage migrate --grants grants.sql`, every release
-- (each statement is idempotent). The serving role is `datastorage_app` and the schema `public`:
-- edit both names here if yours differ. The integration test `migrate::` runs this very file.

GRANT USAGE ON SCHEMA public TO datastorage_app;

-- Every table: the audit trail and its partitions, the transparency log, legal holds, the
-- workflow catalog.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO datastorage_app;
-- The migration history is only read (the check at start that the schema is current).
REVOKE INSERT, UPDATE, DELETE ON _sqlx_migrations FROM datastorage_app;
-- bigserial keys (audit_log_pending, audit_legal_holds).
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO datastorage_app;

-- The two owner-only steps the service takes at run time, as SECURITY DEFINER functions that
-- run as this role: creating a month's partition ahead, and retention dropping a month.
GRANT EXECUTE ON FUNCTION audit_events_ensure_partition(date) TO datastorage_app;
GRANT EXECUTE ON FUNCTION audit_events_drop_partition(date) TO datastorage_app;

-- What this role creates later gets the same privileges: the monthly partitions (created by
-- audit_events_ensure_partition, hence owned by this role; retention reads a month's
-- partition directly) and the tables and sequences of future migrations.
ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO datastorage_app;
ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER IN SCHEMA public
    GRANT USAGE ON SEQUENCES TO datastorage_app;
