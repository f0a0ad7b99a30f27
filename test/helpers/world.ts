// A small network for route-by-route tests (the authorization matrix, the hostile-input battery):
// one participant of each role plus helpers, a baseline entry, a selector-key version, a signal,
// all made through the real API. `as(actor)` names who sends a request; "anonymous" is nobody
// for a read (no Authorization) and, for a signed write, a key no participant on the node holds.

import { env } from "cloudflare:workers";
import {
  createApiCredential,
  generateParticipantKey,
  pseudonymise,
  type SelectorKey,
  type Signer,
  signAccessToken,
  signWrite,
  submitSignal,
  type WriteOptions,
} from "@eusn/client";
import type { SubmitResult, WriteReceipt } from "@eusn/protocol";
import { expect } from "vitest";
import { pdqItem, randomPdq, rng } from "./hashes.ts";
import { type Admitted, admit, BASE, coordinator, nodeFetch } from "./node.ts";
import { publishVersion, type SignalPlatform, signalPlatform } from "./signals.ts";

export const ACTORS = ["anonymous", "coordinator", "authority", "platform"] as const;
export type Actor = (typeof ACTORS)[number];

export type World = {
  authority: Admitted; // NL
  authority2: Admitted; // DE: assesses the NL authority's submissions
  platform: SignalPlatform;
  stranger: Signer; // a well-formed key and participant id unknown to the node
  selectorKey: SelectorKey;
  /** An entry in the baseline (NL submitted, DE concurred, the coordinator included it). */
  included: { id: string; value: string; recordId: string };
  /** A live signal made by `platform`. */
  signalId: string;
  /** A STIX object id of the included entry in the TAXII baseline collection. */
  stixId: string;
  /** An API credential of every actor, by participant id. */
  credentials: Map<string, string>;
};

const r = rng(4242);
export const freshPdq = () => randomPdq(r);

export function coordinatorSigner(): Signer {
  const c = coordinator();
  return { participantId: c.participantId, privateJwk: c.privateJwk };
}

const must = <T>(res: { ok: boolean; status: number; data?: T; problem?: unknown }, what: string): T => {
  if (!res.ok) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.problem)}`);
  return res.data as T;
};

export async function buildWorld(): Promise<World> {
  const authority = await admit("authority", "NL");
  const authority2 = await admit("authority", "DE");
  const platform = await signalPlatform("Matrix Platform");
  const strangerKey = await generateParticipantKey();
  const stranger = { participantId: "par_01zzzzzzzzzzzzzzzzzzzzzzzz", privateJwk: strangerKey.privateJwk };
  const selectorKey = await publishVersion(1);

  const value = randomPdq(r);
  const sub = must(
    await authority.client.write<SubmitResult>("/v1/submissions", "submission.create", {
      items: [pdqItem(value)],
    }),
    "submit",
  );
  const id = sub.submissions[0]!.id;
  const concur = must(
    await authority2.client.write<WriteReceipt>(`/v1/submissions/${id}/assessments`, "assessment.create", {
      submissionId: id,
      verdict: "concur",
      limb: "a",
    }),
    "concur",
  );
  must(
    await coordinator().write(`/v1/submissions/${id}/decisions`, "baseline.decide", {
      submissionId: id,
      decision: "include",
      reason: "both member states concur",
      assessmentIds: [concur.subjectId],
    }),
    "include",
  );
  const signalId = await freshSignal({ platform, selectorKey });
  const objects = must(
    await coordinator().get<{ objects?: { id: string }[] }>("/taxii2/eusn/collections/baseline/objects/", {
      headers: { accept: "application/taxii+json;version=2.1" },
    }),
    "taxii objects",
  );
  const stixId = objects.objects?.find((o) => o.id.startsWith("indicator--"))?.id;
  if (!stixId) throw new Error(`no indicator in the TAXII baseline: ${JSON.stringify(objects)}`);
  const credentials = new Map<string, string>();
  for (const c of [coordinator(), authority.client, platform.client]) {
    const cred = must(await createApiCredential(c, { label: "matrix" }), "api credential");
    credentials.set(c.participantId, cred.credentialId);
  }
  return {
    authority,
    authority2,
    platform,
    stranger,
    selectorKey,
    included: { id, value, recordId: sub.receipt!.recordId },
    signalId,
    stixId,
    credentials,
  };
}

/** Who signs for `actor` (anonymous: the stranger). */
export function signerOf(w: World, actor: Actor): Signer {
  switch (actor) {
    case "coordinator":
      return coordinatorSigner();
    case "authority":
      return { participantId: w.authority.id, privateJwk: w.authority.key.privateJwk };
    case "platform":
      return { participantId: w.platform.id, privateJwk: w.platform.key.privateJwk };
    default:
      return w.stranger;
  }
}

export const idOf = (w: World, actor: Actor) => signerOf(w, actor).participantId;

/** A signed write of `kind` by `actor`, POSTed to `path`, as the raw response. */
export async function signedPost(
  w: World,
  actor: Actor,
  path: string,
  kind: string,
  record: unknown,
  opts?: WriteOptions,
): Promise<Response> {
  const jws = await signWrite(signerOf(w, actor), env.NODE_ID, kind, record, opts);
  return nodeFetch(`${BASE}${path}`, {
    method: "POST",
    headers: { "content-type": "application/jose" },
    body: jws,
  });
}

/** A request with `actor`'s bearer token (none for anonymous). */
export async function bearerFetch(
  w: World,
  actor: Actor,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (actor !== "anonymous") {
    headers.set("authorization", `Bearer ${await signAccessToken(signerOf(w, actor), env.NODE_ID)}`);
  }
  return nodeFetch(`${BASE}${path}`, { ...init, headers });
}

export const jsonPost = (w: World, actor: Actor, path: string, body: unknown) =>
  bearerFetch(w, actor, path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

/** A live submission by `by` (default the NL authority). */
export async function freshSubmission(by: Admitted): Promise<{ id: string; value: string }> {
  const value = randomPdq(r);
  const res = must(
    await by.client.write<SubmitResult>("/v1/submissions", "submission.create", {
      items: [pdqItem(value)],
    }),
    "fresh submission",
  );
  return { id: res.submissions[0]!.id, value };
}

/** A live submission the world's platform has matched (so it may give feedback on it). */
export async function matchedSubmission(w: World): Promise<string> {
  const s = await freshSubmission(w.authority);
  const m = await w.platform.client.match({
    scope: "all",
    items: [{ type: "pdq", value: s.value }],
  });
  expect(m.status).toBe(200);
  return s.id;
}

/** A live signal by the platform (one pseudonymised e-mail selector and one out-link). */
export async function freshSignal(w: Pick<World, "platform" | "selectorKey">): Promise<string> {
  const p = await pseudonymise(w.selectorKey, "email", `recruiter${Math.floor(r() * 1e9)}@example.org`);
  if (!p.ok) throw new Error(p.reason);
  const res = must(
    await submitSignal(w.platform.client, {
      kind: "account_removed",
      keyVersion: w.selectorKey.version,
      selectors: [p.pseudonym],
      outLinks: [],
      relatedSubmissions: [],
      reason: { tcoLimb: "c" },
    }),
    "signal",
  );
  return res.signalId;
}
