-- Lookups by fingerprint through a two-level key table instead of an index of `submissions` keyed
-- by the hash. Hash values arrive in random order, so that index took a page write per row an
-- ingest batch added, wherever the row landed in its tree: at a million entries ~1,000 pages for
-- a batch of 1,000, most of the batch's database time. A new entry's key now goes into level 1, a
-- small part of the tree; level 1 is merged into level 0 in large sorted batches
-- (workers/api/store/fingerprint-keys.ts). WITHOUT ROWID: the key is the table's only tree.
CREATE TABLE `fingerprint_keys` (
	`level` integer NOT NULL,
	`key` text NOT NULL,
	`match_key` integer NOT NULL,
	PRIMARY KEY(`level`, `key`, `match_key`)
) WITHOUT ROWID;
--> statement-breakpoint
-- Every entry that has a match key, merged (level 0), in key order.
INSERT INTO `fingerprint_keys` (`level`, `key`, `match_key`)
  SELECT 0, substr(`fingerprint`, 1, 16), `match_key` FROM `submissions`
  WHERE `match_key` IS NOT NULL ORDER BY 2, 3;
--> statement-breakpoint
-- The match key is given when the entry's `created` change is written (migration 0009); its
-- fingerprint key goes in with it, once: only for an entry that had no match key yet.
DROP TRIGGER `submissions_match_key`;
--> statement-breakpoint
CREATE TRIGGER `submissions_match_key` AFTER INSERT ON `submission_changes`
WHEN NEW.change = 'created'
BEGIN
  INSERT INTO fingerprint_keys (level, key, match_key)
    SELECT 1, substr(fingerprint, 1, 16), NEW.seq FROM submissions
    WHERE id = NEW.submission_id AND match_key IS NULL;
  UPDATE submissions SET match_key = NEW.seq WHERE id = NEW.submission_id AND match_key IS NULL;
END;
--> statement-breakpoint
-- The rule this index held, one live submission per authority per fingerprint, is kept by the
-- insert itself (workers/api/apply/submissions.ts): it adds a row only where no live one of the
-- same authority and fingerprint exists, and a batch that would skip one fails whole.
DROP INDEX `submissions_fingerprint_live`;
