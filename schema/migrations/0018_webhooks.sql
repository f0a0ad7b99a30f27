CREATE TABLE `webhook_cursors` (
	`source` text PRIMARY KEY NOT NULL,
	`seq` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`webhook_id` text NOT NULL,
	`participant_id` text NOT NULL,
	`event` text NOT NULL,
	`subject` text NOT NULL,
	`jws` text NOT NULL,
	`state` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer,
	`last_attempt_at` text,
	`last_status` integer,
	`last_error` text,
	`delivered_at` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_due` ON `webhook_deliveries` (`state`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_webhook` ON `webhook_deliveries` (`webhook_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `webhooks` (
	`id` text PRIMARY KEY NOT NULL,
	`participant_id` text NOT NULL,
	`url` text NOT NULL,
	`events` text NOT NULL,
	`label` text,
	`record_id` text NOT NULL,
	`created_at` text NOT NULL,
	`removed_at` text,
	`removed_record_id` text
);
--> statement-breakpoint
CREATE INDEX `webhooks_participant` ON `webhooks` (`participant_id`,`removed_at`);