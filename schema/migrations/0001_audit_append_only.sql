-- The audit trail is append-only: the database itself refuses to change or remove an entry.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
--> statement-breakpoint
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
--> statement-breakpoint
-- Stored signed records are immutable too: their bytes are the evidence.
CREATE TRIGGER records_no_update BEFORE UPDATE ON records
BEGIN
  SELECT RAISE(ABORT, 'records are immutable');
END;
