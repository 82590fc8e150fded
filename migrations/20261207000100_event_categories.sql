-- The original's producers now send eight more categories than the Dec-2025 contract's seven
-- (issue 25). The check is widened, not dropped, so the column still holds only names the
-- domain knows. Every stored row passes the wider check, so re-validating it only reads.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_event_category_known;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_event_category_known CHECK (event_category IN
    ('gateway', 'notification', 'analysis', 'signalprocessing', 'workflow', 'execution',
     'orchestration', 'aiagent', 'workflowexecution', 'approval', 'effectiveness', 'actiontype',
     'apifrontend', 'security', 'agentsession'));
