// docs/accountability.md cannot rot: its examples — a statement of reasons in both forms and an
// authority's TCO report — are what the node answers for the demo network's participants doing what
// the document describes. Ids, dates, times and hash values differ from run to run, so both sides
// are compared with those replaced by placeholders in order of appearance (and the report's
// quarter rows in value order, as the run's quarter is the quarter it runs in).

import type { StatementView, SubmitResult, WriteReceipt } from "@eusn/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import docText from "../../docs/accountability.md?raw";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, BASE, coordinator, nodeFetch } from "../helpers/node.ts";

/** The fenced block after `<!-- example: name -->`. */
function example(name: string): string {
  const at = docText.indexOf(`<!-- example: ${name} -->`);
  if (at < 0) throw new Error(`docs/accountability.md has no example ${name}`);
  const m = /```[a-z]*\n([\s\S]*?)```/.exec(docText.slice(at));
  if (!m) throw new Error(`example ${name} has no fenced block`);
  return m[1]!;
}

/** Ids, dates and hex values as numbered placeholders, in order of first appearance. */
function normalise(text: string): string {
  const seen = new Map<string, string>();
  const name = (kind: string, v: string) => {
    const k = `${kind}:${v}`;
    if (!seen.has(k))
      seen.set(k, `<${kind}${[...seen.keys()].filter((x) => x.startsWith(`${kind}:`)).length + 1}>`);
    return seen.get(k)!;
  };
  return text
    .replace(/\b(stm|hsh|rec|par|asm|dec|fbk)_[0-9a-z]{26}\b/g, (v, p: string) => name(p, v))
    .replace(/\b[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:.]+Z)?\b/g, "<date>")
    .replace(/\b[0-9a-f]{32,64}\b/g, (v) => name("hex", v))
    .trimEnd();
}

/** The report CSV with each figure's quarter rows in value order and unlabelled (see the note). */
function quartersFolded(csv: string): string {
  const lines = csv.trim().split("\n");
  const out = [lines[0]!];
  for (let i = 1; i < lines.length; i += 5) {
    const quarters = lines
      .slice(i, i + 4)
      .map((l) => l.split(","))
      .sort((a, b) => Number(b[3]) - Number(a[3]) || b[4]!.length - a[4]!.length)
      .map((c) => [c[0], c[1], "Q?", c[3], c[4]].join(","));
    out.push(...quarters, lines[i + 4]!);
  }
  return `${out.join("\n")}\n`;
}

