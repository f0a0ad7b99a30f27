// `eusn webhook` against a real local node (`wrangler dev`, local D1): a platform registers a
// receiver — a real HTTP server in this process that refuses the first attempt — an entry it
// matched is withdrawn, the node's dispatcher (a Durable Object alarm, here under wrangler dev)
// delivers the event on its second attempt, and `eusn webhook verify` checks the body it received
// against the node's JWKS, refusing a tampered copy. List and remove, as a platform would.
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import path from "node:path";
import { promisify } from "node:util";
import { EusnClient, generateParticipantKey } from "@eusn/client";
import type { WriteReceipt } from "@eusn/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EUSN, EUSN_LAUNCHER, REPO_ROOT as ROOT } from "../helpers/cli.ts";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { freePort, type LocalNode, secondSignatureOn, sharedLocalNode } from "../helpers/local-node.ts";

const run = promisify(execFile);

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

let node: LocalNode;
let receiver: Server;
let receiverUrl: string;
const got: { status: number; body: string }[] = [];
const files: Record<string, string> = {};
const clients: Record<string, EusnClient> = {};

async function admitTo(role: "authority" | "platform", memberState?: string) {
  const coordinator = new EusnClient({ baseUrl: node.baseUrl, nodeId: node.nodeId, ...node.coordinator });
  const key = await generateParticipantKey();
  const res = await coordinator.write<WriteReceipt>("/v1/participants", "participant.admit", {
    role,
    ...(memberState ? { memberState } : {}),
    displayName: `${role} for webhook CLI tests`,
    jwks: { keys: [key.publicJwk] },
  });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  await secondSignatureOn(node, res.data);
  const file = path.join(node.dir, `${role}.json`);
  const cred = {
    participantId: res.data.subjectId,
    nodeId: node.nodeId,
    baseUrl: node.baseUrl,
    privateJwk: key.privateJwk,
  };
  writeFileSync(file, JSON.stringify(cred));
  files[role] = file;
  clients[role] = new EusnClient({
    baseUrl: node.baseUrl,
    nodeId: node.nodeId,
    participantId: cred.participantId,
    privateJwk: key.privateJwk,
  });
}

beforeAll(async () => {
  const port = await freePort();
  receiverUrl = `http://127.0.0.1:${port}/hook`;
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      // The first attempt fails: the second one, after the backoff, is accepted.
      const status = got.length === 0 ? 503 : 204;
      got.push({ status, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(port, "127.0.0.1", () => resolve()));
  // The run's shared node (this file's own participants, entries and webhook): private receivers
  // allowed (as `npm start` sets it), retries fast enough to watch (SHARED_NODE_VARS).
  node = await sharedLocalNode();
  await admitTo("authority", "NL");
  await admitTo("platform");
}, 300_000);

afterAll(async () => {
  await node?.stop();
  await new Promise((r) => receiver?.close(r));
});

describe("eusn webhook", () => {
  let hookId: string;

  it("add registers a receiver; a private one only because this node allows it", async () => {
    const r = await eusn(
      [
        "webhook",
        "add",
        "--key",
        files.platform!,
        "--url",
        receiverUrl,
        "--events",
        "entry.reversed",
        "--label",
        "local receiver",
      ],
      EUSN_LAUNCHER,
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    hookId = /webhook (whk_\w+)/.exec(r.stdout)![1]!;
    const bad = await eusn([
      "webhook",
      "add",
      "--key",
      files.platform!,
      "--url",
      receiverUrl,
      "--events",
      "entry.deleted",
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--events: unknown entry.deleted/);
  });

  it("a withdrawn entry the platform matched is pushed, retried once, and verifies against the node's JWKS", async () => {
    const value = randomPdq(rng(77));
    const sub = await clients.authority!.write<{ submissions: { id: string }[] }>(
      "/v1/submissions",
      "submission.create",
      {
        items: [pdqItem(value)],
      },
    );
    if (!sub.ok) throw new Error(JSON.stringify(sub.problem));
    const id = sub.data.submissions[0]!.id;
    expect((await clients.platform!.match({ scope: "all", items: [{ type: "pdq", value }] })).status).toBe(
      200,
    );
    const w = await clients.authority!.write(`/v1/submissions/${id}/withdraw`, "submission.withdraw", {
      submissionId: id,
      reason: "entered in error",
    });
    expect(w.ok).toBe(true);
    const end = Date.now() + 60_000;
    while (!got.some((g) => g.status === 204) && Date.now() < end)
      await new Promise((r) => setTimeout(r, 200));
    expect(got.map((g) => g.status)).toEqual([503, 204]);
    const body = path.join(node.dir, "delivery.jws");
    writeFileSync(body, got[1]!.body);
    const v = await eusn(["webhook", "verify", body, "--key", files.platform!]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/^verified: signed by the node key /);
    expect(v.stdout).toContain(`event entry.reversed ${id} (withdrawn)`);
    // One character of the payload changed: refused.
    const [h, p, s] = got[1]!.body.split(".");
    const tampered = path.join(node.dir, "tampered.jws");
    writeFileSync(tampered, `${h}.${p!.slice(0, -2)}${p!.slice(-2) === "fQ" ? "fA" : "fQ"}.${s}`);
    const t = await eusn(["webhook", "verify", tampered, "--key", files.platform!]);
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(/the delivery does not verify/);
    // Offline, against a saved JWKS.
    const jwks = path.join(node.dir, "node.jwks.json");
    writeFileSync(jwks, await (await fetch(`${node.baseUrl}/.well-known/jwks.json`)).text());
    const off = await eusn(["webhook", "verify", body, "--node-jwks", jwks, "--json"]);
    expect(off.code).toBe(0);
    expect(JSON.parse(off.stdout)).toMatchObject({
      verified: true,
      claims: { sub: hookId, event: { subject: id } },
    });
  }, 120_000);

  it("list shows the webhook with its deliveries, and the delivery's attempts; remove ends it", async () => {
    const l = await eusn(["webhook", "list", "--key", files.platform!]);
    expect(l.stdout).toContain(
      `${hookId}  active  ${receiverUrl}  [entry.reversed]  delivered 1, pending 0, failed 0`,
    );
    const d = await eusn(["webhook", "list", hookId, "--key", files.platform!, "--json"]);
    expect(JSON.parse(d.stdout).deliveries[0]).toMatchObject({
      state: "delivered",
      attempts: 2,
      lastStatus: 204,
    });
    const rm = await eusn(["webhook", "remove", hookId, "--key", files.platform!]);
    expect(rm.code).toBe(0);
    const again = await eusn(["webhook", "remove", hookId, "--key", files.platform!]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/409 conflict/);
  });
});
