// One encoding per signed content. A JWS is evidence: its bytes are stored, hashed into the log
// and named by a record id, so any freedom in how the same content can be written — a base64url
// character carrying stray padding bits, an ES256 signature with the other of its two valid S
// values, a JSON member present twice that different parsers resolve differently — would give
// one signed statement two ids, or two readings. Signers and the node share these rules: the node
// refuses what they refuse, and the client produces only what they accept.

const B64URL = /^[A-Za-z0-9_-]*$/;
const B64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * Decodes base64url without padding (RFC 7515 §2, RFC 4648 §5) only when `s` is the one
 * canonical encoding of its bytes: no `=` padding, no length that no byte string has, and the
 * unused low bits of the last character zero (RFC 4648 §3.5). Anything else: undefined.
 */
export function decodeB64urlStrict(s: string): Uint8Array | undefined {
  if (!B64URL.test(s) || s.length % 4 === 1) return undefined;
  // Canonical: the bits of the last character that encode no byte must be zero (RFC 4648 §3.5):
  // its low 4 bits when the last group has 2 characters, its low 2 bits when it has 3.
  if (s.length % 4 !== 0) {
    const last = B64URL_ALPHABET.indexOf(s[s.length - 1]!);
    if ((last & (s.length % 4 === 2 ? 0x0f : 0x03)) !== 0) return undefined;
  }
  let bin: string;
  try {
    bin = atob(s.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    return undefined;
  }
  // A plain loop: a signed record's payload can be hundreds of kilobytes, and
  // Uint8Array.from(string, fn) or re-encoding to compare cost tens of milliseconds there.
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/** base64url without padding. */
export function encodeB64url(bytes: Uint8Array): string {
  // String.fromCharCode over chunks: one call per 32 KiB instead of a string concatenation per byte.
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * The first member name that occurs twice in one object anywhere in `text` (compared after
 * unescaping, so `"iss"` and `"i\u0073s"` are the same name), or undefined. `text` must already
 * be valid JSON (JSON.parse succeeded): this only walks its tokens. RFC 7515 §4 and RFC 7519 §4
 * ask a JWS/JWT parser to reject duplicate member names or use a parser that keeps the last one;
 * the node rejects them, because a verifier that keeps the first would read another record from
 * the same signed bytes (RFC 8725 §2.8 warns of exactly such parser differentials).
 */
export function duplicateMember(text: string): string | undefined {
  // One frame per open container: the names seen (objects) or null (arrays), and whether the
  // next string in an object is a name. Character codes and indexOf rather than one-character
  // strings, and a name is unescaped by JSON.parse only when it holds a backslash: a batch of
  // 1,000 submissions has some 150,000 characters and 6,000 names to walk.
  const stack: { names: Set<string> | null; expectName: boolean }[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x7b /* { */) stack.push({ names: new Set(), expectName: true });
    else if (ch === 0x5b /* [ */) stack.push({ names: null, expectName: false });
    else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) stack.pop();
    else if (ch === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.names) top.expectName = true;
    } else if (ch === 0x3a /* : */) {
      const top = stack[stack.length - 1];
      if (top) top.expectName = false;
    } else if (ch === 0x22 /* " */) {
      // The closing quote is the first one preceded by an even number of backslashes.
      let end = text.indexOf('"', i + 1);
      for (;;) {
        if (end < 0) return undefined; // unterminated: not JSON, which callers have ruled out
        let k = end - 1;
        while (text.charCodeAt(k) === 0x5c /* \ */) k--;
        if ((end - 1 - k) % 2 === 0) break;
        end = text.indexOf('"', end + 1);
      }
      const top = stack[stack.length - 1];
      if (top?.names && top.expectName) {
        const raw = text.slice(i + 1, end);
        const name = raw.includes("\\") ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        if (top.names.has(name)) return name;
        top.names.add(name);
      }
      i = end;
    }
  }
  return undefined;
}

/**
 * Parses JSON text that must be an object with no member name twice at any depth. Returns the
 * object, or why not.
 */
export function parseJsonObjectStrict(
  text: string,
): { ok: true; value: Record<string, unknown> } | { ok: false; reason: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, reason: "not JSON" };
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    return { ok: false, reason: "not a JSON object" };
  const dup = duplicateMember(text);
  if (dup !== undefined) return { ok: false, reason: `member ${JSON.stringify(dup)} more than once` };
  return { ok: true, value: v as Record<string, unknown> };
}

/** The order n of the P-256 group (SEC 2 §2.4.2); an ES256 signature is r ‖ s (RFC 7518 §3.4). */
const P256_N = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
const HALF_N = P256_N >> 1n;

const toBigInt = (b: Uint8Array) => {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
};
const toBytes32 = (n: bigint) => {
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
};

/**
 * ECDSA signatures are malleable: if (r, s) verifies, so does (r, n − s). The network accepts
 * only the low one (s ≤ n/2, as BIP 62 does for secp256k1), so one signed content has one
 * signature. True for a 64-byte ES256 signature whose S is low.
 */
export function isLowS(signature: Uint8Array): boolean {
  return signature.length === 64 && toBigInt(signature.subarray(32)) <= HALF_N;
}

/**
 * A compact JWS with an ES256 signature brought to its low-S form (other algorithms and low-S
 * signatures unchanged). WebCrypto signs with either S at random; signers call this before
 * sending.
 */
export function lowSCompact(jws: string): string {
  const [h, p, s] = jws.split(".") as [string, string, string];
  let alg: unknown;
  try {
    alg = (JSON.parse(new TextDecoder().decode(decodeB64urlStrict(h))) as { alg?: unknown }).alg;
  } catch {
    return jws;
  }
  const sig = alg === "ES256" ? decodeB64urlStrict(s) : undefined;
  if (sig?.length !== 64 || isLowS(sig)) return jws;
  const low = new Uint8Array(64);
  low.set(sig.subarray(0, 32));
  low.set(toBytes32(P256_N - toBigInt(sig.subarray(32))), 32);
  return `${h}.${p}.${encodeB64url(low)}`;
}
