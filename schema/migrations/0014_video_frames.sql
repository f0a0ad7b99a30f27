CREATE TABLE `submission_videos` (
	`submission_id` text PRIMARY KEY NOT NULL,
	`frame_count` integer NOT NULL,
	`duration_seconds` real NOT NULL,
	`frames` blob NOT NULL
);
