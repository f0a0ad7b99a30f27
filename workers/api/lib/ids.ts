// Ids derived from the signed bytes. Everything a record creates (the record row, a participant,
// a submission, an assessment, a decision, a feedback report) gets an id computed from the
// record's JWS, so every node that accepts the record — its origin and every replica — gives it
// the same id, and later records that name it (an assessment naming a submission, a write signed
// by a participant) mean the same thing everywhere, without trusting a relay for any mapping.
import { ID_PREFIXES, type IdKind, idChars, idTime } from "@eusn/protocol";

const encoder = new TextEncoder();

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
  return (await derivedIds(kind, w, [n]))[0]!;
}

/**
 * derivedId for each of `ns`, in order: the time part is the same for all of them (the record's
 * `iat`), so it is written once, and the digests run side by side (a batch of 1,000 submissions
 * is 1,000 of them).
 */
export async function derivedIds(
  kind: IdKind,
  w: { claims: { iat: number }; jwsSha256: string },
  ns: readonly number[],
): Promise<string[]> {
  const head = `${ID_PREFIXES[kind]}_${idTime(w.claims.iat * 1000)}`;
  const digests = await Promise.all(
    ns.map((n) => crypto.subtle.digest("SHA-256", encoder.encode(`eusn-id/v1|${kind}|${n}|${w.jwsSha256}`))),
  );
  return digests.map((d) => head + idChars(new Uint8Array(d)));
}
