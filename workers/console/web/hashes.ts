// Parsing hashes pasted into the console. Output of `eusn hash` in any of its formats (a header,
// JSON, JSON Lines, or its headerless layouts: plain, --exact, --dihedral, both) is read by the
// reader the eusn command line uses (parseHashList of @eusn/client), by column, so a quality, an
// MD5 or a dihedral variant is never taken for something else. Short hand-typed lines — bare hex,
// `hex,quality`, or hex with an explicit `pdq:` / `md5:` / `sha256:` prefix — are read here, one
// type per line. Upper case is folded to lower case and the user is told so, as on the command
// line (foldHex).
import { foldHex, parseHashList } from "@eusn/client";

export type SignalType = "pdq" | "md5" | "sha256";

export type ParsedHash = {
  signalType: SignalType;
  value: string;
  quality?: number;
  label: string;
  /** The 7 other dihedral variants, when `eusn hash --dihedral` output was pasted (matching). */
  dihedral?: string[];
  /** The line's own label (its last column), when it had one: a platform's content reference. */
  ref?: string;
};

export type ParseResult = { items: ParsedHash[]; errors: string[]; notes: string[] };

/**
 * `bare64` says what 64 bare hex characters without a quality are: SHA-256 when submitting (a PDQ
 * submission must carry its quality), PDQ when matching.
 */
export function parseHashes(text: string, bare64: "pdq" | "sha256"): ParseResult {
  if (isHashList(text)) {
    const list = parseHashList(text, { type: "pdq" });
    if (!list.ok)
      return { items: [], errors: list.errors.map((e) => `line ${e.line}: ${e.message}`), notes: [] };
    return {
      items: list.rows.map((r) => ({
        signalType: "pdq",
        value: r.value,
        ...(r.quality !== undefined ? { quality: r.quality } : {}),
        label: r.label,
        // A row's file name, label or id column is the platform's own content reference.
        ...(/^line \d+$/.test(r.label) ? {} : { ref: r.label }),
        ...(r.dihedral ? { dihedral: r.dihedral } : {}),
      })),
      errors: [],
      notes: list.folded.map((line) => `line ${line}: upper-case hex folded to lower case`),
    };
  }
  return parseLines(text, bare64);
}

/**
 * Whether the text is `eusn hash` output rather than short hand-typed lines: JSON or JSON Lines,
 * a header line, or any line with three or more comma-separated fields (`hash,quality,file` and
 * every wider layout).
 */
function isHashList(text: string): boolean {
  const lines = text
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const first = lines[0] ?? "";
  if (first.startsWith("[") || first.startsWith("{")) return true;
  if (/^(hash|original|pdq|md5|sha256|value)\s*,/i.test(first)) return true;
  return lines.some((l) => l.split(",").length >= 3);
}

function parseLines(text: string, bare64: "pdq" | "sha256"): ParseResult {
  const items: ParsedHash[] = [];
  const errors: string[] = [];
  const notes: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const m = /^(?:(pdq|md5|sha256):)?([0-9a-fA-F]+)\s*(?:,\s*(\d{1,3}))?$/.exec(line);
    if (!m) {
      errors.push(`line ${i + 1}: not a hash`);
      return;
    }
    const [, prefix, hexRaw, q] = m;
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
      label: `pasted line ${i + 1}`,
    });
  });
  return { items, errors, notes };
}
