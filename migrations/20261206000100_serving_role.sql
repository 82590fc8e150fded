-- The service may run as a role without DDL rights (deploy/README.md, grants.sql), the schema
-- being migrated by another role (`datastorage migrate`). The two things it does at run time
-- that only a table's owner may do, creating a month's partition ahead and retention's drop of
-- a month, go through these functions, which run as their owner (the role that migrated) and
-- do that one thing only.
--
-- A SECURITY DEFINER function resolves names in a search_path pinned to the schema the
-- migrations ran in, then pg_temp: never through a schema the caller controls.
CREATE FUNCTION audit_events_drop_partition(month date) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    partition text := format('audit_events_%s', to_char(date_trunc('month', month), 'YYYY_MM'));
BEGIN
    -- The plain DETACH (not CONCURRENTLY), so the caller's record of the drop commits with it.
    EXECUTE format('ALTER TABLE audit_events DETACH PARTITION %I', partition);
    EXECUTE format('DROP TABLE %I', partition);
END;
$$;

ALTER FUNCTION audit_events_ensure_partition(date) SECURITY DEFINER;

DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION audit_events_ensure_partition(date) SET search_path = %I, pg_temp',
                   current_schema());
    EXECUTE format('ALTER FUNCTION audit_events_drop_partition(date) SET search_path = %I, pg_temp',
                   current_schema());
END;
$$;

-- Functions are executable by PUBLIC by default; these are granted to the serving role alone.
REVOKE EXECUTE ON FUNCTION audit_events_ensure_partition(date) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION audit_events_drop_partition(date) FROM PUBLIC;
