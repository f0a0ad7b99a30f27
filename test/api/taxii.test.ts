// The TAXII 2.1 facade through the real Worker and D1, walked the way a TAXII client walks it:
// discovery → API root → collections → paged objects. Every STIX object the node serves is
// validated against the official OASIS STIX 2.1 JSON schemas (../shared/stix2-json-schemas, read
// from there through the STIX_SCHEMAS binding, never copied), plus the rules those schemas cannot
// express; the TAXII resources, the TLP 2.0 marking definitions and the EUSN extension against
// the schemas in test/fixtures/stix (see the README there).

import { env } from "cloudflare:workers";
import { basicAuthorization, createApiCredential } from "@eusn/client";
import {
  EUSN_STIX_NAMESPACE,
  ExportLine,
  STIX_MEDIA_TYPE,
  type SubmitResult,
  TAXII_COLLECTIONS,
  TAXII_MEDIA_TYPE,
  TLP2_MARKINGS,
  vpdqDigest,
  type WriteReceipt,
} from "@eusn/protocol";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { beforeAll, describe, expect, it } from "vitest";
import { uuidv5 } from "../../workers/api/taxii/uuid.ts";
import eusnExtensionSchema from "../fixtures/stix/eusn-extension.json";
import taxiiSchema from "../fixtures/stix/taxii.json";
import tlp2Schema from "../fixtures/stix/tlp2.json";
import { pdqItem, randomHex, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, BASE, coordinator, nodeFetch } from "../helpers/node.ts";

type Obj = Record<string, unknown> & { type: string; id: string };
type Envelope = { more?: boolean; next?: string; objects?: Obj[] };
type ManifestRecord = { id: string; date_added: string; version: string; media_type: string };

const ROOT = `${BASE}/taxii2/eusn`;
const BASELINE = TAXII_COLLECTIONS.baseline.id;
const SUBMISSIONS = TAXII_COLLECTIONS.submissions.id;
const r = rng(7);

// ---- schema validation ---------------------------------------------------------------------------

type Schema = Record<string, unknown> & { $id: string };
const official = JSON.parse((env as unknown as Record<string, string>).STIX_SCHEMAS || "[]") as Schema[];
/** The official schemas' base: every file's `$id` is under it and their `$ref`s are relative to it. */
const OASIS = "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas";
const FIX = "https://eusn.invalid/test-fixtures/stix";
/** The official schema of each type the node serves. */
const STIX_SCHEMA: Record<string, string> = {
  indicator: `${OASIS}/sdos/indicator.json`,
  identity: `${OASIS}/sdos/identity.json`,
  "marking-definition": `${OASIS}/common/marking-definition.json`,
  "extension-definition": `${OASIS}/common/extension-definition.json`,
};

// The official schemas' `pattern`s use `\-`, which is not a valid escape under the `u` flag, so
// Ajv must build its regular expressions without it; nothing is fetched (every file is added).
const ajv = new Ajv2020({ allErrors: true, strict: false, unicodeRegExp: false });
addFormats(ajv);
for (const s of official) ajv.addSchema(s);
ajv.addSchema(tlp2Schema);
ajv.addSchema(eusnExtensionSchema);
ajv.addSchema(taxiiSchema);
const validator = (id: string) => {
  const v = ajv.getSchema(id);
  if (!v) throw new Error(`no schema ${id}`);
  return v;
};
const schemaById = new Map(official.map((s) => [s.$id, s]));

function expectValid(schemaId: string, value: unknown) {
  const v = validator(schemaId);
  if (!v(value))
    throw new Error(`${schemaId}: ${ajv.errorsText(v.errors)}\n${JSON.stringify(value, null, 2)}`);
}

/**
 * The property names an official schema declares for its type, through its `allOf`, `oneOf`,
 * `anyOf` and `$ref`s
 * (core.json's common properties included). The schemas let any other lower-case name through as
 * a custom property (properties.json); EUSN puts what it adds in its extension instead, so a
 * top-level name the standard does not define is refused here.
 */
function declaredProperties(id: string, seen = new Set<string>()): Set<string> {
  const out = new Set<string>();
  if (seen.has(id)) return out;
  seen.add(id);
  const walk = (node: unknown, base: string) => {
    if (!node || typeof node !== "object") return;
    const n = node as Record<string, unknown>;
    for (const k of Object.keys((n.properties as object | undefined) ?? {})) out.add(k);
    for (const key of ["allOf", "oneOf", "anyOf"])
      for (const part of (n[key] as unknown[] | undefined) ?? []) walk(part, base);
    if (typeof n.$ref === "string" && !n.$ref.startsWith("#")) {
      const target = new URL(n.$ref, base).href;
      for (const k of declaredProperties(target, seen)) out.add(k);
    }
  };
  const schema = schemaById.get(id);
  if (!schema) throw new Error(`no official schema ${id}`);
  walk(schema, id);
  return out;
}

/** An open vocabulary's terms as the official schema lists them under `definitions`. */
const vocabulary = (id: string, name: string) =>
  ((schemaById.get(id)?.definitions as Record<string, { enum: string[] }> | undefined)?.[name]?.enum ??
    []) as string[];

