// Crisis incidents: each rule the node enforces, attacked (docs/incidents.md "Rules"). Only
// coordinators declare, extend and close; an incident's time box holds (≤ 72 h declared, ≤ 7 days
// with extensions); only authorities submit provisional entries, and only while the incident is
// active — not before it starts, not after it ends or closes, not with a signed time slipped back
// into its window; a provisional entry never outlives its incident (at query time, before any
// cron); TLP:RED never matches, provisional or not; closing lapses the unconfirmed entries in the
// close's own batch. Every refusal is checked to store nothing.
import { env } from "cloudflare:workers";
import type { Reversal, SubmitResult } from "@eusn/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import { unchanged } from "../helpers/db-state.ts";
import { pdqItem } from "../helpers/hashes.ts";
import {
  closeIncident,
  declare,
  declareRecord,
  freshValue,
  hashes,
  matchOne,
  runCron,
  sleep,
  submitProvisional,
} from "../helpers/incidents.ts";
import { type Admitted, admit, coordinator, expectProblem } from "../helpers/node.ts";

const HOUR = 3600_000;
const DAY = 24 * HOUR;
let authority: Admitted;
let platform: Admitted;

beforeAll(async () => {
  authority = await admit("authority", "NL");
  platform = await admit("platform");
}, 60_000);

/** Sends a signed write and expects it refused with exactly this problem, and nothing stored. */
async function refused(
  send: () => Promise<{ status: number; problem?: unknown }>,
  status: number,
  code: string,
) {
  let answered: { status: number; problem?: unknown } | undefined;
  await unchanged(async () => {
    answered = await send();
    return new Response(null, { status: 204 });
  }, code);
  expect(answered!.status, JSON.stringify(answered!.problem)).toBe(status);
  expect((answered!.problem as { code?: string }).code).toBe(code);
}

describe("only coordinators declare, extend and close", () => {
  it("an authority or a platform cannot declare an incident", async () => {
    for (const who of [authority, platform])
      await refused(
        () => who.client.write("/v1/incidents", "incident.declare", declareRecord()),
        403,
        "forbidden",
      );
  });

  it("an authority or a platform cannot extend or close one", async () => {
    const inc = await declare();
    for (const who of [authority, platform]) {
      await refused(
        () =>
          who.client.write(`/v1/incidents/${inc.id}/extend`, "incident.extend", {
            incidentId: inc.id,
            endsAt: new Date(Date.parse(inc.endsAt) + HOUR).toISOString(),
            reason: "still spreading",
          }),
        403,
        "forbidden",
      );
      await refused(
        () =>
          who.client.write(`/v1/incidents/${inc.id}/close`, "incident.close", {
            incidentId: inc.id,
            reason: "contained",
          }),
        403,
        "forbidden",
      );
    }
  });
});

