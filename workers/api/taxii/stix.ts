// STIX 2.1 objects of the TAXII facade: one `indicator` per entry version, the originating
// authority as an `identity`, the EUSN property extension (and its `extension-definition`), and
// the official TLP 2.0 marking definitions. Pure functions of stored, immutable data, so a given
// (id, modified) always has the same content. Object model: docs/taxii.md "STIX objects".
import {
  EUSN_STIX_NAMESPACE,
  STIX_HASH_KEYS,
  STIX_PDQ_MATCH_THRESHOLD,
  type TaxiiCollectionKey,
  TLP2_CREATED,
  TLP2_EXTENSION_ID,
  TLP2_MARKINGS,
} from "@eusn/protocol";
import type { SubmissionRow } from "../rules/baseline.ts";
import type { ParticipantRow } from "../store/participants.ts";
import type { StoredVideo } from "../store/videos.ts";
import { uuidv5 } from "./uuid.ts";

export type StixObject = { type: string; id: string; spec_version: "2.1" } & Record<string, unknown>;

/** Fixed `created`/`modified` of the network-wide objects (the extension and its creator). */
export const EUSN_STIX_EPOCH = "2026-01-01T00:00:00.000Z";

/** TLP levels that can appear in a collection (RED never does). */
export const SERVED_TLPS = ["clear", "green", "amber", "amber+strict"] as const;

const cache = new Map<string, Promise<string>>();
/** `type--uuidv5(EUSN namespace, name)`, memoised per isolate. */
export function stixId(type: string, name: string): Promise<string> {
  const key = `${type}|${name}`;
  let p = cache.get(key);
  if (!p) {
    p = uuidv5(EUSN_STIX_NAMESPACE, name).then((u) => `${type}--${u}`);
    cache.set(key, p);
  }
  return p;
}

export const networkIdentityId = () => stixId("identity", "identity/eusn-network");
export const extensionId = () => stixId("extension-definition", "extension-definition/eusn-signal/1");
export const authorityIdentityId = (participantId: string) => stixId("identity", `identity/${participantId}`);
/** Epoch 0 is named by the submission id alone; a re-inclusion after a revocation gets `/<epoch>`. */
export const indicatorId = (collection: TaxiiCollectionKey, submissionId: string, epoch: number) =>
  stixId(
    "indicator",
    epoch === 0 ? `${collection}/${submissionId}` : `${collection}/${submissionId}/${epoch}`,
  );

/** Millisecond-precision RFC 3339 UTC, as STIX requires for created/modified. */
export const stixTime = (t: string | number) => new Date(t).toISOString();

export async function networkIdentity(): Promise<StixObject> {
  return {
    type: "identity",
    spec_version: "2.1",
    id: await networkIdentityId(),
    created: EUSN_STIX_EPOCH,
    modified: EUSN_STIX_EPOCH,
    name: "EU Signal Network (EUSN)",
    description:
      "The federated network of EU competent authorities (Regulation (EU) 2021/784) and hosting service providers that shares hash fingerprints of terrorist content. Author of the EUSN STIX extension.",
    identity_class: "system",
  };
}

/** The property extension every EUSN indicator carries; `schema` points at the normative text. */
export async function extensionDefinition(): Promise<StixObject> {
  return {
    type: "extension-definition",
    spec_version: "2.1",
    id: await extensionId(),
    created: EUSN_STIX_EPOCH,
    modified: EUSN_STIX_EPOCH,
    created_by_ref: await networkIdentityId(),
    name: "EUSN signal",
    description:
      "EUSN hash-signal facts on an indicator: signal_type (pdq|md5|sha256), entry_id (the EUSN entry), quality (PDQ quality 0-100; absent for exact hashes), low_quality, match_threshold (largest PDQ Hamming distance that counts as a match; 0 = exact equality), content_type, member_state (originating EU member state), national_provision, tco_limbs (Art 2(7) limbs a-e) and eusn_state (the entry's state in this version).",
    schema:
      "docs/taxii.md, section 'The EUSN property extension', in the EUSN node repository (plain-text definition; all properties are present except quality, which exact hashes do not have).",
    version: "1.0.0",
    extension_types: ["property-extension"],
  };
}

/** An official TLP 2.0 marking definition (fixed id and created time, TLP 2.0 extension). */
export function tlpMarking(tlp: keyof typeof TLP2_MARKINGS): StixObject {
  const m = TLP2_MARKINGS[tlp];
  return {
    type: "marking-definition",
    spec_version: "2.1",
    id: m.id,
    created: TLP2_CREATED,
    name: m.name,
    extensions: { [TLP2_EXTENSION_ID]: { extension_type: "property-extension", tlp_2_0: tlp } },
  };
}

