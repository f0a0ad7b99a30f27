// Every participant: its registry entry and keys, and key rotation done by the participant itself
// — a new key pair generated here is registered with a record signed by the current key, the
// console switches to it (imported non-extractable) and offers its key file for download, then
// the old key is retired with a record signed by the new one.
import { generateParticipantKey, importSigningKey } from "@eusn/client";
import type { ParticipantView } from "@eusn/protocol";
import { forgetToken, getPublic } from "../api.ts";
import { confirmWrite, reasonField } from "../confirm.ts";
import { $, button, h, replace, table, when } from "../dom.ts";
import { keyFileLink } from "../download.ts";
import { type Session, saveSession } from "../session.ts";
import { stateBadge } from "./views.ts";

export default async function key(initial: Session | null) {
  if (!initial) return;
  let s: Session = initial;
  const render = async () => {
    const p = await getPublic<ParticipantView>(`/v1/participants/${encodeURIComponent(s.participantId)}`);
    replace(
      $("key-participant"),
      [
        ["Participant", p.id],
        ["Name", p.displayName],
        ["Role", p.role],
        ["Member state", p.memberState ?? "—"],
        ["Status", p.status],
        ["Signing with key", s.kid],
      ].flatMap(([k, v]) => [h("dt", {}, k!), h("dd", {}, v!)]),
    );
    replace(
      $("key-table"),
      table(
        "Your keys",
        ["Key id (RFC 7638 thumbprint)", "Type", "Status", "Added", "Retired"],
        p.keys.map((k) => [
          [h("code", {}, k.kid), k.kid === s.kid ? " (this browser)" : ""],
          k.jwk.kty === "OKP" ? "Ed25519" : "P-256",
          stateBadge(k.status),
          when(k.addedAt),
          when(k.retiredAt),
        ]),
      ),
    );
    return p;
  };

  const status = $("rotate-status");
  $("rotate-start").addEventListener("click", async () => {
    const oldKid = s.kid;
    const pair = await generateParticipantKey(s.alg);
    const added = await confirmWrite(s, {
      title: "Register a new key",
      intro: `Step 1 of 2: add the new key ${pair.kid} to ${s.participantId}, signed with your current key ${oldKid}.`,
      kind: "participant.key.add",
      path: `/v1/participants/${encodeURIComponent(s.participantId)}/keys`,
      record: () => ({ participantId: s.participantId, jwk: pair.publicJwk }),
    });
    if (!added) return;
    const imported = await importSigningKey(pair.privateJwk);
    s = {
      ...s,
      kid: imported.kid,
      alg: imported.alg,
      key: imported.key,
      signedInAt: new Date().toISOString(),
    };
    await saveSession(s);
    forgetToken();
    replace(
      status,
      h(
        "div",
        { class: "notice", role: "status" },
        h(
          "p",
          {},
          `The new key ${imported.kid} is registered and this browser now signs with it. Download its key file now: it is the only copy.`,
        ),
        keyFileLink(
          `${s.participantId}.json`,
          {
            participantId: s.participantId,
            role: s.role,
            ...(s.memberState ? { memberState: s.memberState } : {}),
            displayName: s.displayName,
            nodeId: s.nodeId,
            baseUrl: location.origin,
            privateJwk: pair.privateJwk,
          },
          "Download the new key file",
        ),
        h(
          "p",
          {},
          button(
            "Retire the old key…",
            async () => {
              const retired = await confirmWrite(s, {
                title: "Retire the old key",
                intro: `Step 2 of 2: retire ${oldKid}, signed with the new key ${s.kid}. Records it signed before stay valid.`,
                kind: "participant.key.retire",
                path: `/v1/participants/${encodeURIComponent(s.participantId)}/keys/retire`,
                fields: [reasonField("Reason (optional)", false)],
                record: (x) => ({
                  participantId: s.participantId,
                  kid: oldKid,
                  ...(String(x.reason ?? "").trim() ? { reason: String(x.reason).trim() } : {}),
                }),
              });
              if (retired) {
                replace(status, h("p", { role: "status" }, `Rotation complete: ${oldKid} is retired.`));
                await render();
              }
            },
            { id: "rotate-retire" },
          ),
        ),
      ),
    );
    await render();
  });
  await render();
}
