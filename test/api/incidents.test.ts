// Crisis incidents end to end through the API: declare, list, provisional entries matching at
// once in scope `baseline` labelled with the incident, the fast lane (a cursor over the
// incident's additions and removals, and its long-poll held by the IncidentWatch Durable Object,
// answered as soon as a write lands), the coordinator's report and the public summary.
import { env } from "cloudflare:workers";
import type { IncidentList, IncidentReport, IncidentView } from "@eusn/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import { foldMatches } from "../../workers/api/store/match.ts";
import {
  closeIncident,
  declare,
  freshValue,
  hashes,
  matchOne,
  submitProvisional,
} from "../helpers/incidents.ts";
import { type Admitted, admit, coordinator, nodeFetch } from "../helpers/node.ts";

let authority: Admitted;
let platform: Admitted;

beforeAll(async () => {
  authority = await admit("authority", "NL");
  platform = await admit("platform");
}, 60_000);

describe("an incident and its provisional entries", () => {
  it("is listed to every participant with its status and counts", async () => {
    const inc = await declare({ title: "Listed drill" });
    expect(inc.status).toBe("active");
    expect(inc.requestedBy).toEqual(["DE", "NL"]);
    const list = await platform.client.get<IncidentList>("/v1/incidents?status=active");
    expect(list.ok && list.data.incidents.some((i) => i.id === inc.id)).toBe(true);
    await submitProvisional(authority.client, inc.id, [freshValue(), freshValue()]);
    const shown = await authority.client.get<IncidentView>(`/v1/incidents/${inc.id}`);
    expect(shown.ok && shown.data.provisional).toEqual({ submitted: 2, active: 2, included: 0, lapsed: 0 });
  });

  it("a provisional entry matches at once in scope baseline, labelled with the incident and its lapse", async () => {
    const inc = await declare();
    const value = freshValue();
    const [id] = await submitProvisional(authority.client, inc.id, [value]);
    const [hit] = await matchOne(platform.client, value);
    expect(hit?.submissionId).toBe(id);
    expect(hit?.provisional?.incidentId).toBe(inc.id);
    // It lapses at the earlier of the incident's end (24 h here) and 72 h after submission.
    expect(hit?.provisional?.lapsesAt).toBe(inc.endsAt);
    expect(hit?.state.inBaseline).toBe(false);
    // An entry submitted without the incident does not match in scope baseline.
    const plain = freshValue();
    const res = await authority.client.write("/v1/submissions", "submission.create", {
      items: [
        {
          signalType: "pdq",
          value: plain,
          quality: 90,
          limbs: ["a"],
          contentType: "image",
          nationalProvision: "NL Sr. art. 131",
        },
      ],
    });
    expect(res.status).toBe(201);
    expect(await matchOne(platform.client, plain)).toEqual([]);
  });
});

describe("the fast lane", () => {
  it("pages the incident's additions and removals by cursor", async () => {
    const inc = await declare();
    const values = [freshValue(), freshValue(), freshValue()];
    await submitProvisional(authority.client, inc.id, values);
    const first = await hashes(platform.client, inc.id, "?limit=2");
    expect(first.changes.map((c) => [c.op, c.change])).toEqual([
      ["add", "created"],
      ["add", "created"],
    ]);
    expect(first.more).toBe(true);
    const second = await hashes(platform.client, inc.id, `?after=${first.next}`);
    expect(second.changes).toHaveLength(1);
    expect(second.more).toBe(false);
    expect([...first.changes, ...second.changes].map((c) => c.value).sort()).toEqual([...values].sort());
    // Nothing new: an empty page at the same cursor.
    const idle = await hashes(platform.client, inc.id, `?after=${second.next}`);
    expect(idle.changes).toEqual([]);
    expect(idle.next).toBe(second.next);
    // The close lapses them: removals after the cursor.
    await closeIncident(inc.id);
    const closed = await hashes(platform.client, inc.id, `?after=${second.next}`);
    expect(closed.status).toBe("closed");
    expect(closed.changes.map((c) => [c.op, c.change])).toEqual([
      ["remove", "provisional_lapsed"],
      ["remove", "provisional_lapsed"],
      ["remove", "provisional_lapsed"],
    ]);
  });

  it("a long-poll is answered as soon as a submission lands, not at its timeout", async () => {
    const inc = await declare();
    const head = await hashes(platform.client, inc.id);
    const started = Date.now();
    const held = hashes(platform.client, inc.id, `?after=${head.next}&wait=20`);
    await new Promise((r) => setTimeout(r, 500));
    const value = freshValue();
    await submitProvisional(authority.client, inc.id, [value]);
    const page = await held;
    const took = Date.now() - started;
    expect(page.changes.map((c) => [c.op, c.value])).toEqual([["add", value]]);
    expect(took, "answered by the write, not by the 20 s timeout").toBeLessThan(10_000);
  });

  it("a long-poll with nothing happening answers empty at its timeout", async () => {
    const inc = await declare();
    const started = Date.now();
    const page = await hashes(platform.client, inc.id, "?wait=1");
    expect(page.changes).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });
});

