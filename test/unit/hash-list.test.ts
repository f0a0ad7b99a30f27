// The shared hash-list reader (@eusn/client parseHashList), in Node without a node: what it
// takes from which column, the formats `eusn hash` writes, and the rows it must refuse rather
// than guess. The pipes through the real CLI and node are in cli-pipes.test.ts.
import { foldHex, HASH_LIST_DIHEDRAL, parseHashList } from "@eusn/client";
import { DIHEDRAL_NAMES } from "@eusn/pdq";
import { describe, expect, it } from "vitest";

const P = (c: string) => c.repeat(64);
const M = "0123456789abcdef".repeat(2);
const S = "fedcba9876543210".repeat(4);

describe("parseHashList", () => {
  it("names the dihedral columns exactly as @eusn/pdq (and so eusn hash) does", () => {
    expect([...HASH_LIST_DIHEDRAL]).toEqual([...DIHEDRAL_NAMES]);
  });

  it("reads each headerless layout of eusn hash by its field count", () => {
    const variants = ["1", "2", "3", "4", "5", "6", "7", "8"].map(P);
    const text = [
      `${P("a")},90,plain.png`,
      `${P("b")},80,${M},${S},exact.png`,
      `${variants.join(",")},70,dihedral.png`,
      `${variants.join(",")},60,${M},${S},both.png`,
    ].join("\n");
    const pdq = parseHashList(text, { type: "pdq" });
    expect(pdq).toEqual({
      ok: true,
      folded: [],
      rows: [
        { line: 1, label: "plain.png", value: P("a"), quality: 90 },
        { line: 2, label: "exact.png", value: P("b"), quality: 80 },
        { line: 3, label: "dihedral.png", value: P("1"), quality: 70, dihedral: variants.slice(1) },
        { line: 4, label: "both.png", value: P("1"), quality: 60, dihedral: variants.slice(1) },
      ],
    });
    const md5 = parseHashList(text, { type: "md5" });
    expect(md5.ok).toBe(false);
    if (!md5.ok) expect(md5.errors.map((e) => e.line)).toEqual([1, 3]);
    const exactOnly = parseHashList(`${P("b")},80,${M},${S},exact.png`, { type: "sha256" });
    expect(exactOnly.ok && exactOnly.rows[0]!.value).toBe(S);
  });

  it("reads by header name, in any column order, and skips a repeated header", () => {
    const text = `file,sha256,quality,hash\nx.png,${S},77,${P("c")}\nfile,sha256,quality,hash\n`;
    expect(parseHashList(text, { type: "pdq" })).toMatchObject({
      ok: true,
      rows: [{ line: 2, value: P("c"), quality: 77, label: "x.png" }],
    });
    expect(parseHashList(text, { type: "sha256" })).toMatchObject({ ok: true, rows: [{ value: S }] });
    expect(parseHashList(text, { type: "pdq", column: "sha256" })).toMatchObject({
      ok: true,
      rows: [{ value: S }],
    });
    expect(parseHashList(text, { type: "md5" })).toMatchObject({ ok: false, errors: [{ line: 1 }] });
  });

  it("keeps quoted file names with commas, quotes and line breaks whole (RFC 4180), with CRLF and a BOM", () => {
    const text = `\uFEFF${P("d")},90,"a, ""b""\nc.png"\r\n${P("e")},91,plain.png\r\n`;
    expect(parseHashList(text, { type: "pdq" })).toMatchObject({
      ok: true,
      rows: [
        { line: 1, label: 'a, "b"\nc.png', value: P("d") },
        { line: 3, label: "plain.png", value: P("e") },
      ],
    });
  });

  it("reads the JSON array and JSON Lines of eusn hash, and the node's export", () => {
    const obj = { file: "j.png", hash: P("f"), quality: 88, width: 1, height: 1, md5: M, sha256: S };
    const array = `[\n  ${JSON.stringify(obj)},\n  ${JSON.stringify({ ...obj, file: "k.png" })}\n]\n`;
    expect(parseHashList(array, { type: "pdq" })).toMatchObject({
      ok: true,
      rows: [
        { line: 2, label: "j.png", value: P("f"), quality: 88 },
        { line: 3, label: "k.png" },
      ],
    });
    expect(parseHashList(JSON.stringify([obj]), { type: "md5" })).toMatchObject({
      ok: true,
      rows: [{ value: M }],
    });
    expect(parseHashList(`${JSON.stringify(obj)}\n`, { type: "sha256" })).toMatchObject({
      ok: true,
      rows: [{ value: S }],
    });
    const exported = `{"type":"md5","value":"${M}","id":"hsh_1","quality":null}\n`;
    expect(parseHashList(exported, { type: "md5" })).toMatchObject({
      ok: true,
      rows: [{ value: M, label: "hsh_1" }],
    });
    expect(parseHashList(exported, { type: "pdq" })).toMatchObject({ ok: false, errors: [{ line: 1 }] });
    expect(parseHashList(`type,value,id\nsha256,${S},hsh_2\n`, { type: "sha256" })).toMatchObject({
      ok: true,
      rows: [{ value: S, label: "hsh_2" }],
    });
  });

  it("refuses what it cannot read exactly, naming the line", () => {
    const cases: [string, RegExp][] = [
      [`${P("a")},90`, /2 fields is not a layout/],
      [`${P("a")},x,f.png`, /quality "x" is not a whole number/],
      [`hash,quality\n${P("a")},90,extra`, /3 field\(s\), but the header on line 2 names 2/],
      [`{"file":"x"}`, /no hash member/],
      [`{not json`, /not a JSON object/],
      [`${P("a")},90,"open`, /quoted field is not closed/],
    ];
    for (const [text, message] of cases) {
      const r = parseHashList(`\n${text}`, { type: "pdq" });
      expect(r.ok, text).toBe(false);
      if (!r.ok) {
        expect(r.errors[0]!.message, text).toMatch(message);
        expect(r.errors[0]!.line, text).toBeGreaterThanOrEqual(2);
      }
    }
  });

  it("folds upper-case hex and reports the lines; leaves anything else for the schemas", () => {
    expect(foldHex("ABCdef01")).toEqual({ value: "abcdef01", folded: true });
    expect(foldHex("abc")).toEqual({ value: "abc", folded: false });
    expect(foldHex("XYZ")).toEqual({ value: "XYZ", folded: false });
    const r = parseHashList(`${M.toUpperCase()}\n${M}\n`, { type: "md5" });
    expect(r).toEqual({
      ok: true,
      folded: [1],
      rows: [
        { line: 1, label: "line 1", value: M },
        { line: 2, label: "line 2", value: M },
      ],
    });
  });
});
