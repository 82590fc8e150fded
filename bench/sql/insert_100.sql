-- pgbench ceiling for batches: one 100-row multi-row INSERT per transaction into the real
-- audit_events table, rows shaped like the load generator's in every indexed column:
-- time-ordered event ids (as the service's UUIDv7; a random id would make every insert land
-- in a random btree page and the ceiling slower), a resource id per row, a correlation id per
-- 10 rows, event_data of 0.5-4 KiB with a unique "request" number (it has a GIN index), sent
-- as JSON text that PostgreSQL parses into jsonb, as every client's event_data is.
\set run random(1, 1000000000)
INSERT INTO audit_events (
    event_id, event_date, event_timestamp, version, event_type, event_category, event_action,
    event_outcome, actor_type, actor_id, resource_type, resource_id, correlation_id, severity,
    namespace, event_data, retention_days, is_sensitive, content_hash)
SELECT
    (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')
      || substr(md5(random()::text), 1, 20))::uuid,
    (now() AT TIME ZONE 'UTC')::date, now(), '1.0',
    'gateway.signal.received', 'gateway', 'received', 'success', 'service', 'gateway-service',
    'Signal', 'fp-' || :client_id || '-' || :run || '-' || i,
    'pgbench-' || :client_id || '-' || :run || '-' || (i / 10), 'critical', 'payments',
    ('{"signal": "HighCPU", "request": ' || (:run::bigint * 100 + i)
      || ', "labels": {"team": "payments", "tier": "1"}, "note": "'
      || repeat('x', 420 + (random() * 3584)::int) || '"}')::jsonb,
    2555, false, sha256(random()::text::bytea)
FROM generate_series(1, 100) AS i;
