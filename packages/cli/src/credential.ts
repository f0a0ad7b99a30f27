// Key files and the client built from one. A key file holds a participant's private key, in the
// clear (the demo files `npm start` writes into .eusn-demo/keys/) or encrypted with a passphrase as
// a compact JWE (RFC 7516) with PBES2 (RFC 7518 §4.8: PBKDF2 with HMAC-SHA-512, A256KW, A256GCM),
// and what it is for: participant id, node id and node URL. `eusn keygen` writes one before the
// participant is admitted; the first command that runs with it (`eusn whoami`) finds the
// participant by the key's thumbprint in the node's registry and records the rest.
import { constants } from "node:fs";
import { open, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import tty from "node:tty";
import { EusnClient, publicOf } from "@eusn/client";
import type { ParticipantView } from "@eusn/protocol";
import { CompactEncrypt, compactDecrypt, type JWK } from "jose";
import { nodeFetch } from "./http.ts";

export type CredentialFile = {
  participantId?: string;
  nodeId?: string;
  baseUrl?: string;
  role?: string;
  memberState?: string;
  displayName?: string;
  kid?: string;
  alg?: string;
  /** The private JWK in the clear (demo files). */
  privateJwk?: JWK;
  /** The private JWK encrypted with a passphrase: compact JWE, PBES2-HS512+A256KW / A256GCM. */
  privateKeyJwe?: string;
};

/** An error in what the user typed or named: exit status 2. */
export class UsageError extends Error {}

/** PBKDF2 iterations for a new key file: OWASP's 2023 figure for PBKDF2-HMAC-SHA512 is 210,000. */
export const PBES2_ITERATIONS = 210_000;
const PBES2_ALG = "PBES2-HS512+A256KW";
/** Decryption accepts at most this many iterations, so a hostile file cannot make us spin. */
const PBES2_MAX = 5_000_000;

/** Encrypts a private JWK with a passphrase (compact JWE; `cty` says what is inside). */
export async function encryptPrivateJwk(jwk: JWK, passphrase: string): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(jwk)))
    .setProtectedHeader({ alg: PBES2_ALG, enc: "A256GCM", cty: "jwk+json" })
    .setKeyManagementParameters({ p2c: PBES2_ITERATIONS })
    .encrypt(new TextEncoder().encode(passphrase));
}

export async function decryptPrivateJwk(jwe: string, passphrase: string): Promise<JWK> {
  const { plaintext } = await compactDecrypt(jwe, new TextEncoder().encode(passphrase), {
    keyManagementAlgorithms: [PBES2_ALG],
    contentEncryptionAlgorithms: ["A256GCM"],
    maxPBES2Count: PBES2_MAX,
  });
  return JSON.parse(new TextDecoder().decode(plaintext)) as JWK;
}

/**
 * Asks for a passphrase on the terminal (/dev/tty, so stdin stays free for data), without echo.
 * Undefined when there is no terminal.
 */
export async function promptPassphrase(prompt: string): Promise<string | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open("/dev/tty", constants.O_RDWR | constants.O_NOCTTY);
  } catch {
    return undefined;
  }
  const input = new tty.ReadStream(handle.fd);
  const output = new tty.WriteStream(handle.fd);
  try {
    output.write(prompt);
    input.setRawMode(true);
    return await new Promise<string>((resolve, reject) => {
      let value = "";
      input.on("data", (chunk: Buffer) => {
        for (const ch of chunk.toString("utf8")) {
          if (ch === "\r" || ch === "\n") {
            output.write("\n");
            resolve(value);
            return;
          }
          if (ch === "\u0003") {
            output.write("\n");
            reject(new UsageError("cancelled"));
            return;
          }
          if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
          else value += ch;
        }
      });
    });
  } finally {
    input.setRawMode(false);
    input.destroy();
    output.destroy();
    await handle.close().catch(() => {});
  }
}

/** The passphrase from $EUSN_PASSPHRASE, else asked on the terminal. */
export async function passphraseFor(what: string): Promise<string> {
  const env = process.env.EUSN_PASSPHRASE;
  if (env !== undefined && env !== "") return env;
  const asked = await promptPassphrase(`passphrase for ${what}: `);
  if (asked === undefined)
    throw new UsageError(`${what} is encrypted: set EUSN_PASSPHRASE, or run in a terminal to be asked`);
  return asked;
}

/** Reads a key file; a bare private JWK (as older `eusn keygen` wrote) counts as `{privateJwk}`. */
export async function readKeyFile(file: string): Promise<CredentialFile> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new UsageError(
      `cannot read key file ${file}: ${code === "ENOENT" ? "no such file" : (e as Error).message}`,
    );
  }
  if (typeof parsed !== "object" || parsed === null)
    throw new UsageError(`key file ${file} is not a JSON object`);
  const obj = parsed as CredentialFile & { kty?: string; d?: string };
  if (typeof obj.kty === "string" && typeof obj.d === "string") return { privateJwk: obj as JWK };
  if (!obj.privateJwk && !obj.privateKeyJwe)
    throw new UsageError(`key file ${file} holds no private key (privateJwk or privateKeyJwe)`);
  return obj;
}