describe("accountability", () => {
  it("the coordinator's report per entry, and a public incident's counts-only summary", async () => {
    const inc = await declare({ public: true, title: "Public drill" });
    const [matchedValue, quietValue] = [freshValue(), freshValue()];
    const [matched, quiet] = await submitProvisional(authority.client, inc.id, [matchedValue, quietValue]);
    await matchOne(platform.client, matchedValue);
    await matchOne(platform.client, matchedValue);
    const fb = await platform.client.write(`/v1/submissions/${matched}/feedback`, "feedback.create", {
      submissionId: matched,
      outcome: "true_positive",
    });
    expect(fb.status).toBe(201);
    await closeIncident(inc.id);
    const report = await coordinator().get<{
      entries: {
        submissionId: string;
        matches: number;
        firstMatchAt: string | null;
        fate: string;
        feedback: { truePositive: number };
      }[];
    }>(`/v1/incidents/${inc.id}/report`);
    if (!report.ok) throw new Error("report");
    const by = new Map(report.data.entries.map((e) => [e.submissionId, e]));
    expect(by.get(matched!)).toMatchObject({ matches: 2, fate: "lapsed", feedback: { truePositive: 1 } });
    expect(by.get(matched!)?.firstMatchAt).not.toBeNull();
    expect(by.get(quiet!)).toMatchObject({ matches: 0, firstMatchAt: null, fate: "lapsed" });
    const summary = (await (
      await nodeFetch(`https://node.test/v1/incidents/${inc.id}/summary`)
    ).json()) as Record<string, unknown>;
    expect(summary).toMatchObject({ entries: 2, matched: 1, matches: 2, fates: { lapsed: 2 } });
    expect(JSON.stringify(summary)).not.toContain(matchedValue);
    // A non-public incident has no public summary.
    const hidden = await declare();
    expect((await nodeFetch(`https://node.test/v1/incidents/${hidden.id}/summary`)).status).toBe(404);
  });
});

describe("the per-incident counts are of matches on provisional entries only", () => {
  it("matches of an entry after it lapsed (scope all) or once included count for no incident", async () => {
    const other = await admit("authority", "DE");
    const inc = await declare({ public: true, title: "Counted drill" });
    const [lapsingValue, includedValue, lateValue] = [freshValue(), freshValue(), freshValue()];
    const [lapsing, included, late] = await submitProvisional(authority.client, inc.id, [
      lapsingValue,
      includedValue,
      lateValue,
    ]);
    // While provisional: one match each of the first two (scope all is labelled provisional too).
    expect((await matchOne(platform.client, lapsingValue, "all"))[0]?.provisional?.incidentId).toBe(inc.id);
    expect((await matchOne(platform.client, includedValue))[0]?.provisional?.incidentId).toBe(inc.id);
    // `included` joins the baseline by the normal rules: from then on it is a baseline entry.
    const concur = await other.client.write(`/v1/submissions/${included}/assessments`, "assessment.create", {
      submissionId: included,
      verdict: "concur",
      limb: "a",
    });
    expect(concur.status).toBe(201);
    const asms = await env.DB.prepare("SELECT id FROM assessments WHERE submission_id = ? AND live = 1")
      .bind(included!)
      .all<{ id: string }>();
    const decided = await coordinator().write(`/v1/submissions/${included}/decisions`, "baseline.decide", {
      submissionId: included,
      decision: "include",
      reason: "confirmed by two member states",
      assessmentIds: asms.results.map((r) => r.id),
    });
    expect(decided.status).toBe(201);
    const after = await matchOne(platform.client, includedValue);
    expect(after.map((h) => [h.submissionId, h.provisional])).toEqual([[included, null]]);
    await closeIncident(inc.id);
    // Lapsed, still live: scope all answers them, unlabelled; no longer provisional matches.
    expect((await matchOne(platform.client, lapsingValue, "all")).map((h) => h.provisional)).toEqual([null]);
    expect((await matchOne(platform.client, lateValue, "all")).map((h) => h.provisional)).toEqual([null]);
    const report = await coordinator().get<IncidentReport>(`/v1/incidents/${inc.id}/report`);
    if (!report.ok) throw new Error("report");
    const by = new Map(report.data.entries.map((e) => [e.submissionId, e]));
    expect(by.get(lapsing!)).toMatchObject({ matches: 1, platforms: 1, fate: "lapsed" });
    expect(by.get(included!)).toMatchObject({ matches: 1, platforms: 1, fate: "included" });
    expect(by.get(late!)).toMatchObject({ matches: 0, platforms: 0, firstMatchAt: null, fate: "lapsed" });
    const summary = (await (
      await nodeFetch(`https://node.test/v1/incidents/${inc.id}/summary`)
    ).json()) as Record<string, unknown>;
    expect(summary).toMatchObject({ entries: 3, matched: 2, matches: 2 });
    // The platform's own memory of what it matched (reversals, feedback) still holds every match,
    // once the pending requests are folded in (store/match.ts).
    await foldMatches(env.DB);
    const remembered = await env.DB.prepare(
      "SELECT sum(count) AS n FROM submission_matches WHERE submission_id IN (?, ?, ?)",
    )
      .bind(lapsing!, included!, late!)
      .first<{ n: number }>();
    expect(remembered?.n).toBe(5);
  });
});

it("the public statistics list public incidents by title and dates only, never a private one", async () => {
  const shown = await declare({ public: true, title: "Listed in the statistics" });
  const hidden = await declare({ title: "Not for the statistics" });
  const stats = (await (await nodeFetch("https://node.test/v1/stats")).json()) as {
    incidents: Record<string, unknown>[];
  };
  const listed = stats.incidents.find((i) => i.id === shown.id);
  expect(listed).toEqual({
    id: shown.id,
    title: "Listed in the statistics",
    startsAt: shown.startsAt,
    endsAt: shown.endsAt,
    closedAt: null,
  });
  expect(stats.incidents.some((i) => i.id === hidden.id)).toBe(false);
});
