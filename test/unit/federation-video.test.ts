// Video across nodes: two real local nodes (`wrangler dev` each, its own D1 and its own match
// shards; scripts/federation/local-net.ts), B listing A as its peer. A video entry submitted on A
// replicates to B by B's pull, byte for byte, and then matches on B exactly as on A (the same
// percentages, time ranges and stored video); withdrawn on A, it stops matching on B after the
// next pull. The in-workerd pair of test/helpers/two-nodes.ts cannot show this: its two apps share
// one Durable Object namespace, whose match shards read node A's database.
import { readFileSync } from "node:fs";
import path from "node:path";
import type { EusnClient } from "@eusn/client";
import type { PdqHex } from "@eusn/pdq";
import {
  type MatchHit,
  type MatchResponse,
  type SubmitResult,
  type VpdqFrame,
  vpdqDigest,
} from "@eusn/protocol";
import { compareVpdq, matchedRanges } from "@eusn/vpdq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalNet, timedFetch } from "../../scripts/federation/local-net.ts";
import { A, B, startTwoLocalNodes, type TwoLocalNodes } from "../helpers/two-local-nodes.ts";
import { haveVectors, VECTORS } from "../helpers/vpdq.ts";

let two: TwoLocalNodes;
let net: LocalNet;
let pullAll: TwoLocalNodes["pullAll"];
let nl: EusnClient;
let platformOnA: EusnClient;
let platformOnB: EusnClient;

/** A sample video's every-second hashes (the reference's output) as the wire's frames. */
function sample(name: string): VpdqFrame[] {
  return readFileSync(path.join(VECTORS, "expected/every-second", `${name}.txt`), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const [n, q, h, t] = l.split(",");
      return [Number(n), Number(q), h!, Number(t)] as VpdqFrame;
    });
}

const videoHits = async (on: EusnClient, frames: VpdqFrame[]): Promise<MatchHit[]> => {
  const res = await on.match({ scope: "all", items: [{ type: "vpdq", frames }] });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return (res.data as MatchResponse).results[0]!.matches.filter((m) => m.kind === "video");
};

describe.skipIf(!haveVectors)("a video entry across two nodes", () => {
  beforeAll(async () => {
    // Everyone is admitted on A and known on B by B's pulls: the platform talks to both nodes with
    // the same id and key.
    two = await startTwoLocalNodes("video");
    ({ net, nl, platformOnA, platformOnB, pullAll } = two);
  }, 300_000);

  afterAll(async () => {
    await two?.close();
  });

  it("replicates to B by a pull, byte for byte, and matches on B as on A; a withdrawal on A stops it on B", async () => {
    const frames = sample("chair-orig-22-sd-bar");
    const value = await vpdqDigest(frames);
    const duration = frames.at(-1)![3] + 1;
    const sub = await nl.write<SubmitResult>("/v1/submissions", "submission.create", {
      items: [
        {
          signalType: "vpdq",
          value,
          limbs: ["a"],
          contentType: "video",
          nationalProvision: "NL Sr. art. 131",
          video: { frameCount: frames.length, durationSeconds: duration, frames },
        },
      ],
    });
    if (!sub.ok) throw new Error(JSON.stringify(sub.problem));
    const id = sub.data.submissions[0]!.id;
    // A clip: the video's second half.
    const clip = frames.slice(Math.floor(frames.length / 2));

    // Not on B before B pulls.
    expect(await videoHits(platformOnB, clip)).toEqual([]);
    const pulled = await pullAll();

    // The entry on B, and its signed record: A's, byte for byte (GET /v1/records/{id} serves a
    // record's exact JWS).
    const detailOn = async (on: number) => {
      const res = await net.nodes[on]!.coordinator.get<{
        submission: { signalType: string; value: string; memberState: string };
        history: { kind: string; recordId: string }[];
      }>(`/v1/submissions/${id}`);
      if (!res.ok) throw new Error(`${JSON.stringify(res.problem)} after ${pulled}`);
      return res.data;
    };
    const detailB = await detailOn(B);
    expect(detailB.submission).toMatchObject({ signalType: "vpdq", value, memberState: "NL" });
    const created = detailB.history.find((h) => h.kind === "submission.create")!.recordId;
    const jwsOn = async (on: number) => {
      const node = net.nodes[on]!;
      const res = await timedFetch(`${node.base}/v1/records/${created}`, {
        headers: { authorization: `Bearer ${await node.coordinator.token()}` },
      });
      expect(res.status).toBe(200);
      return res.text();
    };
    const jwsA = await jwsOn(A);
    expect(jwsA.split(".")).toHaveLength(3);
    expect(await jwsOn(B)).toBe(jwsA);

    // Matches on B with B's own shards, exactly as on A.
    const hitsB = await videoHits(platformOnB, clip);
    const hitsA = await videoHits(platformOnA, clip);
    expect(hitsB.map((h) => h.submissionId)).toEqual([id]);
    expect(hitsB[0]!.video).toEqual(hitsA[0]!.video);
    expect(hitsB[0]!.video).toMatchObject({
      queryMatchPercent: 100,
      frameCount: frames.length,
      durationSeconds: duration,
    });
    // The reference's comparison of the clip with the video (checked against the reference's own
    // output in vpdq.test.ts) gives the time ranges.
    const asFrames = (fs: VpdqFrame[]) => fs.map((f) => ({ quality: f[1], hash: f[2] as PdqHex }));
    const want = compareVpdq(asFrames(clip), asFrames(frames));
    expect(hitsB[0]!.video!.targetRanges).toEqual(
      matchedRanges(
        frames.map((f) => f[3]),
        want.targetMatched,
      ),
    );
    expect(hitsB[0]!.video!.targetMatchPercent).toBe(want.targetMatchPercent);

    // Withdrawn on A: A stops matching it at once, B after its next pull.
    const w = await nl.write(`/v1/submissions/${id}/withdraw`, "submission.withdraw", {
      submissionId: id,
      reason: "submitted in error",
    });
    expect(w.ok).toBe(true);
    expect(await videoHits(platformOnA, clip)).toEqual([]);
    expect((await videoHits(platformOnB, clip)).map((h) => h.submissionId)).toEqual([id]);
    await pullAll();
    expect(await videoHits(platformOnB, clip)).toEqual([]);
  }, 300_000);
});
