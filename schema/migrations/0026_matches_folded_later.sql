-- A match request stores the ids of the entries it was answered in its own row; they are folded
-- into submission_matches in batches of requests after the answers are sent, and by every reader
-- first (workers/api/store/match.ts). The partial index holds only the rows still pending.
ALTER TABLE `match_requests` ADD `unfolded_ids` text;--> statement-breakpoint
CREATE INDEX `match_requests_unfolded` ON `match_requests` (`at`) WHERE unfolded_ids IS NOT NULL;