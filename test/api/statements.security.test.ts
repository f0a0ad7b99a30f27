// Statements of reasons (POST/GET /v1/statements) through the real Worker and D1: both forms of a
// statement, in each language, and the rules, each tried by someone who should not get past it:
// a platform states reasons only for an entry it matched; it never sees another platform's
// statements (nor their signed records); no statement carries content, a raw user identifier or a
// selector; a reversal, withdrawal or voiding of the entry marks the statements built on it.

import { env } from "cloudflare:workers";
import { signWrite } from "@eusn/client";
import type { StatementView, SubmitResult, WriteReceipt } from "@eusn/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import { unchanged } from "../helpers/db-state.ts";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, BASE, coordinator, expectProblem, nodeFetch } from "../helpers/node.ts";

const r = rng(2317);
let nl: Admitted;
let social: Admitted;
let video: Admitted;
const entries: Record<string, { id: string; value: string }> = {};

function ok<T>(res: { ok: true; data: T } | { ok: false; status: number; problem: unknown }): T {
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(res.problem)}`);
  return res.data;
}

const today = () => new Date().toISOString().slice(0, 10);

/** A valid statement record for `entry` (override any field). */
const record = (entry: string, over: Record<string, unknown> = {}) => ({
  submissionId: entry,
  contentRef: "post-4711",
  actions: ["content_removed"],
  language: "en",
  reviewer: "Trust & Safety analyst R-41",
  reviewedAt: new Date(Date.now() - 3_600_000).toISOString(),
  contentDate: "2026-01-15",
  appliedOn: today(),
  complaintUrl: "https://social.example/appeals",
  ...over,
});

/** POSTs a statement signed by `by`, as the raw response. */
async function post(by: Admitted, rec: unknown): Promise<Response> {
  const jws = await signWrite(
    { participantId: by.id, privateJwk: by.key.privateJwk },
    env.NODE_ID,
    "statement.create",
    rec,
  );
  return nodeFetch(`${BASE}/v1/statements`, {
    method: "POST",
    headers: { "content-type": "application/jose" },
    body: jws,
  });
}

async function made(by: Admitted, rec: unknown): Promise<StatementView & { receipt: WriteReceipt }> {
  const res = await post(by, rec);
  const body = (await res.json()) as { receipt: WriteReceipt; statement: StatementView };
  expect(res.status, JSON.stringify(body)).toBe(201);
  return { ...body.statement, receipt: body.receipt };
}

beforeAll(async () => {
  nl = await admit("authority", "NL", { name: "ATKM" });
  social = await admit("platform", undefined, { name: "Demo Social" });
  video = await admit("platform", undefined, { name: "Demo Video" });
  const values = { a: randomPdq(r), b: randomPdq(r), c: randomPdq(r), d: randomPdq(r) };
  const sub = ok(
    await nl.client.write<SubmitResult>("/v1/submissions", "submission.create", {
      items: [
        pdqItem(values.a, { limbs: ["c", "a"], nationalProvision: "NL Sr. art. 134a" }),
        pdqItem(values.b),
        pdqItem(values.c),
        pdqItem(values.d, { contentType: "video" }),
      ],
    }),
  );
  for (const [i, k] of ["a", "b", "c", "d"].entries())
    entries[k] = { id: sub.submissions[i]!.id, value: values[k as keyof typeof values] };
  // Demo Social matches a, c and d; nobody matches b.
  const m = await social.client.match({
    scope: "all",
    items: ["a", "c", "d"].map((k) => ({ type: "pdq" as const, value: entries[k]!.value })),
  });
  expect(m.status).toBe(200);
}, 120_000);

describe("a statement of reasons", () => {
  let s: StatementView & { receipt: WriteReceipt };
  beforeAll(async () => {
    s = await made(social, record(entries.a!.id, { actions: ["content_removed", "account_suspended"] }));
  });

  it("names the action, the legal ground, the automated match and its human review, and every route to redress", () => {
    expect(s.id).toMatch(/^stm_/);
    expect(s.ground).toEqual({
      limbs: ["a", "c"],
      nationalProvision: "NL Sr. art. 134a",
      memberState: "NL",
      authority: "ATKM",
      contentType: "image",
    });
    const t = s.user.text;
    expect(s.user.language).toBe("en");
    expect(t).toContain("We removed your content.");
    expect(t).toContain("We suspended your account.");
    expect(t).toContain("post-4711");
    expect(t).toContain("Article 2(7)(a) and (c) of Regulation (EU) 2021/784");
    expect(t).toContain("NL Sr. art. 134a");
    expect(t).toContain("ATKM, competent authority (Netherlands)");
    expect(t).toContain("found the match automatically");
    expect(t).toContain("a person (Trust & Safety analyst R-41) reviewed it");
    expect(t).toContain("https://social.example/appeals");
    expect(t).toContain("Article 10 of Regulation (EU) 2021/784");
    expect(t).toContain("out-of-court dispute settlement body (Article 21");
    expect(t).toContain("go to court");
    expect(s.user.sections.map((x) => x.heading)).toEqual([
      "What we did",
      "Why",
      "How we decided",
      "What you can do",
    ]);
    expect(s.affected).toBeNull();
  });

  it("has the DSA Transparency Database form: illegal content under TCO Art. 2(7), detected automatically, decided with a person", () => {
    expect(s.dsa).toMatchObject({
      decision_visibility: ["DECISION_VISIBILITY_CONTENT_REMOVED"],
      decision_account: "DECISION_ACCOUNT_SUSPENDED",
      decision_ground: "DECISION_GROUND_ILLEGAL_CONTENT",
      content_type: ["CONTENT_TYPE_IMAGE"],
      category: "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
      category_specification: ["KEYWORD_TERRORIST_CONTENT"],
      content_date: "2026-01-15",
      application_date: today(),
      source_type: "SOURCE_VOLUNTARY",
      automated_detection: "Yes",
      automated_decision: "AUTOMATED_DECISION_PARTIALLY",
      puid: s.id,
    });
    expect(s.dsa.illegal_content_legal_ground).toBe(
      "Regulation (EU) 2021/784 (terrorist content online), Article 2(7)(a)(c); NL Sr. art. 134a (NL)",
    );
    expect((s.dsa.territorial_scope as string[]).length).toBe(27);
  });

  it("renders its fixed parts in Dutch, German and French", async () => {
    const texts: Record<string, string> = {};
    for (const lang of ["nl", "de", "fr"]) {
      const res = await social.client.get<StatementView>(`/v1/statements/${s.id}?language=${lang}`);
      const v = ok(res);
      expect(v.user.language).toBe(lang);
      texts[lang] = v.user.text;
      // The variable parts are the same in every language.
      for (const part of ["NL Sr. art. 134a", "post-4711", "https://social.example/appeals", "R-41", s.id])
        expect(v.user.text, lang).toContain(part);
    }
    expect(texts.nl).toContain("We hebben uw content verwijderd.");
    expect(texts.nl).toContain("artikel 2, punt 7, onder a) en c) van Verordening (EU) 2021/784");
    expect(texts.nl).toContain("buitengerechtelijke geschillenbeslechting");
    expect(texts.de).toContain("Wir haben Ihren Inhalt entfernt.");
    expect(texts.de).toContain("Artikel 2 Nummer 7 Buchstaben a und c der Verordnung (EU) 2021/784");
    expect(texts.de).toContain("(Niederlande)");
    expect(texts.fr).toContain("Nous avons retiré votre contenu.");
    expect(texts.fr).toContain("l'article 2, point 7), a) et c) du règlement (UE) 2021/784");
    expect(texts.fr).toContain("saisir la justice");
  });

  it("a platform chooses its language and where access is disabled", async () => {
    const v = await made(
      social,
      record(entries.d!.id, {
        language: "de",
        actions: ["access_disabled"],
        territorialScope: ["DE", "AT"],
        accountType: "private",
      }),
    );
    expect(v.user.text).toContain(
      "Wir haben den Zugang zu Ihrem Inhalt in diesen Ländern (Deutschland, Österreich) gesperrt.",
    );
    expect(v.dsa).toMatchObject({
      decision_visibility: ["DECISION_VISIBILITY_CONTENT_DISABLED"],
      territorial_scope: ["AT", "DE"],
      content_type: ["CONTENT_TYPE_VIDEO"],
      account_type: "ACCOUNT_TYPE_PRIVATE",
    });
    expect(v.dsa).not.toHaveProperty("decision_account");
  });

  it("carries neither the content's hash, the reviewer nor the content reference into the DSA form", () => {
    const all = JSON.stringify(s);
    expect(all).not.toContain(entries.a!.value);
    const dsa = JSON.stringify(s.dsa);
    expect(dsa).not.toContain("R-41");
    expect(dsa).not.toContain("post-4711");
  });
});

describe("rules", () => {
  it("a platform cannot state reasons for an entry it did not match (403, nothing stored)", async () => {
    // Demo Video matched nothing; Demo Social never matched b.
    const res1 = await unchanged(() => post(video, record(entries.a!.id)), "video on a");
    await expectProblem(res1, 403, "forbidden");
    const res2 = await unchanged(() => post(social, record(entries.b!.id)), "social on b");
    await expectProblem(res2, 403, "forbidden");
  });

  it("nor can an authority or a coordinator make one", async () => {
    const jws = await signWrite(
      { participantId: nl.id, privateJwk: nl.key.privateJwk },
      env.NODE_ID,
      "statement.create",
      record(entries.a!.id),
    );
    const res = await unchanged(
      () =>
        nodeFetch(`${BASE}/v1/statements`, {
          method: "POST",
          headers: { "content-type": "application/jose" },
          body: jws,
        }),
      "authority",
    );
    await expectProblem(res, 403, "forbidden");
  });

  it("a platform never sees another platform's statements, nor their signed records", async () => {
    const mine = await made(social, record(entries.c!.id, { contentRef: "clip-9" }));
    // Demo Video gets nothing: not in its list, 404 by id, 404 for the record.
    const list = ok(await video.client.get<{ statements: StatementView[] }>("/v1/statements"));
    expect(list.statements).toEqual([]);
    const one = await video.client.get(`/v1/statements/${mine.id}`);
    expect(one.status).toBe(404);
    expect(one.ok || one.problem.code).toBe("not_found");
    const rec = await video.client.get(`/v1/records/${mine.receipt.recordId}`);
    expect(rec.status).toBe(404);
    // Nor does an authority (not even the one whose entry it cites) or a coordinator.
    expect((await nl.client.get(`/v1/records/${mine.receipt.recordId}`)).status).toBe(404);
    expect((await coordinator().get(`/v1/records/${mine.receipt.recordId}`)).status).toBe(404);
    expect((await nl.client.get("/v1/statements")).status).toBe(403);
    // The platform that made it reads all three.
    expect((await social.client.get(`/v1/records/${mine.receipt.recordId}`)).status).toBe(200);
    expect(ok(await social.client.get<StatementView>(`/v1/statements/${mine.id}`)).contentRef).toBe("clip-9");
    const own = ok(await social.client.get<{ statements: StatementView[] }>("/v1/statements"));
    expect(own.statements.map((x) => x.id)).toContain(mine.id);
    expect(own.statements.every((x) => x.contentRef !== undefined)).toBe(true);
  });

  it.each([
    ["an e-mail address as the content reference", { contentRef: "jane.doe@example.org" }],
    ["a URL as the content reference", { contentRef: "https://social.example/u/jane/42" }],
    [
      "a selector pseudonym as the content reference",
      { contentRef: "v1:email:3q2-7wV0ZVb6h0bQ8dHgK4l1T0pG9m3cB2aXyZ1w0kA" },
    ],
    ["the content's hash as the content reference", { contentRef: "f".repeat(64) }],
    ["an e-mail address as the reviewer", { reviewer: "jane.doe@example.org" }],
    ["a handle as the reviewer", { reviewer: "@jane_doe" }],
    ["a selector in the reviewer", { reviewer: "see v1:handle:3q2-7wV0ZVb6h0bQ8dHgK4l1T0pG9m3cB2aXyZ1w0kA" }],
    ["a phone number as the reviewer", { reviewer: "call +31 6 1234 5678" }],
    ["a URL as the reviewer", { reviewer: "www.example.org/jane" }],
    ["a user-specific complaint link", { complaintUrl: "https://social.example/appeals?user=8812" }],
    ["a complaint link that is not https", { complaintUrl: "http://social.example/appeals" }],
    ["an address as the out-of-court body", { outOfCourtBody: "mediator@example.org" }],
    ["no reviewer", { reviewer: undefined }],
    ["an action taken in the future", { appliedOn: "2099-01-01" }],
    ["content posted after the action", { contentDate: "2099-01-01", appliedOn: "2026-02-01" }],
    ["a review in the future", { reviewedAt: "2099-01-01T00:00:00Z" }],
    ["suspended and terminated at once", { actions: ["account_suspended", "account_terminated"] }],
    ["a country outside the EEA", { territorialScope: ["CH"] }],
    ["a language without fixed parts", { language: "it" }],
  ])("refuses %s (400, nothing stored)", async (_label, over) => {
    const rec = record(entries.a!.id, over);
    const res = await unchanged(() => post(social, rec), _label);
    await expectProblem(res, 400, "validation_failed");
  });

  it("refuses an entry that does not exist (404)", async () => {
    const res = await unchanged(
      () => post(social, record("hsh_01zzzzzzzzzzzzzzzzzzzzzzzz")),
      "unknown entry",
    );
    await expectProblem(res, 404, "not_found");
  });
});

describe("a reversal of the entry", () => {
  it("marks every statement built on it as affected, for its platform to act on", async () => {
    const before = ok(
      await social.client.get<{ statements: StatementView[] }>("/v1/statements?affected=true"),
    );
    expect(before.statements).toEqual([]);
    const onA = ok(
      await social.client.get<{ statements: StatementView[] }>("/v1/statements?limit=200"),
    ).statements.filter((x) => x.submissionId === entries.a!.id);
    expect(onA.length).toBeGreaterThan(0);
    ok(
      await coordinator().write(`/v1/submissions/${entries.a!.id}/reverse`, "submission.reverse", {
        submissionId: entries.a!.id,
        ground: "complaint_upheld",
        reason: "the complaint was upheld on review",
        reference: "ATKM-2026-17",
      }),
    );
    ok(
      await nl.client.write(`/v1/submissions/${entries.c!.id}/withdraw`, "submission.withdraw", {
        submissionId: entries.c!.id,
        reason: "submitted by mistake",
      }),
    );
    const affected = ok(
      await social.client.get<{ statements: StatementView[] }>("/v1/statements?affected=true&limit=200"),
    ).statements;
    expect(new Set(affected.map((x) => x.submissionId))).toEqual(new Set([entries.a!.id, entries.c!.id]));
    for (const x of affected.filter((y) => y.submissionId === entries.a!.id)) {
      expect(x.affected).toMatchObject({
        change: "reversed",
        ground: "complaint_upheld",
        reason: "the complaint was upheld on review",
      });
    }
    expect(affected.find((y) => y.submissionId === entries.c!.id)!.affected).toMatchObject({
      change: "withdrawn",
      reason: "submitted by mistake",
    });
    // The others are not affected, and the two lists split the whole.
    const rest = ok(
      await social.client.get<{ statements: StatementView[] }>("/v1/statements?affected=false&limit=200"),
    ).statements;
    expect(rest.every((x) => x.affected === null && x.submissionId === entries.d!.id)).toBe(true);
    const all = ok(
      await social.client.get<{ statements: StatementView[] }>("/v1/statements?limit=200"),
    ).statements;
    expect(all.length).toBe(affected.length + rest.length);
    // Another platform's list stays empty.
    expect(
      ok(await video.client.get<{ statements: StatementView[] }>("/v1/statements?affected=true")).statements,
    ).toEqual([]);
  });

  it("pages newest first with a cursor", async () => {
    const p1 = ok(
      await social.client.get<{ statements: StatementView[]; next: string | null }>("/v1/statements?limit=1"),
    );
    expect(p1.statements.length).toBe(1);
    expect(p1.next).toBe(p1.statements[0]!.id);
    const p2 = ok(
      await social.client.get<{ statements: StatementView[]; next: string | null }>(
        `/v1/statements?limit=1&after=${p1.next}`,
      ),
    );
    expect(p2.statements[0]!.id < p1.statements[0]!.id).toBe(true);
  });
});
