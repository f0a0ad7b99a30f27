CREATE INDEX `assessments_authority` ON `assessments` (`authority_id`);--> statement-breakpoint
CREATE INDEX `assessments_record` ON `assessments` (`record_id`);--> statement-breakpoint
CREATE INDEX `decisions_record` ON `decisions` (`record_id`);--> statement-breakpoint
CREATE INDEX `feedback_record` ON `feedback` (`record_id`);--> statement-breakpoint
CREATE INDEX `submissions_submitter` ON `submissions` (`submitter_id`);--> statement-breakpoint
CREATE INDEX `submissions_record` ON `submissions` (`record_id`);