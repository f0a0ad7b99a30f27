// Decisions that another write overtakes between their judgement and their batch. The write
// pipeline judges a withdrawal, reversal, exclusion or retirement on a read; the batch re-checks,
// as it lands, that the entry is still at the version it was judged on (store/entry-state.ts).
// A write that lost the race is refused whole with 409: no decision, no change-feed row, no log
// leaf, no audit entry for something that did not happen. Each case runs the loser's apply()
// first (prepareRecord), lets the winner land through the API, then commits the loser's batch.

import { env } from "cloudflare:workers";
import type { Signer } from "@eusn/client";
import type { RecordKind, SubmissionView } from "@eusn/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import type { Applier } from "../../workers/api/apply/context.ts";
import { prepareRecord } from "../../workers/api/apply/pipeline.ts";
import {
  decideBaseline,
  reverseSubmission,
  withdrawSubmission,
} from "../../workers/api/apply/submissions.ts";
import { db } from "../../workers/api/lib/db.ts";
import { ApiError } from "../../workers/api/lib/problem.ts";
import { dbState } from "../helpers/db-state.ts";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, coordinator } from "../helpers/node.ts";
import { verifiedFor } from "../helpers/planned-write.ts";

const r = rng(31337);
let nl: Admitted;

beforeAll(async () => {
  nl = await admit("authority", "NL");
});

async function submit(): Promise<string> {
  const res = await nl.client.write<{ submissions: { id: string }[] }>(
    "/v1/submissions",
    "submission.create",
    {
      items: [pdqItem(randomPdq(r))],
    },
  );
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data.submissions[0]!.id;
}

async function view(id: string): Promise<SubmissionView> {
  const res = await coordinator().get<{ submission: SubmissionView }>(`/v1/submissions/${id}`);
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data.submission;
}

const coordSigner = (): Signer => {
  const c = coordinator();
  return { participantId: c.participantId, privateJwk: c.privateJwk };
};
const nlSigner = (): Signer => ({ participantId: nl.id, privateJwk: nl.key.privateJwk });

/**
 * Verifies and applies `record` now, as its route would, and returns the commit of its batch for
 * later: the write that is to lose the race.
 */
async function plan<K extends RecordKind>(applier: Applier<K>, by: Signer, record: unknown) {
  const w = await verifiedFor(applier, by, record);
  const d = db(env.DB);
  const prepared = await prepareRecord(d, env, w, { applier });
  return async () => (await prepared.commit()).receipt!;
}

/** Commits a batch planned earlier and expects it refused whole with 409, the database untouched. */
async function expectOvertaken(commit: () => Promise<unknown>) {
  const before = await dbState();
  const err = await commit().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApiError);
  expect((err as ApiError).code).toBe("conflict");
  expect(await dbState()).toEqual(before);
}

async function changesOf(id: string): Promise<string[]> {
  const rows = await env.DB.prepare(
    "SELECT change FROM submission_changes WHERE submission_id = ? ORDER BY seq",
  )
    .bind(id)
    .all<{ change: string }>();
  return rows.results.map((x) => x.change);
}

describe("a decision overtaken before its batch lands is refused whole (409)", () => {
  it("a withdrawal judged while live, after a coordinator's reversal landed", async () => {
    const id = await submit();
    const commit = await plan(withdrawSubmission, nlSigner(), { submissionId: id, reason: "our mistake" });
    const reversed = await coordinator().write(`/v1/submissions/${id}/reverse`, "submission.reverse", {
      submissionId: id,
      ground: "complaint_upheld",
      reason: "complaint upheld",
    });
    expect(reversed.ok).toBe(true);
    await expectOvertaken(commit);
    expect((await view(id)).status).toBe("reversed");
    expect(await changesOf(id)).toEqual(["created", "reversed"]);
  });

  it("a reversal judged while live, after the authority's withdrawal landed", async () => {
    const id = await submit();
    const commit = await plan(reverseSubmission, coordSigner(), {
      submissionId: id,
      ground: "error",
      reason: "wrong file",
    });
    const withdrawn = await nl.client.write(`/v1/submissions/${id}/withdraw`, "submission.withdraw", {
      submissionId: id,
      reason: "withdrawn first",
    });
    expect(withdrawn.ok).toBe(true);
    await expectOvertaken(commit);
    expect((await view(id)).status).toBe("withdrawn");
    expect(await changesOf(id)).toEqual(["created", "withdrawn"]);
  });

  it("an exclusion judged on one state, after another coordinator's exclusion landed", async () => {
    const id = await submit();
    const record = { submissionId: id, decision: "exclude", reason: "not terrorist content" };
    const commit = await plan(decideBaseline, coordSigner(), record);
    const first = await coordinator().write(`/v1/submissions/${id}/decisions`, "baseline.decide", {
      ...record,
      reason: "excluded first",
    });
    expect(first.ok ? first.status : JSON.stringify(first.problem)).toBe(201);
    await expectOvertaken(commit);
    expect((await view(id)).baselineState).toBe("excluded");
    expect(await changesOf(id)).toEqual(["created", "excluded"]);
  });

  it("an exclusion judged while live, after the submission was withdrawn", async () => {
    const id = await submit();
    const commit = await plan(decideBaseline, coordSigner(), {
      submissionId: id,
      decision: "exclude",
      reason: "not terrorist content",
    });
    const withdrawn = await nl.client.write(`/v1/submissions/${id}/withdraw`, "submission.withdraw", {
      submissionId: id,
      reason: "withdrawn first",
    });
    expect(withdrawn.ok).toBe(true);
    await expectOvertaken(commit);
    expect(await changesOf(id)).toEqual(["created", "withdrawn"]);
  });

  it("the same exclusion, not overtaken, lands (the guard holds when nothing changed)", async () => {
    const id = await submit();
    const commit = await plan(decideBaseline, coordSigner(), {
      submissionId: id,
      decision: "exclude",
      reason: "not terrorist content",
    });
    const receipt = await commit();
    expect(receipt.recordId).toMatch(/^rec_/);
    expect((await view(id)).baselineState).toBe("excluded");
    expect(await changesOf(id)).toEqual(["created", "excluded"]);
  });
});
