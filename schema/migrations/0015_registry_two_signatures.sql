CREATE TABLE `registry_requests` (
	`request_record_id` text PRIMARY KEY NOT NULL,
	`action` text NOT NULL,
	`participant_id` text NOT NULL,
	`role` text NOT NULL,
	`member_state` text,
	`display_name` text NOT NULL,
	`requested_by` text NOT NULL,
	`requested_at` text NOT NULL,
	`jwks` text,
	`reason` text,
	`completed_record_id` text,
	`completed_by` text,
	`completed_at` text
);
--> statement-breakpoint
CREATE INDEX `registry_requests_participant` ON `registry_requests` (`participant_id`);--> statement-breakpoint
ALTER TABLE `participant_keys` ADD `compromised_since` integer;--> statement-breakpoint
ALTER TABLE `participants` ADD `admission_countersign_record_id` text;