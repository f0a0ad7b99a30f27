// Migration signals through the real Worker and D1: selector-key distribution (the node only ever
// holds wrapped keys), signing a signal with client-side pseudonyms, lookups by selector and by
// URL, pulls by target, key rotation with an overlap window, retraction and reversal reaching
// every platform that fetched the signal.

import { env } from "cloudflare:workers";
import {
  b64url,
  grantSelectorKey,
  listSignalReversals,
  lookupSignals,
  type OpenedKeys,
  pseudonymise,
  pseudonymiseForLookup,
  pullTargetedSignals,
  retractSignal,
  reverseSignal,
  type SelectorKey,
  submitSignal,
} from "@eusn/client";
import {
  type CreateSignalRecord,
  type SelectorKeysView,
  SIGNAL_ADVISORY,
  type SignalView,
} from "@eusn/protocol";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { BASE, coordinator, nodeFetch } from "../helpers/node.ts";
import { openKeys, publishVersion, type SignalPlatform, signalPlatform } from "../helpers/signals.ts";

let origin: SignalPlatform;
let target: SignalPlatform;
let other: SignalPlatform;
let v1: SelectorKey;
let originKeys: OpenedKeys;

const RAW = {
  email: "Jane.Doe+recruit@Example.ORG",
  handle: "@Propaganda_Channel",
  phone: "+31 (0)6 1234 5678",
  profile: "https://www.Social.example/Propaganda_Channel/",
};

async function pseudonyms(key: SelectorKey) {
  const out: string[] = [];
  for (const [kind, raw] of [
    ["email", RAW.email],
    ["handle", RAW.handle],
    ["phone", RAW.phone],
    ["profile_url", RAW.profile],
  ] as const) {
    const p = await pseudonymise(key, kind, raw);
    if (!p.ok) throw new Error(p.reason);
    out.push(p.pseudonym);
  }
  return out;
}

async function signal(by: SignalPlatform, record: Partial<CreateSignalRecord> & { keyVersion: number }) {
  const res = await submitSignal(by.client, {
    kind: "account_removed",
    reason: { tcoLimb: "c" },
    ...record,
  });
  if (!res.ok) throw new Error(`signal refused: ${JSON.stringify(res.problem)}`);
  return res.data;
}

beforeAll(async () => {
  origin = await signalPlatform("Origin Social");
  target = await signalPlatform("Target Video");
  other = await signalPlatform("Other Forum");
  v1 = await publishVersion(1);
  originKeys = await openKeys(origin);
});

afterEach(() => {
  vi.useRealTimers();
});

describe("selector-key distribution", () => {
  it("serves each platform only its own wrapped copy, which opens to the coordinator's key", async () => {
    const res = await origin.client.get<SelectorKeysView>("/v1/signals/keys");
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.data.current).toBe(1);
    expect(res.data.versions).toHaveLength(1);
    expect(res.data.versions[0]).toMatchObject({ version: 1, acceptsNewSignals: true, acceptsLookups: true });
    expect(res.data.versions[0]!.wrapped?.kid).toBe(origin.enc.kid);
    const forTarget = await target.client.get<SelectorKeysView>("/v1/signals/keys");
    expect(forTarget.ok && forTarget.data.versions[0]!.wrapped?.jwe).not.toBe(
      res.data.versions[0]!.wrapped?.jwe,
    );
    // Each platform, after checking the coordinator's signature, holds the very same key.
    expect(originKeys.current).toBe(1);
    expect(originKeys.keys.map((k) => b64url(k.key))).toEqual([b64url(v1.key)]);
    expect(b64url((await openKeys(target)).keys[0]!.key)).toBe(b64url(v1.key));
  });

  it("never stores the selector key in clear anywhere on the node", async () => {
    const raw = b64url(v1.key);
    const hex = [...v1.key].map((b) => b.toString(16).padStart(2, "0")).join("");
    const tables = await env.DB.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name != 'd1_migrations'",
    ).all<{ name: string }>();
    for (const { name } of tables.results) {
      const rows = await env.DB.prepare(`SELECT * FROM "${name}"`).all();
      const dump = JSON.stringify(rows.results);
      expect(dump.includes(raw), name).toBe(false);
      expect(dump.includes(hex), name).toBe(false);
    }
  });

  it("lets the coordinator grant a published version to a platform that joined later", async () => {
    const late = await signalPlatform("Late Joiner");
    expect((await late.client.get<SelectorKeysView>("/v1/signals/keys")).ok).toBe(true);
    const before = await late.client.get<SelectorKeysView>("/v1/signals/keys");
    expect(before.ok && before.data.versions[0]!.wrapped).toBeNull();
    const res = await grantSelectorKey(coordinator(), v1, [late.id]);
    expect(res.status).toBe(201);
    expect(b64url((await openKeys(late)).keys[0]!.key)).toBe(b64url(v1.key));
  });
});

