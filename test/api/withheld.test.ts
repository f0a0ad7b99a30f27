// An included entry whose value another live submission holds at TLP:RED is `withheld` — over
// HTTP: GET /v1/submissions (the list, its state filter) and GET /v1/submissions/{id} name that
// state, GET /v1/stats counts it there and not as included, and the console's statistics page
// shows it in its by-state table. When the TLP:RED submission is withdrawn, the entry is included
// again everywhere.
import type { EntryStateView, NodeStats, SubmitResult, WriteReceipt } from "@eusn/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, BASE, coordinator, must, nodeFetch } from "../helpers/node.ts";

type Listed = { id: string; state: EntryStateView };

let nl: Admitted;
let de: Admitted;
let fr: Admitted;
let entryId: string;
let redId: string;
const value = randomPdq(rng(31337));

const list = async (q: string) =>
  must(await coordinator().get<{ submissions: Listed[]; total: number }>(`/v1/submissions?scope=all&${q}`));
const stats = async () => (await (await nodeFetch(`${BASE}/v1/stats`)).json()) as NodeStats;
/** The count in the console statistics page's by-state row whose heading starts with `label`. */
async function consoleCount(label: string): Promise<number | null> {
  const html = await (await nodeFetch(`${BASE}/console/stats`)).text();
  const esc = label.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const m = new RegExp(`<th scope="row">${esc}[^<]*</th><td>(\\d+)</td>`).exec(html);
  return m ? Number(m[1]) : null;
}

beforeAll(async () => {
  nl = await admit("authority", "NL");
  de = await admit("authority", "DE");
  fr = await admit("authority", "FR");
  const sub = must(
    await nl.client.write<SubmitResult>("/v1/submissions", "submission.create", { items: [pdqItem(value)] }),
  );
  entryId = sub.submissions[0]!.id;
  const cited: string[] = [];
  for (const a of [de, fr]) {
    const r = must(
      await a.client.write<WriteReceipt>(`/v1/submissions/${entryId}/assessments`, "assessment.create", {
        submissionId: entryId,
        verdict: "concur",
        limb: "a",
      }),
    );
    cited.push(r.subjectId);
  }
  const { submissions } = must(
    await coordinator().get<{ submissions: Listed[] }>(`/v1/submissions?scope=all&q=${entryId}`),
  );
  expect(submissions[0]!.state.name).toBe("eligible");
  must(
    await coordinator().write(`/v1/submissions/${entryId}/decisions`, "baseline.decide", {
      submissionId: entryId,
      decision: "include",
      reason: "concurring member states",
      assessmentIds: cited,
    }),
  );
});

describe("an included entry whose value is TLP:RED elsewhere", () => {
  it("is included before the TLP:RED submission", async () => {
    expect((await list(`q=${entryId}`)).submissions[0]!.state.name).toBe("included");
    expect(await consoleCount("withheld")).toBe(0);
  });

  it("is withheld once another authority holds the value at TLP:RED: list, filter, entry, stats, console", async () => {
    const red = must(
      await de.client.write<SubmitResult>("/v1/submissions", "submission.create", {
        items: [pdqItem(value, { tlp: "red" })],
      }),
    );
    redId = red.submissions[0]!.id;
    expect((await list(`q=${entryId}`)).submissions[0]!.state.name).toBe("withheld");
    const filtered = await list("state=withheld");
    expect(filtered.submissions.map((s) => s.id)).toEqual([entryId]);
    expect(filtered.total).toBe(1);
    expect((await list("state=included")).submissions.map((s) => s.id)).not.toContain(entryId);
    const one = must(
      await coordinator().get<{ submission: Listed }>(`/v1/submissions/${entryId}`),
    ).submission;
    expect(one.state.name).toBe("withheld");
    expect(one.state.inBaseline).toBe(false);
    // Read by the submitting authority too.
    const mine = must(await nl.client.get<{ submissions: Listed[] }>("/v1/submissions?scope=mine"));
    expect(mine.submissions.find((s) => s.id === entryId)?.state.name).toBe("withheld");
    const st = await stats();
    expect(st.submissions.byState.withheld).toBe(1);
    expect(st.submissions.byState.included).toBe(0);
    expect(st.baseline.included).toBe(0);
    expect(await consoleCount("withheld")).toBe(1);
    expect(await consoleCount("included")).toBe(0);
  });

  it("is included again when the TLP:RED submission is withdrawn", async () => {
    must(
      await de.client.write(`/v1/submissions/${redId}/withdraw`, "submission.withdraw", {
        submissionId: redId,
        reason: "entered in error",
      }),
    );
    expect((await list(`q=${entryId}`)).submissions[0]!.state.name).toBe("included");
    expect((await stats()).submissions.byState.withheld).toBe(0);
    expect(await consoleCount("withheld")).toBe(0);
  });
});
