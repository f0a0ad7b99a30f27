// The CLI's HTTP transport: node:http / node:https behind the client SDK's `fetch` option. On
// Node 20 the first fetch() loads undici and compiles its HTTP parser (llhttp, WebAssembly): a
// process that makes one request with fetch used 0.28 s more CPU than node alone, one that makes
// it with node:http and answers a standard Response 0.08 s (15-20 runs each, load 7-9), and
// `eusn whoami` against a local node went from 0.49 to 0.26 s. Every command that talks to a node
// paid it at each start. The answer is still a standard Response (its Headers included), so the
// SDK sees no difference; what this does not do itself (a body other than text or bytes,
// following a redirect) it hands to the global fetch.
import http from "node:http";
import https from "node:https";
import type { FetchLike } from "@eusn/client";

export const nodeFetch: FetchLike = async (input, init = {}) => {
  const body = init.body ?? undefined;
  if (body !== undefined && typeof body !== "string" && !(body instanceof Uint8Array))
    return fetch(input, init);
  const url = new URL(input);
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((v, k) => {
    headers[k] = v;
  });
  if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body));
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = (url.protocol === "https:" ? https : http).request(url, {
      method: init.method ?? "GET",
      headers,
      ...(init.signal ? { signal: init.signal } : {}),
    });
    // As fetch fails: a TypeError whose cause says why (the SDK reports the cause).
    req.on("error", (err) =>
      reject(err.name === "AbortError" ? err : Object.assign(new TypeError("fetch failed"), { cause: err })),
    );
    req.on("response", resolve);
    req.end(body);
  });
  const status = res.statusCode ?? 0;
  if (status >= 300 && status < 400 && res.headers.location && init.redirect !== "manual") {
    res.resume();
    return fetch(input, init);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const answer = new Headers();
  for (let i = 0; i < res.rawHeaders.length; i += 2)
    answer.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
  const empty = status === 204 || status === 205 || status === 304 || init.method === "HEAD";
  return new Response(empty ? null : Buffer.concat(chunks), {
    status,
    statusText: res.statusMessage ?? "",
    headers: answer,
  });
};