function ok<T>(res: { ok: true; data: T } | { ok: false; status: number; problem: unknown }): T {
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(res.problem)}`);
  return res.data;
}

let statement: StatementView;
let reportCsv: string;
let errorRates: unknown;

beforeAll(async () => {
  // The demo network (scripts/start.ts): three authorities and a platform.
  const atkm = await admit("authority", "NL", {
    name: "ATKM (Autoriteit online Terroristisch en Kinderpornografisch Materiaal)",
  });
  const bka = await admit("authority", "DE", { name: "Bundeskriminalamt (DE competent authority)" });
  const pharos = await admit("authority", "FR", { name: "OCLCTIC / PHAROS (FR competent authority)" });
  const social: Admitted = await admit("platform", undefined, {
    name: "Demo Social (hosting service provider)",
  });
  const r = rng(2026);
  const values = [randomPdq(r), randomPdq(r)];
  const sub = ok(
    await atkm.client.write<SubmitResult>("/v1/submissions", "submission.create", {
      items: values.map((v) =>
        pdqItem(v, {
          limbs: ["a", "c"],
          nationalProvision: "NL Wetboek van Strafrecht art. 131 / 134a",
          tlp: "green",
        }),
      ),
    }),
  );
  const ids = sub.submissions.map((s) => s.id);
  for (const id of ids) {
    const cited: string[] = [];
    for (const by of [bka, pharos])
      cited.push(
        ok(
          await by.client.write<WriteReceipt>(`/v1/submissions/${id}/assessments`, "assessment.create", {
            submissionId: id,
            verdict: "concur",
            limb: "a",
          }),
        ).subjectId,
      );
    ok(
      await coordinator().write(`/v1/submissions/${id}/decisions`, "baseline.decide", {
        submissionId: id,
        decision: "include",
        reason: "every member state with an active authority concurs",
        assessmentIds: cited,
      }),
    );
  }
  expect(
    (await social.client.match({ items: values.map((value) => ({ type: "pdq" as const, value })) })).status,
  ).toBe(200);
  for (const [i, outcome] of ["true_positive", "false_positive"].entries()) {
    ok(
      await social.client.write(`/v1/submissions/${ids[i]}/feedback`, "feedback.create", {
        submissionId: ids[i],
        outcome,
      }),
    );
    // A record's id starts with its signed time in seconds (iat), then random: a second apart,
    // the true positive's id sorts first in the report's lists, as in the document.
    if (i === 0) await new Promise((r) => setTimeout(r, 1100));
  }
  statement = ok(
    await social.client.write<{ statement: StatementView }>("/v1/statements", "statement.create", {
      submissionId: ids[0],
      contentRef: "post-4711",
      actions: ["content_removed", "account_suspended"],
      language: "en",
      reviewer: "Trust & Safety analyst R-41",
      reviewedAt: new Date(Date.now() - 600_000).toISOString(),
      contentDate: "2026-01-05",
      appliedOn: new Date().toISOString().slice(0, 10),
      complaintUrl: "https://social.example/appeals",
      outOfCourtBody: "Appeals Centre Europe",
    }),
  ).statement;
  ok(
    await coordinator().write(`/v1/submissions/${ids[1]}/reverse`, "submission.reverse", {
      submissionId: ids[1],
      ground: "complaint_upheld",
      reason: "the uploader's complaint was upheld: a news report",
    }),
  );
  reportCsv = ok(
    await atkm.client.get<string>(`/v1/reports/tco?year=${new Date().getUTCFullYear()}&format=csv`),
  );
  // Two more platforms match the entry still in the baseline and report on it (after the report
  // above was taken): three reports, enough for a rate.
  for (const [name, outcome] of [
    ["Demo Video (hosting service provider)", "true_positive"],
    ["Demo Forum (hosting service provider)", "false_positive"],
  ] as const) {
    const p = await admit("platform", undefined, { name });
    expect((await p.client.match({ items: [{ type: "pdq" as const, value: values[0]! }] })).status).toBe(200);
    ok(
      await p.client.write(`/v1/submissions/${ids[0]}/feedback`, "feedback.create", {
        submissionId: ids[0],
        outcome,
      }),
    );
  }
  errorRates = ((await (await nodeFetch(`${BASE}/v1/stats`)).json()) as { errorRates: unknown }).errorRates;
}, 120_000);

describe("docs/accountability.md", () => {
  it("shows the statement for the person affected as the node writes it", () => {
    expect(normalise(example("statement-text"))).toBe(normalise(statement.user.text));
  });

  it("shows the DSA Transparency Database document as the node writes it", () => {
    expect(normalise(example("statement-dsa"))).toBe(normalise(JSON.stringify(statement.dsa, null, 2)));
  });

  it("shows the demo authority's report as the node writes it", () => {
    expect(normalise(quartersFolded(example("report-csv")))).toBe(normalise(quartersFolded(reportCsv)));
  });

  it("shows the demo network's measured error rates as GET /v1/stats answers them", () => {
    expect(normalise(example("error-rates"))).toBe(normalise(JSON.stringify(errorRates, null, 2)));
  });

  it("would see a changed word, figure or field", () => {
    const text = example("statement-text");
    expect(normalise(text.replace("We removed", "We deleted"))).not.toBe(normalise(statement.user.text));
    const csv = example("report-csv").replace(
      /^submitted,Hashes submitted,year,2,/m,
      "submitted,Hashes submitted,year,3,",
    );
    expect(normalise(quartersFolded(csv))).not.toBe(normalise(quartersFolded(reportCsv)));
  });
});
