// docs/cli.md, run: every `sh` block of the guide, section by section (each `##` section one bash
// script with `set -euo pipefail`), against a real local node seeded exactly as `npm start` seeds
// its demo network (scripts/seed-content.ts seedDemoNetwork), with the demo key files in
// .eusn-demo/keys/ of the working directory. The guide's node URL (http://localhost:8787) is
// replaced by the test node's. After each role's day the test checks what the node stored, so
// the guide cannot rot into commands that "work" but do something else. Also: every command's
// --help has an example, and every networked one offers --json.
import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { EusnClient, getSubmission, listSubmissions } from "@eusn/client";
import type { Command } from "commander";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Credential } from "../../scripts/demo-keys.ts";
import { REPO_ROOT } from "../helpers/cli.ts";
import { sh } from "../helpers/cli-shell.ts";
import { shSections } from "../helpers/doc-blocks.ts";
import type { LocalNode } from "../helpers/local-node.ts";
import { startSeededNode } from "../helpers/seeded-node.ts";

const GUIDE_URL = "http://localhost:8787";

let node: LocalNode;
let dir: string;
let keys: Record<string, Credential>;
const ran = new Map<string, { stdout: string; stderr: string }>();
const guide = shSections(readFileSync(path.join(REPO_ROOT, "docs/cli.md"), "utf8"));

const client = (slug: string) => new EusnClient(keys[slug]!);
const file = (name: string) => readFileSync(path.join(dir, name), "utf8");
const entryId = () => file("submitted.csv").split("\n")[0]!.split(",")[0]!;

async function noise(out: string, seed: number) {
  const px = Buffer.alloc(80 * 60 * 3);
  let s = seed;
  for (let i = 0; i < px.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    px[i] = (s >> 16) & 0xff;
  }
  await sharp(px, { raw: { width: 80, height: 60, channels: 3 } })
    .blur(1.2)
    .png()
    .toFile(out);
}

beforeAll(async () => {
  const seeded = await startSeededNode();
  ({ node, dir } = seeded);
  keys = seeded.seeded;
  await mkdir(path.join(dir, "photos"));
  await mkdir(path.join(dir, "uploads"));
  for (const [i, name] of ["a-flyer.png", "b-banner.png", "c-still.png"].entries())
    await noise(path.join(dir, "photos", name), 104729 * (i + 1));
  // Today's upload on the platform: the first photo, turned a quarter.
  await sharp(path.join(dir, "photos/a-flyer.png")).rotate(90).toFile(path.join(dir, "uploads/upload-1.png"));
}, 900_000);

afterAll(async () => {
  await node?.stop();
});

describe("docs/cli.md runs start to finish", { timeout: 600_000 }, () => {
  it("has the sections this test checks", () => {
    expect(guide.map((s) => s.title)).toEqual([
      "An authority's day",
      "Joining a network",
      "A coordinator's day",
      "A platform's day",
      "Everyone",
      "Migration signals, onboarding order",
    ]);
  });

  for (const section of guide) {
    it(section.title, async () => {
      const script = section.script.replaceAll(GUIDE_URL, node.baseUrl);
      const r = await sh(`set -x\n${script}`, dir);
      ran.set(section.title, r);
      expect(r.code, `${section.title} failed:\n${r.stderr.slice(-4000)}`).toBe(0);
      await CHECKS[section.title]?.(r);
    });
  }
});

