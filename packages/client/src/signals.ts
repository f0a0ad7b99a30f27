// Migration signals on the platform side: selector normalisation and pseudonymisation (WebCrypto
// HMAC-SHA-256, so it runs the same in Node, a browser and a Worker), the key-wrapping key pair,
// opening and checking the selector keys the coordinator wrapped for you, wrapping keys (for the
// coordinator), and thin wrappers over the /v1/signals endpoints. Raw selectors never leave this
// module: only pseudonyms do. Rules and rationale: docs/signals.md.
import type {
  CreateSignalRecord,
  EncPublicJwk,
  NormaliseResult,
  SelectorKeyPlaintext,
  SelectorKeysView,
  SelectorKind,
  SignalLookupRequest,
  SignalLookupResponse,
  SignalPullPage,
  SignalReversalPage,
  WriteReceipt,
} from "@eusn/protocol";
import {
  normaliseOutLink,
  SELECTOR_HMAC_LABEL,
  SELECTOR_KEY_BYTES,
  SELECTOR_KEY_WRAP_ALG,
  SELECTOR_KEY_WRAP_ENC,
} from "@eusn/protocol/plain";
import {
  CompactEncrypt,
  calculateJwkThumbprint,
  compactDecrypt,
  compactVerify,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
} from "jose";
import type { EusnClient, Result } from "./client.ts";

export { type NormaliseResult, normaliseOutLink };

// ---- normalisation ---------------------------------------------------------------------------

/** Unicode format characters (zero-width joiners, bidi marks, soft hyphens…): invisible, so dropped. */
const FORMAT_CHARS = /\p{Cf}/gu;
const clean = (s: string) => s.normalize("NFKC").replace(FORMAT_CHARS, "").trim();

export type NormaliseOptions = {
  /**
   * Country calling code (digits, e.g. "31") for phone numbers written in national format
   * ("06 1234 5678"). Without it, a phone number must be international (+… or 00…).
   */
  defaultCallingCode?: string;
};

/**
 * A handle: NFKC, invisible format characters removed, trimmed, one leading `@` dropped,
 * lower-cased. Refused: empty, whitespace inside, longer than 100, or containing `@`, `/` or `:`
 * (then it is an e-mail address or a URL: use that kind).
 */
export function normaliseHandle(input: string): NormaliseResult {
  const v = clean(input).replace(/^@/, "").toLowerCase();
  if (v.length === 0) return { ok: false, reason: "empty handle" };
  if (v.length > 100) return { ok: false, reason: "handle longer than 100 characters" };
  if (/\s/u.test(v)) return { ok: false, reason: "a handle has no spaces" };
  if (/[@/:]/.test(v)) return { ok: false, reason: "looks like an e-mail address or URL; use that kind" };
  return { ok: true, value: v };
}

const GMAIL = new Set(["gmail.com", "googlemail.com"]);

/**
 * An e-mail address: NFKC, format characters removed, trimmed, `mailto:` dropped, lower-cased;
 * split at the last `@`; the domain in IDNA ASCII form without a trailing dot; a `+tag`
 * sub-address dropped from the local part (all domains); for gmail.com/googlemail.com the dots
 * in the local part are dropped and the domain becomes gmail.com (Gmail ignores them).
 */
export function normaliseEmail(input: string): NormaliseResult {
  const v = clean(input)
    .replace(/^mailto:/i, "")
    .toLowerCase();
  const at = v.lastIndexOf("@");
  if (at <= 0 || at === v.length - 1) return { ok: false, reason: "not an e-mail address" };
  let local = v.slice(0, at);
  let domain = v.slice(at + 1);
  if (/\s/u.test(v) || local.includes("@")) return { ok: false, reason: "not an e-mail address" };
  try {
    domain = new URL(`http://${domain}`).hostname.replace(/\.$/, "");
  } catch {
    return { ok: false, reason: "the domain is not a host name" };
  }
  if (!domain.includes(".")) return { ok: false, reason: "the domain has no dot" };
  local = local.replace(/\+.*$/, "");
  if (GMAIL.has(domain)) {
    local = local.replaceAll(".", "");
    domain = "gmail.com";
  }
  if (local.length === 0) return { ok: false, reason: "empty local part" };
  const out = `${local}@${domain}`;
  if (out.length > 254) return { ok: false, reason: "longer than 254 characters" };
  return { ok: true, value: out };
}

