-- Federation converges (docs/federation.md "Convergence"): replicated records that arrive before
-- what they depend on wait in federation_pending; every entry's state is re-derived from its
-- records in signed order, guarded by a per-entry version (and a registry version) in the batch.
CREATE TABLE `federation_pending` (
	`peer_id` text NOT NULL,
	`peer_index` integer NOT NULL,
	`jws` text NOT NULL,
	`waiting_for` text NOT NULL,
	`received_at` text NOT NULL,
	PRIMARY KEY(`peer_id`, `peer_index`)
);
--> statement-breakpoint
CREATE TABLE `batch_guard` (
	`ok` integer NOT NULL,
	CONSTRAINT "batch_guard_ok" CHECK("batch_guard"."ok" = 1)
);
--> statement-breakpoint
CREATE TABLE `state_versions` (
	`name` text PRIMARY KEY NOT NULL,
	`version` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE `federation_peers` ADD `pull_lease_until` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `decisions` ADD `effective` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `submissions` ADD `state_version` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
INSERT INTO `state_versions` (`name`, `version`) VALUES ('registry', 0);
--> statement-breakpoint
ALTER TABLE `records` ADD `origin_index` integer;--> statement-breakpoint
-- Records replicated from a peer: their index in the peer's log; this node's own: their leaf index.
UPDATE `records` SET `origin_index` = coalesce(
  (SELECT e.`peer_index` FROM `federation_entries` e WHERE e.`record_id` = `records`.`id`),
  (SELECT l.`idx` FROM `log_leaves` l WHERE l.`record_id` = `records`.`id`)
);
--> statement-breakpoint
-- A consumed peer entry stays as recorded, except that a held (`pending`) one is resolved once:
-- to `applied` or `skipped`, never back, and nothing else of the row changes.
DROP TRIGGER federation_entries_no_update;--> statement-breakpoint
CREATE TRIGGER federation_entries_no_update BEFORE UPDATE ON federation_entries
WHEN NOT (OLD.outcome = 'pending' AND NEW.outcome IN ('applied', 'skipped')
  AND NEW.peer_id = OLD.peer_id AND NEW.peer_index = OLD.peer_index AND NEW.leaf_hash = OLD.leaf_hash)
BEGIN
  SELECT RAISE(ABORT, 'federation_entries is append-only');
END;