function noNulls(value: unknown, path = "$"): void {
  if (value === null) throw new Error(`STIX forbids null (${path})`);
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) noNulls(v, `${path}[${i}]`);
  } else if (typeof value === "object")
    for (const [k, v] of Object.entries(value)) noNulls(v, `${path}.${k}`);
}

const PATTERN = /^\[file:hashes\.(x_pdq|x_vpdq|'SHA-256'|MD5) = '([0-9a-f]+)'\]$/;
const EUSN_EXTENSION = /^extension-definition--/;

/**
 * Every STIX rule we check: the official schema of the object's type, then what JSON Schema
 * cannot say (or the official schemas leave open): no null anywhere (§3.1), spec_version 2.1 and
 * only properties the standard defines (EUSN's own go in its extension), `modified` ≥ `created`
 * (§3.2), `valid_until` after `valid_from` (§4.7), the STIX pattern's form, vocabulary terms only,
 * the EUSN extension against its schema and the TLP 2.0 markings against their fixed definitions.
 */
function validateStix(o: Obj) {
  noNulls(o);
  const schemaId = STIX_SCHEMA[o.type];
  if (!schemaId) throw new Error(`unexpected STIX type ${o.type}`);
  expectValid(schemaId, o);
  expect(o.spec_version, `${o.id} spec_version`).toBe("2.1");
  const declared = declaredProperties(schemaId);
  for (const k of Object.keys(o))
    expect(declared.has(k), `${o.type} property ${k} is not STIX 2.1's`).toBe(true);
  switch (o.type) {
    case "indicator": {
      expect(PATTERN.test(String(o.pattern))).toBe(true);
      expect(o.pattern_type).toBe("stix");
      const types = vocabulary(schemaId, "indicator-type-ov");
      expect(types.length).toBeGreaterThan(0);
      for (const t of (o.indicator_types as string[] | undefined) ?? []) expect(types).toContain(t);
      if (o.valid_until)
        expect(Date.parse(String(o.valid_until))).toBeGreaterThan(Date.parse(String(o.valid_from)));
      const exts = Object.entries(o.extensions as Record<string, unknown>);
      expect(exts).toHaveLength(1);
      expect(exts[0]![0]).toMatch(EUSN_EXTENSION);
      expectValid(`${FIX}/eusn-extension.json`, exts[0]![1]);
      break;
    }
    case "identity": {
      const classes = vocabulary(schemaId, "identity-class-ov");
      expect(classes.length).toBeGreaterThan(0);
      if (o.identity_class) expect(classes).toContain(o.identity_class);
      const sectors = vocabulary(schemaId, "industry-sector-ov");
      for (const x of (o.sectors as string[] | undefined) ?? []) expect(sectors).toContain(x);
      break;
    }
    case "marking-definition":
      expectValid(`${FIX}/tlp2.json`, o);
      break;
  }
  if (o.modified)
    expect(Date.parse(String(o.modified))).toBeGreaterThanOrEqual(Date.parse(String(o.created)));
}

/** True when validateStix refuses the object (for the tampering checks). */
function refused(o: Obj): boolean {
  try {
    validateStix(JSON.parse(JSON.stringify(o)) as Obj);
    return false;
  } catch {
    return true;
  }
}

// ---- the network --------------------------------------------------------------------------------

let nl: Admitted;
let de: Admitted;
let fr: Admitted;
let platform: Admitted;

beforeAll(async () => {
  nl = await admit("authority", "NL");
  de = await admit("authority", "DE");
  fr = await admit("authority", "FR");
  platform = await admit("platform");
});

async function submit(by: Admitted, items: unknown[]): Promise<string[]> {
  const res = await by.client.write<SubmitResult>("/v1/submissions", "submission.create", {
    items,
  });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data.submissions.map((s) => s.id);
}

async function assess(by: Admitted, id: string, verdict: "concur" | "dissent"): Promise<string> {
  const res = await by.client.write<WriteReceipt>(`/v1/submissions/${id}/assessments`, "assessment.create", {
    submissionId: id,
    verdict,
    limb: "a",
    ...(verdict === "dissent" ? { reason: "not terrorist content" } : {}),
  });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data.subjectId;
}

async function decide(id: string, decision: "include" | "exclude" | "retire", cites: string[] = []) {
  const res = await coordinator().write(`/v1/submissions/${id}/decisions`, "baseline.decide", {
    submissionId: id,
    decision,
    reason: `${decision} for the test`,
    assessmentIds: cites,
  });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
}

/** Submitted by NL, concurred by DE and FR, included by the coordinator. Returns [id, citations]. */
async function included(item: unknown = pdqItem(randomPdq(r))): Promise<[string, string[]]> {
  const [id] = await submit(nl, [item]);
  const cites = [await assess(de, id!, "concur"), await assess(fr, id!, "concur")];
  await decide(id!, "include", cites);
  return [id!, cites];
}