/**
 * A phone number, to E.164 (`+` and 7–15 digits): NFKC, `tel:` dropped, a `(0)` after the
 * country code dropped, spaces, `-`, `.`, `/` and brackets removed, a `00` prefix read as `+`.
 * A national number (no `+`/`00`) needs `defaultCallingCode`; its single trunk `0` is dropped,
 * except for Italy (+39), where the leading 0 belongs to the number.
 */
export function normalisePhone(input: string, opts: NormaliseOptions = {}): NormaliseResult {
  let v = clean(input)
    .replace(/^tel:/i, "")
    .replace(/\(0\)/g, "")
    .replace(/[\s\-./()\u00a0]/gu, "");
  if (v.startsWith("00")) v = `+${v.slice(2)}`;
  if (!v.startsWith("+")) {
    const cc = opts.defaultCallingCode?.replace(/^\+/, "");
    if (!cc || !/^[1-9][0-9]{0,2}$/.test(cc)) {
      return { ok: false, reason: "a national number needs a default country calling code" };
    }
    if (!/^[0-9]+$/.test(v)) return { ok: false, reason: "a phone number has only digits" };
    v = `+${cc}${cc === "39" ? v : v.replace(/^0/, "")}`;
  }
  if (!/^\+[1-9][0-9]{6,14}$/.test(v))
    return { ok: false, reason: "not an E.164 number (+ and 7 to 15 digits)" };
  return { ok: true, value: v };
}

const PROFILE_HOST_PREFIXES = /^(m|mobile)\./;

/**
 * A profile URL: the out-link rules (`https://` added if there is no scheme; lower-case host
 * without trailing dot or leading `www.`; no credentials, default port, fragment or tracking
 * parameters; other parameters sorted; trailing `/` removed), then http becomes https and a
 * leading `m.` or `mobile.` is dropped from the host. Non-tracking parameters stay: some
 * platforms name a profile by them (`profile.php?id=…`). The path keeps its case. Refused:
 * other schemes, no path.
 */
export function normaliseProfileUrl(input: string): NormaliseResult {
  const n = normaliseOutLink(clean(input));
  if (!n.ok) return n;
  const url = new URL(n.value);
  url.protocol = "https:";
  const host = url.hostname.replace(PROFILE_HOST_PREFIXES, "");
  if (!host.includes(".")) return { ok: false, reason: "no public host name" };
  url.hostname = host;
  if (url.pathname === "/" && url.search === "") return { ok: false, reason: "a profile URL has a path" };
  return { ok: true, value: url.toString().replace(/\?$/, "") };
}

/** The normal form of a selector of the given kind. */
export function normaliseSelector(
  kind: SelectorKind,
  value: string,
  opts: NormaliseOptions = {},
): NormaliseResult {
  switch (kind) {
    case "handle":
      return normaliseHandle(value);
    case "email":
      return normaliseEmail(value);
    case "phone":
      return normalisePhone(value, opts);
    case "profile_url":
      return normaliseProfileUrl(value);
  }
}

// ---- pseudonyms ------------------------------------------------------------------------------

/** One selector-key version as the platform holds it (never sent anywhere). */
export type SelectorKey = { version: number; key: Uint8Array };

export function b64url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function fromB64url(s: string): Uint8Array {
  const bin = atob(s.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
}

const hmacKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();
function hmacKey(key: Uint8Array): Promise<CryptoKey> {
  let k = hmacKeys.get(key);
  if (!k) {
    k = crypto.subtle.importKey(
      "raw",
      key as Uint8Array<ArrayBuffer>,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    hmacKeys.set(key, k);
  }
  return k;
}

/**
 * `v<version>:<kind>:<base64url HMAC-SHA-256(key, "eusn-selector\0<kind>\0<normalised>")>`.
 * The kind is inside the MAC too, so the same string as a handle and as a URL never collide.
 * `normalised` must already be in normal form (use `pseudonymise` for raw input).
 */
export async function pseudonymFor(
  key: SelectorKey,
  kind: SelectorKind,
  normalised: string,
): Promise<string> {
  if (key.key.length !== SELECTOR_KEY_BYTES) throw new Error(`a selector key is ${SELECTOR_KEY_BYTES} bytes`);
  const msg = new TextEncoder().encode(`${SELECTOR_HMAC_LABEL}\u0000${kind}\u0000${normalised}`);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(key.key), msg));
  return `v${key.version}:${kind}:${b64url(mac)}`;
}

