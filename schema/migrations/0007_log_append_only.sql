-- The transparency log is append-only in the database itself, not only by convention: a leaf,
-- a closed perfect subtree or a signed checkpoint, once written, can never change or go away
-- (packages/merkle README; docs/federation.md). The same holds for the evidence kept about
-- peers: their verified checkpoints and the fate of every peer entry consumed.
CREATE TRIGGER log_leaves_no_update BEFORE UPDATE ON log_leaves
BEGIN
  SELECT RAISE(ABORT, 'log_leaves is append-only');
END;
--> statement-breakpoint
CREATE TRIGGER log_leaves_no_delete BEFORE DELETE ON log_leaves
BEGIN
  SELECT RAISE(ABORT, 'log_leaves is append-only');
END;
--> statement-breakpoint
CREATE TRIGGER log_nodes_no_update BEFORE UPDATE ON log_nodes
BEGIN
  SELECT RAISE(ABORT, 'log_nodes is append-only');
END;
--> statement-breakpoint
CREATE TRIGGER log_nodes_no_delete BEFORE DELETE ON log_nodes
BEGIN
  SELECT RAISE(ABORT, 'log_nodes is append-only');
END;
--> statement-breakpoint
CREATE TRIGGER log_checkpoints_no_update BEFORE UPDATE ON log_checkpoints
BEGIN
  SELECT RAISE(ABORT, 'log_checkpoints is append-only');
END;
--> statement-breakpoint
CREATE TRIGGER log_checkpoints_no_delete BEFORE DELETE ON log_checkpoints
BEGIN
  SELECT RAISE(ABORT, 'log_checkpoints is append-only');
END;
--> statement-breakpoint
CREATE TRIGGER peer_checkpoints_no_update BEFORE UPDATE ON peer_checkpoints
BEGIN
  SELECT RAISE(ABORT, 'peer_checkpoints is append-only');
END;
--> statement-breakpoint
CREATE TRIGGER peer_checkpoints_no_delete BEFORE DELETE ON peer_checkpoints
BEGIN
  SELECT RAISE(ABORT, 'peer_checkpoints is append-only');
END;
--> statement-breakpoint
CREATE TRIGGER federation_entries_no_update BEFORE UPDATE ON federation_entries
BEGIN
  SELECT RAISE(ABORT, 'federation_entries is append-only');
END;
--> statement-breakpoint
CREATE TRIGGER federation_entries_no_delete BEFORE DELETE ON federation_entries
BEGIN
  SELECT RAISE(ABORT, 'federation_entries is append-only');
END;
