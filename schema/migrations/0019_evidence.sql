CREATE TABLE `case_file_keys` (
	`case_file_id` text NOT NULL,
	`participant_id` text NOT NULL,
	`enc_kid` text NOT NULL,
	`jwe` text NOT NULL,
	`record_id` text NOT NULL,
	PRIMARY KEY(`case_file_id`, `participant_id`)
);
--> statement-breakpoint
CREATE INDEX `case_file_keys_participant` ON `case_file_keys` (`participant_id`);--> statement-breakpoint
CREATE TABLE `case_files` (
	`id` text PRIMARY KEY NOT NULL,
	`record_id` text NOT NULL,
	`submission_id` text NOT NULL,
	`submitter_id` text NOT NULL,
	`origin_node` text NOT NULL,
	`media_class` text NOT NULL,
	`sha256` text NOT NULL,
	`size` integer NOT NULL,
	`member_states` text,
	`r2_key` text,
	`status` text DEFAULT 'live' NOT NULL,
	`created_at` text NOT NULL,
	`deleted_at` text
);
--> statement-breakpoint
CREATE INDEX `case_files_submission` ON `case_files` (`submission_id`);--> statement-breakpoint
CREATE INDEX `case_files_status` ON `case_files` (`status`);--> statement-breakpoint
CREATE UNIQUE INDEX `case_files_r2_key` ON `case_files` (`r2_key`);--> statement-breakpoint
CREATE TABLE `evidence_upload_parts` (
	`upload_id` text NOT NULL,
	`part_number` integer NOT NULL,
	`etag` text NOT NULL,
	`size` integer NOT NULL,
	PRIMARY KEY(`upload_id`, `part_number`)
);
--> statement-breakpoint
CREATE TABLE `evidence_uploads` (
	`id` text PRIMARY KEY NOT NULL,
	`participant_id` text NOT NULL,
	`submission_id` text NOT NULL,
	`media_class` text NOT NULL,
	`size` integer NOT NULL,
	`sha256` text NOT NULL,
	`part_size` integer NOT NULL,
	`r2_key` text NOT NULL,
	`r2_upload_id` text NOT NULL,
	`status` text DEFAULT 'open' NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `evidence_uploads_owner` ON `evidence_uploads` (`participant_id`,`sha256`);--> statement-breakpoint
CREATE INDEX `evidence_uploads_age` ON `evidence_uploads` (`created_at`);