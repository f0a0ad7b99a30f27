// A case file across two nodes (docs/evidence.md "Federation"; test/helpers/two-nodes.ts): NL
// attaches a case file on node A; B pulls A's log and holds the signed record and the wrapped keys
// byte for byte, never the ciphertext; DE, reading on B, is pointed at A for the ciphertext,
// fetches it there with a token for A (a token for B is refused), A checks DE's wrap and audits
// the download, DE decrypts what NL encrypted and concurs on B, and A learns the concurrence by
// pulling B. A reader without a wrap gets 404 on both nodes; a withdrawal replicated from A
// deletes the wraps on B.
import { env } from "cloudflare:workers";
import {
  attachCaseFile,
  type EncKeyPair,
  EusnClient,
  openCaseFile,
  registerEvidenceKey,
  sha256Hex,
} from "@eusn/client";
import type { CaseFileOpens, CaseFileView, SubmissionView, WriteReceipt } from "@eusn/protocol";
import type { JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit } from "../helpers/node.ts";
import { A_URL, B_ID, B_URL, type TwoNodes, twoNodes } from "../helpers/two-nodes.ts";

const A_ID = env.NODE_ID;
const r = rng(1919);
let n: TwoNodes;
let nl: Admitted;
let de: Admitted;
let fr: Admitted;
const enc = new Map<string, EncKeyPair>();
const material = new TextEncoder().encode("PNG? no: the material itself, as bytes, never seen by a node");

/** A participant of A reading on B; absolute URLs go to the node they name (A or B). */
function onB(p: Admitted): EusnClient {
  return new EusnClient({
    baseUrl: B_URL,
    nodeId: B_ID,
    participantId: p.id,
    privateJwk: p.key.privateJwk as JWK,
    fetch: (input, init) => (input.startsWith(A_URL) ? n.fetchA(input, init) : n.fetchB(input, init)),
  });
}

/** The same participant talking to A through A's app with its peers configured. */
function onA(p: Admitted): EusnClient {
  return new EusnClient({
    baseUrl: A_URL,
    nodeId: A_ID,
    participantId: p.id,
    privateJwk: p.key.privateJwk as JWK,
    fetch: n.fetchA,
  });
}

let entry: string;
let caseFile: string;
let sha256: string;

beforeAll(async () => {
  n = await twoNodes();
  nl = await admit("authority", "NL", { name: "ATKM" });
  de = await admit("authority", "DE", { name: "BKA" });
  fr = await admit("authority", "FR", { name: "PHAROS" });
  for (const p of [nl, de]) {
    const { pair, result } = await registerEvidenceKey(p.client);
    if (!result.ok) throw new Error(JSON.stringify(result.problem));
    enc.set(p.id, pair);
  }
  const sub = await nl.client.write<{ submissions: { id: string }[] }>(
    "/v1/submissions",
    "submission.create",
    {
      items: [pdqItem(randomPdq(r))],
    },
  );
  if (!sub.ok) throw new Error(JSON.stringify(sub.problem));
  entry = sub.data.submissions[0]!.id;
  // FR has no key-wrapping key: the case file goes to NL and DE only.
  const attached = await attachCaseFile(
    nl.client,
    material,
    { mediaType: "image/png", caseReference: "NL-FED-1" },
    { submissionId: entry, mediaClass: "image" },
  );
  caseFile = attached.caseFileId;
  sha256 = attached.sha256;
  expect(attached.recipients.sort()).toEqual([nl.id, de.id].sort());
});

