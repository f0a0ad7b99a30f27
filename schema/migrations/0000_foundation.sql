CREATE TABLE `participant_keys` (
	`participant_id` text NOT NULL,
	`kid` text NOT NULL,
	`jwk` text NOT NULL,
	`alg` text NOT NULL,
	`status` text DEFAULT 'active' NOT NULL,
	`added_at` text NOT NULL,
	`added_record_id` text,
	`retired_at` text,
	`retired_record_id` text,
	`valid_from` integer NOT NULL,
	`valid_until` integer,
	PRIMARY KEY(`participant_id`, `kid`),
	FOREIGN KEY (`participant_id`) REFERENCES `participants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `participant_keys_kid` ON `participant_keys` (`kid`);--> statement-breakpoint
CREATE TABLE `participants` (
	`id` text PRIMARY KEY NOT NULL,
	`role` text NOT NULL,
	`member_state` text,
	`display_name` text NOT NULL,
	`status` text DEFAULT 'active' NOT NULL,
	`admitted_at` text NOT NULL,
	`admission_record_id` text,
	`revoked_at` text,
	`revocation_record_id` text
);
--> statement-breakpoint
CREATE INDEX `participants_role_state` ON `participants` (`role`,`member_state`);--> statement-breakpoint
CREATE TABLE `audit_log` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`record_id` text,
	`subject_id` text,
	`actor` text NOT NULL,
	`at` text NOT NULL,
	`jws_sha256` text,
	`detail` text
);
--> statement-breakpoint
CREATE INDEX `audit_log_record` ON `audit_log` (`record_id`);--> statement-breakpoint
CREATE TABLE `records` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`issuer` text NOT NULL,
	`kid` text NOT NULL,
	`jti` text NOT NULL,
	`iat` integer NOT NULL,
	`jws` text NOT NULL,
	`jws_sha256` text NOT NULL,
	`subject_id` text,
	`origin_node` text NOT NULL,
	`received_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `records_issuer_jti` ON `records` (`issuer`,`jti`);--> statement-breakpoint
CREATE INDEX `records_subject` ON `records` (`subject_id`);