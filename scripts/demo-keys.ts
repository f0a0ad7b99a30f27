// Demo credentials on disk (git-ignored `.eusn-demo/`): one JSON file per participant holding
// its id, the node it talks to and its PRIVATE key. Never commit these; `npm start` makes them.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { JWK } from "jose";

export const DEMO_DIR = path.resolve(import.meta.dirname, "..", ".eusn-demo");
export const KEYS_DIR = path.join(DEMO_DIR, "keys");

export type Credential = {
  participantId: string;
  role: "coordinator" | "authority" | "platform";
  memberState?: string;
  displayName: string;
  nodeId: string;
  baseUrl: string;
  privateJwk: JWK;
};

export function writeJson(file: string, value: unknown) {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // 0600: private keys are readable by their owner only.
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
}

export function readJson<T>(file: string): T | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as T) : undefined;
}
