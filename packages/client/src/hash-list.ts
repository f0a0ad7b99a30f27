// Reading hash lists as `eusn hash` writes them, so that no value is ever taken from the wrong
// column: CSV with a header (values found by column name), the headerless CSV layouts the hasher
// prints (plain, --exact, --dihedral, both; told apart by their field count, each a different one),
// bare hex one per line, a JSON array (--format json) and JSON Lines (--format jsonl, or the node's
// jsonl export). A row that cannot be read exactly is an error naming its line, never a guess.
// Values are only located here; whether they are valid hex of the right length is the protocol
// schemas' rule (SubmissionItem, MatchItem), checked by the caller, so messages match the node's.
// Pure functions: the CLI and the web console share them.

/** The dihedral variant columns `eusn hash --dihedral` prints, in its order (as the PDQ reference). */
export const HASH_LIST_DIHEDRAL = [
  "original",
  "rotate90",
  "rotate180",
  "rotate270",
  "flipX",
  "flipY",
  "flipPlus1",
  "flipMinus1",
] as const;

export type HashListType = "pdq" | "md5" | "sha256";

export type HashListOptions = {
  /** Which kind of value to read from each row. */
  type: HashListType;
  /**
   * The column holding the value: a header name, or a 1-based field number for headerless input.
   * Without it the value is found by the names `eusn hash` writes (`hash`/`original` for PDQ,
   * `md5`, `sha256`) or by its headerless layout.
   */
  column?: string;
};

export type HashListRow = {
  /** 1-based line of the input the row starts on. */
  line: number;
  /** The file name when the row has one, else `line N`. */
  label: string;
  /** The value, lower-cased when it was hex with upper-case letters (see `folded`). */
  value: string;
  /** PDQ quality, when the row carries one. */
  quality?: number;
  /** The 7 other dihedral variants (rotate90 … flipMinus1), when the row carries them (PDQ only). */
  dihedral?: string[];
};

export type HashListProblem = { line: number; message: string };

export type HashListResult =
  | {
      ok: true;
      rows: HashListRow[];
      /** Lines whose hex had upper-case letters, folded to lower case (say so to the user). */
      folded: number[];
    }
  | { ok: false; errors: HashListProblem[] };

/**
 * The one rule for upper-case hex, shared by the CLI and the console: hex digits are
 * case-insensitive (RFC 4648 §8 defines base16 with upper case; hashers print either), the
 * network stores lower case, so a value made only of hex digits is folded to lower case and the
 * caller tells the user it did. Anything else is returned unchanged for the schemas to refuse.
 */
export function foldHex(value: string): { value: string; folded: boolean } {
  if (/^[0-9a-fA-F]+$/.test(value) && /[A-F]/.test(value))
    return { value: value.toLowerCase(), folded: true };
  return { value, folded: false };
}

/** Column names a header line may use; a first line made of names (and no hex) is a header. */
const KNOWN_COLUMNS = new Set<string>([
  "hash",
  "quality",
  "md5",
  "sha256",
  "pdq",
  "file",
  "value",
  "type",
  "id",
  "label",
  "width",
  "height",
  ...HASH_LIST_DIHEDRAL,
]);

/** The headerless CSV layouts of `eusn hash`, by field count (each count is a different layout). */
const LAYOUTS: Record<number, { name: string; columns: readonly string[] }> = {
  3: { name: "hash,quality,file", columns: ["hash", "quality", "file"] },
  5: {
    name: "hash,quality,md5,sha256,file (--exact)",
    columns: ["hash", "quality", "md5", "sha256", "file"],
  },
  10: {
    name: "8 dihedral hashes,quality,file (--dihedral)",
    columns: [...HASH_LIST_DIHEDRAL, "quality", "file"],
  },
  12: {
    name: "8 dihedral hashes,quality,md5,sha256,file (--dihedral --exact)",
    columns: [...HASH_LIST_DIHEDRAL, "quality", "md5", "sha256", "file"],
  },
};

const HINT: Record<HashListType, string> = {
  pdq: "hash images with `eusn hash`",
  md5: "hash the files with `eusn hash --exact`, which adds the md5 and sha256 columns",
  sha256: "hash the files with `eusn hash --exact`, which adds the md5 and sha256 columns",
};