export type PseudonymResult =
  | { ok: true; pseudonym: string; normalised: string }
  | { ok: false; reason: string };

/** Normalises a raw selector and pseudonymises it under one key version. */
export async function pseudonymise(
  key: SelectorKey,
  kind: SelectorKind,
  raw: string,
  opts: NormaliseOptions = {},
): Promise<PseudonymResult> {
  const n = normaliseSelector(kind, raw, opts);
  if (!n.ok) return n;
  return { ok: true, pseudonym: await pseudonymFor(key, kind, n.value), normalised: n.value };
}

/**
 * For a lookup: the selector under every given version (pass the versions whose
 * `acceptsLookups` is true), so signals made under an older key during the overlap still match.
 */
export async function pseudonymiseForLookup(
  keys: readonly SelectorKey[],
  kind: SelectorKind,
  raw: string,
  opts: NormaliseOptions = {},
): Promise<{ ok: true; pseudonyms: string[] } | { ok: false; reason: string }> {
  const n = normaliseSelector(kind, raw, opts);
  if (!n.ok) return n;
  return { ok: true, pseudonyms: await Promise.all(keys.map((k) => pseudonymFor(k, kind, n.value))) };
}

// ---- key wrapping ----------------------------------------------------------------------------

export type EncKeyPair = { kid: string; privateJwk: JWK; publicJwk: EncPublicJwk };

/** A new P-256 key pair for receiving wrapped selector keys (ECDH-ES+A256KW). Keep the private half. */
export async function generateEncKeyPair(): Promise<EncKeyPair> {
  const pair = await generateKeyPair(SELECTOR_KEY_WRAP_ALG, { crv: "P-256", extractable: true });
  const pub = await exportJWK(pair.publicKey);
  const kid = await calculateJwkThumbprint(
    { kty: pub.kty, crv: pub.crv, x: pub.x, y: pub.y } as JWK,
    "sha256",
  );
  const publicJwk = {
    kty: "EC",
    crv: "P-256",
    x: pub.x!,
    y: pub.y!,
    use: "enc",
    alg: SELECTOR_KEY_WRAP_ALG,
    kid,
  } as EncPublicJwk;
  const privateJwk = { ...(await exportJWK(pair.privateKey)), use: "enc", alg: SELECTOR_KEY_WRAP_ALG, kid };
  return { kid, privateJwk, publicJwk };
}

/** 256 fresh random bits: a new selector-key version (coordinator). */
export function generateSelectorKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(SELECTOR_KEY_BYTES));
}

/** Wraps one key version for one platform (coordinator): JWE to the platform's encryption key. */
export async function wrapSelectorKey(
  key: SelectorKey,
  recipient: { participantId: string; jwk: EncPublicJwk },
): Promise<{ participantId: string; kid: string; jwe: string }> {
  const { kty, crv, x, y } = recipient.jwk;
  const kid = await calculateJwkThumbprint({ kty, crv, x, y } as JWK, "sha256");
  const plaintext: SelectorKeyPlaintext = {
    typ: "eusn-selector-key",
    version: key.version,
    participantId: recipient.participantId,
    key: b64url(key.key),
  };
  const publicKey = await importJWK({ kty, crv, x, y }, SELECTOR_KEY_WRAP_ALG);
  const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(plaintext)))
    .setProtectedHeader({ alg: SELECTOR_KEY_WRAP_ALG, enc: SELECTOR_KEY_WRAP_ENC, kid })
    .encrypt(publicKey);
  return { participantId: recipient.participantId, kid, jwe };
}

