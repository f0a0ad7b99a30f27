// A hash submitted again by the same authority is the same entry (idempotent), but never a silent
// no-op when the labels differ: the answer lists each difference and says the stored labels stand.
import type { SubmissionView, SubmitResult } from "@eusn/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit } from "../helpers/node.ts";

const r = rng(4711);
let nl: Admitted;

const submit = (items: unknown[]) =>
  nl.client.write<SubmitResult>("/v1/submissions", "submission.create", { items });

beforeAll(async () => {
  nl = await admit("authority", "NL");
});

describe("submitting a hash again", () => {
  it("with the same labels: existing, nothing to say", async () => {
    const value = randomPdq(r);
    const first = await submit([pdqItem(value, { limbs: ["a", "c"] })]);
    expect(first.status).toBe(201);
    const again = await submit([pdqItem(value, { limbs: ["c", "a"] })]);
    expect(again.status).toBe(200);
    if (!again.ok) throw new Error("unreachable");
    expect(again.data.receipt).toBeNull();
    expect(again.data.submissions[0]).toMatchObject({ outcome: "existing" });
    expect(again.data.submissions[0]!.labelsDiffer).toBeUndefined();
  });

  it("with other labels: existing, each difference listed, the stored labels kept", async () => {
    const value = randomPdq(r);
    const first = await submit([pdqItem(value, { limbs: ["a"], tlp: "green", note: "first" })]);
    if (!first.ok) throw new Error(JSON.stringify(first.problem));
    const id = first.data.submissions[0]!.id;
    const fresh = randomPdq(r);
    const again = await submit([
      pdqItem(value, { limbs: ["b", "d"], nationalProvision: "NL Sr. art. 421", tlp: "amber" }),
      pdqItem(fresh),
    ]);
    // One item is new, so a record is stored; the repeated one is answered with its differences.
    expect(again.status).toBe(201);
    if (!again.ok) throw new Error("unreachable");
    const [repeat, created] = again.data.submissions;
    expect(created).toMatchObject({ outcome: "created", value: fresh });
    expect(created!.labelsDiffer).toBeUndefined();
    expect(repeat).toMatchObject({ id, outcome: "existing" });
    expect(repeat!.labelsDiffer).toEqual([
      { field: "limbs", stored: ["a"], sent: ["b", "d"] },
      { field: "nationalProvision", stored: "NL Sr. art. 131", sent: "NL Sr. art. 421" },
      { field: "tlp", stored: "green", sent: "amber" },
      { field: "note", stored: "first", sent: null },
    ]);
    const view = await nl.client.get<{ submission: SubmissionView }>(`/v1/submissions/${id}`);
    if (!view.ok) throw new Error("unreachable");
    expect(view.data.submission).toMatchObject({
      limbs: ["a"],
      nationalProvision: "NL Sr. art. 131",
      tlp: "green",
    });
  });
});
