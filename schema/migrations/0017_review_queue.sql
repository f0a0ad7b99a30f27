CREATE TABLE `review_items` (
	`id` text PRIMARY KEY NOT NULL,
	`platform_id` text NOT NULL,
	`submission_id` text NOT NULL,
	`ref` text DEFAULT '' NOT NULL,
	`request_id` text NOT NULL,
	`first_matched_at` text NOT NULL,
	`last_matched_at` text NOT NULL,
	`count` integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `review_items_key` ON `review_items` (`platform_id`,`submission_id`,`ref`);--> statement-breakpoint
CREATE INDEX `review_items_platform` ON `review_items` (`platform_id`,`last_matched_at`);