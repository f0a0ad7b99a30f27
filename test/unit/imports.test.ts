// Imports point down: the Worker's and the packages' modules form no cycle (type-only imports
// included: a cycle of types still ties the files together for a reader), and the lower layers
// never import the ones above them: lib/ nothing of auth/, store/ nothing of apply/ or auth/.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.join(import.meta.dirname, "../..");

function sources(dir: string): string[] {
  return readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name) && !e.parentPath.includes("node_modules"))
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)));
}

/** file → the files it imports by relative path (static, dynamic and `import("…")` types). */
function graph(): Map<string, string[]> {
  const files = [...sources("workers"), ...sources("packages")];
  const known = new Set(files);
  const spec = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm;
  return new Map(
    files.map((f) => {
      const text = readFileSync(path.join(root, f), "utf8");
      const targets = [...text.matchAll(spec)]
        .map((m) => path.normalize(path.join(path.dirname(f), m[1]!)))
        .filter((t) => known.has(t));
      return [f, [...new Set(targets)]];
    }),
  );
}

/** Every cycle's files, found as the strongly connected components of more than one file. */
function cycles(g: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of g.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      for (let w = stack.pop()!; ; w = stack.pop()!) {
        onStack.delete(w);
        scc.push(w);
        if (w === v) break;
      }
      if (scc.length > 1 || g.get(v)?.includes(v)) out.push(scc.sort());
    }
  };
  for (const v of g.keys()) if (!index.has(v)) visit(v);
  return out;
}

describe("imports", () => {
  const g = graph();

  it("sees the Worker's modules (the scan is not empty)", () => {
    expect(g.get("workers/api/app.ts")?.length).toBeGreaterThan(5);
    expect(g.get("workers/api/env.ts")).toBeDefined();
  });

  it("form no cycle", () => {
    expect(cycles(g)).toEqual([]);
  });

  it("finds a cycle when there is one", () => {
    const withCycle = new Map(g);
    withCycle.set("workers/api/env.ts", [...(g.get("workers/api/env.ts") ?? []), "workers/api/app.ts"]);
    expect(cycles(withCycle).length).toBeGreaterThan(0);
  });

  /** Imports from a file under `from` to a file under one of `to`, as "a → b". */
  const upward = (from: string, to: string[]) =>
    [...g].flatMap(([f, targets]) =>
      f.startsWith(from)
        ? targets.filter((t) => to.some((d) => t.startsWith(d))).map((t) => `${f} → ${t}`)
        : [],
    );

  it("lib/ imports nothing from auth/", () => {
    expect(upward("workers/api/lib/", ["workers/api/auth/"])).toEqual([]);
  });

  it("store/ imports nothing from apply/ or auth/", () => {
    expect(upward("workers/api/store/", ["workers/api/apply/", "workers/api/auth/"])).toEqual([]);
  });

  it("would see an upward import", () => {
    expect(upward("workers/api/auth/", ["workers/api/lib/"]).length).toBeGreaterThan(0);
  });
});
