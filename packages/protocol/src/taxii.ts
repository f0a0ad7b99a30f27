// Interop wire contract: the TAXII 2.1 read facade over the baseline, the STIX 2.1
// constants consumers need to recognise EUSN objects, per-participant API credentials (HTTP Basic
// for TAXII clients), and the plain hash-list export. Rules and rationale: docs/taxii.md.
import { z } from "zod";
import { idPattern } from "./ids.ts";
import { VpdqVideo } from "./submissions.ts";

// Local (not imported from schemas.ts, which imports this file for RECORD_SCHEMAS: no cycle).
const ParticipantId = z.string().regex(idPattern("participant"));

// ---- media types -------------------------------------------------------------------------------

/** TAXII 2.1 §1.6.8: every TAXII 2.1 response (resources, envelopes, errors) carries exactly this. */
export const TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1";
/** The media type of the STIX objects inside an envelope (collection `media_types`, manifests). */
export const STIX_MEDIA_TYPE = "application/stix+json;version=2.1";
/** The TAXII API root of a node: `/taxii2/eusn/`. Discovery is `/taxii2/`. */
export const TAXII_API_ROOT = "eusn";

// ---- deterministic STIX identifiers ------------------------------------------------------------

/**
 * The UUIDv5 namespace of every EUSN STIX identifier (generated once at random for EUSN, fixed
 * forever): `indicator--uuidv5(NS, "baseline/<hsh_id>")`, `identity--uuidv5(NS,
 * "identity/<par_id>")` and so on (docs/taxii.md "Identifiers"). Any node derives the same ids.
 */
export const EUSN_STIX_NAMESPACE = "ec60482b-e17e-4a72-9fa4-15756659d717";

/**
 * TLP 2.0 marking definitions as published by the OASIS CTI TC (cti-stix-common-objects,
 * extension-definition-specifications/tlp-2.0): fixed ids, created 2022-10-01, expressed through
 * the TLP 2.0 property extension. TLP:RED is listed for completeness; RED entries are never
 * served (they are not shared through the network at all).
 */
