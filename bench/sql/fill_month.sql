-- Fills one monthly partition of audit_events with :rows synthetic events for the query
-- benchmarks, the fast way: load a bare table, then attach it (PostgreSQL builds the
-- partitioned indexes on it once, instead of updating eleven indexes row by row).
--
--   psql -v month=2026-01-01 -v rows=1000000 -v first=0 -f bench/sql/fill_month.sql
--
-- Rows spread evenly over the month; every 10 consecutive rows share a correlation id
-- ('fill-' || (first + n) / 10), so a correlation query finds 10 events, and those 10 are one
-- remediation's lifecycle in order (signal, processing, analysis, workflow chosen, execution
-- started and completed, three effectiveness events, lifecycle completed), shaped as the
-- producers write them, so the remediation reads (history, effectiveness, incidents,
-- timeline) have real work to do: 20 alert names, 4 severities, 8 action types, 20,000 targets
-- (`ns-<0..49>/Deployment/app-<0..19999>`, about 50 remediations each per 10M events).
-- event_data is about 0.5 KiB.
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
       (ARRAY['gateway.signal.received', 'signalprocessing.signal.processed',
              'aianalysis.analysis.completed', 'remediation.workflow_created',
              'workflowexecution.execution.started', 'workflowexecution.workflow.completed',
              'effectiveness.health.assessed', 'effectiveness.hash.computed',
              'effectiveness.assessment.completed', 'orchestrator.lifecycle.completed'])[1 + k],
       (ARRAY['gateway', 'signalprocessing', 'analysis', 'workflow', 'workflowexecution',
              'workflowexecution', 'effectiveness', 'effectiveness', 'effectiveness',
              'orchestration'])[1 + k],
       'received', 'success',
       'service', 'bench-fill', 'Signal', 'fp-' || (c % 50000), 'fill-' || c,
       'critical', 'ns-' || (c % 50),
       jsonb_build_object('note', repeat('x', 380)) || (CASE k
         WHEN 0 THEN jsonb_build_object('signal_name', 'Alert' || (c % 20),
                                        'severity', (ARRAY['warning', 'critical'])[1 + c % 2],
                                        'namespace', 'ns-' || (c % 50))
         WHEN 1 THEN jsonb_build_object('severity',
                                        (ARRAY['critical', 'high', 'medium', 'low'])[1 + c % 4])
         WHEN 3 THEN jsonb_build_object(
                       'target_resource', 'ns-' || (c % 50) || '/Deployment/app-' || (c % 20000),
                       'action_type', 'Action' || (c % 8),
                       'pre_remediation_spec_hash', 'sha256:' || md5((c - 20000)::text))
         WHEN 6 THEN jsonb_build_object('component', 'health', 'assessed', true, 'score', 1.0)
         WHEN 7 THEN jsonb_build_object('component', 'hash',
                                        'pre_remediation_spec_hash', 'sha256:' || md5((c - 20000)::text),
                                        'post_remediation_spec_hash', 'sha256:' || md5(c::text))
         WHEN 8 THEN jsonb_build_object('component', 'completed', 'reason', 'Full')
         WHEN 9 THEN jsonb_build_object('outcome', 'Success')
         ELSE '{}'::jsonb END),
       2555, false, sha256(int8send(:first + n))
FROM generate_series(0, :rows - 1) AS n,
     LATERAL (SELECT (:first + n) / 10 AS c, n % 10 AS k) AS ids,
     LATERAL (SELECT (:'month'::date)::timestamptz AT TIME ZONE 'UTC'
                     + (:'month_end'::date - :'month'::date) * interval '1 day' * n / :rows AS ts) AS t;
-- Vacuumed and frozen here, as months-old rows would be: otherwise autovacuum reaches each new
-- million rows later, rewriting them (hint bits, freezing) while other figures are measured.
VACUUM (FREEZE, ANALYZE) :"part";
ALTER TABLE audit_events ATTACH PARTITION :"part" FOR VALUES FROM (:'month') TO (:'month_end');
-- The rows came in by ATTACH, which fires no insert trigger: their remediations are recorded
-- as the trigger would have (migration 20261207000200), where the schema has the table.
SELECT to_regclass('remediations') IS NOT NULL AS has_remediations \gset
\if :has_remediations
INSERT INTO remediations AS r (correlation_id, action_at, action_event_id, action_type, target_resource)
SELECT DISTINCT ON (correlation_id) correlation_id, event_timestamp, event_id,
       audit_text(event_data, 'action_type'), audit_text(event_data, 'target_resource')
FROM :"part" WHERE event_type = 'remediation.workflow_created'
ORDER BY correlation_id, event_timestamp DESC, event_id DESC
ON CONFLICT (correlation_id) DO UPDATE SET
    action_at = EXCLUDED.action_at, action_event_id = EXCLUDED.action_event_id,
    action_type = EXCLUDED.action_type, target_resource = EXCLUDED.target_resource
WHERE (EXCLUDED.action_at, EXCLUDED.action_event_id) > (r.action_at, r.action_event_id);
VACUUM (ANALYZE) remediations;
\endif
-- Every event's id row too, as the writer makes it (migration 20261208000100): the repeat
-- check and the remediation reads use it.
SELECT to_regclass('audit_event_ids') IS NOT NULL AS has_ids \gset
\if :has_ids
INSERT INTO audit_event_ids (correlation_id, event_id, event_date, content_hash)
SELECT correlation_id, event_id, event_date, content_hash FROM :"part";
VACUUM (ANALYZE) audit_event_ids;
\endif