describe("signals", () => {
  let signalId: string;
  let expiresAt: string;

  it("accepts a signal with pseudonymised selectors, out-links, target and default 90-day expiry", async () => {
    const selectors = await pseudonyms(originKeys.keys[0]!);
    const t0 = Math.floor(Date.now() / 1000);
    const receipt = await signal(origin, {
      kind: "migration_announced",
      keyVersion: 1,
      selectors,
      outLinks: ["https://t.me/examplechannel"],
      targetPlatformId: target.id,
      targetHost: "video.example",
      relatedSubmissions: ["hsh_01jd0000000000000000000000"],
    });
    signalId = receipt.signalId;
    expiresAt = receipt.expiresAt;
    expect(signalId).toMatch(/^sig_/);
    const days = (Date.parse(expiresAt) / 1000 - t0) / 86400;
    expect(days).toBeGreaterThan(89.99);
    expect(days).toBeLessThan(90.01);
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM signal_selectors WHERE signal_id = ?")
      .bind(signalId)
      .first<{ n: number }>();
    expect(stored?.n).toBe(4);
  });

  it("finds it by the same e-mail written differently, with provenance, age, expiry and the advisory", async () => {
    const keys = await openKeys(other);
    const p = await pseudonymiseForLookup(
      keys.keys.filter((k) => keys.lookupVersions.includes(k.version)),
      "email",
      "  jane.doe+other@example.org ",
    );
    if (!p.ok) throw new Error(p.reason);
    const res = await lookupSignals(other.client, { selectors: p.pseudonyms });
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.data.advisory).toBe(SIGNAL_ADVISORY);
    expect(res.data.hits).toEqual([{ matched: p.pseudonyms[0], matchedAs: "selector", signalId }]);
    const s = res.data.signals[0]!;
    expect(s).toMatchObject({
      id: signalId,
      kind: "migration_announced",
      origin: { participantId: origin.id, displayName: "Origin Social" },
      reason: { tcoLimb: "c" },
      keyVersion: 1,
      targetPlatformId: target.id,
      targetHost: "video.example",
      outLinks: ["https://t.me/examplechannel"],
      relatedSubmissions: ["hsh_01jd0000000000000000000000"],
      ageDays: 0,
      expiresAt,
      advisory: SIGNAL_ADVISORY,
    });
    // The other selectors of the signal are never handed out.
    const all = await pseudonyms(v1);
    for (const ps of all.slice(1)) expect(JSON.stringify(res.data)).not.toContain(ps);
  });

  it("finds it by an out-link carrying tracking parameters and a fragment", async () => {
    const res = await lookupSignals(other.client, {
      urls: ["HTTPS://WWW.T.ME/examplechannel/?utm_source=x&fbclid=abc#join", "https://nowhere.example/x"],
    });
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.data.hits).toEqual([
      { matched: "https://t.me/examplechannel", matchedAs: "outLink", signalId },
    ]);
  });

  it("answers no hits (and still the advisory) for selectors nobody signalled", async () => {
    const p = await pseudonymise(v1, "email", "someone.else@example.org");
    const res = await lookupSignals(other.client, { selectors: [p.ok ? p.pseudonym : ""] });
    expect(res.ok && res.data).toMatchObject({ advisory: SIGNAL_ADVISORY, hits: [], signals: [] });
  });

  it("lets the target platform pull signals naming it, from a cursor", async () => {
    const page = await pullTargetedSignals(target.client, 0);
    expect(page.ok).toBe(true);
    if (!page.ok) return;
    expect(page.data.advisory).toBe(SIGNAL_ADVISORY);
    expect(page.data.signals.map((s) => s.id)).toEqual([signalId]);
    expect(page.data.signals[0]!.advisory).toBe(SIGNAL_ADVISORY);
    const seq = page.data.signals[0]!.seq;
    const again = await pullTargetedSignals(target.client, seq);
    expect(again.ok && again.data.signals).toEqual([]);
    // Nobody else is targeted.
    const none = await pullTargetedSignals(other.client, 0);
    expect(none.ok && none.data.signals).toEqual([]);
  });

  it("pages a pull with `next`", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(
        (
          await signal(origin, {
            keyVersion: 1,
            outLinks: [`https://page.example/${i}`],
            targetPlatformId: other.id,
          })
        ).signalId,
      );
    }
    const first = await pullTargetedSignals(other.client, 0, 2);
    expect(first.ok && first.data.signals.map((s) => s.id)).toEqual(ids.slice(0, 2));
    const next = first.ok ? first.data.next : null;
    expect(next).not.toBeNull();
    const second = await pullTargetedSignals(other.client, next!, 2);
    expect(second.ok && second.data.signals.map((s) => s.id)).toEqual(ids.slice(2));
    expect(second.ok && second.data.next).toBeNull();
  });

  it("shows a signal to its originator and to platforms it was handed to, not to others", async () => {
    const mine = await origin.client.get<SignalView>(`/v1/signals/${signalId}`);
    expect(mine.ok && mine.data.id).toBe(signalId);
    const fetched = await other.client.get<SignalView>(`/v1/signals/${signalId}`);
    expect(fetched.ok && fetched.data.advisory).toBe(SIGNAL_ADVISORY);
    const stranger = await signalPlatform();
    const res = await stranger.client.get(`/v1/signals/${signalId}`);
    expect(res.ok ? 200 : res.problem.code).toBe("not_found");
  });
});

