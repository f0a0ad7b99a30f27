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

/** The 10 characters of millisecond time an id starts with after its prefix. */
export function idTime(ms: number): string {
  let time = "";
  let t = ms;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return time;
}

/** 16 characters for an id's unique part: each of the first 16 bytes modulo 32, in base32. */
export function idChars(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < 16; i++) s += ALPHABET[bytes[i]! % 32];
  return s;
}

/** A new id: prefix, 10 chars of millisecond time, 16 chars (80 bits) of randomness. */
export function newId(kind: IdKind, now: number = Date.now()): string {
  return `${ID_PREFIXES[kind]}_${idTime(now)}${idChars(crypto.getRandomValues(new Uint8Array(16)))}`;
}

/** Shape check for an id of the given kind (used in zod schemas and route params). */
export function idPattern(kind: IdKind): RegExp {
  return new RegExp(`^${ID_PREFIXES[kind]}_[0-9a-z]{1,40}$`);
}
