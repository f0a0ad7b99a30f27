CREATE TABLE `log_checkpoints` (
	`tree_size` integer PRIMARY KEY NOT NULL,
	`root_hash` text NOT NULL,
	`timestamp` integer NOT NULL,
	`jws` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `log_leaves` (
	`idx` integer PRIMARY KEY NOT NULL,
	`leaf_hash` blob NOT NULL,
	`record_id` text NOT NULL,
	`kind` text NOT NULL,
	CONSTRAINT "log_leaves_hash_len" CHECK(length("log_leaves"."leaf_hash") = 32)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `log_leaves_record_id_unique` ON `log_leaves` (`record_id`);--> statement-breakpoint
CREATE TABLE `log_nodes` (
	`level` integer NOT NULL,
	`idx` integer NOT NULL,
	`hash` blob NOT NULL,
	PRIMARY KEY(`level`, `idx`),
	CONSTRAINT "log_nodes_level" CHECK("log_nodes"."level" >= 1),
	CONSTRAINT "log_nodes_hash_len" CHECK(length("log_nodes"."hash") = 32)
);
--> statement-breakpoint
CREATE TABLE `federation_entries` (
	`peer_id` text NOT NULL,
	`peer_index` integer NOT NULL,
	`leaf_hash` blob NOT NULL,
	`outcome` text NOT NULL,
	`record_id` text,
	`reason` text,
	`at` text NOT NULL,
	PRIMARY KEY(`peer_id`, `peer_index`)
);
--> statement-breakpoint
CREATE INDEX `federation_entries_record` ON `federation_entries` (`record_id`);--> statement-breakpoint
CREATE TABLE `federation_peers` (
	`peer_id` text PRIMARY KEY NOT NULL,
	`next_index` integer DEFAULT 0 NOT NULL,
	`frontier` text DEFAULT '[]' NOT NULL,
	`checkpoint_size` integer,
	`checkpoint_root` text,
	`checkpoint_jws` text,
	`status` text DEFAULT 'active' NOT NULL,
	`last_pull_at` text,
	`last_result` text
);
--> statement-breakpoint
CREATE TABLE `peer_checkpoints` (
	`peer_id` text NOT NULL,
	`tree_size` integer NOT NULL,
	`root_hash` text NOT NULL,
	`timestamp` integer NOT NULL,
	`jws` text NOT NULL,
	`received_at` text NOT NULL,
	PRIMARY KEY(`peer_id`, `tree_size`)
);
