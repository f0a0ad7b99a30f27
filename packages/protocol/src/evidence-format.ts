// The case-file format (docs/evidence.md) without its wire schemas: how content keys are wrapped,
// the chunked ciphertext's layout and the size limits, so the client encrypts and decrypts case
// files without building the schemas (@eusn/protocol/plain). The records are in evidence.ts.

// ---- cryptography ----------------------------------------------------------------------------

/** Content keys are wrapped as JWE (RFC 7516) with ECDH-ES+A256KW (RFC 7518 §4.6) and A256GCM. */
export const EVIDENCE_WRAP_ALG = "ECDH-ES+A256KW" as const;
export const EVIDENCE_WRAP_ENC = "A256GCM" as const;
/** `typ` of the JWE protected header, so a wrapped selector key cannot pass for a content key. */
export const EVIDENCE_WRAP_TYP = "eusn-content-key" as const;

/**
 * The ciphertext format, "EUSNCF01": a 24-byte header (8-byte magic, chunk size as u32 big-endian,
 * 12 random bytes: a 7-byte nonce prefix and 5 reserved zero bytes), then the plaintext in chunks
 * of `chunkSize` bytes, each sealed with AES-256-GCM under the content key with the nonce
 * prefix ‖ chunk counter (u32 BE) ‖ last-chunk flag (1 byte) and the header as additional data:
 * the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár, CRYPTO 2015), so chunks cannot be
 * reordered, dropped or truncated unnoticed and a large video never has to be in memory whole.
 * The plaintext is an envelope: u32 BE length of a JSON header (media type, file name, context),
 * the header, then the file's bytes.
 */
export const EVIDENCE_MAGIC = "EUSNCF01" as const;
export const EVIDENCE_HEADER_BYTES = 24;
export const EVIDENCE_TAG_BYTES = 16;
/** Plaintext bytes per encrypted chunk. */
export const EVIDENCE_CHUNK_BYTES = 1024 * 1024;
/** Most bytes of the envelope's JSON header (context, file name, media type). */
export const EVIDENCE_CONTEXT_MAX_BYTES = 64 * 1024;

/** The largest media file per class (bytes of the image or video itself). */
export const EVIDENCE_MEDIA_LIMITS = { image: 25_000_000, video: 500_000_000 } as const;
export const EVIDENCE_MEDIA_CLASSES = ["image", "video"] as const;
export type EvidenceMediaClass = (typeof EVIDENCE_MEDIA_CLASSES)[number];

/** The ciphertext size of a plaintext of `plain` bytes (header + chunks + one tag per chunk). */
export function ciphertextSize(plain: number, chunk = EVIDENCE_CHUNK_BYTES): number {
  const chunks = Math.max(1, Math.ceil(plain / chunk));
  return EVIDENCE_HEADER_BYTES + plain + chunks * EVIDENCE_TAG_BYTES;
}

/** The largest ciphertext of a class: its media limit plus the envelope and encryption overhead. */
export function ciphertextLimit(mediaClass: EvidenceMediaClass): number {
  return ciphertextSize(EVIDENCE_MEDIA_LIMITS[mediaClass] + 4 + EVIDENCE_CONTEXT_MAX_BYTES);
}

/** Upload part size (R2 multipart needs every part but the last to be the same size, ≥ 5 MiB). */
export const EVIDENCE_PART_BYTES = 8 * 1024 * 1024;

/** Protocol cap on retention after an entry's last decision; a node may only keep case files less. */
export const EVIDENCE_MAX_RETENTION_DAYS = 183;
