-- pgbench ceiling: one single-row INSERT per transaction into the real audit_events table,
-- a row shaped like the load generator's (see insert_100.sql): time-ordered event id, its
-- own resource id, event_data of 0.5-4 KiB with a unique "request" number, sent as JSON text.
\set run random(1, 1000000000)
INSERT INTO audit_events (
    event_id, event_date, event_timestamp, version, event_type, event_category, event_action,
    event_outcome, actor_type, actor_id, resource_type, resource_id, correlation_id, severity,
    namespace, event_data, retention_days, is_sensitive, content_hash)
VALUES (
    (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')
      || substr(md5(random()::text), 1, 20))::uuid,
    (now() AT TIME ZONE 'UTC')::date, now(), '1.0',
    'gateway.signal.received', 'gateway', 'received', 'success', 'service', 'gateway-service',
    'Signal', 'fp-' || :client_id || '-' || :run, 'pgbench-' || :client_id || '-' || (:run / 10),
    'critical', 'payments',
    ('{"signal": "HighCPU", "request": ' || :run
      || ', "labels": {"team": "payments", "tier": "1"}, "note": "'
      || repeat('x', 420 + (random() * 3584)::int) || '"}')::jsonb,
    2555, false, sha256(random()::text::bytea));
