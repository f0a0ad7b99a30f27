CREATE INDEX `audit_log_subject` ON `audit_log` (`subject_id`);--> statement-breakpoint
CREATE INDEX `audit_log_kind` ON `audit_log` (`kind`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_log_actor` ON `audit_log` (`actor`,`seq`);--> statement-breakpoint
CREATE INDEX `submissions_value` ON `submissions` (`value`);--> statement-breakpoint
CREATE INDEX `submissions_created` ON `submissions` (`created_at`);