/** Reads a hash list. See the module note for the formats. */
export function parseHashList(text: string, opts: HashListOptions): HashListResult {
  const body = text.replace(/^\uFEFF/, "");
  const first = body.trimStart()[0];
  const reader = new Reader(opts);
  if (first === "[") reader.jsonArray(body);
  else if (first === "{") reader.jsonLines(body);
  else reader.csv(body);
  return reader.result();
}

type Record_ = { line: number; fields: string[] };

class Reader {
  private readonly rows: HashListRow[] = [];
  private readonly errors: HashListProblem[] = [];
  private readonly folded: number[] = [];

  constructor(private readonly opts: HashListOptions) {}

  result(): HashListResult {
    if (this.errors.length > 0) return { ok: false, errors: this.errors };
    return { ok: true, rows: this.rows, folded: this.folded };
  }

  private fail(line: number, message: string): void {
    this.errors.push({ line, message });
  }

  private add(
    line: number,
    label: string | undefined,
    raw: string,
    extra: Omit<Partial<HashListRow>, "line">,
  ) {
    const v = foldHex(raw.trim());
    let folded = v.folded;
    const dihedral = extra.dihedral?.map((d) => {
      const f = foldHex(d.trim());
      folded ||= f.folded;
      return f.value;
    });
    if (folded) this.folded.push(line);
    this.rows.push({
      line,
      label: label && label.length > 0 ? label : `line ${line}`,
      value: v.value,
      ...(extra.quality !== undefined ? { quality: extra.quality } : {}),
      ...(dihedral ? { dihedral } : {}),
    });
  }

  // ---- CSV ------------------------------------------------------------------------------------

  csv(text: string): void {
    const records = csvRecords(text, (line, message) => this.fail(line, message));
    if (records.length === 0) return;
    const head = records[0]!;
    if (isHeader(head.fields)) {
      const header = head.fields.map((f) => f.trim());
      const cols = this.columnsFromHeader(header, head.line);
      if (!cols) return;
      for (const r of records.slice(1)) {
        if (r.fields.length === header.length && r.fields.every((f, i) => f.trim() === header[i])) continue;
        if (r.fields.length !== header.length) {
          this.fail(
            r.line,
            `${r.fields.length} field(s), but the header on line ${head.line} names ${header.length}`,
          );
          continue;
        }
        this.fromColumns(r, cols);
      }
      return;
    }
    for (const r of records) this.headerless(r);
  }

  /** Which field holds what, from a header line; undefined (with an error) when the value has no column. */
  private columnsFromHeader(header: string[], line: number): Columns | undefined {
    const at = (name: string) => {
      const i = header.indexOf(name);
      return i < 0 ? undefined : i;
    };
    const { type, column } = this.opts;
    let value: number | undefined;
    let typeCol: number | undefined;
    if (column !== undefined) {
      value = /^[1-9][0-9]*$/.test(column) ? Number(column) - 1 : at(column);
      if (value === undefined || value >= header.length) {
        this.fail(line, `no column ${column} in the header (${header.join(", ")})`);
        return undefined;
      }
    } else {
      value = type === "pdq" ? (at("hash") ?? at("original") ?? at("pdq")) : at(type);
      if (value === undefined && at("value") !== undefined && at("type") !== undefined) {
        // The node's export (`type,value,id`): each row says its own type.
        value = at("value");
        typeCol = at("type");
      }
      if (value === undefined) {
        this.fail(
          line,
          `the header (${header.join(", ")}) has no ${type === "pdq" ? "hash" : type} column: ${HINT[type]}, or name the column with --column`,
        );
        return undefined;
      }
    }
    const variants = HASH_LIST_DIHEDRAL.map((n) => at(n));
    const dihedral =
      type === "pdq" && header[value] === "original" && variants.every((i) => i !== undefined)
        ? (variants.slice(1) as number[])
        : undefined;
    return {
      value,
      quality: at("quality"),
      label: at("file") ?? at("label") ?? at("id"),
      ...(typeCol !== undefined ? { type: typeCol } : {}),
      ...(dihedral ? { dihedral } : {}),
    };
  }

  private fromColumns(r: Record_, cols: Columns): void {
    const f = (i: number | undefined) => (i === undefined ? undefined : r.fields[i]);
    if (cols.type !== undefined) {
      const t = f(cols.type)!.trim();
      if (t !== this.opts.type) {
        this.fail(r.line, `a ${t || "typeless"} row; this run reads ${this.opts.type} values (--type)`);
        return;
      }
    }
    const quality = this.quality(r.line, f(cols.quality));
    if (quality === null) return;
    this.add(r.line, f(cols.label), f(cols.value)!, {
      ...(quality !== undefined ? { quality } : {}),
      ...(cols.dihedral ? { dihedral: cols.dihedral.map((i) => r.fields[i]!) } : {}),
    });
  }