/** Writes a key file readable by its owner only, through a temporary file and a rename. */
export async function writeKeyFile(file: string, content: CredentialFile, opts: { create?: boolean } = {}) {
  const text = `${JSON.stringify(content, null, 2)}\n`;
  if (opts.create) {
    await writeFile(file, text, { mode: 0o600, flag: "wx" });
    return;
  }
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    await writeFile(temp, text, { mode: 0o600 });
    await rename(temp, file);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
}

export type KeyOptions = { key?: string; node?: string };

export type LoadedKey = {
  file: string;
  content: CredentialFile;
  privateJwk: JWK;
  kid: string;
};

/** The key file named by --key or $EUSN_KEY, decrypted. */
export async function loadKey(opts: KeyOptions): Promise<LoadedKey> {
  const file = opts.key ?? process.env.EUSN_KEY;
  if (!file) throw new UsageError("name a key file with --key FILE (or set EUSN_KEY)");
  const content = await readKeyFile(file);
  let privateJwk = content.privateJwk;
  if (!privateJwk) {
    const pass = await passphraseFor(`key file ${file}`);
    try {
      privateJwk = await decryptPrivateJwk(content.privateKeyJwe!, pass);
    } catch {
      throw new UsageError(`cannot open key file ${file}: wrong passphrase, or the file is damaged`);
    }
  }
  const { kid } = await publicOf(privateJwk);
  return { file, content, privateJwk, kid };
}

/** The node URL: --node, then $EUSN_NODE, then the key file's. */
export function nodeUrl(opts: KeyOptions, content: CredentialFile): { url: string; overridden: boolean } {
  const given = opts.node ?? process.env.EUSN_NODE;
  if (given) {
    let u: URL;
    try {
      u = new URL(given);
    } catch {
      throw new UsageError(`--node ${given} is not a URL (e.g. http://localhost:8787)`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:")
      throw new UsageError(`--node ${given}: the node's URL is http:// or https://`);
    return { url: given.replace(/\/$/, ""), overridden: given.replace(/\/$/, "") !== content.baseUrl };
  }
  if (content.baseUrl) return { url: content.baseUrl, overridden: false };
  throw new UsageError("the key file names no node: give its URL with --node URL (or set EUSN_NODE)");
}

export type Loaded = { client: EusnClient; key: LoadedKey; learned: Partial<CredentialFile> };

/**
 * A client for the key file's participant on its node. What the file does not say is learned
 * from the node: the node id from GET /health (also whenever --node / $EUSN_NODE points
 * elsewhere, since a write is signed for one node id), the participant id from the registry (the
 * participant whose active key has this thumbprint). `learned` lists what was looked up.
 */
export async function loadClient(opts: KeyOptions): Promise<Loaded> {
  const key = await loadKey(opts);
  const { url, overridden } = nodeUrl(opts, key.content);
  const learned: Partial<CredentialFile> = {};
  let nodeId = key.content.nodeId;
  const probe = new EusnClient({
    baseUrl: url,
    nodeId: nodeId ?? "",
    participantId: "",
    privateJwk: key.privateJwk,
    fetch: nodeFetch,
  });
  if (!nodeId || overridden) {
    const health = await probe.getPublic<{ nodeId: string }>("/health");
    if (!health.ok) throw new Error(`${url}/health answered ${health.status}: is this an EUSN node?`);
    if (health.data.nodeId !== nodeId) learned.nodeId = health.data.nodeId;
    nodeId = health.data.nodeId;
  }
  if (url !== key.content.baseUrl) learned.baseUrl = url;
  let participantId = key.content.participantId;
  if (!participantId) {
    const found = await participantByKey(probe, key.kid);
    if (!found)
      throw new Error(
        `no active participant on ${url} has this key (kid ${key.kid}): a coordinator admits it with \`eusn admit\`, given the public key \`eusn keygen\` printed`,
      );
    participantId = found.id;
    learned.participantId = found.id;
    learned.role = found.role;
    if (found.memberState) learned.memberState = found.memberState;
    learned.displayName = found.displayName;
  }
  const client = new EusnClient({
    baseUrl: url,
    nodeId,
    participantId,
    privateJwk: key.privateJwk,
    fetch: nodeFetch,
  });
  return { client, key, learned };
}

async function participantByKey(client: EusnClient, kid: string): Promise<ParticipantView | undefined> {
  const res = await client.getPublic<{ participants: ParticipantView[] }>("/v1/participants?status=active");
  if (!res.ok) throw new Error(`cannot read the registry: ${res.problem.code}`);
  return res.data.participants.find((p) => p.keys.some((k) => k.kid === kid && k.status === "active"));
}

// ---- input --------------------------------------------------------------------------------------

/** The text of a file, or of stdin for `-`. */
export async function readInput(input: string): Promise<string> {
  if (input === "-") {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }
  try {
    return await readFile(input, "utf8");
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new UsageError(
      `cannot read ${input}: ${code === "ENOENT" ? "no such file" : (e as Error).message}`,
    );
  }
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