/**
 * Opens a wrapped key with the platform's encryption private key and checks that it is the
 * version and the recipient it claims to be.
 */
export async function unwrapSelectorKey(
  jwe: string,
  encPrivateJwk: JWK,
  expect: { version: number; participantId: string },
): Promise<SelectorKey> {
  const { plaintext } = await compactDecrypt(jwe, await importJWK(encPrivateJwk, SELECTOR_KEY_WRAP_ALG), {
    keyManagementAlgorithms: [SELECTOR_KEY_WRAP_ALG],
    contentEncryptionAlgorithms: [SELECTOR_KEY_WRAP_ENC],
  });
  // The schema is loaded here, not at import: building the protocol's schemas costs every process
  // that imports the client (the eusn CLI at each start) CPU it mostly does not need.
  const { SelectorKeyPlaintext } = await import("@eusn/protocol/signals");
  const p = SelectorKeyPlaintext.parse(JSON.parse(new TextDecoder().decode(plaintext)));
  if (p.version !== expect.version || p.participantId !== expect.participantId) {
    throw new Error(
      `wrapped key is v${p.version} for ${p.participantId}, expected v${expect.version} for ${expect.participantId}`,
    );
  }
  return { version: p.version, key: fromB64url(p.key) };
}

export type OpenedKeys = {
  current: number | null;
  /** Every version wrapped for you that is still of use, by version. */
  keys: SelectorKey[];
  /** The versions to pseudonymise lookups under. */
  lookupVersions: number[];
};

/**
 * Fetches the key versions, checks that each JWE served to you is inside a record signed by a
 * coordinator (so a node cannot hand you a key of its own choosing, which it could then
 * dictionary-attack), and opens them. Pin `coordinatorKeys` (public JWKs obtained out of band)
 * for the strongest check; without it the coordinator keys in the node's registry are used.
 */
export async function openSelectorKeys(
  client: EusnClient,
  encPrivateJwk: JWK,
  opts: { coordinatorKeys?: JWK[] } = {},
): Promise<OpenedKeys> {
  const res = await client.get<SelectorKeysView>("/v1/signals/keys");
  if (!res.ok) throw new Error(`GET /v1/signals/keys: ${res.problem.code} ${res.problem.detail ?? ""}`);
  const trusted = opts.coordinatorKeys ?? (await registryCoordinatorKeys(client));
  const keys: SelectorKey[] = [];
  for (const v of res.data.versions) {
    if (!v.wrapped) continue;
    await checkWrapSigned(client, v.wrapped.recordId, v.version, v.wrapped.jwe, trusted);
    keys.push(
      await unwrapSelectorKey(v.wrapped.jwe, encPrivateJwk, {
        version: v.version,
        participantId: client.participantId,
      }),
    );
  }
  const have = new Set(keys.map((k) => k.version));
  return {
    current: res.data.current,
    keys,
    lookupVersions: res.data.versions
      .filter((v) => v.acceptsLookups && have.has(v.version))
      .map((v) => v.version),
  };
}

async function registryCoordinatorKeys(client: EusnClient): Promise<JWK[]> {
  const res = await client.get<{ participants: { keys: { jwk: JWK; status: string }[] }[] }>(
    "/v1/participants?role=coordinator&status=active",
  );
  if (!res.ok) throw new Error(`cannot list coordinators: ${res.problem.code}`);
  return res.data.participants.flatMap((p) => p.keys.filter((k) => k.status === "active").map((k) => k.jwk));
}

async function checkWrapSigned(
  client: EusnClient,
  recordId: string,
  version: number,
  jwe: string,
  trusted: JWK[],
): Promise<void> {
  const rec = await client.get<string>(`/v1/records/${recordId}`, {
    headers: { accept: "application/jose" },
  });
  if (!rec.ok) throw new Error(`cannot fetch key record ${recordId}: ${rec.problem.code}`);
  for (const jwk of trusted) {
    const alg = jwk.kty === "OKP" ? "EdDSA" : "ES256";
    let payload: Uint8Array;
    try {
      payload = (await compactVerify(rec.data, await importJWK(jwk, alg), { algorithms: [alg] })).payload;
    } catch {
      continue;
    }
    const claims = JSON.parse(new TextDecoder().decode(payload)) as {
      kind?: string;
      record?: { version?: number; wrapped?: { participantId: string; jwe: string }[] };
    };
    const ok =
      (claims.kind === "signal.key.publish" || claims.kind === "signal.key.grant") &&
      claims.record?.version === version &&
      (claims.record.wrapped ?? []).some((w) => w.participantId === client.participantId && w.jwe === jwe);
    if (ok) return;
    throw new Error(`record ${recordId} does not carry this wrapped key for v${version}`);
  }
  throw new Error(`record ${recordId} is not signed by a trusted coordinator key`);
}