/** What each section must have stored or printed. */
const CHECKS: Record<string, (r: { stdout: string; stderr: string }) => Promise<void>> = {
  "An authority's day": async (r) => {
    expect(r.stdout).toMatch(/^par_\w+ {2}authority NL/m);
    const mine = await listSubmissions(client("nl-atkm"), { scope: "mine", limit: 500 });
    if (!mine.ok) throw new Error(mine.problem.code);
    const photos = file("photos.csv").trim().split("\n");
    expect(photos).toHaveLength(3);
    for (const row of photos) {
      const [hash, quality] = row.split(",");
      expect(mine.data.submissions.find((s) => s.value === hash)).toMatchObject({ quality: Number(quality) });
    }
    expect(mine.data.submissions.filter((s) => s.signalType === "sha256")).toHaveLength(3);
    const wrong = file("submitted.csv").split("\n")[1]!.split(",")[0]!;
    expect(mine.data.submissions.find((s) => s.id === wrong)?.status).toBe("withdrawn");
    const entry = mine.data.submissions.find((s) => s.id === entryId())!;
    expect(entry.assessments.concurStates.sort()).toEqual(["DE", "FR", "NL"]);
  },
  "Joining a network": async () => {
    const key = JSON.parse(file("newcomer.key.json")) as Record<string, unknown>;
    expect(key.privateKeyJwe).toMatch(/^eyJ/);
    expect(key).not.toHaveProperty("privateJwk");
    expect(JSON.stringify(key)).not.toMatch(/"d"/);
    expect(JSON.parse(file("newcomer.pub.json")).jwk).not.toHaveProperty("d");
  },
  "A coordinator's day": async (r) => {
    const detail = await getSubmission(client("coordinator"), entryId());
    if (!detail.ok) throw new Error(detail.problem.code);
    expect(detail.data.submission.baselineState).toBe("included");
    const decision = detail.data.history.find((h) => h.kind === "baseline.decide")!;
    // The decision cited the two concurrences by itself.
    const cited = JSON.parse(atob(decision.jws.split(".")[1]!.replaceAll("-", "+").replaceAll("_", "/")))
      .record.assessmentIds as string[];
    expect(cited).toHaveLength(2);
    expect(r.stdout).toMatch(/^cited asm_\w+ asm_\w+$/m);
    const newcomer = file("admitted.txt").split("\n")[0]!.split(" ")[1]!;
    const saved = JSON.parse(file("newcomer.key.json")) as Record<string, unknown>;
    expect(saved).toMatchObject({ participantId: newcomer, nodeId: node.nodeId, baseUrl: node.baseUrl });
    expect(saved.privateKeyJwe).toMatch(/^eyJ/);
    const p = await client("coordinator").getPublic<{ status: string }>(`/v1/participants/${newcomer}`);
    expect(p.ok && p.data.status).toBe("revoked");
    expect(r.stdout).toMatch(/ baseline\.decide /);
    // The second NL authority: requested by the bootstrap coordinator, in effect once the second
    // coordinator countersigned it.
    const be = file("requested.txt").split("\n")[0]!.split(" ")[1]!;
    const request = file("requested.txt").match(/^pending (rec_\w+)$/m)?.[1];
    expect(request).toBeTruthy();
    expect(r.stdout).toMatch(
      new RegExp(`^${request} admit ${be} NL by \\S+ pending "Politie \\(NL national police\\)"$`, "m"),
    );
    expect(r.stdout).toMatch(new RegExp(`^admitted ${be}$`, "m"));
    const completed = JSON.parse(file("completed.json")) as {
      requests: { requestRecordId: string; completedBy: string }[];
    };
    expect(completed.requests.find((q) => q.requestRecordId === request)?.completedBy).toBe(
      keys["coordinator-2"]!.participantId,
    );
    const beView = await client("coordinator").getPublic<{ status: string }>(`/v1/participants/${be}`);
    expect(beView.ok && beView.data.status).toBe("active");
    // The forum's request, taken back, is listed by `eusn requests --status withdrawn`.
    const forum = file("mistake.txt").split("\n")[0]!.split(" ")[1]!;
    const taken = file("mistake.txt").match(/^pending (rec_\w+)$/m)?.[1];
    expect(r.stdout).toMatch(
      new RegExp(`^${taken} admit ${forum} -- by \\S+ withdrawn "Forum \\(wrong key sent\\)"$`, "m"),
    );
  },
  "A platform's day": async (r) => {
    expect(r.stdout).toMatch(/^updated: version \d+, \d+ entries in baseline\/$/m);
    expect(r.stdout).toMatch(/^unchanged: version \d+/m);
    const value = file("photos.csv").split("\n")[0]!.split(",")[0]!;
    expect(file("baseline/baseline.csv")).toContain(`pdq,${value},${entryId()}`);
    expect(r.stdout).toMatch(
      new RegExp(
        `^uploads/upload-1\\.png,[0-9a-f]{64},${entryId()},\\d+,included,NL,a c,rotate(90|270)$`,
        "m",
      ),
    );
    const reversalLines = r.stdout
      .split("\n")
      .filter((l) => /^\d+ {2}\S+ {2}(excluded|reversed|withdrawn) /.test(l));
    expect(reversalLines.map((l) => l.split("  ")[2]).sort()).toEqual(["excluded", "reversed"]);
    expect(Number(file("reversals.cursor").trim())).toBeGreaterThan(0);
    const exported = file("export.jsonl").trim().split("\n");
    expect(exported.some((l) => JSON.parse(l).id === entryId())).toBe(true);
    const detail = await getSubmission(client("coordinator"), entryId());
    expect(detail.ok && detail.data.submission.feedback.truePositive).toBe(1);
  },
  Everyone: async (r) => {
    expect(r.stdout).toMatch(/^rec_\w+: signature verified \(EdDSA, key \S+ of par_\w+\)$/m);
    expect(r.stdout).toMatch(/^included: log index \d+ of \d+/m);
    expect(r.stdout).toMatch(/^consistent: the log grew from \d+ to \d+ entries/m);
    expect(file("credential.txt")).toMatch(/^password: eusn_[A-Za-z0-9_-]{43}$/m);
    expect(r.stdout).toMatch(/^revoked apc_\w+$/m);
  },
  "Migration signals, onboarding order": async (r) => {
    expect(JSON.parse(file("signal.json")).signalId).toMatch(/^sig_/);
    expect(r.stdout).toMatch(/"input": "handle #1"/);
  },
};

