-- The audit browser filters by action and pages by id: with a flood of refused requests in the
-- trail, a page of another action is found through this index instead of a scan.
create index audit_events_action_id on audit_events (action, id);