/** A video entry's item: `length` frames at one a second, the third below quality 50. */
async function videoItem(length: number, labels: Record<string, unknown> = {}) {
  const frames = Array.from(
    { length },
    (_, i) => [i * 30, i === 2 ? 20 : 90, randomPdq(r), i] as [number, number, string, number],
  );
  return {
    signalType: "vpdq",
    value: await vpdqDigest(frames),
    limbs: ["a"],
    contentType: "video",
    nationalProvision: "NL Sr. art. 131",
    video: { frameCount: length, durationSeconds: length, frames },
    ...labels,
  };
}

// ---- a TAXII client ------------------------------------------------------------------------------

async function taxiiGet(by: Admitted | "coordinator" | string, url: string, accept = TAXII_MEDIA_TYPE) {
  const headers: Record<string, string> = { accept };
  if (typeof by === "string" && by.startsWith("Basic ")) headers.authorization = by;
  else {
    const client = by === "coordinator" ? coordinator() : (by as Admitted).client;
    headers.authorization = `Bearer ${await client.token()}`;
  }
  return nodeFetch(url, { headers });
}

async function json<T>(res: Response): Promise<T> {
  expect(res.headers.get("content-type")).toBe(TAXII_MEDIA_TYPE);
  return (await res.json()) as T;
}

/** Follows `next` until `more` is false, as taxii2-client's as_pages does. */
async function walkAll(
  by: Admitted | "coordinator" | string,
  collection: string,
  query = "",
  limit = 3,
  between?: (page: number) => Promise<void>,
): Promise<{ objects: Obj[]; pages: number; headers: { first: string | null; last: string | null }[] }> {
  const objects: Obj[] = [];
  const headers: { first: string | null; last: string | null }[] = [];
  let next: string | undefined;
  let pages = 0;
  for (;;) {
    const q = new URLSearchParams(query);
    q.set("limit", String(limit));
    if (next) q.set("next", next);
    const res = await taxiiGet(by, `${ROOT}/collections/${collection}/objects/?${q}`);
    expect(res.status).toBe(200);
    const env = await json<Envelope>(res);
    expectValid(`${FIX}/taxii.json#/$defs/envelope`, env);
    objects.push(...(env.objects ?? []));
    headers.push({
      first: res.headers.get("x-taxii-date-added-first"),
      last: res.headers.get("x-taxii-date-added-last"),
    });
    pages++;
    if (between) await between(pages);
    if (!env.more) break;
    expect(env.next).toBeDefined();
    next = env.next;
    if (pages > 500) throw new Error("paging does not end");
  }
  return { objects, pages, headers };
}

const stixIdOf = async (type: string, name: string) => `${type}--${await uuidv5(EUSN_STIX_NAMESPACE, name)}`;
const ext = (o: Obj) => Object.values(o.extensions as Record<string, Record<string, unknown>>)[0]!;

// ---- tests ----------------------------------------------------------------------------------------

describe("UUIDv5 (deterministic STIX ids)", () => {
  it("matches the RFC 9562 known answer and is stable", async () => {
    // RFC 9562 appendix A.4: UUIDv5 of "www.example.com" in the DNS namespace.
    expect(await uuidv5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.example.com")).toBe(
      "2ed6657d-e927-568b-95e1-2665a8aea6a2",
    );
    expect(await uuidv5(EUSN_STIX_NAMESPACE, "baseline/hsh_x")).toBe(
      await uuidv5(EUSN_STIX_NAMESPACE, "baseline/hsh_x"),
    );
  });
});

