// API credentials for HTTP Basic (TAXII clients such as MISP or OpenCTI): the secret is generated
// here, on the participant's side, and only its SHA-256 is signed and sent; the node never sees
// it. Rules and rationale: docs/taxii.md "API credentials".
import type { ApiCredentialView, WriteReceipt } from "@eusn/protocol";
import { API_SECRET_PATTERN } from "@eusn/protocol/plain";
import type { EusnClient, Result } from "./client.ts";

const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");

/** A fresh secret: `eusn_` + 32 random bytes (256 bits) as base64url. */
export function generateApiSecret(): string {
  const secret = `eusn_${b64url(crypto.getRandomValues(new Uint8Array(32)))}`;
  if (!API_SECRET_PATTERN.test(secret)) throw new Error("generated secret has an unexpected form");
  return secret;
}

/** Lower-case hex SHA-256 of the secret's UTF-8 bytes: what the node stores and compares. */
export async function apiSecretHash(secret: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** `Authorization` header value for HTTP Basic (RFC 7617): username = participant id. */
export function basicAuthorization(participantId: string, secret: string): string {
  const bytes = new TextEncoder().encode(`${participantId}:${secret}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

export type CreatedApiCredential = {
  credentialId: string;
  /** Basic username. */
  username: string;
  /** Basic password. Shown once: store it in the TAXII client's configuration; it cannot be recovered. */
  secret: string;
  expiresAt: string | null;
  receipt: WriteReceipt;
};

/**
 * Generates a secret locally and registers its hash for the client's own participant.
 *
 * @example
 * const cred = await createApiCredential(client, { label: "OpenCTI TAXII connector" });
 * // TAXII client: user = cred.username, password = cred.secret, url = <node>/taxii2/
 */
export async function createApiCredential(
  client: EusnClient,
  opts: { label: string; expiresAt?: string },
): Promise<Result<CreatedApiCredential>> {
  const secret = generateApiSecret();
  const res = await client.write<WriteReceipt>(
    `/v1/participants/${client.participantId}/api-credentials`,
    "participant.apicred.set",
    {
      participantId: client.participantId,
      label: opts.label,
      secretSha256: await apiSecretHash(secret),
      ...(opts.expiresAt ? { expiresAt: opts.expiresAt } : {}),
    },
  );
  if (!res.ok) return res;
  return {
    ok: true,
    status: res.status,
    headers: res.headers,
    data: {
      credentialId: res.data.subjectId,
      username: client.participantId,
      secret,
      expiresAt: opts.expiresAt ?? null,
      receipt: res.data,
    },
  };
}

/** Revokes a credential: one's own, or (as a coordinator) another participant's. */
export function revokeApiCredential(
  client: EusnClient,
  credentialId: string,
  opts: { participantId?: string; reason?: string } = {},
): Promise<Result<WriteReceipt>> {
  const participantId = opts.participantId ?? client.participantId;
  return client.write<WriteReceipt>(
    `/v1/participants/${participantId}/api-credentials/revoke`,
    "participant.apicred.revoke",
    { participantId, credentialId, ...(opts.reason ? { reason: opts.reason } : {}) },
  );
}

/** Lists credentials (labels, dates, status; never a secret or hash). */
export function listApiCredentials(
  client: EusnClient,
  participantId: string = client.participantId,
): Promise<Result<{ credentials: ApiCredentialView[] }>> {
  return client.get(`/v1/participants/${participantId}/api-credentials`);
}
