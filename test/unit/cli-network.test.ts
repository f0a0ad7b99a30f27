// The `eusn` CLI against a real local node (`wrangler dev` with local D1): keygen, resumable bulk
// submission, matching, and clear failures. Runs the real CLI as a child process: the launcher
// bin/eusn.mjs for keygen, the same program pre-bundled for the rest (test/helpers/cli.ts).
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { EusnClient, generateParticipantKey } from "@eusn/client";
import type { WriteReceipt } from "@eusn/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EUSN, EUSN_LAUNCHER, REPO_ROOT as ROOT } from "../helpers/cli.ts";
import { flipBits, randomPdq, rng } from "../helpers/hashes.ts";
import { type LocalNode, secondSignatureOn, sharedLocalNode } from "../helpers/local-node.ts";
import { expectedFile, haveFfmpeg, haveVectors, VIDEOS } from "../helpers/vpdq.ts";

const run = promisify(execFile);

let node: LocalNode;
let authorityCred: string;
let platformCred: string;

async function eusn(args: string[], entry = EUSN) {
  try {
    const r = await run(process.execPath, [entry, ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

async function admitTo(node: LocalNode, role: "authority" | "platform", memberState?: string) {
  const coordinator = new EusnClient({ baseUrl: node.baseUrl, nodeId: node.nodeId, ...node.coordinator });
  const key = await generateParticipantKey();
  const res = await coordinator.write<WriteReceipt>("/v1/participants", "participant.admit", {
    role,
    ...(memberState ? { memberState } : {}),
    displayName: `${role} for CLI tests`,
    jwks: { keys: [key.publicJwk] },
  });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  await secondSignatureOn(node, res.data);
  const file = path.join(node.dir, `${role}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      participantId: res.data.subjectId,
      nodeId: node.nodeId,
      baseUrl: node.baseUrl,
      privateJwk: key.privateJwk,
    }),
  );
  return file;
}

beforeAll(async () => {
  // The run's shared node: this file uses its own participants and entries, and counts nothing else.
  node = await sharedLocalNode();
  authorityCred = await admitTo(node, "authority", "NL");
  platformCred = await admitTo(node, "platform");
  // Starting wrangler dev takes seconds on a quiet machine and minutes on a loaded 2-core one.
}, 300_000);

afterAll(async () => {
  await node?.stop();
});

describe("eusn against a local node", () => {
  it("keygen writes a private JWK (0600, never overwritten) and prints the public one", async () => {
    const out = path.join(node.dir, "new-key.json");
    // Through the launcher users run (bin/eusn.mjs: tsx, then the TypeScript sources).
    const r = await eusn(["keygen", "--out", out], EUSN_LAUNCHER);
    expect(r.code).toBe(0);
    const pub = JSON.parse(r.stdout) as { kid: string; jwk: Record<string, string> };
    expect(pub.jwk.kty).toBe("OKP");
    expect(pub.jwk).not.toHaveProperty("d");
    const again = await eusn(["keygen", "--out", out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/cannot write/);
  });

  it("loads 2,500 hashes in signed batches, resumes idempotently, and matches them", async () => {
    const r = rng(5);
    const values = Array.from({ length: 2500 }, () => randomPdq(r));
    const list = path.join(node.dir, "list.csv");
    // First run: only the first 1,200 (as if interrupted); second run: everything.
    writeFileSync(
      list,
      values
        .slice(0, 1200)
        .map((v, i) => `${v},90,img-${i}.jpg`)
        .join("\n"),
    );
    const first = await eusn([
      "submit",
      "--key",
      authorityCred,
      "--limbs",
      "a",
      "--provision",
      "NL Sr. art. 131",
      list,
    ]);
    expect(first.stderr).toMatch(/1200 created, 0 already submitted/);
    writeFileSync(list, values.map((v, i) => `${v},90,img-${i}.jpg`).join("\n"));
    const ids = path.join(node.dir, "ids.csv");
    const second = await eusn([
      "submit",
      "--key",
      authorityCred,
      "--limbs",
      "a",
      "--provision",
      "NL Sr. art. 131",
      "--ids",
      ids,
      list,
    ]);
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/1300 created, 1200 already submitted \(of 2500\)/);

    const queries = path.join(node.dir, "queries.csv");
    writeFileSync(
      queries,
      [`${flipBits(values[7]!, 12, r)},100,near.jpg`, `${randomPdq(r)},100,far.jpg`].join("\n"),
    );
    const m = await eusn(["match", "--key", platformCred, "--scope", "all", queries]);
    expect(m.code).toBe(0);
    const rows = m.stdout.trim().split("\n");
    expect(rows[0]).toBe("label,value,entry,distance,baselineState,memberState,limbs");
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatch(/^near\.jpg,[0-9a-f]{64},hsh_\w+,12,none,NL,a$/);
    expect(m.stderr).toMatch(/leads for human review/);
  }, 120_000);

  it.skipIf(!haveVectors || !haveFfmpeg)(
    "submits a video (a vPDQ text file, or a video file hashed first) and matches another copy of it",
    async () => {
      const labels = ["--limbs", "a", "--provision", "NL Sr. art. 131", "--content-type", "video"];
      const s = await eusn([
        "submit",
        "--key",
        authorityCred,
        "--type",
        "vpdq",
        ...labels,
        expectedFile("chair-orig-22-sd-bar", "every-second"),
        path.join(VIDEOS, "pattern-sd-grey-bar.mp4"),
      ]);
      expect(s.stderr).toContain("2 created");
      expect(s.code).toBe(0);
      const [chair] = s.stdout.trim().split("\n");
      const [id, type] = chair!.split(",");
      expect(type).toBe("vpdq");
      // The grey copy of the chair video, hashed here: the reference's 100.00,100.00 for this pair.
      const m = await eusn([
        "match",
        "--key",
        platformCred,
        "--type",
        "vpdq",
        "--scope",
        "all",
        path.join(VIDEOS, "chair-22-sd-grey-bar.mp4"),
      ]);
      expect(m.code).toBe(0);
      const rows = m.stdout.trim().split("\n");
      expect(rows[0]).toBe(
        "file,entry,kind,queryMatchPercent,targetMatchPercent,queryRanges,entryRanges,baselineState,memberState,limbs",
      );
      expect(rows.slice(1)).toEqual([
        `${path.join(VIDEOS, "chair-22-sd-grey-bar.mp4")},${id},video,100.00,100.00,0.000-22.000,0.000-22.000,none,NL,a`,
      ]);
      const bad = await eusn([
        "submit",
        "--key",
        authorityCred,
        "--type",
        "vpdq",
        ...labels,
        path.join(node.dir, "nope.mp4"),
      ]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain("nope.mp4: no such file or directory");
    },
    120_000,
  );

  it("explains a refused batch line by line and exits non-zero", async () => {
    const list = path.join(node.dir, "bad.csv");
    writeFileSync(list, ["f".repeat(64) + ",12,blurry.jpg", "nothex,90,broken.jpg"].join("\n"));
    const r = await eusn(["submit", "--key", authorityCred, "--limbs", "a", "--provision", "x law", list]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/blurry\.jpg: PDQ quality 12 is below 50/);
    expect(r.stderr).toMatch(/broken\.jpg: a pdq value is 64 lower-case hex/);
  });

  it("a platform cannot submit, and a missing credential is a usage error", async () => {
    const list = path.join(node.dir, "one.csv");
    writeFileSync(list, `${randomPdq(rng(1))},90,x.jpg`);
    const r = await eusn(["submit", "--key", platformCred, "--limbs", "a", "--provision", "x law", list]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/forbidden/);
    const u = await eusn(["match", "--key", path.join(node.dir, "nope.json"), list]);
    expect(u.code).toBe(2);
  });
});