describe("a TAXII client's walk", () => {
  it("discovery → API root → collections → paged objects, all in the TAXII media type", async () => {
    const ids = [(await included())[0], (await included())[0], (await included())[0]];

    const disc = await taxiiGet(platform, `${BASE}/taxii2/`);
    expect(disc.status).toBe(200);
    const d = await json<{ api_roots: string[]; default: string }>(disc);
    expectValid(`${FIX}/taxii.json#/$defs/discovery`, d);
    expect(d.api_roots).toEqual([`${ROOT}/`]);

    const root = await json<{ versions: string[] }>(await taxiiGet(platform, d.api_roots[0]!));
    expectValid(`${FIX}/taxii.json#/$defs/api_root`, root);
    expect(root.versions).toEqual([TAXII_MEDIA_TYPE]);

    const cols = await json<{ collections: { id: string; alias: string; can_read: boolean }[] }>(
      await taxiiGet(platform, `${ROOT}/collections/`),
    );
    expectValid(`${FIX}/taxii.json#/$defs/collections`, cols);
    const baseline = cols.collections.find((c) => c.alias === "baseline")!;
    expect(baseline.can_read).toBe(true);
    const one = await json<unknown>(await taxiiGet(platform, `${ROOT}/collections/${baseline.id}/`));
    expectValid(`${FIX}/taxii.json#/$defs/collection`, one);

    const { objects, pages, headers } = await walkAll(platform, baseline.id, "", 2);
    expect(pages).toBeGreaterThan(2);
    const indicators = objects.filter((o) => o.type === "indicator");
    for (const id of ids) {
      const stixId = await stixIdOf("indicator", `baseline/${id}`);
      const found = indicators.find((o) => o.id === stixId);
      expect(found, `indicator for ${id}`).toBeDefined();
      expect(ext(found!).entry_id).toBe(id);
    }
    // The network identity, the extension definition, the four shareable TLP markings, NL's identity.
    expect(objects.filter((o) => o.type === "marking-definition").map((o) => o.id)).toEqual([
      TLP2_MARKINGS.clear.id,
      TLP2_MARKINGS.green.id,
      TLP2_MARKINGS.amber.id,
      TLP2_MARKINGS["amber+strict"].id,
    ]);
    const nlIdentity = await stixIdOf("identity", `identity/${nl.id}`);
    expect(objects.find((o) => o.id === nlIdentity)).toBeDefined();
    expect(new Set(objects.map((o) => `${o.id}@${o.modified ?? o.created}`)).size).toBe(objects.length);
    for (const h of headers.slice(0, -1)) {
      expect(h.first).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(h.last! >= h.first!).toBe(true);
    }
  });

  it("every served object validates against the STIX 2.1 schemas and every reference resolves", async () => {
    await included(pdqItem(randomPdq(r), { tlp: "amber+strict" }));
    const [sha] = await included({
      signalType: "sha256",
      value: randomHex(r, 64),
      limbs: ["b", "d"],
      contentType: "video",
      nationalProvision: "NL Sr. art. 134a",
      tlp: "green",
    });
    await submit(de, [
      pdqItem(randomPdq(r), { tlp: "clear", expiresAt: new Date(Date.now() + 864e5).toISOString() }),
    ]);
    // Videos too: one in the baseline, one only submitted.
    const [video] = await included(await videoItem(8));
    await submit(fr, [await videoItem(3, { tlp: "amber" })]);
    for (const col of [BASELINE, SUBMISSIONS]) {
      const { objects } = await walkAll("coordinator", col, "match[version]=all", 50);
      expect(objects.length).toBeGreaterThan(5);
      const byId = new Map(objects.map((o) => [o.id, o]));
      for (const o of objects) {
        validateStix(o);
        if (o.created_by_ref) expect(byId.get(String(o.created_by_ref))?.type).toBe("identity");
        for (const m of (o.object_marking_refs as string[] | undefined) ?? [])
          expect(byId.get(m)?.type).toBe("marking-definition");
        for (const k of Object.keys((o.extensions as object | undefined) ?? {})) {
          if (o.type !== "marking-definition") expect(byId.get(k)?.type).toBe("extension-definition");
        }
      }
      const types = new Set(objects.filter((o) => o.type === "indicator").map((o) => ext(o).signal_type));
      expect([...types].sort()).toEqual(["pdq", "sha256", "vpdq"]);
      if (col === BASELINE)
        expect(objects.some((o) => o.type === "indicator" && ext(o).entry_id === video)).toBe(true);
      const shaInd = objects.find((o) => o.type === "indicator" && ext(o).entry_id === sha);
      if (col === BASELINE) {
        expect(shaInd?.object_marking_refs).toEqual([TLP2_MARKINGS.green.id]);
        expect(shaInd?.labels).toEqual([
          "tco-art2-7-b",
          "tco-art2-7-d",
          "content-video",
          "eusn-state-included",
        ]);
      }
    }
  });

  it("the schemas are not vacuous: tampered objects fail them", async () => {
    const [id] = await included(pdqItem(randomPdq(r), { tlp: "amber" }));
    const { objects } = await walkAll(platform, BASELINE, "", 100);
    const ind = objects.find((o) => o.type === "indicator" && ext(o).entry_id === id)!;
    const tlp = objects.find((o) => o.id === TLP2_MARKINGS.amber.id)!;
    validateStix(ind);
    validateStix(tlp);
    const zeroId = `indicator--${"0".repeat(8)}-0000-0000-0000-${"0".repeat(12)}`;
    // Refused by the official schemas themselves: no milliseconds in modified, no pattern_type,
    // an id that is not a UUID, a marking id of another type, a custom property of the wrong form.
    const bySchema: Obj[] = [
      { ...ind, modified: "2026-01-01T00:00:00Z" },
      { ...ind, pattern_type: undefined } as unknown as Obj,
      { ...ind, id: zeroId },
      { ...ind, object_marking_refs: ["tlp-amber"] },
      { ...ind, X_Unknown: 1 },
    ];
    for (const o of bySchema) {
      const clean = JSON.parse(JSON.stringify(o)) as Obj;
      expect(
        validator(STIX_SCHEMA.indicator!)(clean),
        `the official schema accepted ${JSON.stringify(o).slice(0, 80)}`,
      ).toBe(false);
      expect(refused(clean)).toBe(true);
    }
    // Allowed by the official schemas, refused by the rules checked beside them.
    const byRules: Obj[] = [
      { ...ind, x_unknown: 1 },
      { ...ind, spec_version: "2.0" },
      { ...ind, pattern_type: "yara" },
      { ...ind, indicator_types: ["not-a-term"] },
      { ...ind, valid_until: ind.valid_from as string },
      { ...tlp, id: TLP2_MARKINGS.green.id },
      { ...tlp, modified: tlp.created },
    ];
    for (const o of byRules) expect(refused(o), `accepted ${JSON.stringify(o).slice(0, 120)}`).toBe(true);
    expect(() => noNulls({ ...ind, quality: null })).toThrow(/null/);
    expect(validator(`${FIX}/eusn-extension.json`)({ ...ext(ind), quality: 101 })).toBe(false);
  });

  it("patterns: x_pdq for PDQ (quality and threshold in the extension), 'SHA-256' and MD5 for exact hashes", async () => {
    const pdq = randomPdq(r);
    const sha = randomHex(r, 64);
    const md5 = randomHex(r, 32);
    const exact = { limbs: ["a"], contentType: "image", nationalProvision: "DE StGB § 91" };
    const [a] = await included(pdqItem(pdq, { quality: 77 }));
    const [b] = await included({ signalType: "sha256", value: sha, ...exact });
    const [c] = await included({ signalType: "md5", value: md5, ...exact });
    const get = async (id: string) => {
      const stixId = await stixIdOf("indicator", `baseline/${id}`);
      const env = await json<Envelope>(
        await taxiiGet(platform, `${ROOT}/collections/baseline/objects/${stixId}/`),
      );
      return env.objects![0]!;
    };
    const pi = await get(a!);
    expect(pi.pattern).toBe(`[file:hashes.x_pdq = '${pdq}']`);
    expect(pi.pattern_type).toBe("stix");
    expect(ext(pi)).toMatchObject({
      signal_type: "pdq",
      quality: 77,
      match_threshold: 31,
      member_state: "NL",
    });
    expect((await get(b!)).pattern).toBe(`[file:hashes.'SHA-256' = '${sha}']`);
    const mi = await get(c!);
    expect(mi.pattern).toBe(`[file:hashes.MD5 = '${md5}']`);
    expect(ext(mi).match_threshold).toBe(0);
    expect("quality" in ext(mi)).toBe(false);
  });
});

