// Appliers of API credentials (HTTP Basic for TAXII clients, docs/taxii.md "API credentials"): a
// participant registers one by signing only the SHA-256 of a secret it generated, and revokes it
// (itself, or a coordinator). Node-local (`replicated: false`): a credential opens this node only.
import {
  API_CREDENTIAL_DEFAULT_DAYS,
  API_CREDENTIAL_MAX_DAYS,
  MAX_API_CREDENTIALS,
  newId,
} from "@eusn/protocol";
import { and, eq, gt, isNull } from "drizzle-orm";
import { apiCredentials } from "../../../schema/index.ts";
import { nowIso } from "../lib/encoding.ts";
import { ApiError } from "../lib/problem.ts";
import type { Applier } from "./context.ts";

const DAY_MS = 86_400_000;

/** A participant registers an API credential for itself. */
export const setApiCredential: Applier<"participant.apicred.set"> = {
  kind: "participant.apicred.set",
  roles: ["coordinator", "authority", "platform"],
  replicated: false,
  async apply(db, _env, w, ctx) {
    const id = w.record.participantId;
    if (w.claims.iss !== id) {
      // Reading as somebody else is impersonation, even read-only: only the participant itself.
      throw new ApiError("forbidden", "a participant can only register API credentials for itself");
    }
    const nowMs = Date.now();
    const now = nowIso(nowMs);
    let expiresAt = nowIso(nowMs + API_CREDENTIAL_DEFAULT_DAYS * DAY_MS);
    if (w.record.expiresAt) {
      const t = Date.parse(w.record.expiresAt);
      if (t <= nowMs || t > nowMs + API_CREDENTIAL_MAX_DAYS * DAY_MS) {
        throw new ApiError("validation_failed", "expiresAt out of range", [
          {
            path: "/record/expiresAt",
            message: `must be in the future and at most ${API_CREDENTIAL_MAX_DAYS} days ahead`,
          },
        ]);
      }
      expiresAt = nowIso(t);
    }
    const active = await db
      .select({ id: apiCredentials.id })
      .from(apiCredentials)
      .where(
        and(
          eq(apiCredentials.participantId, id),
          isNull(apiCredentials.revokedAt),
          gt(apiCredentials.expiresAt, now),
        ),
      );
    if (active.length >= MAX_API_CREDENTIALS) {
      throw new ApiError(
        "conflict",
        `at most ${MAX_API_CREDENTIALS} active API credentials; revoke one first`,
      );
    }
    const same = await db
      .select({ id: apiCredentials.id })
      .from(apiCredentials)
      .where(eq(apiCredentials.secretSha256, w.record.secretSha256))
      .get();
    if (same) throw new ApiError("conflict", "this secret is already registered; generate a fresh one");
    // Same shape as every node id (time + 80 random bits), with the credential prefix.
    const credentialId = newId("record").replace(/^rec_/, "apc_");
    return {
      subjectId: credentialId,
      statements: [
        db.insert(apiCredentials).values({
          id: credentialId,
          participantId: id,
          label: w.record.label,
          secretSha256: w.record.secretSha256,
          recordId: ctx.recordId,
          createdAt: now,
          expiresAt,
        }),
      ],
    };
  },
};

/** The participant itself, or a coordinator, revokes an API credential. */
export const revokeApiCredential: Applier<"participant.apicred.revoke"> = {
  kind: "participant.apicred.revoke",
  roles: ["coordinator", "authority", "platform"],
  replicated: false,
  async apply(db, _env, w, ctx) {
    const id = w.record.participantId;
    if (w.claims.iss !== id && w.caller.participant.role !== "coordinator") {
      throw new ApiError(
        "forbidden",
        "only the participant itself or a coordinator can revoke its API credentials",
      );
    }
    const cred = await db
      .select()
      .from(apiCredentials)
      .where(and(eq(apiCredentials.id, w.record.credentialId), eq(apiCredentials.participantId, id)))
      .get();
    if (!cred) throw new ApiError("not_found", `${w.record.credentialId} is not an API credential of ${id}`);
    if (cred.revokedAt) throw new ApiError("conflict", `${cred.id} was already revoked at ${cred.revokedAt}`);
    return {
      subjectId: cred.id,
      statements: [
        db
          .update(apiCredentials)
          .set({ revokedAt: nowIso(), revokedRecordId: ctx.recordId })
          .where(and(eq(apiCredentials.id, cred.id), isNull(apiCredentials.revokedAt))),
      ],
    };
  },
};