/** The originating competent authority. Admission data never changes, so neither does this. */
export async function authorityIdentity(p: ParticipantRow): Promise<StixObject> {
  const at = stixTime(p.admittedAt);
  return {
    type: "identity",
    spec_version: "2.1",
    id: await authorityIdentityId(p.id),
    created: at,
    modified: at,
    name: p.displayName,
    description: `Competent authority of ${p.memberState ?? "an EU member state"} under Regulation (EU) 2021/784 (TCO); EUSN participant ${p.id}.`,
    identity_class: "organization",
    sectors: ["government-national"],
    external_references: [{ source_name: "eusn", external_id: p.id }],
  };
}

/** One version of an entry in a collection (see feed.ts for how versions arise from the feed). */
export type IndicatorVersion = {
  collection: TaxiiCollectionKey;
  submissionId: string;
  epoch: number;
  created: string;
  modified: string;
  /** The entry's state in this version: included/disputed, none (submitted), or how it ended. */
  state: string;
  revoked: boolean;
};

export function stixPattern(signalType: SubmissionRow["signalType"], value: string): string {
  // Values are lower-case hex (validated at submission), so nothing needs escaping.
  return `[file:hashes.${STIX_HASH_KEYS[signalType]} = '${value}']`;
}

/**
 * `video`: a vpdq entry's frames. The pattern names the video by the SHA-256 of its frames' text
 * (`x_vpdq`); the frames themselves, which a matcher needs, are in the EUSN extension, one string
 * per frame in the reference's text format (docs/taxii.md).
 */
export async function indicator(
  v: IndicatorVersion,
  s: SubmissionRow,
  video?: StoredVideo,
): Promise<StixObject> {
  const limbs = JSON.parse(s.limbs) as string[];
  const labels = [
    ...limbs.map((l) => `tco-art2-7-${l}`),
    `content-${s.contentType}`,
    `eusn-state-${v.state}`,
    ...(s.lowQuality ? ["eusn-low-quality"] : []),
  ];
  const what = v.collection === "baseline" ? "EUSN baseline entry" : "EUSN submission";
  const validUntil = s.expiresAt && stixTime(s.expiresAt) > v.created ? stixTime(s.expiresAt) : null;
  return {
    type: "indicator",
    spec_version: "2.1",
    id: await indicatorId(v.collection, v.submissionId, v.epoch),
    created: v.created,
    modified: v.modified,
    created_by_ref: await authorityIdentityId(s.submitterId),
    name: `${what} ${s.id} (${s.signalType}, ${s.memberState})`,
    description: `Fingerprint of content the competent authority of ${s.memberState} assessed as terrorist content (TCO Art 2(7) limb ${limbs.join(", ")}; ${s.nationalProvision}). A match is a lead for human review, not an automatic decision.`,
    indicator_types: ["malicious-activity"],
    pattern: stixPattern(s.signalType, s.value),
    pattern_type: "stix",
    pattern_version: "2.1",
    valid_from: v.created,
    ...(validUntil ? { valid_until: validUntil } : {}),
    labels,
    ...(v.revoked ? { revoked: true } : {}),
    ...(s.tlp && s.tlp !== "red"
      ? { object_marking_refs: [TLP2_MARKINGS[s.tlp as keyof typeof TLP2_MARKINGS].id] }
      : {}),
    external_references: [{ source_name: "eusn", external_id: s.id }],
    extensions: {
      [await extensionId()]: {
        extension_type: "property-extension",
        entry_id: s.id,
        signal_type: s.signalType,
        // STIX has no null: the property is left out for exact hashes.
        ...(s.quality !== null ? { quality: s.quality } : {}),
        low_quality: s.lowQuality,
        match_threshold: s.signalType === "pdq" || s.signalType === "vpdq" ? STIX_PDQ_MATCH_THRESHOLD : 0,
        ...(video
          ? {
              vpdq_frame_count: video.frameCount,
              vpdq_duration_seconds: video.durationSeconds,
              vpdq_frames: video.frames.map(([n, q, h, t]) => `${n},${q},${h},${t.toFixed(3)}`),
            }
          : {}),
        content_type: s.contentType,
        member_state: s.memberState,
        national_provision: s.nationalProvision,
        tco_limbs: limbs,
        eusn_state: v.state,
      },
    },
  };
}
