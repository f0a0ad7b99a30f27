// Byte helpers with no platform dependency (no Buffer, no node:*), so the package runs unchanged
// in a Worker, in Node and in a browser.

/** Lowercase hex, the encoding EUSN uses for every hash on the wire (as `jwsSha256` does). */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/**
 * Decodes lowercase hex. Returns `undefined` for anything else (odd length, upper case, other
 * characters): one hash has exactly one accepted spelling, so signed payloads stay canonical.
 */
export function fromHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Byte equality. Not constant-time on purpose: everything compared here (tree hashes, proofs,
 * checkpoints) is public, so there is no secret for a timing side channel to leak.
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