  private headerless(r: Record_): void {
    const { type, column } = this.opts;
    const n = r.fields.length;
    if (column !== undefined) {
      if (!/^[1-9][0-9]*$/.test(column)) {
        this.fail(r.line, `--column ${column} names a column, but the input has no header line`);
        return;
      }
      const i = Number(column) - 1;
      if (i >= n) {
        this.fail(r.line, `--column ${column}, but the row has ${n} field(s)`);
        return;
      }
      this.add(r.line, undefined, r.fields[i]!, {});
      return;
    }
    if (n === 1) {
      this.add(r.line, undefined, r.fields[0]!, {});
      return;
    }
    const layout = LAYOUTS[n];
    if (!layout) {
      this.fail(
        r.line,
        `${n} fields is not a layout \`eusn hash\` writes (hash,quality,file; with --exact, --dihedral or both), nor one bare value: add a header line naming the columns, or pick one with --column`,
      );
      return;
    }
    const cols = layout.columns;
    const name = type === "pdq" ? (cols.includes("hash") ? "hash" : "original") : type;
    const value = cols.indexOf(name);
    if (value < 0) {
      this.fail(
        r.line,
        `a ${layout.name} row has no ${type} value: ${HINT[type]}, or pick one with --column`,
      );
      return;
    }
    this.fromColumns(r, {
      value,
      quality: cols.indexOf("quality"),
      label: cols.indexOf("file"),
      ...(type === "pdq" && name === "original"
        ? { dihedral: HASH_LIST_DIHEDRAL.slice(1).map((d) => cols.indexOf(d)) }
        : {}),
    });
  }

  /** A quality field: a whole number, or absent; null (with an error) for anything else. */
  private quality(line: number, raw: string | undefined): number | undefined | null {
    if (raw === undefined) return undefined;
    const q = raw.trim();
    if (!/^[0-9]{1,3}$/.test(q)) {
      this.fail(line, `quality ${JSON.stringify(q)} is not a whole number 0–100`);
      return null;
    }
    return Number(q);
  }

  // ---- JSON -----------------------------------------------------------------------------------

  /** `eusn hash --format json`: an array with one object per line (so each has a line number). */
  jsonArray(text: string): void {
    const lines = text.split(/\r?\n/);
    const objects: { line: number; value: unknown }[] = [];
    let perLine = true;
    lines.forEach((raw, i) => {
      const l = raw.trim().replace(/,$/, "");
      if (l === "" || l === "[" || l === "]" || l === "[]") return;
      const s = l.replace(/^\[/, "").replace(/\]$/, "").trim();
      try {
        objects.push({ line: i + 1, value: JSON.parse(s) });
      } catch {
        perLine = false;
      }
    });
    if (!perLine) {
      // Not one object per line: parse the whole array; items are named by their position.
      let all: unknown;
      try {
        all = JSON.parse(text);
      } catch (e) {
        this.fail(1, `not valid JSON: ${(e as Error).message}`);
        return;
      }
      if (!Array.isArray(all)) {
        this.fail(1, "a JSON list of hashes is an array of objects");
        return;
      }
      objects.length = 0;
      for (const [i, value] of all.entries()) objects.push({ line: i + 1, value });
    }
    for (const o of objects) this.jsonObject(o.line, o.value);
  }

  /** JSON Lines: `eusn hash --format jsonl`, or the node's jsonl export. */
  jsonLines(text: string): void {
    text.split(/\r?\n/).forEach((raw, i) => {
      const l = raw.trim();
      if (l === "") return;
      let value: unknown;
      try {
        value = JSON.parse(l);
      } catch (e) {
        this.fail(i + 1, `not a JSON object: ${(e as Error).message}`);
        return;
      }
      this.jsonObject(i + 1, value);
    });
  }