describe("versions, revocation and disputes", () => {
  it("a disputed entry stays valid but labelled; retired, reversed, withdrawn and excluded entries end revoked", async () => {
    const [disputed] = await included();
    await assess(de, disputed, "dissent");
    const [retired] = await included();
    await decide(retired, "retire");
    const [reversed] = await included();
    await coordinator().write(`/v1/submissions/${reversed}/reverse`, "submission.reverse", {
      submissionId: reversed,
      ground: "court_ruling",
      reason: "annulled",
    });
    const [withdrawn] = await included();
    await nl.client.write(`/v1/submissions/${withdrawn}/withdraw`, "submission.withdraw", {
      submissionId: withdrawn,
      reason: "submitted in error",
    });
    const [excluded] = await included();
    await decide(excluded, "exclude");

    const last = async (id: string) => {
      const stixId = await stixIdOf("indicator", `baseline/${id}`);
      const res = await taxiiGet(platform, `${ROOT}/collections/${BASELINE}/objects/${stixId}/`);
      expect(res.status).toBe(200);
      const objs = (await json<Envelope>(res)).objects!;
      expect(objs).toHaveLength(1); // match[version] defaults to last
      return objs[0]!;
    };
    const d = await last(disputed);
    expect(d.revoked).toBeUndefined();
    expect(d.labels).toContain("eusn-state-disputed");
    expect(ext(d).eusn_state).toBe("disputed");
    for (const [id, state] of [
      [retired, "retired"],
      [reversed, "reversed"],
      [withdrawn, "withdrawn"],
      [excluded, "excluded"],
    ] as const) {
      const o = await last(id);
      expect(o.revoked, state).toBe(true);
      expect(ext(o).eusn_state).toBe(state);
      validateStix(o);
    }
  });

  it("versions: oldest first; match[version] first, last, all and a timestamp; a re-inclusion gets a new id", async () => {
    const [id, cites] = await included();
    await decide(id, "retire");
    await decide(id, "include", cites); // back in: a new STIX object (the old one is revoked for good)
    const firstId = await stixIdOf("indicator", `baseline/${id}`);
    const secondId = await stixIdOf("indicator", `baseline/${id}/1`);
    const url = (sid: string, q = "") => `${ROOT}/collections/baseline/objects/${sid}/${q}`;

    const vres = await taxiiGet(platform, url(firstId, "versions/"));
    const versions = await json<{ versions: string[] }>(vres);
    expectValid(`${FIX}/taxii.json#/$defs/versions`, versions);
    expect(versions.versions).toHaveLength(2);
    expect(versions.versions[0]! < versions.versions[1]!).toBe(true);
    expect(vres.headers.get("x-taxii-date-added-first")).toBeTruthy();

    const all = (await json<Envelope>(await taxiiGet(platform, url(firstId, "?match[version]=all"))))
      .objects!;
    expect(all.map((o) => o.modified)).toEqual(versions.versions);
    expect(all.map((o) => o.revoked ?? false)).toEqual([false, true]);
    expect(all[0]!.created).toBe(all[1]!.created);
    const first = (await json<Envelope>(await taxiiGet(platform, url(firstId, "?match[version]=first"))))
      .objects!;
    expect(first.map((o) => o.modified)).toEqual([versions.versions[0]]);
    const at = (
      await json<Envelope>(
        await taxiiGet(
          platform,
          url(firstId, `?match[version]=${encodeURIComponent(versions.versions[1]!)}`),
        ),
      )
    ).objects!;
    expect(at.map((o) => o.revoked)).toEqual([true]);

    const again = (await json<Envelope>(await taxiiGet(platform, url(secondId)))).objects!;
    expect(again).toHaveLength(1);
    expect(again[0]!.revoked).toBeUndefined();
    expect(ext(again[0]!).entry_id).toBe(id);
  });

  it("the manifest lists id, date_added, version and media type, with the same filters", async () => {
    const [id] = await included();
    const stixId = await stixIdOf("indicator", `baseline/${id}`);
    const res = await taxiiGet(platform, `${ROOT}/collections/baseline/manifest/?match[id]=${stixId}`);
    const m = await json<{ objects: ManifestRecord[] }>(res);
    expectValid(`${FIX}/taxii.json#/$defs/manifest`, m);
    expect(m.objects).toHaveLength(1);
    expect(m.objects[0]).toMatchObject({ id: stixId, media_type: STIX_MEDIA_TYPE });
    expect(res.headers.get("x-taxii-date-added-first")).toBe(m.objects[0]!.date_added);
    expect(res.headers.get("x-taxii-date-added-last")).toBe(m.objects[0]!.date_added);
  });
});

