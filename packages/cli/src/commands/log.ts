// `eusn log verify`: checks the node's transparency log with the node's public key only. For a
// record: its inclusion under a node-signed checkpoint (a receipt). Against a checkpoint saved
// earlier: that the log only grew since (a consistency proof; a fork is evidence, kept in both
// files). Fully offline with --receipt, --jws and --node-jwks files; else the missing pieces are
// fetched from the node and still verified here.
import { readFile, writeFile } from "node:fs/promises";
import {
  type EusnClient,
  fetchCheckpoint,
  fetchConsistency,
  fetchInclusion,
  getRecord,
  type ProvenReceipt,
  verifyCheckpointConsistency,
  verifyWriteReceipt,
} from "@eusn/client";
import { Command } from "commander";
import type { JWK } from "jose";
import { UsageError } from "../credential.ts";
import { nodeFetch } from "../http.ts";
import { type CommonOpts, connect, Failure, must, networked, run, show } from "../output.ts";

const NAME = "eusn log verify";

type Opts = CommonOpts & {
  record?: string;
  receipt?: string;
  jws?: string;
  nodeJwks?: string;
  checkpoint?: string;
  saveCheckpoint?: string;
};

async function readJson<T>(file: string, what: string): Promise<T> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as T;
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${file}: ${(e as Error).message}`);
  }
}

export default function logCommand(): Command {
  const log = new Command("log").description("the node's transparency log");
  log.addCommand(
    networked(
      new Command("verify")
        .description(
          "verify a record's inclusion (a receipt) and/or that the log only grew since a saved checkpoint, with the node's public key",
        )
        .option("--record <id>", "the record whose inclusion to check (fetches its JWS and a fresh proof)")
        .option(
          "--receipt <file>",
          "a receipt with its proof (a write's --json answer, or GET /v1/log/inclusion)",
        )
        .option("--jws <file>", "the record's exact JWS (for --receipt)")
        .option("--node-jwks <file>", "the node's public JWKS (default: fetched from /.well-known/jwks.json)")
        .option("--checkpoint <file>", "a checkpoint saved earlier: prove the current log extends it")
        .option("--save-checkpoint <file>", "save the current checkpoint here, for the next --checkpoint"),
      [
        "eusn log verify --key me.json --record rec_01jd… --save-checkpoint cp.json",
        "eusn log verify --key me.json --checkpoint cp.json --save-checkpoint cp.json",
        "eusn log verify --receipt receipt.json --jws record.jws --node-jwks node.jwks.json",
      ],
    ).action(run(NAME, verify)),
  );
  return log;
}

async function verify(opts: Opts): Promise<number> {
  if (!opts.record && !opts.receipt && !opts.checkpoint && !opts.saveCheckpoint)
    throw new UsageError("say what to verify: --record ID, --receipt FILE --jws FILE, or --checkpoint FILE");
  if (opts.receipt && !opts.jws) throw new UsageError("--receipt needs the record's exact bytes: --jws FILE");
  const offline =
    opts.receipt !== undefined && opts.nodeJwks !== undefined && !opts.checkpoint && !opts.saveCheckpoint;
  let client: EusnClient | undefined;
  if (!offline) client = (await connect(NAME, opts)).client;
  const nodeKey = opts.nodeJwks
    ? (await readJson<{ keys: JWK[] }>(opts.nodeJwks, "node JWKS")).keys[0]!
    : await fetchNodeKey(client!);
  const origin = client?.nodeId;
  const report: Record<string, unknown> = {};
  const lines: string[] = [];

  if (opts.record || opts.receipt) {
    let receipt: ProvenReceipt;
    let jws: string;
    if (opts.receipt) {
      receipt = await readJson<ProvenReceipt>(opts.receipt, "receipt");
      jws = (await readFile(opts.jws!, "utf8")).trim();
    } else {
      jws = must(await getRecord(client!, opts.record!));
      const leaf = await leafHashHex(jws);
      receipt = await fetchInclusion(client!.baseUrl, { leafHash: leaf }, nodeFetch);
    }
    const checked = await verifyWriteReceipt(receipt, nodeKey, jws, origin ? { origin } : {});
    if (!checked.ok) throw new Failure(`the receipt does not verify: ${checked.reason}`);
    report.inclusion = {
      logIndex: receipt.logIndex,
      treeSize: checked.checkpoint.treeSize,
      origin: checked.checkpoint.origin,
    };
    lines.push(
      `included: log index ${receipt.logIndex} of ${checked.checkpoint.treeSize} in ${checked.checkpoint.origin}'s log (checkpoint signed by the node key)`,
    );
  }
  if (opts.checkpoint || opts.saveCheckpoint) {
    const current = await fetchCheckpoint(client!.baseUrl, nodeFetch);
    if (opts.checkpoint) {
      const saved = await readJson<{ checkpoint: string; treeSize: number }>(opts.checkpoint, "checkpoint");
      const proof = await fetchConsistency(client!.baseUrl, saved.treeSize, current.treeSize, nodeFetch);
      const c = await verifyCheckpointConsistency(
        saved.checkpoint,
        current.checkpoint,
        proof.proof,
        nodeKey,
        origin ? { origin } : {},
      );
      if (!c.ok) {
        throw new Failure(
          c.fork
            ? `FORK: the node signed two histories (${c.reason}); keep ${opts.checkpoint} and the current checkpoint as evidence`
            : `the log is not consistent with ${opts.checkpoint}: ${c.reason}`,
        );
      }
      report.consistency = { from: c.older.treeSize, to: c.newer.treeSize };
      lines.push(
        `consistent: the log grew from ${c.older.treeSize} to ${c.newer.treeSize} entries without changing any`,
      );
    }
    if (opts.saveCheckpoint) {
      await writeFile(opts.saveCheckpoint, `${JSON.stringify(current, null, 2)}\n`);
      report.saved = { file: opts.saveCheckpoint, treeSize: current.treeSize };
      lines.push(`saved the checkpoint for ${current.treeSize} entries in ${opts.saveCheckpoint}`);
    }
  }
  show(opts, { verified: true, ...report }, () => lines.join("\n"));
  return 0;
}

async function fetchNodeKey(client: EusnClient): Promise<JWK> {
  const res = must(await client.getPublic<{ keys: JWK[] }>("/.well-known/jwks.json"));
  const key = res.keys[0];
  if (!key) throw new Failure("the node publishes no key");
  return key;
}

/** RFC 6962 leaf hash: SHA-256(0x00 ‖ bytes), hex. */
async function leafHashHex(jws: string): Promise<string> {
  const bytes = new TextEncoder().encode(jws);
  const input = new Uint8Array(bytes.length + 1);
  input.set(bytes, 1);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", input));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
