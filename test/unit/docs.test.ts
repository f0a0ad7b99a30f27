// The docs say what the code says: the error-code table of docs/api.md is the protocol's closed
// table of problem codes (code, status and title), and docs/running.md lists every policy var
// the configuration schema parses. Each test fails as soon as the two sides differ.
import { readFileSync } from "node:fs";
import path from "node:path";
import { PROBLEMS } from "@eusn/protocol";
import { describe, expect, it } from "vitest";
import { VarsSchema } from "../../workers/api/config.ts";

const root = path.join(import.meta.dirname, "../..");
const read = (file: string) => readFileSync(path.join(root, file), "utf8");

/** The rows of the first markdown table under `## heading`, as arrays of trimmed cells. */
function tableUnder(markdown: string, heading: string): string[][] {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`no "## ${heading}" section`);
  const end = markdown.indexOf("\n## ", start + 1);
  const lines = markdown.slice(start, end < 0 ? undefined : end).split("\n");
  const first = lines.findIndex((l) => l.startsWith("|"));
  if (first < 0) throw new Error(`no table under "## ${heading}"`);
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(
      line
        .slice(1, -1)
        .split(" | ")
        .map((c) => c.trim()),
    );
  }
  return rows;
}

const code = (cell: string) => /^`([a-z_]+)`$/.exec(cell)?.[1] ?? cell;

/** How the error table of `markdown` differs from PROBLEMS, one line per difference. */
function errorTableDifferences(markdown: string): string[] {
  const rows = tableUnder(markdown, "Errors");
  const out: string[] = [];
  const seen = new Set<string>();
  for (const [cell = "", status, title = ""] of rows) {
    const c = code(cell);
    if (seen.has(c)) out.push(`${c}: listed twice`);
    seen.add(c);
    const problem = (PROBLEMS as Record<string, { status: number; title: string }>)[c];
    if (!problem) out.push(`${c}: not a problem code`);
    else {
      if (Number(status) !== problem.status) out.push(`${c}: status ${status}, protocol ${problem.status}`);
      if (!title.startsWith(problem.title)) out.push(`${c}: title "${title}", protocol "${problem.title}"`);
    }
  }
  for (const c of Object.keys(PROBLEMS)) if (!seen.has(c)) out.push(`${c}: missing`);
  return out;
}

describe("docs/api.md error codes", () => {
  const doc = read("docs/api.md");

  it("list every problem code of the protocol, once, with its status and title", () => {
    expect(errorTableDifferences(doc)).toEqual([]);
  });

  it("a wrong status, a missing code or an unknown one is a difference", () => {
    expect(errorTableDifferences(doc.replace("| `not_found` | 404 |", "| `not_found` | 410 |"))).toEqual([
      "not_found: status 410, protocol 404",
    ]);
    const withoutConflict = doc.replace(/^\| `conflict` .*\n/m, "");
    expect(errorTableDifferences(withoutConflict)).toEqual(["conflict: missing"]);
    const extra = doc.replace("| `not_found` |", "| `gone` | 410 | Gone |\n| `not_found` |");
    expect(errorTableDifferences(extra)).toEqual(["gone: not a problem code"]);
  });
});

describe("docs/running.md configuration", () => {
  it("documents every policy var that workers/api/config.ts parses", () => {
    const documented = new Set(
      tableUnder(read("docs/running.md"), "Configuration").flatMap(([vars = ""]) =>
        [...vars.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]!),
      ),
    );
    expect(Object.keys(VarsSchema.shape).filter((v) => !documented.has(v))).toEqual([]);
  });
});