describe("key rotation", () => {
  it("keeps lookups working across versions during the overlap, and stops new signals under a retired version", async () => {
    const now = Math.floor(Date.now() / 1000);
    // v1 of this file was published valid for 120 days; v2 starts now and overlaps it.
    const v2 = await publishVersion(2, { validFrom: now - 30, validUntil: now + 400 * 86400 - 60 });
    const keys = await openKeys(origin);
    expect(keys.current).toBe(2);
    expect(keys.lookupVersions).toEqual([1, 2]);
    const k1 = keys.keys.find((k) => k.version === 1)!;
    const k2 = keys.keys.find((k) => k.version === 2)!;
    expect(b64url(k2.key)).toBe(b64url(v2.key));
    const old = await pseudonymise(k1, "handle", "@rotating_actor");
    const fresh = await pseudonymise(k2, "handle", "rotating_actor");
    if (!old.ok || !fresh.ok) throw new Error("pseudonymise failed");
    expect(old.pseudonym).not.toBe(fresh.pseudonym);
    const s1 = (await signal(origin, { keyVersion: 1, selectors: [old.pseudonym], expiresInDays: 180 }))
      .signalId;
    const s2 = (await signal(origin, { keyVersion: 2, selectors: [fresh.pseudonym], expiresInDays: 180 }))
      .signalId;

    // 121 days later v1 (valid for 120) no longer takes new signals, but its signals are live
    // and still match: lookups go out under both versions.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime((now + 121 * 86400) * 1000);
    const later = await openKeys(other);
    expect(later.current).toBe(2);
    expect(later.lookupVersions).toEqual([1, 2]);
    const refused = await submitSignal(origin.client, {
      kind: "reappearance",
      keyVersion: 1,
      selectors: [old.pseudonym],
      reason: { tcoLimb: "a" },
    });
    expect(refused.ok ? 201 : refused.problem.code).toBe("unprocessable");
    const both = await pseudonymiseForLookup(
      later.keys.filter((k) => later.lookupVersions.includes(k.version)),
      "handle",
      "Rotating_Actor",
    );
    if (!both.ok) throw new Error(both.reason);
    expect(both.pseudonyms).toHaveLength(2);
    const res = await lookupSignals(other.client, { selectors: both.pseudonyms });
    expect(res.ok && res.data.hits.map((h) => h.signalId).sort()).toEqual([s1, s2].sort());

    // Once every v1 signal has expired, v1 is no longer needed for lookups.
    vi.setSystemTime((now + 181 * 86400) * 1000);
    const end = await openKeys(other);
    expect(end.lookupVersions).toEqual([2]);
    const after = await lookupSignals(other.client, { selectors: both.pseudonyms });
    expect(after.ok && after.data.hits).toEqual([]);
  });
});