export const TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";
export const TLP2_MARKINGS = {
  clear: { id: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", name: "TLP:CLEAR" },
  green: { id: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", name: "TLP:GREEN" },
  amber: { id: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", name: "TLP:AMBER" },
  "amber+strict": {
    id: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    name: "TLP:AMBER+STRICT",
  },
  red: { id: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", name: "TLP:RED" },
} as const;
export const TLP2_CREATED = "2022-10-01T00:00:00.000Z";

/** The default PDQ match threshold (Hamming distance) the STIX extension reports. */
export const STIX_PDQ_MATCH_THRESHOLD = 31;

/** STIX pattern hash keys per signal type: PDQ is a custom hash name, the others are STIX ones. */
export const STIX_HASH_KEYS = {
  pdq: "x_pdq",
  sha256: "'SHA-256'",
  md5: "MD5",
  // A video: the SHA-256 of its frame hashes in the reference's text format (vpdqDigest); the
  // frames themselves travel in the indicator's EUSN extension (docs/taxii.md).
  vpdq: "x_vpdq",
} as const;

// ---- TAXII collections -------------------------------------------------------------------------

/**
 * Collection ids are fixed UUIDs (TAXII 2.1 §5.2 wants an identifier); the alias is accepted in
 * URLs too. Which roles may read each one is part of the contract (docs/taxii.md "Access").
 */
export const TAXII_COLLECTIONS = {
  baseline: {
    id: "4f5d0a77-d366-43f6-9a5a-7a2726b378bc",
    title: "EUSN baseline",
    description:
      "Hash fingerprints every required member state assessed as terrorist content (TCO Regulation (EU) 2021/784) and a coordinator included. Indicators are revoked when an entry leaves the baseline.",
    readers: ["coordinator", "authority", "platform"],
  },
  submissions: {
    id: "0829f61b-459c-4cf9-a12f-fcbc6cb8a1c0",
    title: "EUSN submissions",
    description:
      "Every live hash submission by a competent authority, assessed or not (never TLP:RED). Not yet cross-border assessed: authorities and coordinators only.",
    readers: ["coordinator", "authority"],
  },
} as const;
export type TaxiiCollectionKey = keyof typeof TAXII_COLLECTIONS;

// ---- API credentials (HTTP Basic for TAXII clients) -------------------------------------------

/** At most this many unrevoked credentials per participant. */
export const MAX_API_CREDENTIALS = 5;
/** Longest lifetime of a credential, and the lifetime when the record names none (days). */
export const API_CREDENTIAL_MAX_DAYS = 366;
export const API_CREDENTIAL_DEFAULT_DAYS = 365;

export const ApiCredentialId = z
  .string()
  .regex(/^apc_[0-9a-z]{1,40}$/)
  .meta({ id: "ApiCredentialId", example: "apc_01jd0000000000000000000000" });

/** A participant registers an API credential for itself: only the SHA-256 of the secret. */
export const SetApiCredentialRecord = z
  .object({
    participantId: ParticipantId,
    label: z.string().trim().min(2).max(120).describe("What it is for, e.g. 'OpenCTI TAXII connector'."),
    secretSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, "lower-case hex SHA-256 of the secret")
      .describe(
        "Hex SHA-256 of the UTF-8 secret `eusn_<43 base64url chars>`; the secret never leaves the client.",
      ),
    expiresAt: z.iso
      .datetime({ offset: true })
      .optional()
      .describe(
        `At most ${API_CREDENTIAL_MAX_DAYS} days ahead; ${API_CREDENTIAL_DEFAULT_DAYS} days when absent.`,
      ),
  })
  .strict()
  .meta({ id: "SetApiCredentialRecord" });
export type SetApiCredentialRecord = z.infer<typeof SetApiCredentialRecord>;

/** The participant itself (or a coordinator) revokes a credential; it stops working at once. */
export const RevokeApiCredentialRecord = z
  .object({
    participantId: ParticipantId,
    credentialId: ApiCredentialId,
    reason: z.string().trim().min(3).max(2000).optional(),
  })
  .strict()
  .meta({ id: "RevokeApiCredentialRecord" });
export type RevokeApiCredentialRecord = z.infer<typeof RevokeApiCredentialRecord>;

export const ApiCredentialView = z
  .object({
    id: ApiCredentialId,
    participantId: ParticipantId,
    label: z.string(),
    createdAt: z.string(),
    expiresAt: z.string(),
    revokedAt: z.string().nullable(),
    status: z.enum(["active", "expired", "revoked"]),
    recordId: z.string().describe("The signed record that registered it."),
    kid: z
      .string()
      .nullable()
      .describe("The key that signed the registration: retiring that key revokes the credential."),
    revokedRecordId: z
      .string()
      .nullable()
      .describe(
        "The signed record that revoked it: a `participant.apicred.revoke`, or the `participant.key.retire` of its key or the `participant.revoke` of its participant.",
      ),
  })
  .meta({ id: "ApiCredential", description: "An API credential; the secret and its hash are never shown." });
export type ApiCredentialView = z.infer<typeof ApiCredentialView>;

/** GET /v1/participants/{id}/api-credentials. */
export const ApiCredentialList = z
  .object({ credentials: z.array(ApiCredentialView) })
  .meta({ id: "ApiCredentialList" });

// ---- TAXII 2.1 resources (as served; for clients and the OpenAPI document) ---------------------

const taxiiTimestamp = z.string().describe("RFC 3339 UTC timestamp, millisecond precision.");

export const TaxiiDiscovery = z
  .object({
    title: z.string(),
    description: z.string().optional(),
    contact: z.string().optional(),
    default: z.string().optional(),
    api_roots: z.array(z.string()),
  })
  .meta({ id: "TaxiiDiscovery" });

export const TaxiiApiRoot = z
  .object({
    title: z.string(),
    description: z.string().optional(),
    versions: z.array(z.string()),
    max_content_length: z.number().int(),
  })
  .meta({ id: "TaxiiApiRoot" });

export const TaxiiCollection = z
  .object({
    id: z.string(),
    title: z.string(),
    description: z.string().optional(),
    alias: z.string().optional(),
    can_read: z.boolean(),
    can_write: z.boolean(),
    media_types: z.array(z.string()),
  })
  .meta({ id: "TaxiiCollection" });

export const TaxiiCollections = z
  .object({ collections: z.array(TaxiiCollection).optional() })
  .meta({ id: "TaxiiCollections" });

export const TaxiiEnvelope = z
  .object({
    more: z.boolean().optional(),
    next: z.string().optional(),
    objects: z.array(z.record(z.string(), z.unknown())).optional(),
  })
  .meta({ id: "TaxiiEnvelope", description: "STIX 2.1 objects in a TAXII 2.1 envelope." });

export const TaxiiManifestRecord = z
  .object({ id: z.string(), date_added: taxiiTimestamp, version: z.string(), media_type: z.string() })
  .meta({ id: "TaxiiManifestRecord" });

export const TaxiiManifest = z
  .object({
    more: z.boolean().optional(),
    next: z.string().optional(),
    objects: z.array(TaxiiManifestRecord).optional(),
  })
  .meta({ id: "TaxiiManifest" });

export const TaxiiVersions = z
  .object({
    more: z.boolean().optional(),
    next: z.string().optional(),
    versions: z.array(z.string()).optional(),
  })
  .meta({ id: "TaxiiVersions" });

/**
 * The TAXII 2.1 error message (§3.6.1), as this node fills it: `error_code` is the node's problem
 * code and `error_id` the request id, repeated as `code` and `requestId` so EUSN clients read
 * TAXII errors exactly like RFC 9457 problems.
 */
export const TaxiiError = z
  .object({
    title: z.string(),
    description: z.string().optional(),
    error_id: z.string(),
    error_code: z.string(),
    http_status: z.string(),
    external_details: z.string().optional(),
    details: z.record(z.string(), z.unknown()).optional(),
    code: z.string(),
    requestId: z.string(),
    status: z.number().int(),
  })
  .meta({ id: "TaxiiError" });
export type TaxiiError = z.infer<typeof TaxiiError>;

// ---- TAXII 2.1 requests (§3.4 query parameters; the node parses their values itself) -----------

/** Objects per page when the client names no `limit`, and the most a page holds (§3.4.1). */
export const TAXII_DEFAULT_LIMIT = 100;
export const TAXII_MAX_LIMIT = 1000;

export const TaxiiQuery = z.object({
  added_after: z.string().max(64).optional().describe("Only versions added after this timestamp."),
  limit: z
    .string()
    .max(10)
    .optional()
    .describe(`Page size (default ${TAXII_DEFAULT_LIMIT}, at most ${TAXII_MAX_LIMIT}).`),
  next: z.string().max(24).optional().describe("The `next` of the previous page (a log position)."),
  "match[id]": z.string().max(8000).optional(),
  "match[type]": z.string().max(2000).optional(),
  "match[version]": z.string().max(2000).optional().describe("last (default), first, all or timestamps."),
  "match[spec_version]": z.string().max(200).optional(),
});
export type TaxiiQuery = z.infer<typeof TaxiiQuery>;

/** GET …/objects/{objectId}/: the filters that apply to one object. */
export const TaxiiObjectQuery = TaxiiQuery.pick({
  added_after: true,
  limit: true,
  next: true,
  "match[version]": true,
  "match[spec_version]": true,
});

/** GET …/objects/{objectId}/versions/. */
export const TaxiiVersionsQuery = TaxiiQuery.pick({
  added_after: true,
  limit: true,
  next: true,
  "match[spec_version]": true,
});

export const TaxiiCollectionParam = z.object({ id: z.string().max(64).describe("Collection id or alias.") });
export const TaxiiObjectParam = TaxiiCollectionParam.extend({ objectId: z.string().max(300) });

// ---- hash-list export --------------------------------------------------------------------------

export const EXPORT_FORMATS = ["csv", "jsonl"] as const;
export const EXPORT_CONTENT_TYPES = {
  csv: "text/csv; charset=utf-8",
  jsonl: "application/x-ndjson",
} as const;

/** One line of the jsonl export (the csv export has the first three columns: type,value,id). */
export const ExportLine = z
  .object({
    type: z.enum(["pdq", "md5", "sha256", "vpdq"]),
    value: z.string(),
    id: z.string().describe("The baseline entry (submission) id."),
    quality: z.number().int().nullable(),
    state: z.enum(["included", "disputed"]),
    tlp: z.string().nullable(),
    expiresAt: z.string().nullable(),
    video: VpdqVideo.optional().describe("vpdq entries: the video's frames (jsonl only)."),
  })
  .meta({ id: "ExportLine" });
export type ExportLine = z.infer<typeof ExportLine>;