describe("a case file across two nodes", () => {
  it("B holds the signed record and the wrapped keys, byte for byte, and no ciphertext", async () => {
    const report = await n.pull();
    expect(report.pending).toBe(0);
    const rec = (db: D1Database) =>
      db
        .prepare(
          "SELECT jws FROM records WHERE kind = 'evidence.create' AND id = (SELECT record_id FROM case_files WHERE id = ?)",
        )
        .bind(caseFile)
        .first<{ jws: string }>();
    const onAjws = (await rec(env.DB))?.jws;
    expect(onAjws).toBeTruthy();
    expect((await rec(n.envB.DB))?.jws).toBe(onAjws);
    const keys = (db: D1Database) =>
      db
        .prepare(
          "SELECT participant_id, enc_kid, jwe FROM case_file_keys WHERE case_file_id = ? ORDER BY participant_id",
        )
        .bind(caseFile)
        .all();
    expect((await keys(n.envB.DB)).results).toEqual((await keys(env.DB)).results);
    const row = (db: D1Database) =>
      db
        .prepare("SELECT origin_node, r2_key, sha256, size FROM case_files WHERE id = ?")
        .bind(caseFile)
        .first<{ origin_node: string; r2_key: string | null; sha256: string; size: number }>();
    const a = (await row(env.DB))!;
    const b = (await row(n.envB.DB))!;
    expect(a.origin_node).toBe(A_ID);
    expect(a.r2_key).toMatch(/^case-files\//);
    expect(b).toEqual({ ...a, r2_key: null });
    // B accepted no upload and keeps no object of its own for the case file.
    expect(await n.countB("evidence_uploads")).toBe(0);
  });

  it("DE on B is pointed at A; B itself serves no ciphertext; a token for B does not open A's", async () => {
    const res = await onB(de).get<CaseFileView>(`/v1/evidence/${caseFile}`);
    if (!res.ok) throw new Error(JSON.stringify(res.problem));
    expect(res.data.originNode).toBe(A_ID);
    expect(res.data.contentUrl).toBe(`${A_URL}/v1/evidence/${caseFile}/content`);
    // On B: 404, naming the origin.
    const onBcontent = await onB(de).fetchRaw(`/v1/evidence/${caseFile}/content`);
    expect(onBcontent.status).toBe(404);
    expect(await onBcontent.text()).toContain(A_ID);
    // At A with a token whose audience is B: refused, nothing audited.
    const opens = () =>
      env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE kind = 'evidence.open' AND subject_id = ?")
        .bind(caseFile)
        .first<{ n: number }>()
        .then((x) => x?.n ?? 0);
    const before = await opens();
    const wrongAudience = await onB(de).fetchRaw(res.data.contentUrl, {}, B_ID);
    expect(wrongAudience.status).toBe(401);
    expect(await opens()).toBe(before);
  });

  it("a reader without a wrap gets 404 on B and at A, as for nothing", async () => {
    for (const path of [`/v1/evidence/${caseFile}`, `/v1/evidence/${caseFile}/content`]) {
      expect((await onB(fr).fetchRaw(path)).status).toBe(404);
      expect((await onB(fr).fetchRaw(`${A_URL}${path}`, {}, A_ID)).status).toBe(404);
      expect((await onB(fr).fetchRaw(`${path.replace(caseFile, "evd_doesnotexist")}`)).status).toBe(404);
    }
  });

  it("DE on B opens it (fetched from A with a token for A, audited there), and concurs on B; A learns it", async () => {
    const opened = await openCaseFile(onB(de), caseFile, enc.get(de.id)!.privateJwk as JWK);
    expect(opened.view.sha256).toBe(sha256);
    expect(Buffer.from(opened.file).equals(Buffer.from(material))).toBe(true);
    expect(opened.context.caseReference).toBe("NL-FED-1");
    // The origin audited the download, and NL sees it.
    const who = await onA(nl).get<CaseFileOpens>(`/v1/evidence/${caseFile}/opens`);
    if (!who.ok) throw new Error(JSON.stringify(who.problem));
    expect(who.data.opens.map((o) => [o.participantId, o.memberState])).toEqual([[de.id, "DE"]]);
    // The bytes DE downloaded are the ones the signed record names (checked before decrypting).
    expect(
      await sha256Hex(
        new Uint8Array(await (await onA(de).fetchRaw(`/v1/evidence/${caseFile}/content`)).arrayBuffer()),
      ),
    ).toBe(sha256);

    const assessed = await onB(de).write<WriteReceipt>(
      `/v1/submissions/${entry}/assessments`,
      "assessment.create",
      {
        submissionId: entry,
        verdict: "concur",
        limb: "a",
        reason: "Case file checked on node B",
      },
    );
    if (!assessed.ok) throw new Error(JSON.stringify(assessed.problem));
    await n.pullOnA();
    const view = await onA(nl).get<{ submission: SubmissionView }>(`/v1/submissions/${entry}`);
    if (!view.ok) throw new Error(JSON.stringify(view.problem));
    expect(view.data.submission.assessments.concurStates).toContain("DE");
  });

  it("a withdrawal on A, once pulled, deletes the wraps on B: DE can no longer open it there", async () => {
    const w = await nl.client.write<WriteReceipt>(
      `/v1/submissions/${entry}/withdraw`,
      "submission.withdraw",
      {
        submissionId: entry,
        reason: "withdrawn after review",
      },
    );
    if (!w.ok) throw new Error(JSON.stringify(w.problem));
    await n.pull();
    expect(await n.countB("case_file_keys", `case_file_id = '${caseFile}'`)).toBe(0);
    expect((await onB(de).fetchRaw(`/v1/evidence/${caseFile}`)).status).toBe(404);
    expect((await onB(de).fetchRaw(`${A_URL}/v1/evidence/${caseFile}/content`, {}, A_ID)).status).toBe(404);
  });
});
