// Record identifiers: a type prefix and a time-ordered random part (`par_01JD…`), so ids say what
// they name and sort roughly by creation time.

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

export const ID_PREFIXES = {
  participant: "par",
  record: "rec",
  submission: "hsh",
  assessment: "asm",
  decision: "dec",
  feedback: "fbk",
  signal: "sig",
  reversal: "rev",
  statement: "stm",
  review: "rvw",
  webhook: "whk",
  delivery: "dlv",
  casefile: "evd",
  upload: "upl",
  incident: "inc",
} as const;
export type IdKind = keyof typeof ID_PREFIXES;

/** A new id: prefix, 10 chars of millisecond time, 16 chars (80 bits) of randomness. */
export function newId(kind: IdKind, now: number = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let rand = "";
  for (const b of bytes) rand += ALPHABET[b % 32];
  return `${ID_PREFIXES[kind]}_${time}${rand}`;
}

/** Shape check for an id of the given kind (used in zod schemas and route params). */
export function idPattern(kind: IdKind): RegExp {
  return new RegExp(`^${ID_PREFIXES[kind]}_[0-9a-z]{1,40}$`);
}
