CREATE TABLE `api_credentials` (
	`id` text PRIMARY KEY NOT NULL,
	`participant_id` text NOT NULL,
	`label` text NOT NULL,
	`secret_sha256` text NOT NULL,
	`record_id` text NOT NULL,
	`created_at` text NOT NULL,
	`expires_at` text NOT NULL,
	`revoked_at` text,
	`revoked_record_id` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_credentials_secret` ON `api_credentials` (`secret_sha256`);--> statement-breakpoint
CREATE INDEX `api_credentials_participant` ON `api_credentials` (`participant_id`,`revoked_at`);--> statement-breakpoint
CREATE TABLE `taxii_index_state` (
	`name` text PRIMARY KEY NOT NULL,
	`seq` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `taxii_objects` (
	`stix_id` text PRIMARY KEY NOT NULL,
	`collection` text NOT NULL,
	`submission_id` text NOT NULL,
	`epoch` integer NOT NULL,
	`first_seq` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `taxii_objects_submission` ON `taxii_objects` (`submission_id`);