describe("the time box", () => {
  it("refuses a declared end more than 72 h after the start", async () => {
    const start = Date.now();
    await refused(
      () =>
        coordinator().write(
          "/v1/incidents",
          "incident.declare",
          declareRecord({ startsAt: start, endsAt: start + 72 * HOUR + 1000 }),
        ),
      400,
      "validation_failed",
    );
  });

  it("refuses an incident that has already ended, or started more than a day ago", async () => {
    const start = Date.now() - 2 * HOUR;
    await refused(
      () =>
        coordinator().write(
          "/v1/incidents",
          "incident.declare",
          declareRecord({ startsAt: start, endsAt: start + HOUR }),
        ),
      400,
      "validation_failed",
    );
    const old = Date.now() - 25 * HOUR;
    await refused(
      () =>
        coordinator().write(
          "/v1/incidents",
          "incident.declare",
          declareRecord({ startsAt: old, endsAt: old + 30 * HOUR }),
        ),
      400,
      "validation_failed",
    );
  });

  it("extensions never take an incident beyond 7 days from its start", async () => {
    const start = Date.now() - 1000;
    const inc = await declare({ startsAt: start, endsAt: start + 72 * HOUR });
    const extend = (endsAt: number) =>
      coordinator().write(`/v1/incidents/${inc.id}/extend`, "incident.extend", {
        incidentId: inc.id,
        endsAt: new Date(endsAt).toISOString(),
        reason: "copies still spreading",
      });
    // One step past the limit, and a second step that would cross it after a legal one.
    await refused(() => extend(start + 7 * DAY + 1000), 400, "validation_failed");
    expect((await extend(start + 6 * DAY)).status).toBe(201);
    await refused(() => extend(start + 7 * DAY + 1), 400, "validation_failed");
    // Exactly seven days is allowed; an "extension" to an earlier end is not one.
    expect((await extend(start + 7 * DAY)).status).toBe(201);
    await refused(() => extend(start + 5 * DAY), 400, "validation_failed");
    const row = await env.DB.prepare("SELECT ends_at, extensions FROM incidents WHERE id = ?")
      .bind(inc.id)
      .first<{ ends_at: string; extensions: number }>();
    expect(row).toEqual({ ends_at: new Date(start + 7 * DAY).toISOString(), extensions: 2 });
  });

  it("a closed incident cannot be extended or closed again", async () => {
    const inc = await declare();
    await closeIncident(inc.id);
    await refused(
      () =>
        coordinator().write(`/v1/incidents/${inc.id}/extend`, "incident.extend", {
          incidentId: inc.id,
          endsAt: new Date(Date.parse(inc.endsAt) + HOUR).toISOString(),
          reason: "reopen",
        }),
      409,
      "conflict",
    );
    await refused(
      () =>
        coordinator().write(`/v1/incidents/${inc.id}/close`, "incident.close", {
          incidentId: inc.id,
          reason: "again",
        }),
      409,
      "conflict",
    );
  });

  it("a record about one incident cannot be sent to another's path", async () => {
    const a = await declare();
    const b = await declare();
    await refused(
      () =>
        coordinator().write(`/v1/incidents/${a.id}/close`, "incident.close", {
          incidentId: b.id,
          reason: "wrong",
        }),
      400,
      "bad_request",
    );
  });
});

describe("provisional submissions", () => {
  it("only an authority submits them", async () => {
    const inc = await declare();
    for (const who of [coordinator(), platform.client])
      await refused(
        () =>
          who.write("/v1/submissions", "submission.create", {
            incidentId: inc.id,
            items: [pdqItem(freshValue())],
          }),
        403,
        "forbidden",
      );
  });

  it("only while the incident is active: not before it starts, not after it closes, not for an unknown one", async () => {
    const scheduled = await declare({ startsAt: Date.now() + HOUR, endsAt: Date.now() + 2 * HOUR });
    const closed = await declare();
    await closeIncident(closed.id);
    const send = (incidentId: string) => () =>
      authority.client.write("/v1/submissions", "submission.create", {
        incidentId,
        items: [pdqItem(freshValue())],
      });
    await refused(send(scheduled.id), 409, "conflict");
    await refused(send(closed.id), 409, "conflict");
    await refused(send("inc_01zzzzzzzzzzzzzzzzzzzzzzzz"), 404, "not_found");
  });

  it("signed in the second it starts: accepted (a signed time has whole seconds); the second before: refused", async () => {
    // Starts 700 ms into a second two seconds ago: a record signed in that second carries the
    // second's start as its time, before the incident's own millisecond.
    const startsAt = Math.floor(Date.now() / 1000) * 1000 - 2000 + 700;
    const inc = await declare({ startsAt, endsAt: startsAt + HOUR });
    const send = (iat: number) => () =>
      authority.client.write(
        "/v1/submissions",
        "submission.create",
        { incidentId: inc.id, items: [pdqItem(freshValue())] },
        { iat },
      );
    await refused(send(Math.floor(startsAt / 1000) - 1), 409, "conflict");
    const res = await send(Math.floor(startsAt / 1000))();
    expect(res.status, res.ok ? "" : JSON.stringify(res.problem)).toBe(201);
  });

  it("not after it ended, even signed with a time inside its window", async () => {
    const inc = await declare({ endsAt: Date.now() + 1500 });
    await sleep(2000);
    const items = [pdqItem(freshValue())];
    await refused(
      () => authority.client.write("/v1/submissions", "submission.create", { incidentId: inc.id, items }),
      409,
      "conflict",
    );
    // Signed 3 s earlier (within the ±5 min a signed write may be off): still refused here.
    await refused(
      () =>
        authority.client.write(
          "/v1/submissions",
          "submission.create",
          { incidentId: inc.id, items },
          { iat: Math.floor((Date.now() - 3000) / 1000) },
        ),
      409,
      "conflict",
    );
  });
});