describe("paging and filters", () => {
  it("never skips or repeats a version while new ones arrive between pages", async () => {
    for (let i = 0; i < 4; i++) await included();
    const added: string[] = [];
    const { objects } = await walkAll(platform, BASELINE, "match[version]=all", 2, async (page) => {
      if (page <= 3) {
        const [id] = await included();
        added.push(id);
        if (page === 2) await decide(id, "retire");
      }
    });
    const seen = objects.map((o) => `${o.id}@${o.modified ?? o.created}`);
    expect(new Set(seen).size).toBe(seen.length); // no repeats
    const full = (await walkAll(platform, BASELINE, "match[version]=all", 1000)).objects.map(
      (o) => `${o.id}@${o.modified ?? o.created}`,
    );
    expect(seen).toEqual(full); // nothing skipped, same order
    for (const id of added)
      expect(objects.some((o) => o.type === "indicator" && ext(o).entry_id === id)).toBe(true);
  });

  it("added_after returns only versions added later; X-TAXII-Date-Added-* frame the page", async () => {
    await included();
    const man = await json<{ objects: ManifestRecord[] }>(
      await taxiiGet(platform, `${ROOT}/collections/baseline/manifest/?limit=1000`),
    );
    const cut = man.objects[Math.floor(man.objects.length / 2)]!.date_added;
    const res = await taxiiGet(
      platform,
      `${ROOT}/collections/baseline/manifest/?limit=1000&added_after=${cut}`,
    );
    const later = await json<{ objects: ManifestRecord[] }>(res);
    expect(later.objects.length).toBeGreaterThan(0);
    expect(later.objects.every((o) => o.date_added > cut)).toBe(true);
    expect(later.objects.length).toBe(man.objects.filter((o) => o.date_added > cut).length);
    expect(res.headers.get("x-taxii-date-added-first")).toBe(later.objects[0]!.date_added);
    expect(res.headers.get("x-taxii-date-added-last")).toBe(later.objects.at(-1)!.date_added);
    const bad = await taxiiGet(platform, `${ROOT}/collections/baseline/objects/?added_after=yesterday`);
    expect(bad.status).toBe(400);
    expect((await json<{ code: string }>(bad)).code).toBe("validation_failed");
  });

  it("match[type] and match[id] select objects; an empty result is an envelope without objects", async () => {
    const types = await json<Envelope>(
      await taxiiGet(
        platform,
        `${ROOT}/collections/baseline/objects/?match[type]=identity,marking-definition`,
      ),
    );
    expect(new Set(types.objects!.map((o) => o.type))).toEqual(new Set(["identity", "marking-definition"]));
    const nlId = await stixIdOf("identity", `identity/${nl.id}`);
    const one = await json<Envelope>(
      await taxiiGet(
        platform,
        `${ROOT}/collections/baseline/objects/?match[id]=${nlId},${TLP2_MARKINGS.amber.id}`,
      ),
    );
    expect(one.objects!.map((o) => o.id).sort()).toEqual([nlId, TLP2_MARKINGS.amber.id].sort());
    const none = await json<Envelope>(
      await taxiiGet(platform, `${ROOT}/collections/baseline/objects/?match[spec_version]=2.0`),
    );
    expect(none).toEqual({ more: false });
  });
});

