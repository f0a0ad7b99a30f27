CREATE TABLE `signal_enc_keys` (
	`participant_id` text PRIMARY KEY NOT NULL,
	`kid` text NOT NULL,
	`jwk` text NOT NULL,
	`record_id` text NOT NULL,
	`set_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `signal_fetches` (
	`platform_id` text NOT NULL,
	`signal_id` text NOT NULL,
	`first_fetched_at` integer NOT NULL,
	PRIMARY KEY(`platform_id`, `signal_id`)
);
--> statement-breakpoint
CREATE INDEX `signal_fetches_signal` ON `signal_fetches` (`signal_id`);--> statement-breakpoint
CREATE TABLE `signal_key_versions` (
	`version` integer PRIMARY KEY NOT NULL,
	`valid_from` integer NOT NULL,
	`valid_until` integer NOT NULL,
	`record_id` text NOT NULL,
	`published_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `signal_key_wraps` (
	`version` integer NOT NULL,
	`participant_id` text NOT NULL,
	`enc_kid` text NOT NULL,
	`jwe` text NOT NULL,
	`record_id` text NOT NULL,
	PRIMARY KEY(`version`, `participant_id`)
);
--> statement-breakpoint
CREATE TABLE `signal_lookup_guard` (
	`platform_id` text NOT NULL,
	`day` text NOT NULL,
	`digest` text NOT NULL,
	PRIMARY KEY(`platform_id`, `day`, `digest`)
);
--> statement-breakpoint
CREATE TABLE `signal_out_links` (
	`url` text NOT NULL,
	`signal_id` text NOT NULL,
	PRIMARY KEY(`url`, `signal_id`)
);
--> statement-breakpoint
CREATE INDEX `signal_out_links_signal` ON `signal_out_links` (`signal_id`);--> statement-breakpoint
CREATE TABLE `signal_rate_windows` (
	`platform_id` text NOT NULL,
	`window_start` integer NOT NULL,
	`count` integer NOT NULL,
	PRIMARY KEY(`platform_id`, `window_start`)
);
--> statement-breakpoint
CREATE TABLE `signal_reversals` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`id` text NOT NULL,
	`signal_id` text NOT NULL,
	`action` text NOT NULL,
	`actor_id` text NOT NULL,
	`record_id` text NOT NULL,
	`ground` text,
	`reason` text,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `signal_reversals_id` ON `signal_reversals` (`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `signal_reversals_signal` ON `signal_reversals` (`signal_id`);--> statement-breakpoint
CREATE TABLE `signal_selectors` (
	`pseudonym` text NOT NULL,
	`signal_id` text NOT NULL,
	PRIMARY KEY(`pseudonym`, `signal_id`)
);
--> statement-breakpoint
CREATE INDEX `signal_selectors_signal` ON `signal_selectors` (`signal_id`);--> statement-breakpoint
CREATE TABLE `signals` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`id` text NOT NULL,
	`record_id` text NOT NULL,
	`origin_id` text NOT NULL,
	`kind` text NOT NULL,
	`key_version` integer NOT NULL,
	`target_platform_id` text,
	`target_host` text,
	`tco_limb` text NOT NULL,
	`related_submissions` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`status` text DEFAULT 'active' NOT NULL,
	`status_changed_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `signals_id` ON `signals` (`id`);--> statement-breakpoint
CREATE INDEX `signals_target` ON `signals` (`target_platform_id`,`seq`);--> statement-breakpoint
CREATE INDEX `signals_expires` ON `signals` (`expires_at`);--> statement-breakpoint
CREATE INDEX `signals_origin` ON `signals` (`origin_id`);