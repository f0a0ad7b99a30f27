// Name-based UUIDs (RFC 9562 §5.5, version 5: SHA-1 of namespace bytes + name) for deterministic
// STIX identifiers: the same EUSN entry gets the same STIX id on every node, every time.

function parseUuid(uuid: string): Uint8Array {
  const hex = uuid.replaceAll("-", "");
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error(`not a UUID: ${uuid}`);
  return Uint8Array.from(hex.match(/../g)!, (h) => Number.parseInt(h, 16));
}

function formatUuid(b: Uint8Array): string {
  const h = Array.from(b.subarray(0, 16), (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** UUIDv5 of `name` (UTF-8) in `namespace`, lower case. */
export async function uuidv5(namespace: string, name: string): Promise<string> {
  const ns = parseUuid(namespace);
  const nameBytes = new TextEncoder().encode(name);
  const input = new Uint8Array(ns.length + nameBytes.length);
  input.set(ns, 0);
  input.set(nameBytes, ns.length);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-1", input));
  hash[6] = (hash[6]! & 0x0f) | 0x50; // version 5
  hash[8] = (hash[8]! & 0x3f) | 0x80; // RFC 4122 variant
  return formatUuid(hash);
}
