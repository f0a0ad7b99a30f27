// Test helpers for migration signals: a platform with a registered key-wrapping key, publishing
// selector-key versions through the real API, opening them as a platform would, and the tables
// that signal refusals must leave untouched.
import {
  b64url,
  type EncKeyPair,
  generateEncKeyPair,
  generateSelectorKey,
  type OpenedKeys,
  openSelectorKeys,
  publishSelectorKey,
  type SelectorKey,
  setEncKey,
} from "@eusn/client";
import type { SelectorKind } from "@eusn/protocol";
import { expect } from "vitest";
import { type Admitted, admit, coordinator } from "./node.ts";

export const SIGNAL_TABLES = [
  "signals",
  "signal_selectors",
  "signal_out_links",
  "signal_fetches",
  "signal_reversals",
  "signal_enc_keys",
  "signal_key_versions",
  "signal_key_wraps",
  "signal_lookup_guard",
  "signal_rate_windows",
] as const;

export type SignalPlatform = Admitted & { enc: EncKeyPair };

/** Admits a platform and registers its key-wrapping key. */
export async function signalPlatform(name?: string): Promise<SignalPlatform> {
  const p = await admit("platform", undefined, name ? { name } : {});
  const enc = await generateEncKeyPair();
  const res = await setEncKey(p.client, enc.publicJwk);
  expect(res.status, JSON.stringify(res.ok ? res.data : res.problem)).toBe(201);
  return { ...p, enc };
}

/** Publishes a fresh key version (wrapped for every registered platform) and returns the key. */
export async function publishVersion(
  version: number,
  validity: { validFrom?: number; validUntil?: number } = {},
): Promise<SelectorKey> {
  const now = Math.floor(Date.now() / 1000);
  const key = { version, key: generateSelectorKey() };
  const res = await publishSelectorKey(coordinator(), key, {
    validFrom: validity.validFrom ?? now - 60,
    validUntil: validity.validUntil ?? now + 120 * 86400,
  });
  expect(res.status, JSON.stringify(res.ok ? res.data : res.problem)).toBe(201);
  return key;
}

export function openKeys(p: SignalPlatform): Promise<OpenedKeys> {
  return openSelectorKeys(p.client, p.enc.privateJwk);
}

/** A well-formed pseudonym of random content (for volume tests: it matches nothing). */
export function randomPseudonym(version: number, kind: SelectorKind = "email"): string {
  return `v${version}:${kind}:${b64url(crypto.getRandomValues(new Uint8Array(32)))}`;
}
