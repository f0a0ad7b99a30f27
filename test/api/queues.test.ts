// Work queues that scale: GET /v1/submissions pages, filters, sorts and searches in D1, and GET
// /v1/audit reads newest first with server-side filters. Each answer is checked against the whole
// list filtered and sorted here, so a filter that drops or duplicates an entry fails.

import type { SubmissionView, SubmitResult, WriteReceipt } from "@eusn/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import { pdqItem, randomHex, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, BASE, coordinator, expectProblem, nodeFetch } from "../helpers/node.ts";

type Page = { submissions: SubmissionView[]; next: string | null; total: number };
type AuditEntry = { seq: number; kind: string; actor: string; subjectId: string | null; at: string };
type AuditPage = { entries: AuditEntry[]; next: number | null; total?: number };

const r = rng(31337);
let nl: Admitted;
let de: Admitted;
let fr: Admitted;
let all: SubmissionView[] = [];

function ok<T>(res: { ok: true; data: T } | { ok: false; status: number; problem: unknown }): T {
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(res.problem)}`);
  return res.data;
}
const list = async (query: string, by = coordinator()) => ok(await by.get<Page>(`/v1/submissions?${query}`));
const audit = async (query: string) => ok(await coordinator().get<AuditPage>(`/v1/audit?${query}`));
const ids = (v: { id: string }[]) => v.map((x) => x.id);

/** Every page of a query, by offset; checks that the pages add up to the total without overlap. */
async function everyPage(query: string, limit: number): Promise<SubmissionView[]> {
  const out: SubmissionView[] = [];
  let total = -1;
  for (let offset = 0; ; offset += limit) {
    const page = await list(`${query}&limit=${limit}&offset=${offset}`);
    if (total >= 0) expect(page.total, "the total does not change between pages").toBe(total);
    total = page.total;
    out.push(...page.submissions);
    if (page.submissions.length < limit || out.length >= total) break;
  }
  expect(out.length).toBe(total);
  expect(new Set(ids(out)).size, "no entry on two pages").toBe(out.length);
  return out;
}

beforeAll(async () => {
  nl = await admit("authority", "NL", { name: "ATKM" });
  de = await admit("authority", "DE", { name: "BKA" });
  fr = await admit("authority", "FR", { name: "PHAROS" });
  const LIMBS = [["a"], ["b", "c"], ["d"], ["a", "e"]];
  const TLPS = [undefined, "green", "amber", "red"];
  for (const [n, by] of [
    [24, nl],
    [14, de],
    [8, fr],
  ] as const) {
    ok(
      await by.client.write<SubmitResult>("/v1/submissions", "submission.create", {
        items: Array.from({ length: n }, (_, i) =>
          i % 5 === 4
            ? {
                signalType: "md5",
                value: randomHex(r, 32),
                limbs: LIMBS[i % 4],
                contentType: "image",
                nationalProvision: "Art. 1",
              }
            : pdqItem(randomPdq(r), {
                limbs: LIMBS[i % 4],
                ...(TLPS[i % 4] ? { tlp: TLPS[i % 4] } : {}),
              }),
        ),
      }),
    );
  }
  all = await everyPage("scope=all&sort=id", 500);
  // Some entries change state: DE concurs on three NL entries and dissents on one; FR concurs on
  // two of them (eligible, the quorum being the three active states), one is included; one of
  // FR's is withdrawn.
  const nlShareable = all.filter((v) => v.submitter === nl.id && v.tlp !== "red");
  const assess = (by: Admitted, id: string, verdict: string) =>
    by.client.write<WriteReceipt>(`/v1/submissions/${id}/assessments`, "assessment.create", {
      submissionId: id,
      verdict,
      limb: "a",
      ...(verdict === "dissent" ? { reason: "not terrorist content" } : {}),
    });
  const cite: string[][] = [];
  for (const v of nlShareable.slice(0, 3)) {
    const a = ok(await assess(de, v.id, "concur")).subjectId;
    const b = ok(await assess(fr, v.id, "concur")).subjectId;
    cite.push([a, b]);
  }
  ok(await assess(de, nlShareable[3]!.id, "dissent"));
  ok(
    await coordinator().write(`/v1/submissions/${nlShareable[0]!.id}/decisions`, "baseline.decide", {
      submissionId: nlShareable[0]!.id,
      decision: "include",
      reason: "the three states concur",
      assessmentIds: cite[0],
    }),
  );
  const frOne = all.find((v) => v.submitter === fr.id)!;
  ok(
    await fr.client.write(`/v1/submissions/${frOne.id}/withdraw`, "submission.withdraw", {
      submissionId: frOne.id,
      reason: "by mistake",
    }),
  );
  all = await everyPage("scope=all&sort=id", 500);
}, 60_000);

describe("GET /v1/submissions: server-side queues", () => {
  it("pages by offset in every sort, each page in order, all pages adding up to the total", async () => {
    expect(all.length).toBe(46);
    const byId = [...all].sort((a, b) => a.id.localeCompare(b.id));
    expect(ids(all)).toEqual(ids(byId));
    const newest = await everyPage("scope=all&sort=newest", 7);
    expect(ids(newest)).toEqual(
      ids([...all].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id))),
    );
    const oldest = await everyPage("scope=all&sort=oldest", 9);
    expect(ids(oldest)).toEqual(ids([...newest].reverse()));
    const byState = await everyPage("scope=all&sort=member_state", 10);
    expect(byState.map((v) => v.memberState)).toEqual([...all.map((v) => v.memberState)].sort());
    const concur = await everyPage("scope=all&sort=most_concurrences", 10);
    const counts = concur.map((v) => v.assessments.concurring);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    expect(counts[0]).toBe(3);
  });

  it("keeps the id cursor for sort id, and says there is no cursor for other sorts", async () => {
    const first = await list("scope=all&limit=20");
    expect(first.next).toBe(first.submissions[19]!.id);
    const second = await list(`scope=all&limit=20&after=${first.next}`);
    expect(ids(second.submissions)).toEqual(ids(all).slice(20, 40));
    expect((await list("scope=all&limit=20&sort=newest")).next).toBeNull();
  });

  it("filters by state, flag, member state, limb, TLP, submitter and day, as the views say", async () => {
    const cases: [string, (v: SubmissionView) => boolean][] = [
      ["state=eligible", (v) => v.state.name === "eligible"],
      ["state=included", (v) => v.state.name === "included"],
      ["state=awaiting,withdrawn", (v) => ["awaiting", "withdrawn"].includes(v.state.name)],
      ["flag=tlp_red", (v) => v.state.flags.includes("tlp_red")],
      ["memberState=DE", (v) => v.memberState === "DE"],
      ["limb=c", (v) => v.limbs.includes("c")],
      ["limb=a&memberState=NL", (v) => v.limbs.includes("a") && v.memberState === "NL"],
      ["tlp=none", (v) => v.tlp === null],
      ["tlp=amber", (v) => v.tlp === "amber"],
      [`submitter=${fr.id}`, (v) => v.submitter === fr.id],
      [`from=${all[0]!.createdAt.slice(0, 10)}`, () => true],
      ["to=2000-01-01", () => false],
    ];
    for (const [q, pred] of cases) {
      const got = await everyPage(`scope=all&sort=id&${q}`, 10);
      expect(ids(got), q).toEqual(ids(all.filter(pred)));
    }
    expect(all.filter((v) => v.state.name === "eligible").length).toBe(2);
    expect(all.filter((v) => v.state.name === "withdrawn").length).toBe(1);
  });

  it("finds an entry by its id or its start, and entries by the start of their hash", async () => {
    const target = all[17]!;
    expect(ids((await list(`scope=all&q=${target.id}`)).submissions)).toEqual([target.id]);
    const byStart = await list(`scope=all&q=${target.id.slice(0, 12)}&limit=500`);
    expect(ids(byStart.submissions)).toEqual(ids(all.filter((v) => v.id.startsWith(target.id.slice(0, 12)))));
    const prefix = target.value.slice(0, 6);
    const byHash = await list(`scope=all&q=${prefix.toUpperCase()}`);
    expect(ids(byHash.submissions)).toEqual(ids(all.filter((v) => v.value.startsWith(prefix))));
    expect(byHash.submissions.map((v) => v.id)).toContain(target.id);
    expect((await list("scope=all&q=ffffffffffff")).total).toBe(
      all.filter((v) => v.value.startsWith("ffffffffffff")).length,
    );
  });

  it("filters an authority's queues the same way, within its scope", async () => {
    const mine = ok(await de.client.get<Page>("/v1/submissions?scope=mine&limb=d&limit=500"));
    expect(ids(mine.submissions)).toEqual(
      ids(all.filter((v) => v.submitter === de.id && v.limbs.includes("d"))),
    );
    const awaiting = ok(await de.client.get<Page>("/v1/submissions?scope=awaiting&memberState=NL&limit=500"));
    // DE assessed four NL entries; the rest of NL's live entries await it.
    expect(awaiting.total).toBe(all.filter((v) => v.submitter === nl.id && v.status === "live").length - 4);
  });

  it("refuses bad queries with a validation problem", async () => {
    const token = await coordinator().token();
    for (const q of [
      "q=abc",
      "q=hsh_",
      "q=zz_notanid",
      "state=included,nonsense",
      "state=",
      "flag=bogus",
      "memberState=XX",
      "limb=f",
      "tlp=purple",
      "submitter=nobody",
      "from=2026-13-01",
      "to=yesterday",
      "sort=random",
      "offset=-1",
      "offset=1.5",
      "limit=501",
    ]) {
      const res = await nodeFetch(`${BASE}/v1/submissions?scope=all&${q}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      await expectProblem(res, 400, "validation_failed");
    }
    // Actor and subject are plain filters: a value no entry has is an empty page, not an error.
    for (const q of ["actor=par_<script>", "subject=zz_none"]) {
      const res = await nodeFetch(`${BASE}/v1/audit?${q}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status, q).toBe(200);
      expect(((await res.json()) as { entries: unknown[] }).entries, q).toEqual([]);
    }
  });
});

describe("GET /v1/audit: newest first, filtered on the node", () => {
  it("reads newest first, paging back with `before`, and agrees with the oldest-first order", async () => {
    const asc: AuditEntry[] = [];
    for (let after = 0; ; ) {
      const page = await audit(`after=${after}&limit=50`);
      asc.push(...page.entries);
      if (page.next === null) break;
      after = page.next;
    }
    const desc: AuditEntry[] = [];
    let page = await audit("order=desc&limit=7&count=true");
    expect(page.total).toBe(asc.length);
    for (;;) {
      desc.push(...page.entries);
      if (page.next === null) break;
      page = await audit(`order=desc&limit=7&before=${page.next}`);
    }
    expect(desc.map((e) => e.seq)).toEqual(asc.map((e) => e.seq).reverse());
  });

  it("filters by kind, actor, subject prefix and day", async () => {
    const every = (await audit("order=desc&limit=1000")).entries;
    const cases: [string, (e: AuditEntry) => boolean][] = [
      ["kind=assessment.create", (e) => e.kind === "assessment.create"],
      [`actor=${de.id}`, (e) => e.actor === de.id],
      [`kind=assessment.create&actor=${fr.id}`, (e) => e.kind === "assessment.create" && e.actor === fr.id],
      ["subject=asm_", (e) => (e.subjectId ?? "").startsWith("asm_")],
      [`subject=${all[0]!.id.slice(0, 10)}`, (e) => (e.subjectId ?? "").startsWith(all[0]!.id.slice(0, 10))],
      [
        `from=${every[0]!.at.slice(0, 10)}&to=${every[0]!.at.slice(0, 10)}`,
        (e) => e.at.slice(0, 10) === every[0]!.at.slice(0, 10),
      ],
      ["to=2000-01-01", () => false],
    ];
    for (const [q, pred] of cases) {
      const got = await audit(`order=desc&limit=1000&count=true&${q}`);
      const want = every.filter(pred);
      expect(
        got.entries.map((e) => e.seq),
        q,
      ).toEqual(want.map((e) => e.seq));
      expect(got.total, q).toBe(want.length);
    }
    expect(every.filter((e) => e.kind === "assessment.create").length).toBe(7);
  });

  it("lists the kinds and actors it holds", async () => {
    const f = ok(await coordinator().get<{ kinds: string[]; actors: string[] }>("/v1/audit/facets"));
    expect(f.kinds).toEqual(
      expect.arrayContaining(["participant.admit", "submission.create", "assessment.create"]),
    );
    expect(f.actors).toEqual(expect.arrayContaining([nl.id, de.id, fr.id]));
    const forbidden = await nodeFetch(`${BASE}/v1/audit/facets`, {
      headers: { authorization: `Bearer ${await nl.client.token()}` },
    });
    await expectProblem(forbidden, 403, "forbidden");
  });

  it("refuses bad queries with a validation problem", async () => {
    const token = await coordinator().token();
    for (const q of [
      "before=10",
      "order=sideways",
      "order=desc&before=0",
      "kind=Not A Kind",
      "from=2026-02-30x",
      "from=2026-03-02&to=2026-03-01",
      "count=maybe",
    ]) {
      const res = await nodeFetch(`${BASE}/v1/audit?${q}`, { headers: { authorization: `Bearer ${token}` } });
      await expectProblem(res, 400, "validation_failed");
    }
    // Actor and subject are plain filters: a value no entry has is an empty page, not an error.
    for (const q of ["actor=par_<script>", "subject=zz_none"]) {
      const res = await nodeFetch(`${BASE}/v1/audit?${q}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status, q).toBe(200);
      expect(((await res.json()) as { entries: unknown[] }).entries, q).toEqual([]);
    }
  });
});
