// docs/evidence.md, run: every `sh` block of its "From the command line" section as one bash script
// (`set -euo pipefail`) against a real local node (wrangler dev, local D1 and a local R2 bucket)
// seeded as `npm start` seeds its demo network, with the demo key files. Then checks what the node
// stored: the case files, the download audit, the concurrence, and that the demo's own NL case
// file opens for DE and FR.
import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { type EncKeyPair, EusnClient, openCaseFile } from "@eusn/client";
import type { CaseFileView } from "@eusn/protocol";
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
const guide = shSections(readFileSync(path.join(REPO_ROOT, "docs/evidence.md"), "utf8"));
const client = (slug: string) => new EusnClient(keys[slug]!);
const encKey = (slug: string) =>
  JSON.parse(
    readFileSync(path.join(dir, ".eusn-demo", "keys", `${slug}.evidence.json`), "utf8"),
  ) as EncKeyPair["privateJwk"];

async function noise(out: string, seed: number) {
  const px = Buffer.alloc(120 * 90 * 3);
  let s = seed;
  for (let i = 0; i < px.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    px[i] = (s >> 16) & 0xff;
  }
  await sharp(px, { raw: { width: 120, height: 90, channels: 3 } })
    .blur(1.5)
    .png()
    .toFile(out);
}

beforeAll(async () => {
  const seeded = await startSeededNode();
  ({ node, dir } = seeded);
  keys = seeded.seeded;
  await mkdir(path.join(dir, "evidence"));
  await noise(path.join(dir, "evidence", "poster.png"), 7919);
  await noise(path.join(dir, "evidence", "leaflet.png"), 104_723);
}, 900_000);

afterAll(async () => {
  await node?.stop();
});

describe("docs/evidence.md runs start to finish", { timeout: 600_000 }, () => {
  it("the demo network has an NL case file that DE and FR open", async () => {
    const list = await client("de-bka").get<{ caseFiles: CaseFileView[] }>("/v1/evidence");
    expect(list.ok).toBe(true);
    const demo = list.ok
      ? list.data.caseFiles.find((c) => c.submitterId === keys["nl-atkm"]!.participantId)
      : undefined;
    expect(demo, "the seeded NL case file").toBeDefined();
    for (const slug of ["de-bka", "fr-ocrvp"]) {
      const opened = await openCaseFile(client(slug), demo!.id, encKey(slug));
      expect(opened.context.caseReference).toBe("NL-DEMO-2026-001");
      expect(opened.file.byteLength).toBeGreaterThan(0);
    }
  });

  const section = guide.find((s) => s.title === "From the command line");
  it("From the command line", async () => {
    expect(section).toBeDefined();
    const r = await sh(`set -x\n${section!.script.replaceAll(GUIDE_URL, node.baseUrl)}`, dir);
    expect(r.code, `the guide failed:\n${r.stderr.slice(-4000)}`).toBe(0);
    const caseId = readFileSync(path.join(dir, "put.txt"), "utf8").match(/^case file (evd_\w+)$/m)?.[1];
    expect(caseId).toBeTruthy();
    // The context came back decrypted; the node's answers never carried it.
    expect(JSON.parse(readFileSync(path.join(dir, "context.json"), "utf8"))).toMatchObject({
      caseReference: "NL-2026-17",
      mediaType: "image/png",
    });
    // NL sees DE's download (printed by `eusn evidence opens`).
    expect(r.stdout).toContain(keys["de-bka"]!.participantId);
    const opens = await client("nl-atkm").get<{ opens: { participantId: string }[] }>(
      `/v1/evidence/${caseId}/opens`,
    );
    expect(opens.ok && opens.data.opens.map((o) => o.participantId)).toEqual([keys["de-bka"]!.participantId]);
    // Nothing left beside the file once the case file was signed.
    const left = await sh("ls evidence", dir);
    expect(left.stdout.trim().split("\n").sort()).toEqual(["leaflet.png", "poster.png"]);
  });
});