  private jsonObject(line: number, o: unknown): void {
    if (typeof o !== "object" || o === null || Array.isArray(o)) {
      this.fail(line, "not a JSON object");
      return;
    }
    const obj = o as Record<string, unknown>;
    const { type, column } = this.opts;
    const label = typeof obj.file === "string" ? obj.file : typeof obj.id === "string" ? obj.id : undefined;
    const dihedralObj =
      typeof obj.dihedral === "object" && obj.dihedral !== null
        ? (obj.dihedral as Record<string, unknown>)
        : undefined;
    let raw: unknown;
    let key: string;
    if (column !== undefined) {
      key = column;
      raw = obj[column];
    } else if (typeof obj.type === "string" && "value" in obj && !("hash" in obj)) {
      // The node's jsonl export: {type, value, id, quality, …}.
      if (obj.type !== type) {
        this.fail(line, `a ${obj.type} entry; this run reads ${type} values (--type)`);
        return;
      }
      key = "value";
      raw = obj.value;
    } else {
      key = type === "pdq" ? "hash" : type;
      raw = obj[key];
      if (raw === undefined && type === "pdq" && dihedralObj) raw = dihedralObj.original;
    }
    if (typeof raw !== "string") {
      this.fail(
        line,
        raw === undefined
          ? `no ${key} member: ${HINT[type]}, or name the member with --column`
          : `${key} is not a string`,
      );
      return;
    }
    let quality: number | undefined;
    if (obj.quality !== undefined && obj.quality !== null) {
      if (typeof obj.quality !== "number" || !Number.isInteger(obj.quality)) {
        this.fail(line, "quality is not a whole number");
        return;
      }
      quality = obj.quality;
    }
    let dihedral: string[] | undefined;
    if (type === "pdq" && column === undefined && dihedralObj) {
      const vs = HASH_LIST_DIHEDRAL.map((n) => dihedralObj[n]);
      if (!vs.every((v) => typeof v === "string")) {
        this.fail(line, `dihedral must have the 8 variants ${HASH_LIST_DIHEDRAL.join(", ")} as strings`);
        return;
      }
      if (vs[0] !== raw) {
        this.fail(line, "dihedral.original differs from hash");
        return;
      }
      dihedral = (vs as string[]).slice(1);
    }
    this.add(line, label, raw, {
      ...(quality !== undefined ? { quality } : {}),
      ...(dihedral ? { dihedral } : {}),
    });
  }
}

type Columns = {
  value: number;
  quality: number | undefined;
  label: number | undefined;
  type?: number;
  dihedral?: number[];
};

/** A first line is a header when it names at least one known column and holds no hex value. */
function isHeader(fields: string[]): boolean {
  const names = fields.map((f) => f.trim());
  return (
    names.some((n) => KNOWN_COLUMNS.has(n)) &&
    !names.some((n) => /^[0-9a-fA-F]{32}([0-9a-fA-F]{32})?$/.test(n))
  );
}

/**
 * RFC 4180 records with the line each starts on: fields split at commas, a field in double quotes
 * may hold commas, quotes (doubled) and line breaks (`eusn hash` quotes such file names). Blank
 * lines and lines starting with `#` are skipped.
 */
function csvRecords(text: string, fail: (line: number, message: string) => void): Record_[] {
  const out: Record_[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const start = line;
    // Skip blank and comment lines.
    const eol = text.indexOf("\n", i);
    const rawLine = text.slice(i, eol < 0 ? n : eol).replace(/\r$/, "");
    if (rawLine.trim() === "" || rawLine.trimStart().startsWith("#")) {
      i = eol < 0 ? n : eol + 1;
      line++;
      continue;
    }
    const fields: string[] = [];
    let field = "";
    let quoted = false;
    let ok = true;
    for (;;) {
      if (i >= n) {
        if (quoted) {
          fail(start, "a quoted field is not closed");
          ok = false;
        }
        fields.push(field);
        break;
      }
      const ch = text[i]!;
      if (quoted) {
        if (ch === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
          } else {
            quoted = false;
            i++;
          }
        } else {
          if (ch === "\n") line++;
          field += ch;
          i++;
        }
        continue;
      }
      if (ch === '"' && field.trim() === "") {
        quoted = true;
        field = "";
        i++;
      } else if (ch === ",") {
        fields.push(field);
        field = "";
        i++;
      } else if (ch === "\n" || (ch === "\r" && text[i + 1] === "\n")) {
        fields.push(field);
        i += ch === "\r" ? 2 : 1;
        line++;
        break;
      } else {
        field += ch;
        i++;
      }
    }
    if (ok) out.push({ line: start, fields });
  }
  return out;
}
