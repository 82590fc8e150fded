-- pgbench ceiling for batches: one 100-row multi-row INSERT per transaction into the real
-- audit_events table, rows like insert_one.sql (event_data of 0.5-4 KiB, sent as JSON text
-- that PostgreSQL parses into jsonb, as every client's event_data is).
INSERT INTO audit_events (
    event_id, event_date, event_timestamp, version, event_type, event_category, event_action,
    event_outcome, actor_type, actor_id, resource_type, resource_id, correlation_id, severity,
    namespace, event_data, retention_days, is_sensitive, content_hash)
SELECT
    gen_random_uuid(), (now() AT TIME ZONE 'UTC')::date, now(), '1.0',
    'gateway.signal.received', 'gateway', 'received', 'success', 'service', 'gateway-service',
    'Signal', 'fp-' || :client_id || '-' || i, 'pgbench-' || :client_id, 'critical', 'payments',
    ('{"signal": "HighCPU", "labels": {"team": "payments", "tier": "1"}, "note": "'
      || repeat('x', 420 + (random() * 3584)::int) || '"}')::jsonb,
    2555, false, sha256(random()::text::bytea)
FROM generate_series(1, 100) AS i;