describe("a provisional entry never outlives its incident", () => {
  it("stops matching when the incident ends, before any cron; the cron then records the lapse", async () => {
    const inc = await declare({ endsAt: Date.now() + 3000 });
    const value = freshValue();
    const [id] = await submitProvisional(authority.client, inc.id, [value]);
    const hit = await matchOne(platform.client, value);
    expect(hit.map((h) => h.submissionId)).toEqual([id]);
    expect(hit[0]!.provisional?.incidentId).toBe(inc.id);
    await sleep(3200);
    // Ended, no cron yet: neither scope answers it as provisional; scope baseline not at all.
    expect(await matchOne(platform.client, value)).toEqual([]);
    expect((await matchOne(platform.client, value, "all")).every((h) => h.provisional === null)).toBe(true);
    const before = await platform.client.get<{ reversals: Reversal[] }>("/v1/reversals");
    expect(before.ok && before.data.reversals.filter((r) => r.submissionId === id)).toEqual([]);
    // The feed already answers `remove` for it, judged at query time.
    const page = await hashes(platform.client, inc.id);
    expect(page.status).toBe("ended");
    expect(page.changes.map((c) => c.op)).toEqual(["remove"]);
    await runCron();
    const after = await platform.client.get<{ reversals: Reversal[] }>("/v1/reversals");
    if (!after.ok) throw new Error("reversals");
    const lapse = after.data.reversals.filter((r) => r.submissionId === id);
    expect(lapse.map((r) => [r.change, r.reason])).toEqual([["provisional_lapsed", "provisional_lapsed"]]);
    // Once recorded, a second cron adds nothing.
    await runCron();
    const n = await env.DB.prepare(
      "SELECT count(*) AS n FROM submission_changes WHERE submission_id = ? AND change = 'provisional_lapsed'",
    )
      .bind(id)
      .first<{ n: number }>();
    expect(n?.n).toBe(1);
  });

  it("closing lapses every unconfirmed entry in the close's own batch; an included one stays", async () => {
    const authority2 = await admit("authority", "DE");
    const inc = await declare();
    const [a, b] = await submitProvisional(authority.client, inc.id, [freshValue(), freshValue()]);
    // b is included by the normal rules (a DE concurrence with NL's own: quorum of this node's states).
    const concur = await authority2.client.write<{ subjectId: string }>(
      `/v1/submissions/${b}/assessments`,
      "assessment.create",
      { submissionId: b, verdict: "concur", limb: "a" },
    );
    expect(concur.ok).toBe(true);
    const asms = await env.DB.prepare("SELECT id FROM assessments WHERE submission_id = ? AND live = 1")
      .bind(b!)
      .all<{ id: string }>();
    const inc1 = await coordinator().write(`/v1/submissions/${b}/decisions`, "baseline.decide", {
      submissionId: b,
      decision: "include",
      reason: "confirmed by two member states",
      assessmentIds: asms.results.map((r) => r.id),
    });
    expect(inc1.status, JSON.stringify(inc1.ok ? null : inc1.problem)).toBe(201);
    const { receipt } = await closeIncident(inc.id);
    const lapsed = await env.DB.prepare(
      "SELECT submission_id, record_id FROM submission_changes WHERE change = 'provisional_lapsed' AND submission_id IN (?, ?)",
    )
      .bind(a!, b!)
      .all<{ submission_id: string; record_id: string }>();
    expect(lapsed.results).toEqual([{ submission_id: a, record_id: receipt.recordId }]);
    const rows = await env.DB.prepare(
      "SELECT id, provisional_lapsed_at FROM submissions WHERE id IN (?, ?) ORDER BY id = ?",
    )
      .bind(a!, b!, b!)
      .all<{ id: string; provisional_lapsed_at: string | null }>();
    expect(rows.results.map((r) => [r.id, r.provisional_lapsed_at !== null])).toEqual([
      [a, true],
      [b, false],
    ]);
  });

  it("after a close no platform is answered the lapsed entry, even in scope all as provisional", async () => {
    const inc = await declare();
    const value = freshValue();
    await submitProvisional(authority.client, inc.id, [value]);
    expect(await matchOne(platform.client, value)).toHaveLength(1);
    await closeIncident(inc.id);
    expect(await matchOne(platform.client, value)).toEqual([]);
    expect((await matchOne(platform.client, value, "all")).map((h) => h.provisional)).toEqual([null]);
  });
});

