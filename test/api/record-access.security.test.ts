// One read policy per record kind (workers/api/rules/record-access.ts), applied by every route
// that serves signed records: GET /v1/records/{id} and GET /v1/log/entries. Each case is an
// insider holding a record id (from a lookup answer, the audit trail, a receipt) who wants bytes
// the API elsewhere never shows them: the other selectors of a signal, a retracted signal, a
// TLP:RED value, a statement of reasons.

import { env } from "cloudflare:workers";
import { type EusnClient, pseudonymise } from "@eusn/client";
import type { LogEntriesPage, WriteReceipt } from "@eusn/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, BASE, coordinator, expectProblem, nodeFetch } from "../helpers/node.ts";
import { publishVersion, type SignalPlatform, signalPlatform } from "../helpers/signals.ts";

const r = rng(1616);
let origin: SignalPlatform;
let looker: SignalPlatform;
let bystander: SignalPlatform;
let authority: Admitted;
let other: Admitted;
let signal: { signalId: string; recordId: string };
let lookedUp: string;
let secondSelector: string;

async function readRecord(by: EusnClient, id: string): Promise<Response> {
  return nodeFetch(`${BASE}/v1/records/${id}`, { headers: { authorization: `Bearer ${await by.token()}` } });
}

async function logEntry(by: EusnClient, recordId: string): Promise<LogEntriesPage["entries"][number]> {
  const row = await env.DB.prepare("SELECT idx FROM log_leaves WHERE record_id = ?")
    .bind(recordId)
    .first<{ idx: number }>();
  const res = await by.get<LogEntriesPage>(`/v1/log/entries?start=${row!.idx}&limit=1`);
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data.entries[0]!;
}

const hidden = async (by: EusnClient, recordId: string) => {
  await expectProblem(await readRecord(by, recordId), 404, "not_found");
  const e = await logEntry(by, recordId);
  expect(e.jws).toBeUndefined();
  expect(e.withheld).toBeTruthy();
};
const shown = async (by: EusnClient, recordId: string) => {
  const res = await readRecord(by, recordId);
  expect(res.status).toBe(200);
  const jws = await res.text();
  const e = await logEntry(by, recordId);
  expect(e.jws).toBe(jws);
  return jws;
};

beforeAll(async () => {
  origin = await signalPlatform("Origin platform");
  looker = await signalPlatform("Looking platform");
  bystander = await signalPlatform("Platform that never saw the signal");
  authority = await admit("authority", "NL");
  other = await admit("authority", "DE");
  const key = await publishVersion(1);
  const ps = async (kind: "email" | "phone", raw: string) => {
    const p = await pseudonymise(key, kind, raw);
    if (!p.ok) throw new Error(p.reason);
    return p.pseudonym;
  };
  lookedUp = await ps("email", "someone@example.org");
  secondSelector = await ps("phone", "+31612345678");
  const res = await origin.client.write<{ signalId: string; recordId: string }>(
    "/v1/signals",
    "signal.create",
    {
      kind: "account_removed",
      keyVersion: 1,
      selectors: [lookedUp, secondSelector],
      reason: { tcoLimb: "b" },
    },
  );
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  signal = res.data;
  const lookup = await looker.client.postJson<{
    hits: { signalId: string }[];
    signals: { recordId: string }[];
  }>("/v1/signals/lookup", { selectors: [lookedUp], urls: [] });
  if (!lookup.ok) throw new Error(JSON.stringify(lookup.problem));
  // The lookup answer hands the looking platform the signal's record id.
  expect(lookup.data.signals[0]?.recordId).toBe(signal.recordId);
});

describe("a signal's record, which carries every selector of the signal", () => {
  it("is not served to a platform that looked one selector up", async () => {
    await hidden(looker.client, signal.recordId);
  });

  it("is not served to an authority, which has no signal access at all", async () => {
    await hidden(authority.client, signal.recordId);
  });

  it("is not served to a coordinator, which generates the selector keys and sees every record id in the audit trail", async () => {
    const audit = await coordinator().get<{ entries: { recordId: string | null }[] }>("/v1/audit?limit=1000");
    if (!audit.ok) throw new Error(JSON.stringify(audit.problem));
    expect(audit.data.entries.some((e) => e.recordId === signal.recordId)).toBe(true);
    await hidden(coordinator(), signal.recordId);
  });

  it("is served to its origin while the signal is live, and to nobody once it is retracted", async () => {
    const jws = await shown(origin.client, signal.recordId);
    expect(jws.split(".")).toHaveLength(3);
    const res = await origin.client.write(`/v1/signals/${signal.signalId}/retract`, "signal.retract", {
      signalId: signal.signalId,
      reason: "posted in error",
    });
    expect(res.status).toBe(201);
    await hidden(origin.client, signal.recordId);
    await hidden(looker.client, signal.recordId);
    // The retraction itself is readable by those it concerns: the origin, a platform that was
    // handed the signal, a coordinator; not by a platform that never saw it.
    const retraction = (res as { data: WriteReceipt }).data.recordId;
    await shown(origin.client, retraction);
    await shown(looker.client, retraction);
    await shown(coordinator(), retraction);
    await hidden(bystander.client, retraction);
    await hidden(authority.client, retraction);
  });
});

describe("selector-key records", () => {
  it("are served to platforms (which check their wrapped key against them) and coordinators, not to authorities", async () => {
    const versions = await looker.client.get<{ versions: { recordId: string }[] }>("/v1/signals/keys");
    if (!versions.ok) throw new Error(JSON.stringify(versions.problem));
    const publish = versions.data.versions[0]!.recordId;
    await shown(looker.client, publish);
    await shown(coordinator(), publish);
    await hidden(authority.client, publish);
  });
});

describe("submissions", () => {
  it("a batch carrying a TLP:RED value is not served to a platform (nor any other submission record)", async () => {
    const red = await authority.client.write<{ receipt: WriteReceipt }>(
      "/v1/submissions",
      "submission.create",
      {
        items: [{ ...pdqItem(randomPdq(r)), tlp: "red" }, pdqItem(randomPdq(r))],
      },
    );
    if (!red.ok) throw new Error(JSON.stringify(red.problem));
    const id = red.data.receipt.recordId;
    await hidden(looker.client, id);
    await shown(other.client, id);
    await shown(coordinator(), id);
  });

  it("a platform reads the registry and its own records", async () => {
    await shown(looker.client, authority.receipt.recordId);
    await shown(looker.client, looker.receipt.recordId);
  });
});

describe("every record kind has a policy", () => {
  it("a kind without one would be refused to everyone but its signer (checked by the type of the table too)", async () => {
    const { RECORD_POLICIES } = await import("../../workers/api/rules/record-access.ts");
    const { RECORD_SCHEMAS } = await import("@eusn/protocol");
    expect(Object.keys(RECORD_POLICIES).sort()).toEqual(Object.keys(RECORD_SCHEMAS).sort());
  });
});
