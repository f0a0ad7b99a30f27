CREATE TABLE `match_requests` (
	`id` text PRIMARY KEY NOT NULL,
	`platform_id` text NOT NULL,
	`at` text NOT NULL,
	`scope` text NOT NULL,
	`threshold` integer NOT NULL,
	`queried` integer NOT NULL,
	`matched_items` integer NOT NULL,
	`matched_entries` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `match_requests_platform` ON `match_requests` (`platform_id`,`at`);