describe("docs/sdk.md", { timeout: 600_000 }, () => {
  const sdk = readFileSync(path.join(REPO_ROOT, "docs/sdk.md"), "utf8");

  it("runs: its ts blocks, as one module, against the same node", async () => {
    const blocks = [...sdk.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    // Inside the repository, so that @eusn/client resolves; it reads the key files from `dir`.
    const cache = path.join(REPO_ROOT, "node_modules", ".cache", "eusn-docs");
    await mkdir(cache, { recursive: true });
    const module = path.join(cache, `sdk-guide-${process.pid}.mts`);
    writeFileSync(module, `process.chdir(process.env.GUIDE_DIR!);\n${blocks.join("\n")}\n`);
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ["--import", "tsx", module],
        { cwd: REPO_ROOT, env: { ...process.env, GUIDE_DIR: dir } },
        (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
      );
    });
    rmSync(module, { force: true });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^par_\w+ authority NL$/m);
    expect(r.stdout).toMatch(/^hsh_\w+ created rec_\w+$/m);
    expect(r.stdout).toMatch(/^cited \[ 'asm_\w+', 'asm_\w+' \]$/m);
    expect(r.stdout).toMatch(/^unchanged: true$/m);
    expect(r.stdout).toMatch(/^hsh_\w+ 1 included Matches are leads/m);
    expect(r.stdout).toMatch(/^compact JWSs$/m);
    expect(r.stdout).toMatch(/^404 not_found$/m);
  });

  it("lists every signed write whose answer is more than the WriteReceipt (checked against the node's OpenAPI)", async () => {
    const doc = (await (await fetch(`${node.baseUrl}/openapi.json`)).json()) as {
      paths: Record<
        string,
        Record<
          string,
          {
            requestBody?: { content?: Record<string, unknown> };
            responses?: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
          }
        >
      >;
    };
    const special: string[] = [];
    for (const [p, ops] of Object.entries(doc.paths)) {
      const post = ops.post;
      if (!post?.requestBody?.content?.["application/jose"]) continue;
      const ref = post.responses?.["201"]?.content?.["application/json"]?.schema?.$ref ?? "";
      if (!ref.endsWith("/WriteReceipt")) special.push(`POST ${p}`);
    }
    const listed = [...sdk.matchAll(/^\| `(POST \/v1\/[^`]+)` \|/gm)].map((m) => m[1]!);
    expect(special.sort()).toEqual(listed.sort());
  });
});

describe("every command's --help", () => {
  it("shows an example, and every command that talks to a node offers --json", async () => {
    const modules: Record<string, Record<string, unknown>> = {
      keygen: await import("../../packages/cli/src/commands/keygen.ts"),
      whoami: await import("../../packages/cli/src/commands/whoami.ts"),
      records: await import("../../packages/cli/src/commands/records.ts"),
      apicred: await import("../../packages/cli/src/commands/apicred.ts"),
      webhook: await import("../../packages/cli/src/commands/webhook.ts"),
      log: await import("../../packages/cli/src/commands/log.ts"),
      submit: await import("../../packages/cli/src/commands/submit.ts"),
      match: await import("../../packages/cli/src/commands/match.ts"),
      authority: await import("../../packages/cli/src/commands/authority.ts"),
      coordinator: await import("../../packages/cli/src/commands/coordinator.ts"),
      platform: await import("../../packages/cli/src/commands/platform.ts"),
      statement: await import("../../packages/cli/src/commands/statement.ts"),
      report: await import("../../packages/cli/src/commands/report.ts"),
    };
    const leaves: Command[] = [];
    const walk = (c: Command) => (c.commands.length === 0 ? leaves.push(c) : c.commands.forEach(walk));
    for (const m of Object.values(modules))
      for (const make of Object.values(m)) if (typeof make === "function") walk((make as () => Command)());
    const names = leaves.map((c) => c.name()).sort();
    expect(names).toEqual(
      [
        "add",
        "admit",
        "assess",
        "audit",
        "countersign",
        "create",
        "curation",
        "decide",
        "export",
        "feedback",
        "keygen",
        "list",
        "list",
        "list",
        "match",
        "new",
        "requests",
        "remove",
        "reversals",
        "reverse",
        "revoke",
        "revoke",
        "show",
        "submissions",
        "submit",
        "sync",
        "tco",
        "verify",
        "verify",
        "whoami",
        "withdraw",
        "withdraw-request",
      ].sort(),
    );
    for (const c of leaves) {
      let help = "";
      c.configureOutput({ writeOut: (s) => (help += s), writeErr: (s) => (help += s) });
      c.outputHelp();
      expect(help, c.name()).toMatch(/\nExamples?:\n {2}\$ eusn /);
      if (c.name() !== "keygen") expect(help, c.name()).toContain("--json");
    }
  });
});
