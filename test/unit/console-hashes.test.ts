// The console's paste box reads `eusn hash` output exactly as the command line does (by column,
// through @eusn/client's parseHashList): a quality, an MD5, a SHA-256 or a dihedral variant is
// never taken for another column, and a line it cannot read is an error naming the line.
import { describe, expect, it } from "vitest";
import { parseHashes } from "../../workers/console/web/hashes.ts";

const h = (c: string) => c.repeat(64);
const md5 = "0123456789abcdef0123456789abcdef";
const sha = "ab".repeat(32);
const variants = ["1", "2", "3", "4", "5", "6", "7"].map(h);

describe("console paste: eusn hash output", () => {
  it("plain (hash,quality,file), with or without the header", () => {
    for (const text of [`hash,quality,file\n${h("a")},90,x.jpg`, `${h("a")},90,x.jpg`]) {
      const r = parseHashes(text, "sha256");
      expect(r.errors).toEqual([]);
      expect(r.items).toEqual([
        { signalType: "pdq", value: h("a"), quality: 90, label: "x.jpg", ref: "x.jpg" },
      ]);
    }
  });

  it("--exact: the PDQ hash and its quality, never the MD5 or SHA-256 as a label or value", () => {
    const r = parseHashes(`${h("a")},88,${md5},${sha},x.jpg`, "sha256");
    expect(r.errors).toEqual([]);
    expect(r.items).toEqual([
      { signalType: "pdq", value: h("a"), quality: 88, label: "x.jpg", ref: "x.jpg" },
    ]);
  });

  it("--dihedral: the original with its quality, and the seven variants carried for matching", () => {
    const r = parseHashes(`${h("0")},${variants.join(",")},77,y.png`, "pdq");
    expect(r.errors).toEqual([]);
    expect(r.items).toEqual([
      { signalType: "pdq", value: h("0"), quality: 77, label: "y.png", ref: "y.png", dihedral: variants },
    ]);
  });

  it("--dihedral --exact and JSON Lines are read by column too", () => {
    const wide = parseHashes(`${h("0")},${variants.join(",")},66,${md5},${sha},z.png`, "pdq");
    expect(wide.items[0]).toMatchObject({ value: h("0"), quality: 66, label: "z.png", dihedral: variants });
    const jsonl = parseHashes(JSON.stringify({ hash: h("c"), quality: 95, file: "j.jpg" }), "pdq");
    expect(jsonl.errors).toEqual([]);
    expect(jsonl.items).toEqual([
      { signalType: "pdq", value: h("c"), quality: 95, label: "j.jpg", ref: "j.jpg" },
    ]);
  });

  it("upper case is folded and said, as on the command line", () => {
    const r = parseHashes(`${h("A")},90,u.jpg`, "pdq");
    expect(r.items[0]!.value).toBe(h("a"));
    expect(r.notes).toEqual(["line 1: upper-case hex folded to lower case"]);
  });

  it("a row it cannot read exactly is an error naming its line, and nothing is taken", () => {
    const r = parseHashes(`${h("a")},90,ok.jpg\n${h("b")},not-a-quality,bad.jpg`, "pdq");
    expect(r.items).toEqual([]);
    expect(r.errors.join("\n")).toMatch(/^line 2: /);
  });
});

describe("console paste: short hand-typed lines", () => {
  it("bare hex by length, hex with a quality, and explicit type prefixes", () => {
    const r = parseHashes(`${md5}\n${sha}\n${h("d")},70\nsha256:${h("e")}\npdq:${h("f")}`, "sha256");
    expect(r.errors).toEqual([]);
    expect(r.items.map((i) => [i.signalType, i.value, i.quality])).toEqual([
      ["md5", md5, undefined],
      ["sha256", sha, undefined],
      ["pdq", h("d"), 70],
      ["sha256", h("e"), undefined],
      ["pdq", h("f"), undefined],
    ]);
  });

  it("64 bare hex characters are a PDQ hash when matching", () => {
    expect(parseHashes(h("a"), "pdq").items[0]!.signalType).toBe("pdq");
  });

  it("a quality on an MD5, or something that is no hash, is an error naming the line", () => {
    expect(parseHashes(`${md5},50`, "pdq").errors).toEqual([
      "line 1: a quality (0–100) goes with PDQ hashes only",
    ]);
    expect(parseHashes("hello", "pdq").errors).toEqual(["line 1: not a hash"]);
  });
});
