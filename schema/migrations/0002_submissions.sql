CREATE TABLE `assessments` (
	`id` text PRIMARY KEY NOT NULL,
	`record_id` text NOT NULL,
	`submission_id` text NOT NULL,
	`authority_id` text NOT NULL,
	`member_state` text NOT NULL,
	`verdict` text NOT NULL,
	`limb` text NOT NULL,
	`reason` text,
	`live` integer DEFAULT true NOT NULL,
	`superseded_by` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `assessments_submission` ON `assessments` (`submission_id`,`live`);--> statement-breakpoint
CREATE UNIQUE INDEX `assessments_live_one` ON `assessments` (`submission_id`,`authority_id`) WHERE live = 1;--> statement-breakpoint
CREATE TABLE `decisions` (
	`id` text PRIMARY KEY NOT NULL,
	`record_id` text NOT NULL,
	`submission_id` text NOT NULL,
	`actor_id` text NOT NULL,
	`action` text NOT NULL,
	`reason` text NOT NULL,
	`assessment_ids` text DEFAULT '[]' NOT NULL,
	`ground` text,
	`reference` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `decisions_submission` ON `decisions` (`submission_id`);--> statement-breakpoint
CREATE TABLE `feedback` (
	`id` text PRIMARY KEY NOT NULL,
	`record_id` text NOT NULL,
	`submission_id` text NOT NULL,
	`platform_id` text NOT NULL,
	`outcome` text NOT NULL,
	`note` text,
	`live` integer DEFAULT true NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `feedback_submission` ON `feedback` (`submission_id`,`live`);--> statement-breakpoint
CREATE UNIQUE INDEX `feedback_live_one` ON `feedback` (`submission_id`,`platform_id`) WHERE live = 1;--> statement-breakpoint
CREATE TABLE `submission_changes` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`submission_id` text NOT NULL,
	`change` text NOT NULL,
	`affects_baseline` integer DEFAULT false NOT NULL,
	`record_id` text,
	`at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `submission_changes_submission` ON `submission_changes` (`submission_id`);--> statement-breakpoint
CREATE INDEX `submission_changes_baseline` ON `submission_changes` (`affects_baseline`,`seq`);--> statement-breakpoint
CREATE TABLE `submission_matches` (
	`submission_id` text NOT NULL,
	`platform_id` text NOT NULL,
	`first_matched_at` text NOT NULL,
	`last_matched_at` text NOT NULL,
	`count` integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `submission_matches_pk` ON `submission_matches` (`submission_id`,`platform_id`);--> statement-breakpoint
CREATE INDEX `submission_matches_platform` ON `submission_matches` (`platform_id`);--> statement-breakpoint
CREATE TABLE `submissions` (
	`id` text PRIMARY KEY NOT NULL,
	`record_id` text NOT NULL,
	`submitter_id` text NOT NULL,
	`member_state` text NOT NULL,
	`signal_type` text NOT NULL,
	`value` text NOT NULL,
	`fingerprint` text NOT NULL,
	`quality` integer,
	`low_quality` integer DEFAULT false NOT NULL,
	`limbs` text NOT NULL,
	`content_type` text NOT NULL,
	`national_provision` text NOT NULL,
	`tlp` text,
	`expires_at` text,
	`note` text,
	`status` text DEFAULT 'live' NOT NULL,
	`baseline_state` text DEFAULT 'none' NOT NULL,
	`created_at` text NOT NULL,
	`concur_states` text DEFAULT '[]' NOT NULL,
	`live_dissents` integer DEFAULT 0 NOT NULL,
	`fb_true` integer DEFAULT 0 NOT NULL,
	`fb_false` integer DEFAULT 0 NOT NULL,
	`fb_not_actioned` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `submissions_live_by_submitter` ON `submissions` (`submitter_id`,`fingerprint`) WHERE status = 'live';--> statement-breakpoint
CREATE INDEX `submissions_fingerprint` ON `submissions` (`fingerprint`);--> statement-breakpoint
CREATE INDEX `submissions_baseline` ON `submissions` (`baseline_state`,`status`);