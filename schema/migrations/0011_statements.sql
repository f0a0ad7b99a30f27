CREATE TABLE `statements` (
	`id` text PRIMARY KEY NOT NULL,
	`record_id` text NOT NULL,
	`platform_id` text NOT NULL,
	`submission_id` text NOT NULL,
	`content_ref` text NOT NULL,
	`details` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `statements_platform` ON `statements` (`platform_id`,`id`);--> statement-breakpoint
CREATE INDEX `statements_submission` ON `statements` (`submission_id`);