// docs/accountability.md, run: its `sh` blocks (the "From the command line" section), as one bash
// script with `set -euo pipefail`, against a real local node seeded exactly as `npm start` seeds
// its demo network, the demo key files in .eusn-demo/keys/ of the working directory and one
// upload (a demo image the network holds) in uploads/. Then what the commands stored and printed
// is checked against the node: the statements the platform holds, the DSA document against the
// JSON Schema the tests validate every rendered statement with, the reports against the API's.
import { copyFileSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { EusnClient } from "@eusn/client";
import type { StatementPage, StatementView, TcoReport } from "@eusn/protocol";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Credential } from "../../scripts/demo-keys.ts";
import { REPO_ROOT } from "../helpers/cli.ts";
import { type ShellRun, sh } from "../helpers/cli-shell.ts";
import { shSections } from "../helpers/doc-blocks.ts";
import type { LocalNode } from "../helpers/local-node.ts";
import { startSeededNode } from "../helpers/seeded-node.ts";

const GUIDE_URL = "http://localhost:8787";
/** The demo image the platform's upload is a copy of: in the demo baseline, not disputed. */
const UPLOAD = path.join(REPO_ROOT, "test/fixtures/pdq/synthetic/palette-400x300.png");

const guide = shSections(readFileSync(path.join(REPO_ROOT, "docs/accountability.md"), "utf8"));
const schema = JSON.parse(
  readFileSync(
    path.join(REPO_ROOT, "packages/protocol/schemas/dsa-statement-of-reasons.schema.json"),
    "utf8",
  ),
) as Record<string, unknown>;
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
addFormats(ajv, { keywords: true });
const validate = ajv.compile(schema);

let node: LocalNode;
let dir: string;
let keys: Record<string, Credential>;
let run: ShellRun;
const year = new Date().getUTCFullYear();
const client = (slug: string) => new EusnClient(keys[slug]!);
const file = (name: string) => readFileSync(path.join(dir, name), "utf8");

function ok<T>(res: { ok: true; data: T } | { ok: false; status: number; problem: unknown }): T {
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(res.problem)}`);
  return res.data;
}

beforeAll(async () => {
  const seeded = await startSeededNode();
  ({ node, dir } = seeded);
  keys = { ...seeded.seeded, coordinator: seeded.coordinator };
  await mkdir(path.join(dir, "uploads"));
  copyFileSync(UPLOAD, path.join(dir, "uploads/post-4711.png"));
}, 900_000);

afterAll(async () => {
  await node?.stop();
});

describe("docs/accountability.md runs from the command line", { timeout: 600_000 }, () => {
  let mine: StatementView[];
  let entry: string;

  beforeAll(async () => {
    expect(guide.map((s) => s.title)).toEqual(["From the command line"]);
    run = await sh(`set -x\n${guide[0]!.script.replaceAll(GUIDE_URL, node.baseUrl)}`, dir);
    expect(run.code, `the guide failed:\n${run.stderr.slice(-4000)}`).toBe(0);
    mine = ok(await client("platform-social").get<StatementPage>("/v1/statements?limit=50")).statements;
    entry = file("matched.csv").trim().split("\n")[1]!.split(",")[2]!;
  }, 600_000);

  it("matched the upload to one demo entry, and made three statements on it", () => {
    const rows = file("matched.csv").trim().split("\n");
    expect(rows[0]).toBe("label,value,entry,distance,baselineState,memberState,limbs");
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatch(/^uploads\/post-4711\.png,[0-9a-f]{64},hsh_\w+,\d+,included,NL,/);
    expect(mine.map((s) => s.contentRef).sort()).toEqual(["post-4711", "post-4712", "post-4713"]);
    expect(mine.every((s) => s.submissionId === entry)).toBe(true);
  });

  it("printed the statement for the person affected as the node stored it", () => {
    const s = mine.find((x) => x.contentRef === "post-4711")!;
    expect(file("statement.txt")).toBe(s.user.text);
    expect(s.actions).toEqual(["content_removed", "account_suspended"]);
    expect(s.user.text).toContain("a person (Trust & Safety analyst R-41) reviewed it");
    expect(s.user.text).toContain("Appeals Centre Europe");
    expect(run.stdout).toMatch(/^We removed your content\. We suspended your account\./m);
  });

  it("printed both forms of the Dutch statement, and a DSA document that validates", () => {
    const nl = JSON.parse(file("statement-nl.json")) as StatementView;
    expect(nl.contentRef).toBe("post-4712");
    expect(nl.language).toBe("nl");
    expect(nl.user.text).toContain("Motivering: waarom we maatregelen hebben genomen");
    expect(validate(nl.dsa), JSON.stringify(validate.errors)).toBe(true);
    const dsa = JSON.parse(file("statement-dsa.json")) as Record<string, unknown>;
    expect(validate(dsa), JSON.stringify(validate.errors)).toBe(true);
    expect(dsa.puid).toBe(mine.find((x) => x.contentRef === "post-4713")!.id);
    expect(dsa.decision_visibility).toEqual(["DECISION_VISIBILITY_CONTENT_REMOVED"]);
    // The database takes no personal data: neither the reviewer nor the content reference.
    expect(JSON.stringify(dsa)).not.toMatch(/R-07|post-4713/);
  });

  it("listed the statements, then the three as affected by the reversal", () => {
    const affected = run.stdout.split("\n").filter((l) => l.includes(" AFFECTED: "));
    expect(affected).toHaveLength(3);
    for (const l of affected)
      expect(l).toMatch(
        new RegExp(
          `^stm_\\w+ \\d{4}-\\d\\d-\\d\\d ${entry} post-471[123] \\S+ AFFECTED: reversed \\d{4}-\\d\\d-\\d\\d \\(complaint_upheld\\)$`,
        ),
      );
    expect(mine.every((s) => s.affected?.change === "reversed")).toBe(true);
  });

  it("wrote ATKM's report as the node answers it, and printed the year's totals", async () => {
    const api = ok(await client("nl-atkm").get<string>(`/v1/reports/tco?year=${year}&format=csv`));
    expect(file("report.csv")).toBe(api);
    const totals = Object.fromEntries(
      run.stdout
        .split("\n")
        .filter((l) => /^[a-zA-Z]+,\d+$/.test(l))
        .map((l) => l.split(",")),
    );
    expect(Object.keys(totals)).toHaveLength(17);
    expect(Number(totals.submitted)).toBeGreaterThan(5);
    expect(totals.reversedComplaintUpheld).toBe("1");
    expect(totals.reversed).toBe("1");
    expect(Number(totals.included)).toBe(5);
  });

  it("wrote the Netherlands' report (its one authority's figures) and every authority's", async () => {
    const ms = JSON.parse(file("report-nl.json")) as TcoReport;
    expect(ms.scope).toEqual({ authorityId: null, memberState: "NL", displayName: null });
    expect(ms.authorities.map((a) => a.id)).toEqual([keys["nl-atkm"]!.participantId]);
    const atkm = ok(await client("nl-atkm").get<TcoReport>(`/v1/reports/tco?year=${year}`));
    expect(ms.figures).toEqual(atkm.figures);
    const all = ok(await client("coordinator").get<string>(`/v1/reports/tco?year=${year}&format=csv`));
    expect(file("report-all.csv")).toBe(all);
  });
});
