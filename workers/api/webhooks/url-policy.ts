// Which webhook receivers the node will POST to. A webhook URL is chosen by a participant, and the
// node fetches it: without a rule that is server-side request forgery (OWASP SSRF Prevention
// Cheat Sheet) against the node's own network (loopback services, cloud metadata at
// 169.254.169.254, private ranges). So a receiver must be https on a public name or address;
// private, loopback, link-local, shared, multicast and reserved addresses (IPv4 and IPv6,
// including IPv4 written inside IPv6) and local-only names are refused, unless the node's
// configuration allows them (WEBHOOK_ALLOW_PRIVATE: a local node, or the tests' one receiver).
// The same check runs when a webhook is registered and again before every attempt; redirects are
// never followed (a public receiver could redirect to a private one).
//
// What this cannot see: a public name whose DNS answer is a private address (DNS rebinding). A
// Worker cannot resolve names itself; on Cloudflare, fetch() from a Worker does not reach private
// networks, which is the backstop there (SECURITY.md).

export type ReceiverCheck = { ok: true; url: URL } | { ok: false; reason: string };

/** Private-use and special-purpose IPv4 ranges (RFC 6890 and its updates) as [base, prefix]. */
const V4_BLOCKED: [number, number][] = [
  [0x00000000, 8], // 0.0.0.0/8 "this network"
  [0x0a000000, 8], // 10/8 private (RFC 1918)
  [0x64400000, 10], // 100.64/10 shared address space (RFC 6598)
  [0x7f000000, 8], // 127/8 loopback
  [0xa9fe0000, 16], // 169.254/16 link-local (cloud metadata services live here)
  [0xac100000, 12], // 172.16/12 private
  [0xc0000000, 24], // 192.0.0/24 IETF protocol assignments
  [0xc0000200, 24], // 192.0.2/24 documentation
  [0xc0a80000, 16], // 192.168/16 private
  [0xc6120000, 15], // 198.18/15 benchmarking
  [0xc6336400, 24], // 198.51.100/24 documentation
  [0xcb007100, 24], // 203.0.113/24 documentation
  [0xe0000000, 4], // 224/4 multicast
  [0xf0000000, 4], // 240/4 reserved, and the broadcast address
];

function v4Blocked(n: number): boolean {
  return V4_BLOCKED.some(([base, bits]) => n >>> (32 - bits) === base >>> (32 - bits));
}

function parseV4(host: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** The eight 16-bit groups of an IPv6 address as the URL parser serialises it (no brackets). */
function parseV6(host: string): number[] | null {
  if (!host.includes(":")) return null;
  const [head = "", tail] = host.split("::");
  const groups = (s: string) => (s ? s.split(":").map((g) => Number.parseInt(g, 16)) : []);
  const a = groups(head);
  const b = tail === undefined ? [] : groups(tail);
  if (tail === undefined && a.length !== 8) return null;
  const all = [...a, ...Array(8 - a.length - b.length).fill(0), ...b];
  return all.length === 8 && all.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? all : null;
}

function v6Blocked(g: number[]): boolean {
  const first = g[0]!;
  if (g.every((x) => x === 0)) return true; // :: unspecified
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return true; // ::1 loopback
  if ((first & 0xfe00) === 0xfc00) return true; // fc00::/7 unique local
  if ((first & 0xffc0) === 0xfe80) return true; // fe80::/10 link-local
  if ((first & 0xffc0) === 0xfec0) return true; // fec0::/10 site-local (deprecated, still routed inside)
  if ((first & 0xff00) === 0xff00) return true; // ff00::/8 multicast
  if (first === 0x2001 && g[1] === 0x0db8) return true; // 2001:db8::/32 documentation
  const embedded = (g[6]! << 16) | g[7]!;
  // IPv4 inside IPv6: mapped (::ffff:0:0/96), compatible (::/96), NAT64 (64:ff9b::/96): judged
  // as the IPv4 address they carry.
  const mapped = g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0);
  const nat64 = first === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0);
  if (mapped || nat64) return v4Blocked(embedded >>> 0);
  return false;
}

/** Names that only mean something inside a network (RFC 6761, RFC 6762, RFC 8375, ICANN .internal). */
function localName(host: string): boolean {
  const h = host.replace(/\.$/, "");
  if (!h.includes(".")) return true; // a single label is resolved with local search domains
  return /(^|\.)(localhost|local|internal|intranet|lan|home\.arpa|localdomain)$/.test(h);
}

/** Whether `host` (as URL.hostname gives it) is a private, loopback or otherwise non-public target. */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host.startsWith("[")) {
    const g = parseV6(host.slice(1, -1));
    return g === null || v6Blocked(g);
  }
  const v4 = parseV4(host);
  if (v4 !== null) return v4Blocked(v4);
  return localName(host);
}

const DEFAULT_PORT: Record<string, string> = { "http:": "80", "https:": "443" };

/**
 * Checks a receiver URL against the policy. `allow`: config(env).webhooks.allowPrivate — "off",
 * "on", or the exact `host:port` targets that may be private (and plain http).
 */
export function checkReceiver(raw: string, allow: "off" | "on" | readonly string[]): ReceiverCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "not a URL" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    return { ok: false, reason: `the scheme ${url.protocol} is not allowed: use https` };
  if (url.username || url.password)
    return { ok: false, reason: "a receiver URL must not carry a user name or password" };
  const target = `${url.hostname.toLowerCase()}:${url.port || DEFAULT_PORT[url.protocol]}`;
  const allowed = allow === "on" || (Array.isArray(allow) && allow.includes(target));
  if (isPrivateHost(url.hostname) && !allowed)
    return {
      ok: false,
      reason: `${url.hostname} is a private, loopback, link-local or local-only address: the node does not send to its own network`,
    };
  if (url.protocol === "http:" && !allowed)
    return {
      ok: false,
      reason: "deliveries go over https only (plain http only to an allowed local target)",
    };
  url.hash = "";
  return { ok: true, url };
}
