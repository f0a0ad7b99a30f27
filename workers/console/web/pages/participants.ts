// Coordinator: the participant registry with each participant's keys; admit (with a key pair
// generated in this browser, handed over as a key file, or a public JWK supplied by the
// participant) and revoke. Key rotation is done by each participant itself ("My key"): the node
// refuses to let a coordinator add keys in another participant's name.
import { generateParticipantKey } from "@eusn/client";
import type { ParticipantView, PublicJwk, WriteReceipt } from "@eusn/protocol";
import { getPublic } from "../api.ts";
import { confirmWrite, reasonField } from "../confirm.ts";
import { $, button, formValues, h, replace, table, when } from "../dom.ts";
import { keyFileLink } from "../download.ts";
import type { Session } from "../session.ts";
import { stateBadge } from "./views.ts";

export default async function participants(s: Session | null) {
  if (!s) return;
  const render = async () => {
    const { participants: list } = await getPublic<{ participants: ParticipantView[] }>("/v1/participants");
    replace(
      $("participants-table"),
      table(
        `${list.length} participant(s)`,
        ["Participant", "Role", "State", "Status", "Keys", "Admitted", ""],
        list.map((p) => [
          [h("strong", {}, p.displayName), h("br"), h("code", {}, p.id)],
          p.role,
          p.memberState ?? "—",
          stateBadge(p.status),
          h(
            "ul",
            { class: "keys" },
            p.keys.map((k) =>
              h(
                "li",
                {},
                h("code", {}, k.kid),
                ` ${k.jwk.kty === "OKP" ? "Ed25519" : "P-256"} `,
                // A revoked participant's keys stop working with it, whatever their own status.
                stateBadge(p.status === "revoked" && k.status === "active" ? "revoked" : k.status),
              ),
            ),
          ),
          when(p.admittedAt),
          p.status === "active" && p.id !== s.participantId
            ? button(
                "Revoke…",
                async () => {
                  const r = await confirmWrite(s, {
                    title: `Revoke ${p.displayName}`,
                    intro: `Revoke ${p.id} (${p.role}${p.memberState ? `, ${p.memberState}` : ""}). All its keys stop being accepted now; records it signed before stay valid.`,
                    kind: "participant.revoke",
                    path: `/v1/participants/${encodeURIComponent(p.id)}/revoke`,
                    fields: [reasonField()],
                    record: (x) => ({ participantId: p.id, reason: String(x.reason ?? "").trim() }),
                  });
                  if (r) await render();
                },
                { "aria-label": `Revoke ${p.displayName}` },
              )
            : "",
        ]),
      ),
    );
  };

  const form = $("admit-form") as unknown as HTMLFormElement;
  const role = $("admit-role") as unknown as HTMLSelectElement;
  const state = $("admit-state") as unknown as HTMLSelectElement;
  const jwk = $("admit-jwk") as unknown as HTMLTextAreaElement;
  const syncState = () => {
    state.disabled = role.value !== "authority";
    jwk.disabled = formValues(form).keySource !== "paste";
  };
  role.addEventListener("change", syncState);
  form.addEventListener("change", syncState);
  syncState();

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(form);
    const out = $("admit-download");
    replace(out);
    let publicJwk: PublicJwk;
    let privateJwk: unknown = null;
    if (v.keySource === "paste") {
      try {
        publicJwk = JSON.parse(String(v.publicJwk)) as PublicJwk;
      } catch {
        replace(out, h("p", { class: "error", role: "alert" }, "The public JWK is not valid JSON."));
        return;
      }
      if ("d" in publicJwk) {
        replace(
          out,
          h("p", { class: "error", role: "alert" }, "That is a PRIVATE key: ask for the public half only."),
        );
        return;
      }
    } else {
      const pair = await generateParticipantKey("EdDSA");
      publicJwk = pair.publicJwk;
      privateJwk = pair.privateJwk;
    }
    const record = {
      role: v.role,
      ...(v.role === "authority" ? { memberState: v.memberState } : {}),
      displayName: String(v.displayName ?? "").trim(),
      jwks: { keys: [publicJwk] },
    };
    const r = await confirmWrite<WriteReceipt>(s, {
      title: `Admit ${record.displayName || "a participant"}`,
      intro: `Admit a new ${String(v.role)}${v.role === "authority" ? ` for ${String(v.memberState)}` : ""} with ${privateJwk ? "a key pair generated in this browser" : "the public key supplied"}.`,
      kind: "participant.admit",
      path: "/v1/participants",
      record: () => record,
    });
    if (!r?.receipt) return;
    const id = r.receipt.subjectId;
    if (privateJwk) {
      replace(
        out,
        h(
          "div",
          { class: "notice", role: "status" },
          h(
            "p",
            {},
            `Admitted ${id}. This is the only copy of its private key: download the key file and hand it over securely.`,
          ),
          keyFileLink(
            `${id}.json`,
            {
              participantId: id,
              role: v.role,
              ...(v.role === "authority" ? { memberState: v.memberState } : {}),
              displayName: record.displayName,
              nodeId: s.nodeId,
              baseUrl: location.origin,
              privateJwk,
            },
            `Download the key file for ${record.displayName}`,
          ),
        ),
      );
    } else replace(out, h("p", { role: "status" }, `Admitted ${id}.`));
    form.reset();
    syncState();
    await render();
  });
  await render();
}
