CREATE TABLE `registry_countersignatures` (
	`record_id` text PRIMARY KEY NOT NULL,
	`request_record_id` text NOT NULL,
	`signer_id` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `registry_countersignatures_request` ON `registry_countersignatures` (`request_record_id`);--> statement-breakpoint
ALTER TABLE `registry_requests` ADD `withdrawn_record_id` text;--> statement-breakpoint
ALTER TABLE `registry_requests` ADD `withdrawn_at` text;--> statement-breakpoint
ALTER TABLE `registry_requests` ADD `void_reason` text;--> statement-breakpoint
-- Countersignatures that completed a request before this table existed (later ones that added
-- nothing were not kept then).
INSERT OR IGNORE INTO `registry_countersignatures` (`record_id`, `request_record_id`, `signer_id`)
  SELECT `completed_record_id`, `request_record_id`, `completed_by` FROM `registry_requests`
  WHERE `completed_record_id` IS NOT NULL;