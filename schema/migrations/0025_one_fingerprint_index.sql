-- One index of an entry's hash instead of three. Hash values arrive in random order, so every
-- index keyed by one costs a page write per row a batch adds (about 1,000 pages for a batch of
-- 1,000 at a million entries). The new unique index serves every lookup by fingerprint (all
-- statuses), the console's search by hash prefix (a range per signal type) and the idempotency
-- rule: its third key is 1 for a live row and NULL otherwise, and NULLs never collide in a
-- unique index, so only two live submissions of one authority and fingerprint do.
CREATE UNIQUE INDEX `submissions_fingerprint_live` ON `submissions` (`fingerprint`,`submitter_id`,(CASE WHEN status = 'live' THEN 1 END));--> statement-breakpoint
DROP INDEX `submissions_live_by_submitter`;--> statement-breakpoint
DROP INDEX `submissions_fingerprint`;--> statement-breakpoint
DROP INDEX `submissions_value`;
