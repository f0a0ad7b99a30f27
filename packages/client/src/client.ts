// EusnClient: a typed HTTP client for one participant on one node. Signs every write and read
// the way the node expects; returns problem details instead of throwing on HTTP errors.
import type { MatchRequest, MatchResponse, Problem } from "@eusn/protocol";
import { JOSE_MEDIA_TYPE } from "@eusn/protocol/plain";
import type { JWK } from "jose";
import { signAccessToken, signWrite, type WriteOptions } from "./sign.ts";

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export type ClientOptions = {
  /** Base URL of the node, e.g. http://localhost:8787 */
  baseUrl: string;
  /** The node's id (the `aud` of everything signed for it). */
  nodeId: string;
  participantId: string;
  privateJwk: JWK;
  fetch?: FetchLike;
};

export type Result<T> =
  | { ok: true; status: number; data: T; headers: Headers }
  | { ok: false; status: number; problem: Problem; headers: Headers };

/**
 * The node could not be reached at all (no HTTP answer): the message names the URL and the cause
 * (connection refused, unknown host, TLS failure, …), which fetch itself hides in `cause`.
 */
export class NodeUnreachableError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`cannot reach the node at ${url}: ${reason}`);
    this.name = "NodeUnreachableError";
  }
}

function unreachableReason(err: unknown): string {
  const cause = (err as { cause?: unknown } | null)?.cause as
    | { code?: string; message?: string; errors?: { message?: string }[] }
    | undefined;
  const inner = cause?.errors?.[0]?.message ?? cause?.message;
  if (inner) return inner;
  if (cause?.code) return cause.code;
  return err instanceof Error ? err.message : String(err);
}

export class EusnClient {
  readonly baseUrl: string;
  readonly nodeId: string;
  readonly participantId: string;
  readonly privateJwk: JWK;
  private readonly fetchImpl: FetchLike;

  constructor(opts: ClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/$/, "");
    this.nodeId = opts.nodeId;
    this.participantId = opts.participantId;
    this.privateJwk = opts.privateJwk;
    const f: FetchLike = opts.fetch ?? ((input, init) => fetch(input, init));
    this.fetchImpl = async (input, init) => {
      try {
        return await f(input, init);
      } catch (err) {
        if (err instanceof Error && err.name === "AbortError") throw err;
        throw new NodeUnreachableError(new URL(input).origin, unreachableReason(err));
      }
    };
  }

  private get signer() {
    return { participantId: this.participantId, privateJwk: this.privateJwk };
  }

  /** Signs `record` as `kind` and POSTs it to `path`. */
  async write<T = unknown>(
    path: string,
    kind: string,
    record: unknown,
    opts?: WriteOptions,
  ): Promise<Result<T>> {
    const jws = await signWrite(this.signer, this.nodeId, kind, record, opts);
    return this.postJws<T>(path, jws);
  }

  /** POSTs an already signed JWS (for relaying, retries, or tests). */
  async postJws<T = unknown>(path: string, jws: string): Promise<Result<T>> {
    const res = await this.fetchImpl(`${this.baseUrl}${path}`, {
      method: "POST",
      headers: { "content-type": JOSE_MEDIA_TYPE, accept: "application/json" },
      body: jws,
    });
    return toResult<T>(res);
  }

  /** A bearer token for reads. */
  token(lifetimeS = 120): Promise<string> {
    return signAccessToken(this.signer, this.nodeId, { lifetimeS });
  }

  /** GET with a fresh bearer token. */
  async get<T = unknown>(path: string, init: RequestInit = {}): Promise<Result<T>> {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${await this.token()}`);
    if (!headers.has("accept")) headers.set("accept", "application/json");
    const res = await this.fetchImpl(`${this.baseUrl}${path}`, {
      ...init,
      method: init.method ?? "GET",
      headers,
    });
    return toResult<T>(res);
  }

  /**
   * A request with a fresh bearer token whose raw Response is returned (binary bodies such as a
   * case file's ciphertext). An absolute URL may point at another node (a case file's origin):
   * `audience` is then that node's id.
   */
  async fetchRaw(pathOrUrl: string, init: RequestInit = {}, audience = this.nodeId): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${await signAccessToken(this.signer, audience)}`);
    const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${this.baseUrl}${pathOrUrl}`;
    return this.fetchImpl(url, { ...init, headers });
  }

  /** GET without a token (public routes: the registry, health, the log). */
  async getPublic<T = unknown>(path: string): Promise<Result<T>> {
    const res = await this.fetchImpl(`${this.baseUrl}${path}`, { headers: { accept: "application/json" } });
    return toResult<T>(res);
  }

  /** POST a JSON body (not a signed write: e.g. match queries) with a bearer token. */
  async postJson<T = unknown>(path: string, body: unknown): Promise<Result<T>> {
    const res = await this.fetchImpl(`${this.baseUrl}${path}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${await this.token()}`,
        "content-type": "application/json",
        accept: "application/json",
      },
      body: JSON.stringify(body),
    });
    return toResult<T>(res);
  }

  /**
   * POST /v1/match (platforms): every baseline entry (or, with scope "all", every live
   * submission) within `threshold` of each item, one result per item in order.
   */
  match(request: MatchRequest): Promise<Result<MatchResponse>> {
    return this.postJson<MatchResponse>("/v1/match", request);
  }
}

async function toResult<T>(res: Response): Promise<Result<T>> {
  const type = res.headers.get("content-type") ?? "";
  // Decode the bytes ourselves: compact JWS bodies (application/jose) are text, and reading them
  // with .text() makes workerd warn that the body "does not appear to be text".
  const text = new TextDecoder().decode(await res.arrayBuffer());
  // 304 Not Modified (a conditional GET with If-None-Match) is a success without a body.
  if (res.ok || res.status === 304) {
    // JSON and problem+json, not JSON Lines (application/x-ndjson), which is text to the caller.
    const json = /^application\/([\w.-]+\+)?json\b/i.test(type);
    const data = (json && text ? JSON.parse(text) : text) as T;
    return { ok: true, status: res.status, data, headers: res.headers };
  }
  let problem: Problem;
  try {
    problem = JSON.parse(text) as Problem;
  } catch {
    problem = {
      type: "about:blank",
      title: res.statusText || "HTTP error",
      status: res.status,
      code: "internal_error",
      requestId: res.headers.get("x-request-id") ?? "",
      detail: text.slice(0, 500),
    };
  }
  return { ok: false, status: res.status, problem, headers: res.headers };
}
