-- Fills one monthly partition of audit_events with :rows synthetic events for the query
-- benchmarks, the fast way: load a bare table, then attach it (PostgreSQL builds the
-- partitioned indexes on it once, instead of updating eleven indexes row by row).
--
--   psql -v month=2026-01-01 -v rows=1000000 -v first=0 -f bench/sql/fill_month.sql
--
-- Rows spread evenly over the month; every 10 consecutive rows share a correlation id
-- ('fill-' || (first + n) / 10), so a correlation query finds 10 events. event_data is
-- about 0.5 KiB.
\set ON_ERROR_STOP on
SET timezone = 'UTC';
SELECT format('audit_events_%s', to_char(:'month'::date, 'YYYY_MM')) AS part,
       (:'month'::date + interval '1 month')::date AS month_end \gset
CREATE TABLE :"part" (LIKE audit_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
INSERT INTO :"part" (
    event_id, event_date, event_timestamp, version, event_type, event_category, event_action,
    event_outcome, actor_type, actor_id, resource_type, resource_id, correlation_id, severity,
    namespace, event_data, retention_days, is_sensitive, content_hash)
SELECT gen_random_uuid(), ts::date, ts, '1.0',
       (ARRAY['gateway.signal.received', 'analysis.investigation.completed',
              'workflow.execution.started', 'notification.message.sent'])[1 + n % 4],
       (ARRAY['gateway', 'analysis', 'workflow', 'notification'])[1 + n % 4],
       'received', (ARRAY['success', 'success', 'success', 'failure'])[1 + n % 4],
       'service', 'bench-fill', 'Signal', 'fp-' || (n % 50000), 'fill-' || ((:first + n) / 10),
       'critical', 'payments',
       jsonb_build_object('signal', 'HighCPU', 'n', n,
                          'labels', jsonb_build_object('team', 'payments', 'tier', '1'),
                          'note', repeat('x', 420)),
       2555, false, sha256(int8send(:first + n))
FROM generate_series(0, :rows - 1) AS n,
     LATERAL (SELECT (:'month'::date)::timestamptz AT TIME ZONE 'UTC'
                     + (:'month_end'::date - :'month'::date) * interval '1 day' * n / :rows AS ts) AS t;
-- Vacuumed and frozen here, as months-old rows would be: otherwise autovacuum reaches each new
-- million rows later, rewriting them (hint bits, freezing) while other figures are measured.
VACUUM (FREEZE, ANALYZE) :"part";
ALTER TABLE audit_events ATTACH PARTITION :"part" FOR VALUES FROM (:'month') TO (:'month_end');
