-- An action's outcome names the intent it follows, so the Audit page can show the two as one
-- entry (intent time, outcome, statement) instead of two rows. Older rows have none.
alter table audit_events add column intent_id bigint;
create index audit_events_intent on audit_events (intent_id);
