// Talking to the node from the console: the same JSON API the CLI uses, same origin. Reads carry
// a fresh short-lived bearer token, writes are compact JWS, both signed here with the session's
// non-extractable key (packages/client's CryptoKey signers).
import { signAccessTokenWithKey, signWriteWithKey } from "@eusn/client";
import { JOSE_MEDIA_TYPE, type WriteReceipt } from "@eusn/protocol";
import type { Session } from "./session.ts";

/** An RFC 9457 problem from the node, or a network failure, as an Error with the details. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly errors: { path: string; message: string }[] = [],
    readonly requestId = "",
  ) {
    super(`${detail || code} (${status}${code ? ` ${code}` : ""})`);
  }
  /** One line for the page: the detail and the first few field errors. */
  describe(): string {
    const fields = this.errors
      .slice(0, 5)
      .map((e) => `${e.path}: ${e.message}`)
      .join("; ");
    return `${this.message}${fields ? ` — ${fields}` : ""}${this.requestId ? ` [request ${this.requestId}]` : ""}`;
  }
}

async function parse<T>(res: Response): Promise<T> {
  const type = res.headers.get("content-type") ?? "";
  const text = await res.text();
  if (res.ok) return (type.includes("json") && text ? JSON.parse(text) : text) as T;
  try {
    const p = JSON.parse(text) as {
      code?: string;
      detail?: string;
      title?: string;
      errors?: { path: string; message: string }[];
      requestId?: string;
    };
    throw new ApiProblem(
      res.status,
      p.code ?? "",
      p.detail ?? p.title ?? "",
      p.errors ?? [],
      p.requestId ?? "",
    );
  } catch (e) {
    if (e instanceof ApiProblem) throw e;
    throw new ApiProblem(res.status, "", text.slice(0, 300) || res.statusText);
  }
}

/** An unauthenticated GET (public endpoints). */
export async function getPublic<T>(path: string): Promise<T> {
  return parse<T>(await fetch(path, { headers: { accept: "application/json" } }));
}

let cachedToken: { token: string; until: number; kid: string } | null = null;

async function token(s: Session): Promise<string> {
  const now = Date.now();
  // A token lives 120 s; reuse it for 60 s so a page's burst of reads signs once.
  if (cachedToken && cachedToken.kid === s.kid && cachedToken.until > now) return cachedToken.token;
  const t = await signAccessTokenWithKey(s, s.nodeId, { lifetimeS: 120 });
  cachedToken = { token: t, until: now + 60_000, kid: s.kid };
  return t;
}

/** The bearer token for a request the page makes itself (a binary download). */
export function bearer(s: Session): Promise<string> {
  return token(s);
}

export async function get<T>(s: Session, path: string): Promise<T> {
  return parse<T>(
    await fetch(path, { headers: { accept: "application/json", authorization: `Bearer ${await token(s)}` } }),
  );
}

export async function getText(s: Session, path: string): Promise<string> {
  return parse<string>(await fetch(path, { headers: { authorization: `Bearer ${await token(s)}` } }));
}

/** A JSON POST that is a query, not a record (e.g. /v1/match), with a bearer token. */
export async function postJson<T>(s: Session, path: string, body: unknown): Promise<T> {
  return parse<T>(
    await fetch(path, {
      method: "POST",
      headers: {
        accept: "application/json",
        "content-type": "application/json",
        authorization: `Bearer ${await token(s)}`,
      },
      body: JSON.stringify(body),
    }),
  );
}

/** Signs `record` as `kind` with the session key and POSTs the JWS to `path`. */
export async function write<T = WriteReceipt>(
  s: Session,
  path: string,
  kind: string,
  record: unknown,
): Promise<T> {
  const jws = await signWriteWithKey(s, s.nodeId, kind, record);
  return parse<T>(
    await fetch(path, {
      method: "POST",
      headers: { "content-type": JOSE_MEDIA_TYPE, accept: "application/json" },
      body: jws,
    }),
  );
}

export function forgetToken() {
  cachedToken = null;
}

/** The receipt of a write, wherever the endpoint puts it (submissions wrap it). */
export function receiptOf(data: unknown): WriteReceipt | null {
  if (!data || typeof data !== "object") return null;
  const d = data as { recordId?: unknown; receipt?: unknown };
  if (typeof d.recordId === "string") return data as WriteReceipt;
  if (d.receipt && typeof d.receipt === "object") return d.receipt as WriteReceipt;
  return null;
}
