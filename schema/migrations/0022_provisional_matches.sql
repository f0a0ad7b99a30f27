CREATE TABLE `provisional_matches` (
	`submission_id` text NOT NULL,
	`platform_id` text NOT NULL,
	`incident_id` text NOT NULL,
	`first_matched_at` text NOT NULL,
	`last_matched_at` text NOT NULL,
	`count` integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `provisional_matches_pk` ON `provisional_matches` (`submission_id`,`platform_id`);--> statement-breakpoint
CREATE INDEX `provisional_matches_incident` ON `provisional_matches` (`incident_id`);