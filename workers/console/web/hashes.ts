// Parsing hashes pasted into the console: `eusn hash` CSV lines (`hash,quality,file`), bare hex,
// or hex with an explicit `pdq:` / `md5:` / `sha256:` prefix. Upper case is folded to lower case
// and the user is told so: the same rule as the eusn command line (foldHex of @eusn/client).
import { foldHex } from "@eusn/client";

export type SignalType = "pdq" | "md5" | "sha256";

export type ParsedHash = { signalType: SignalType; value: string; quality?: number; label: string };

export type ParseResult = { items: ParsedHash[]; errors: string[]; notes: string[] };

/**
 * `bare64` says what 64 bare hex characters without a quality are: SHA-256 when submitting (a PDQ
 * submission must carry its quality), PDQ when matching.
 */
export function parseHashes(text: string, bare64: "pdq" | "sha256"): ParseResult {
  const items: ParsedHash[] = [];
  const errors: string[] = [];
  const notes: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#") || /^hash\s*,/i.test(line)) return;
    const m = /^(?:(pdq|md5|sha256):)?([0-9a-fA-F]+)\s*(?:,\s*(\d{1,3}))?\s*(?:,\s*(.*))?$/.exec(line);
    if (!m) {
      errors.push(`line ${i + 1}: not a hash`);
      return;
    }
    const [, prefix, hexRaw, q, label] = m;
    const folded = foldHex(hexRaw!);
    const value = folded.value;
    if (folded.folded) notes.push(`line ${i + 1}: upper-case hex folded to lower case`);
    const quality = q === undefined ? undefined : Number(q);
    let type: SignalType | undefined = prefix as SignalType | undefined;
    if (!type) {
      if (value.length === 32) type = "md5";
      else if (value.length === 64) type = quality !== undefined ? "pdq" : bare64;
    }
    const want = { pdq: 64, md5: 32, sha256: 64 } as const;
    if (!type || value.length !== want[type]) {
      errors.push(`line ${i + 1}: ${value.length} hex characters is not a PDQ, MD5 or SHA-256 value`);
      return;
    }
    if (quality !== undefined && (type !== "pdq" || quality > 100)) {
      errors.push(`line ${i + 1}: a quality (0–100) goes with PDQ hashes only`);
      return;
    }
    items.push({
      signalType: type,
      value,
      ...(quality !== undefined ? { quality } : {}),
      label: label?.trim() || `pasted line ${i + 1}`,
    });
  });
  return { items, errors, notes };
}
