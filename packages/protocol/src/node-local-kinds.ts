// The record kinds that stay on the node that accepted them, as a plain list (no zod): the client's
// log verifier needs it and builds no wire schemas (@eusn/protocol/plain).
import type { RecordKind } from "./schemas.ts";

/**
 * Record kinds that stay on the node that accepted them (migration signals, API credentials,
 * statements of reasons):
 * never served to peers nor replicated. The transparency log commits to them as withheld leaves
 * (`"eusn-withheld/v1|" ‖ kind ‖ SHA-256(JWS)`, @eusn/merkle `withheldLeaf`), so anyone can check
 * from the log alone that an entry served without its body really is one of these; every other
 * kind's leaf is its JWS bytes. Part of the log format: every node and verifier must agree.
 */
export const NODE_LOCAL_KINDS = [
  "signal.enckey.set",
  "signal.key.publish",
  "signal.key.grant",
  "signal.create",
  "signal.retract",
  "signal.reverse",
  "participant.apicred.set",
  "participant.apicred.revoke",
  "statement.create",
  "webhook.register",
  "webhook.remove",
] as const satisfies readonly RecordKind[];

export function isNodeLocalKind(kind: string): boolean {
  return (NODE_LOCAL_KINDS as readonly string[]).includes(kind);
}