describe("retraction and reversal", () => {
  async function handedTo(p: SignalPlatform, id: string) {
    const res = await p.client.get<SignalView>(`/v1/signals/${id}`);
    return res.ok;
  }

  it("a retraction stops matching at once, drops the index rows and reaches the platforms that fetched it", async () => {
    const p = await pseudonymise(v1, "phone", "0612345670", { defaultCallingCode: "31" });
    if (!p.ok) throw new Error(p.reason);
    const { signalId } = await signal(origin, { keyVersion: 1, selectors: [p.pseudonym] });
    const hit = await lookupSignals(other.client, { selectors: [p.pseudonym] });
    expect(hit.ok && hit.data.hits).toHaveLength(1);
    expect(await handedTo(other, signalId)).toBe(true);
    const before = await listSignalReversals(other.client);
    const cursor = before.ok ? (before.data.reversals.at(-1)?.seq ?? 0) : 0;

    const res = await retractSignal(origin.client, signalId, "posted in error");
    expect(res.status).toBe(201);
    const miss = await lookupSignals(other.client, { selectors: [p.pseudonym] });
    expect(miss.ok && miss.data.hits).toEqual([]);
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM signal_selectors WHERE signal_id = ?")
      .bind(signalId)
      .first<{ n: number }>();
    expect(rows?.n).toBe(0);
    const list = await listSignalReversals(other.client, cursor);
    expect(list.ok && list.data.reversals).toMatchObject([
      { signalId, action: "retracted", by: origin.id, reason: "posted in error", ground: null },
    ]);
    // The originator sees its own retraction too.
    const own = await listSignalReversals(origin.client, cursor);
    expect(own.ok && own.data.reversals.map((r) => r.signalId)).toContain(signalId);
  });

  it("a coordinator's reversal reaches every platform that fetched the signal, and only them", async () => {
    const fetcherA = await signalPlatform();
    const fetcherB = await signalPlatform();
    const bystander = await signalPlatform();
    const { signalId } = await signal(origin, {
      keyVersion: 1,
      outLinks: ["https://appeal.example/channel"],
      targetPlatformId: fetcherB.id,
    });
    expect((await lookupSignals(fetcherA.client, { urls: ["appeal.example/channel"] })).ok).toBe(true);
    const pulled = await pullTargetedSignals(fetcherB.client);
    expect(pulled.ok && pulled.data.signals.map((s) => s.id)).toContain(signalId);

    const res = await reverseSignal(coordinator(), signalId, "appeal_upheld", "the user's appeal was upheld");
    expect(res.status).toBe(201);
    for (const p of [fetcherA, fetcherB, origin]) {
      const list = await listSignalReversals(p.client);
      expect(list.ok && list.data.reversals.find((r) => r.signalId === signalId)).toMatchObject({
        action: "reversed",
        by: env.BOOTSTRAP_COORDINATOR_ID,
        ground: "appeal_upheld",
      });
    }
    const none = await listSignalReversals(bystander.client);
    expect(none.ok && none.data.reversals).toEqual([]);
    const gone = await pullTargetedSignals(fetcherB.client);
    expect(gone.ok && gone.data.signals.map((s) => s.id)).not.toContain(signalId);
    const all = await listSignalReversals(coordinator());
    expect(all.ok && all.data.reversals.map((r) => r.signalId)).toContain(signalId);
  });
});

describe("OpenAPI", () => {
  it("documents the signal endpoints and record schemas", async () => {
    const doc = (await (await nodeFetch(`${BASE}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
      components: { schemas: Record<string, unknown> };
    };
    for (const p of [
      "/v1/signals",
      "/v1/signals/lookup",
      "/v1/signals/targeted",
      "/v1/signals/reversals",
      "/v1/signals/keys",
      "/v1/signals/enc-keys",
      "/v1/signals/{id}/retract",
      "/v1/signals/{id}/reverse",
    ]) {
      expect(doc.paths).toHaveProperty([p]);
    }
    for (const s of ["CreateMigrationSignalRecord", "PublishSelectorKeyRecord", "SetSignalEncKeyRecord"]) {
      expect(doc.components.schemas).toHaveProperty([s]);
    }
  });
});
