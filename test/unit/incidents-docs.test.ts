// docs/incidents.md, run: the crisis drill's `sh` blocks (one bash script with `set -euo
// pipefail`, test/helpers/cli-shell.ts) against a real local node seeded as `npm start` seeds its
// demo network, as test/unit/cli-docs.test.ts runs docs/cli.md. Then checks what the node stored:
// the incident declared, the authority's entries provisional under it, the platform's follower
// file holding them and its match answering them labelled, and, after the close, every entry
// lapsed in the platform's reversals.
import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { EusnClient } from "@eusn/client";
import type { IncidentView, Reversal } from "@eusn/protocol";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Credential } from "../../scripts/demo-keys.ts";
import { REPO_ROOT } from "../helpers/cli.ts";
import { sh } from "../helpers/cli-shell.ts";
import { shSections } from "../helpers/doc-blocks.ts";
import type { LocalNode } from "../helpers/local-node.ts";
import { startSeededNode } from "../helpers/seeded-node.ts";

let node: LocalNode;
let dir: string;
let keys: Record<string, Credential>;
const guide = shSections(readFileSync(path.join(REPO_ROOT, "docs/incidents.md"), "utf8"));
const file = (name: string) => readFileSync(path.join(dir, name), "utf8");

beforeAll(async () => {
  const seeded = await startSeededNode();
  ({ node, dir } = seeded);
  keys = seeded.seeded;
  await mkdir(path.join(dir, "photos"));
  for (const [i, name] of ["copy-1.png", "copy-2.png", "copy-3.png"].entries()) {
    const px = Buffer.alloc(80 * 60 * 3);
    let s = 7919 * (i + 1);
    for (let j = 0; j < px.length; j++) {
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      px[j] = (s >> 16) & 0xff;
    }
    await sharp(px, { raw: { width: 80, height: 60, channels: 3 } })
      .blur(1.2)
      .png()
      .toFile(path.join(dir, "photos", name));
  }
}, 900_000);

afterAll(async () => {
  await node?.stop();
});

describe("docs/incidents.md runs start to finish", { timeout: 600_000 }, () => {
  it("has one runnable section, the drill", () => {
    expect(guide.map((s) => s.title)).toEqual(["A crisis drill with the command line"]);
  });

  it("A crisis drill with the command line", async () => {
    const r = await sh(`set -x\n${guide[0]!.script.replaceAll("http://localhost:8787", node.baseUrl)}`, dir);
    expect(r.code, `the drill failed:\n${r.stderr.slice(-4000)}`).toBe(0);
    const id = file("incident.id").trim();
    expect(id).toMatch(/^inc_/);
    const coordinator = new EusnClient(keys.coordinator!);
    const incident = await coordinator.get<IncidentView>(`/v1/incidents/${id}`);
    if (!incident.ok) throw new Error(incident.problem.code);
    // Three copies submitted under it, all lapsed by the close (none was included).
    expect(incident.data).toMatchObject({
      status: "closed",
      public: true,
      provisional: { submitted: 3, active: 0, included: 0, lapsed: 3 },
    });
    // The follower's file held the three hashes the authority submitted.
    const submitted = file("provisional.csv")
      .trim()
      .split("\n")
      .map((l) => l.split(",")[2]);
    const followed = file("incident-hashes.csv").trim().split("\n");
    expect(followed[0]).toBe("type,value,submission,lapses");
    expect(
      followed
        .slice(1)
        .map((l) => l.split(",")[1])
        .sort(),
    ).toEqual([...submitted].sort());
    // The match answered each copy (in scope baseline: provisional, before any assessment).
    for (const v of submitted) expect(r.stdout).toContain(v);
    // The platform's reversals name every lapse.
    const platform = new EusnClient(keys["platform-social"]!);
    const rev = await platform.get<{ reversals: Reversal[] }>("/v1/reversals");
    if (!rev.ok) throw new Error(rev.problem.code);
    const lapsed = rev.data.reversals.filter((x) => x.change === "provisional_lapsed");
    expect(lapsed.map((x) => x.value).sort()).toEqual([...submitted].sort());
    expect(lapsed.every((x) => x.reason === "provisional_lapsed")).toBe(true);
  });
});
