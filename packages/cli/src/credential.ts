// Loading a participant credential file ({participantId, nodeId, baseUrl, privateJwk, …}, as
// written by `npm start` into .eusn-demo/keys/) and building an EusnClient from it.
import { readFile } from "node:fs/promises";
import { EusnClient } from "@eusn/client";
import type { JWK } from "jose";

export type CredentialFile = {
  participantId: string;
  nodeId: string;
  baseUrl: string;
  privateJwk: JWK;
  role?: string;
  displayName?: string;
};

export async function loadClient(file: string | undefined, baseUrl?: string): Promise<EusnClient> {
  const path = file ?? process.env.EUSN_KEY;
  if (!path) throw new UsageError("name a credential file with --key FILE (or set EUSN_KEY)");
  let cred: CredentialFile;
  try {
    cred = JSON.parse(await readFile(path, "utf8")) as CredentialFile;
  } catch (e) {
    throw new UsageError(`cannot read credential ${path}: ${(e as Error).message}`);
  }
  for (const k of ["participantId", "nodeId", "baseUrl", "privateJwk"] as const) {
    if (!cred[k]) throw new UsageError(`credential ${path} has no ${k}`);
  }
  return new EusnClient({
    baseUrl: baseUrl ?? cred.baseUrl,
    nodeId: cred.nodeId,
    participantId: cred.participantId,
    privateJwk: cred.privateJwk,
  });
}

export class UsageError extends Error {}

/** Reads `hash,quality,file` lines (as `eusn hash` prints them) or bare hex values, one per line. */
export async function readHashLines(
  inputs: readonly string[],
): Promise<{ value: string; quality?: number; label: string }[]> {
  const out: { value: string; quality?: number; label: string }[] = [];
  for (const input of inputs) {
    const text = input === "-" ? await readStdin() : await readFile(input, "utf8");
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.trim();
      if (!line || line.startsWith("#") || /^hash,quality/i.test(line) || /^type,value/i.test(line)) continue;
      const [value, q, ...rest] = line.split(",");
      const quality = q !== undefined && q !== "" ? Number(q) : undefined;
      out.push({
        value: value!.trim(),
        ...(quality !== undefined && Number.isFinite(quality) ? { quality } : {}),
        label: rest.join(",") || value!.trim(),
      });
    }
  }
  return out;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export function progressBar(total: number, label: string, enabled: boolean) {
  if (!enabled || !process.stderr.isTTY) return null;
  return import("cli-progress").then((m) => {
    const bar = new m.default.SingleBar(
      {
        format: `${label} [{bar}] {value}/{total} {percentage}% eta {eta_formatted}`,
        stream: process.stderr,
      },
      m.default.Presets.shades_classic,
    );
    bar.start(total, 0);
    return bar;
  });
}