describe("TLP:RED never matches, provisional or not", () => {
  it("a TLP:RED provisional entry is not answered in either scope, nor listed in the fast lane", async () => {
    const inc = await declare();
    const value = freshValue();
    await submitProvisional(authority.client, inc.id, [value], { tlp: "red" });
    expect(await matchOne(platform.client, value)).toEqual([]);
    expect(await matchOne(platform.client, value, "all")).toEqual([]);
    expect((await hashes(platform.client, inc.id)).changes).toEqual([]);
  });

  it("a provisional entry whose value another authority holds at TLP:RED is withheld", async () => {
    const other = await admit("authority", "FR");
    const inc = await declare();
    const value = freshValue();
    await submitProvisional(authority.client, inc.id, [value]);
    expect(await matchOne(platform.client, value)).toHaveLength(1);
    const red = await other.client.write("/v1/submissions", "submission.create", {
      items: [pdqItem(value, { tlp: "red" })],
    });
    expect(red.status).toBe(201);
    expect(await matchOne(platform.client, value)).toEqual([]);
    // Replayed from the start: its creation and its withholding, both judged now.
    expect((await hashes(platform.client, inc.id)).changes.map((c) => [c.op, c.change])).toEqual([
      ["remove", "created"],
      ["remove", "withheld"],
    ]);
  });

  it("a later TLP:RED submission of the value is a removal line for a follower past the entry, and its withdrawal an addition", async () => {
    const other = await admit("authority", "FR");
    const inc = await declare();
    const value = freshValue();
    const [id] = await submitProvisional(authority.client, inc.id, [value]);
    // The follower has the entry (its cursor is past the entry's `created`) and waits.
    const head = await hashes(platform.client, inc.id);
    expect(head.changes.map((c) => [c.op, c.submissionId])).toEqual([["add", id]]);
    const held = hashes(platform.client, inc.id, `?after=${head.next}&wait=20`);
    await sleep(300);
    const started = Date.now();
    const red = await other.client.write<SubmitResult>("/v1/submissions", "submission.create", {
      items: [pdqItem(value, { tlp: "red" })],
    });
    expect(red.status).toBe(201);
    const redId = red.ok ? red.data.submissions[0]!.id : "";
    const woken = await held;
    expect(Date.now() - started, "woken by the TLP:RED write, not at the timeout").toBeLessThan(10_000);
    // One line, about the provisional entry (never the TLP:RED submission or its id): remove it.
    expect(woken.changes.map((c) => [c.op, c.change, c.submissionId, c.value])).toEqual([
      ["remove", "withheld", id, value],
    ]);
    expect(JSON.stringify(woken)).not.toContain(redId);
    // Its withdrawal releases the value: the entry is provisional again, an addition.
    const back = await other.client.write(`/v1/submissions/${redId}/withdraw`, "submission.withdraw", {
      submissionId: redId,
      reason: "restriction lifted",
    });
    expect(back.status, JSON.stringify(back.ok ? null : back.problem)).toBe(201);
    const released = await hashes(platform.client, inc.id, `?after=${woken.next}`);
    expect(released.changes.map((c) => [c.op, c.change, c.submissionId])).toEqual([["add", "released", id]]);
    expect(await matchOne(platform.client, value)).toHaveLength(1);
  });
});

it("an unknown incident is 404 on every read; a malformed id is 400", async () => {
  await expectProblem(
    await (await import("../helpers/node.ts")).nodeFetch(
      `https://node.test/v1/incidents/inc_01zzzzzzzzzzzzzzzzzzzzzzzz/summary`,
    ),
    404,
    "not_found",
  );
  const res = await platform.client.get("/v1/incidents/inc_01zzzzzzzzzzzzzzzzzzzzzzzz/hashes");
  expect(res.status).toBe(404);
  const bad = await platform.client.get("/v1/incidents/DROP TABLE/hashes");
  expect(bad.status).toBe(400);
});
