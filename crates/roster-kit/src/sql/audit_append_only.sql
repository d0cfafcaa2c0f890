-- Audit events are append-only for the role Roster runs as: no UPDATE, no TRUNCATE, and
-- DELETE only by the retention job (roster_kit::audit::delete_expired), which marks its own
-- transaction with `SET LOCAL roster.audit_retention = 'on'` and deletes only rows older
-- than its cutoff. A role that can run DDL can still drop the trigger: for a boundary
-- against that, let another role own the schema and grant Roster's role INSERT and SELECT.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('roster.audit_retention', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_events_no_update_or_delete
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
