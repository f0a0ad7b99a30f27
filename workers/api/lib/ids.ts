// Ids derived from the signed bytes. Everything a record creates (the record row, a participant,
// a submission, an assessment, a decision, a feedback report) gets an id computed from the
// record's JWS, so every node that accepts the record — its origin and every replica — gives it
// the same id, and later records that name it (an assessment naming a submission, a write signed
// by a participant) mean the same thing everywhere, without trusting a relay for any mapping.
import { ID_PREFIXES, type IdKind, newId } from "@eusn/protocol";
import { sha256Hex } from "./encoding.ts";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/**
 * `prefix_` + 10 characters of time (the signed `iat`, so ids still sort roughly by creation) +
 * 16 characters from SHA-256("eusn-id/v1|<kind>|<n>|<hex SHA-256 of the JWS>"), the same shape
 * as newId(). `n` numbers the things of one kind a record creates (a batch of submissions).
 */
export async function derivedId(
  kind: IdKind,
  w: { claims: { iat: number }; jwsSha256: string },
  n = 0,
): Promise<string> {
  const digest = await sha256Hex(`eusn-id/v1|${kind}|${n}|${w.jwsSha256}`);
  let rand = "";
  for (let i = 0; i < 16; i++) rand += ALPHABET[Number.parseInt(digest.slice(2 * i, 2 * i + 2), 16) % 32];
  const timed = newId(kind, w.claims.iat * 1000);
  return `${timed.slice(0, ID_PREFIXES[kind].length + 11)}${rand}`;
}