describe("access, media types and errors", () => {
  it("can_read in the collection resources is exactly what the server enforces, per role", async () => {
    for (const who of ["coordinator", nl, platform] as const) {
      const cols = await json<{ collections: { id: string; can_read: boolean; can_write: boolean }[] }>(
        await taxiiGet(who, `${ROOT}/collections/`),
      );
      for (const col of cols.collections) {
        expect(col.can_write).toBe(false);
        for (const path of ["objects/", "manifest/"]) {
          const res = await taxiiGet(who, `${ROOT}/collections/${col.id}/${path}`);
          expect(res.status, `${who === "coordinator" ? who : who.id} ${col.id} ${path}`).toBe(
            col.can_read ? 200 : 403,
          );
          expect(res.headers.get("content-type")).toBe(TAXII_MEDIA_TYPE);
        }
      }
    }
    const forbidden = await taxiiGet(platform, `${ROOT}/collections/submissions/objects/`);
    const body = await json<{ code: string; http_status: string; error_code: string }>(forbidden);
    expect(body).toMatchObject({ code: "forbidden", http_status: "403", error_code: "forbidden" });
  });

  it("406 for an Accept that is not TAXII 2.1; no Accept, */* and the unversioned type are served", async () => {
    for (const accept of [
      "application/json",
      STIX_MEDIA_TYPE,
      "application/taxii+json;version=2.0",
      "text/html",
    ]) {
      const res = await taxiiGet(platform, `${ROOT}/collections/`, accept);
      expect(res.status, accept).toBe(406);
      const e = await json<{ code: string; http_status: string; requestId: string }>(res);
      expectValid(`${FIX}/taxii.json#/$defs/error`, e);
      expect(e).toMatchObject({ code: "not_acceptable", http_status: "406" });
      expect(e.requestId).toBe(res.headers.get("x-request-id"));
    }
    for (const accept of [
      "",
      "*/*",
      "application/taxii+json",
      "application/taxii+json; version=2.1; q=0.9",
    ]) {
      const res = await taxiiGet(platform, `${ROOT}/collections/`, accept);
      expect(res.status, accept).toBe(200);
      expect(res.headers.get("content-type")).toBe(TAXII_MEDIA_TYPE);
    }
  });

  it("401 with a Basic challenge (TAXII clients need it) and a TAXII error body", async () => {
    for (const authorization of [undefined, "Bearer not.a.token", "Basic Zm9vOmJhcg=="]) {
      const res = await nodeFetch(`${BASE}/taxii2/`, {
        headers: { accept: TAXII_MEDIA_TYPE, ...(authorization ? { authorization } : {}) },
      });
      expect(res.status, authorization).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Basic realm="EUSN eusn-test", charset="UTF-8"/);
      const e = await json<{ title: string; code: string; error_id: string; requestId: string }>(res);
      expectValid(`${FIX}/taxii.json#/$defs/error`, e);
      expect(e.error_id).toBe(e.requestId);
    }
  });

  it("a TAXII client with HTTP Basic (participant id + API credential) walks the same way", async () => {
    const cred = await createApiCredential(platform.client, { label: "OpenCTI connector" });
    if (!cred.ok) throw new Error(JSON.stringify(cred.problem));
    const basic = basicAuthorization(cred.data.username, cred.data.secret);
    expect((await taxiiGet(basic, `${BASE}/taxii2/`)).status).toBe(200);
    const { objects } = await walkAll(basic, "baseline", "", 10);
    expect(objects.some((o) => o.type === "indicator")).toBe(true);
    expect((await taxiiGet(basic, `${ROOT}/collections/submissions/objects/`)).status).toBe(403);
  });

  it("unknown collections and objects are TAXII 404s; write methods are 405", async () => {
    const nf = await taxiiGet(platform, `${ROOT}/collections/00000000-0000-4000-8000-000000000000/objects/`);
    expect(nf.status).toBe(404);
    expect((await json<{ code: string }>(nf)).code).toBe("not_found");
    const missing = await stixIdOf("indicator", "baseline/hsh_doesnotexist");
    expect((await taxiiGet(platform, `${ROOT}/collections/baseline/objects/${missing}/`)).status).toBe(404);
    expect(
      (await taxiiGet(platform, `${ROOT}/collections/baseline/objects/${missing}/versions/`)).status,
    ).toBe(404);
    expect((await taxiiGet(platform, `${ROOT}/nowhere/`)).status).toBe(404);
    const head = await nodeFetch(`${ROOT}/collections/`, {
      method: "HEAD",
      headers: { accept: TAXII_MEDIA_TYPE, authorization: `Bearer ${await platform.client.token()}` },
    });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe(TAXII_MEDIA_TYPE);
    expect(await head.text()).toBe("");
    const post = await nodeFetch(`${ROOT}/collections/baseline/objects/`, {
      method: "POST",
      headers: {
        accept: TAXII_MEDIA_TYPE,
        authorization: `Bearer ${await platform.client.token()}`,
        "content-type": TAXII_MEDIA_TYPE,
      },
      body: JSON.stringify({ objects: [] }),
    });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect((await json<{ code: string }>(post)).code).toBe("method_not_allowed");
  });

  it("never serves TLP:RED entries or private fields (notes, tallies, feedback), in either collection", async () => {
    const red = randomPdq(r);
    const note = `private-note-${randomHex(r, 12)}`;
    const [redId] = await submit(nl, [pdqItem(red, { tlp: "red" })]);
    const [noted] = await included(pdqItem(randomPdq(r), { note }));
    for (const col of [BASELINE, SUBMISSIONS]) {
      const { objects } = await walkAll("coordinator", col, "match[version]=all", 100);
      const text = JSON.stringify(objects);
      expect(text).not.toContain(red);
      expect(text).not.toContain(redId);
      expect(text).not.toContain(note);
      expect(text).not.toMatch(/fb_|feedback|concur|dissent|falsePositive/i);
      expect(objects.some((o) => o.type === "indicator" && ext(o).entry_id === noted)).toBe(true);
    }
    const redStix = await stixIdOf("indicator", `submissions/${redId}`);
    expect(
      (await taxiiGet("coordinator", `${ROOT}/collections/submissions/objects/${redStix}/`)).status,
    ).toBe(404);
  });

  it("the submissions collection shows entries not in the baseline, labelled by state", async () => {
    const [fresh] = await submit(fr, [pdqItem(randomPdq(r))]);
    const stixId = await stixIdOf("indicator", `submissions/${fresh}`);
    const env = await json<Envelope>(
      await taxiiGet(nl, `${ROOT}/collections/submissions/objects/${stixId}/`),
    );
    expect(env.objects![0]).toMatchObject({ labels: expect.arrayContaining(["eusn-state-none"]) });
    expect(ext(env.objects![0]!).member_state).toBe("FR");
    expect(
      (
        await taxiiGet(
          nl,
          `${ROOT}/collections/baseline/objects/${await stixIdOf("indicator", `baseline/${fresh}`)}/`,
        )
      ).status,
    ).toBe(404);
  });

  it("the OpenAPI document describes the TAXII routes and the Basic scheme", async () => {
    const doc = (await (await nodeFetch(`${BASE}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
      components: { securitySchemes: Record<string, unknown> };
    };
    expect(Object.keys(doc.paths)).toContain("/taxii2/eusn/collections/{id}/objects/");
    expect(doc.components.securitySchemes.apiCredential).toMatchObject({ type: "http", scheme: "basic" });
    expect(env.NODE_ID).toBe("eusn-test");
  });
});

// ---- video entries ------------------------------------------------------------------------------

describe("video (vPDQ) entries", () => {
  it("are indicators named by the SHA-256 of their frames, with every frame in the EUSN extension, and jsonl export lines with the frames", async () => {
    const frames = Array.from(
      { length: 12 },
      (_, i) => [i * 30, i === 3 ? 20 : 90, randomPdq(r), i + 0.5] as [number, number, string, number],
    );
    const value = await vpdqDigest(frames);
    const [id] = await included({
      signalType: "vpdq",
      value,
      limbs: ["a"],
      contentType: "video",
      nationalProvision: "NL Sr. art. 131",
      video: { frameCount: frames.length, durationSeconds: 12.25, frames },
    });
    const { objects } = await walkAll(platform, BASELINE, "", 50);
    const ind = objects.find(
      (o) => o.type === "indicator" && JSON.stringify(o.external_references).includes(id!),
    ) as Obj & { pattern: string; extensions: Record<string, Record<string, unknown>> };
    expect(ind).toBeDefined();
    validateStix(ind);
    expect(ind.pattern).toBe(`[file:hashes.x_vpdq = '${value}']`);
    const ext = Object.values(ind.extensions).find((e) => e.entry_id === id)!;
    expect(ext).toMatchObject({
      signal_type: "vpdq",
      match_threshold: 31,
      vpdq_frame_count: 12,
      vpdq_duration_seconds: 12.25,
    });
    expect(ext.vpdq_frames).toEqual(frames.map(([n, q, h, t]) => `${n},${q},${h},${t.toFixed(3)}`));
    // The schema holds a video to its frames: without them it fails.
    const { vpdq_frames: _dropped, ...withoutFrames } = ext;
    expect(ajv.getSchema(`${FIX}/eusn-extension.json`)!(withoutFrames)).toBe(false);
    // The hash-list export: csv names the video, jsonl carries its frames.
    const token = await platform.client.token();
    const csv = await (
      await nodeFetch(`${BASE}/v1/baseline/export?format=csv&limit=5000`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).text();
    expect(csv).toContain(`vpdq,${value},${id}\n`);
    const jsonl = await (
      await nodeFetch(`${BASE}/v1/baseline/export?format=jsonl&limit=5000`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).text();
    const line = jsonl
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as ExportLine)
      .find((l) => l.id === id)!;
    expect(line).toMatchObject({
      type: "vpdq",
      value,
      video: { frameCount: 12, durationSeconds: 12.25, frames },
    });
    expect(ExportLine.safeParse(line).success).toBe(true);
  });
});
