CREATE TABLE `incidents` (
	`id` text PRIMARY KEY NOT NULL,
	`record_id` text NOT NULL,
	`declared_by` text NOT NULL,
	`title` text NOT NULL,
	`description` text NOT NULL,
	`requested_by` text NOT NULL,
	`starts_at` text NOT NULL,
	`ends_at` text NOT NULL,
	`closed_at` text,
	`close_record_id` text,
	`public` integer DEFAULT false NOT NULL,
	`extensions` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`version` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `incidents_ends` ON `incidents` (`ends_at`);--> statement-breakpoint
ALTER TABLE `submissions` ADD `incident_id` text;--> statement-breakpoint
ALTER TABLE `submissions` ADD `provisional_until` text;--> statement-breakpoint
ALTER TABLE `submissions` ADD `provisional_lapsed_at` text;--> statement-breakpoint
CREATE INDEX `submissions_incident` ON `submissions` (`incident_id`);