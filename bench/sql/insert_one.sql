-- pgbench ceiling: one single-row INSERT per transaction into the real audit_events table,
-- the shape of the load generator's events, event_data of 0.5-4 KiB like its payloads, sent
-- as JSON text that PostgreSQL parses into jsonb (as the service's is; building it inside the
-- server with jsonb_build_object skipped that parse and made the ceiling lighter).
INSERT INTO audit_events (
    event_id, event_date, event_timestamp, version, event_type, event_category, event_action,
    event_outcome, actor_type, actor_id, resource_type, resource_id, correlation_id, severity,
    namespace, event_data, retention_days, is_sensitive, content_hash)
VALUES (
    gen_random_uuid(), (now() AT TIME ZONE 'UTC')::date, now(), '1.0',
    'gateway.signal.received', 'gateway', 'received', 'success', 'service', 'gateway-service',
    'Signal', 'fp-' || :client_id, 'pgbench-' || :client_id, 'critical', 'payments',
    ('{"signal": "HighCPU", "labels": {"team": "payments", "tier": "1"}, "note": "'
      || repeat('x', 420 + (random() * 3584)::int) || '"}')::jsonb,
    2555, false, sha256(random()::text::bytea));