// ---- endpoints -------------------------------------------------------------------------------

export type SignalReceipt = WriteReceipt & { signalId: string; expiresAt: string };

/** Registers your key-wrapping public key (platform). */
export function setEncKey(client: EusnClient, publicJwk: EncPublicJwk): Promise<Result<WriteReceipt>> {
  return client.write("/v1/signals/enc-keys", "signal.enckey.set", {
    participantId: client.participantId,
    jwk: publicJwk,
  });
}

/**
 * Publishes a new key version wrapped for every platform that registered an encryption key
 * (coordinator). Keep `key` safe: it is needed to grant the version to platforms that join later.
 */
export async function publishSelectorKey(
  client: EusnClient,
  key: SelectorKey,
  validity: { validFrom: number; validUntil: number },
): Promise<Result<WriteReceipt>> {
  const enc = await client.get<{ encKeys: { participantId: string; jwk: EncPublicJwk }[] }>(
    "/v1/signals/enc-keys",
  );
  if (!enc.ok) return enc;
  const wrapped = await Promise.all(enc.data.encKeys.map((e) => wrapSelectorKey(key, e)));
  return client.write("/v1/signals/keys", "signal.key.publish", {
    version: key.version,
    ...validity,
    wrapped,
  });
}

/** Wraps an existing version for the given platforms (all registered ones by default; coordinator). */
export async function grantSelectorKey(
  client: EusnClient,
  key: SelectorKey,
  participantIds?: readonly string[],
): Promise<Result<WriteReceipt>> {
  const enc = await client.get<{ encKeys: { participantId: string; jwk: EncPublicJwk }[] }>(
    "/v1/signals/enc-keys",
  );
  if (!enc.ok) return enc;
  const to = enc.data.encKeys.filter((e) => !participantIds || participantIds.includes(e.participantId));
  const wrapped = await Promise.all(to.map((e) => wrapSelectorKey(key, e)));
  return client.write(`/v1/signals/keys/${key.version}/grants`, "signal.key.grant", {
    version: key.version,
    wrapped,
  });
}

export function submitSignal(client: EusnClient, record: CreateSignalRecord): Promise<Result<SignalReceipt>> {
  return client.write("/v1/signals", "signal.create", record);
}

export function lookupSignals(
  client: EusnClient,
  req: SignalLookupRequest,
): Promise<Result<SignalLookupResponse>> {
  return client.postJson("/v1/signals/lookup", req);
}

export function pullTargetedSignals(
  client: EusnClient,
  after = 0,
  limit = 100,
): Promise<Result<SignalPullPage>> {
  return client.get(`/v1/signals/targeted?after=${after}&limit=${limit}`);
}

export function listSignalReversals(
  client: EusnClient,
  after = 0,
  limit = 100,
): Promise<Result<SignalReversalPage>> {
  return client.get(`/v1/signals/reversals?after=${after}&limit=${limit}`);
}

export function retractSignal(
  client: EusnClient,
  signalId: string,
  reason?: string,
): Promise<Result<WriteReceipt>> {
  return client.write(`/v1/signals/${signalId}/retract`, "signal.retract", {
    signalId,
    ...(reason ? { reason } : {}),
  });
}

export function reverseSignal(
  client: EusnClient,
  signalId: string,
  ground: "appeal_upheld" | "court_ruling" | "error" | "other",
  reason: string,
): Promise<Result<WriteReceipt>> {
  return client.write(`/v1/signals/${signalId}/reverse`, "signal.reverse", { signalId, ground, reason });
}
