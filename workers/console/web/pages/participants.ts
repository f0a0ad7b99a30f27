// Coordinator: the participant registry with each participant's keys; admit with the public JWK
// the participant sent (pasted or chosen as a file: it made its own key pair, and its private key
// never reaches this browser), revoke, and give an admission or revocation its second signature.
// Authority: the registry, and the requests waiting for a second signature that it may give (an
// authority's admission or revocation for its own member state, a coordinator's revocation).
// Key rotation is done by each participant itself ("My key"): the node refuses to let a
// coordinator add keys in another participant's name.
import {
  normalisePublicJwk,
  type ParticipantView,
  PublicJwk,
  type RegistryRequestView,
  type WriteReceipt,
} from "@eusn/protocol";
import { getPublic } from "../api.ts";
import { confirmWrite, reasonField } from "../confirm.ts";
import { $, button, formValues, h, replace, table, when } from "../dom.ts";
import type { Session } from "../session.ts";
import { stateBadge } from "./views.ts";

/**
 * Whether the signed-in participant may give request `q` its second signature: the node's rule
 * (apply/registry.ts `countersignRefusal`), so the button is offered only where the node accepts it.
 */
function mayCountersign(s: Session, q: RegistryRequestView): boolean {
  if (q.requestedBy === s.participantId || q.participantId === s.participantId) return false;
  if (s.role === "coordinator") return true;
  if (s.role !== "authority") return false;
  return q.role === "authority"
    ? q.memberState === s.memberState
    : q.role === "coordinator" && q.action === "revoke";
}

/** Who may give a request its second signature, in words. */
function secondSigners(q: Pick<RegistryRequestView, "role" | "action" | "memberState">): string {
  if (q.role === "authority")
    return `another coordinator, or an authority of ${q.memberState ?? "its member state"}`;
  if (q.role === "coordinator" && q.action === "revoke") return "another coordinator, or an authority";
  return "another coordinator";
}

export default async function participants(s: Session | null) {
  if (!s) return;
  const coordinator = s.role === "coordinator";
  // Admitting and revoking are a coordinator's; an authority only countersigns.
  const admitSection = document.getElementById("admit");
  if (admitSection) admitSection.hidden = !coordinator;
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
          coordinator && p.status === "active" && p.id !== s.participantId
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
                  if (r) await Promise.all([render(), renderRequests()]);
                },
                { "aria-label": `Revoke ${p.displayName}` },
              )
            : "",
        ]),
      ),
    );
  };

  const renderRequests = async () => {
    const { requests } = await getPublic<{ requests: RegistryRequestView[] }>("/v1/registry/requests");
    replace(
      $("requests-table"),
      table(
        `${requests.length} request(s) waiting for a second signature`,
        ["Request", "Participant", "Role", "State", "Requested by", "Requested", ""],
        requests.map((q) => [
          [
            h("strong", {}, q.action === "admit" ? "Admission" : "Revocation"),
            h("br"),
            h("code", {}, q.requestRecordId),
          ],
          [h("strong", {}, q.displayName), h("br"), h("code", {}, q.participantId)],
          q.role,
          q.memberState ?? "—",
          h("code", {}, q.requestedBy),
          when(q.requestedAt),
          // The node refuses a second signature from the requester, the participant itself, or a
          // signer the rule does not name; the button is offered only where it would count.
          mayCountersign(s, q)
            ? button(
                "Countersign…",
                async () => {
                  const r = await confirmWrite(s, {
                    title: `Countersign the ${q.action === "admit" ? "admission" : "revocation"} of ${q.displayName}`,
                    intro: `Second signature for ${q.requestRecordId}: ${q.action === "admit" ? "admit" : "revoke"} ${q.participantId} (${q.role}, ${q.memberState ?? "—"}), requested by ${q.requestedBy}.${q.keys.length ? ` Key id(s): ${q.keys.join(", ")} — check them with the participant.` : ""} It takes effect at this signature's time.`,
                    kind: "participant.countersign",
                    path: `/v1/participants/${encodeURIComponent(q.participantId)}/countersign`,
                    record: () => ({
                      participantId: q.participantId,
                      requestRecordId: q.requestRecordId,
                      action: q.action,
                    }),
                  });
                  if (r) await Promise.all([render(), renderRequests()]);
                },
                {
                  "aria-label": `Countersign the ${q.action === "admit" ? "admission" : "revocation"} of ${q.displayName}`,
                },
              )
            : q.requestedBy === s.participantId
              ? [
                  `waiting for ${secondSigners(q)} `,
                  // Its signer may withdraw it while it waits; a withdrawn request cannot be countersigned.
                  button(
                    "Withdraw…",
                    async () => {
                      const r = await confirmWrite(s, {
                        title: `Withdraw the ${q.action === "admit" ? "admission" : "revocation"} of ${q.displayName}`,
                        intro: `Withdraw your request ${q.requestRecordId}: nobody can countersign it afterwards.`,
                        kind: "participant.request.withdraw",
                        path: `/v1/participants/${encodeURIComponent(q.participantId)}/requests/withdraw`,
                        fields: [reasonField()],
                        record: (x) => ({
                          participantId: q.participantId,
                          requestRecordId: q.requestRecordId,
                          action: q.action,
                          reason: String(x.reason ?? "").trim(),
                        }),
                      });
                      if (r) await renderRequests();
                    },
                    {
                      "aria-label": `Withdraw the ${q.action === "admit" ? "admission" : "revocation"} of ${q.displayName}`,
                    },
                  ),
                ]
              : `for ${secondSigners(q)}`,
        ]),
      ),
    );
  };

  const form = $("admit-form") as unknown as HTMLFormElement;
  const role = $("admit-role") as unknown as HTMLSelectElement;
  const state = $("admit-state") as unknown as HTMLSelectElement;
  const jwk = $("admit-jwk") as unknown as HTMLTextAreaElement;
  const file = $("admit-jwk-file") as unknown as HTMLInputElement;
  const kidOut = $("admit-kid");
  const syncState = () => {
    state.disabled = role.value !== "authority";
  };
  role.addEventListener("change", syncState);
  syncState();
  file.addEventListener("change", async () => {
    const f = file.files?.[0];
    if (f) jwk.value = await f.text();
    await checkKey();
  });
  jwk.addEventListener("input", () => void checkKey());

  /**
   * The public key the participant sent, or why it cannot be used: JSON, a public Ed25519 or
   * P-256 JWK only (a private member `d` is refused: the participant must keep it), canonically
   * spelled; its RFC 7638 thumbprint is shown to be checked with the participant.
   */
  async function checkKey(): Promise<PublicJwk | string> {
    const text = jwk.value.trim();
    let why: string | undefined;
    let key: PublicJwk | undefined;
    if (!text) why = "Paste the participant's public JWK or choose its file.";
    else {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
        why = "The public JWK is not valid JSON.";
      }
      // `eusn keygen` prints {kid, jwk}; a JWK on its own is accepted too.
      const candidate =
        parsed && typeof parsed === "object" && "jwk" in parsed ? (parsed as { jwk: unknown }).jwk : parsed;
      if (!why && candidate && typeof candidate === "object" && "d" in candidate)
        why = "That is a PRIVATE key: it must stay with the participant. Ask for the public half only.";
      if (!why) {
        const p = PublicJwk.safeParse(candidate);
        if (!p.success) why = "Not a public Ed25519 or P-256 JWK.";
        else {
          const n = await normalisePublicJwk(p.data);
          if (!n.ok) why = n.reason;
          else key = n.key.jwk;
        }
      }
    }
    replace(
      kidOut,
      why
        ? h("span", { class: text ? "error" : "" }, why)
        : h("span", {}, "Key id (RFC 7638 thumbprint): ", h("code", {}, key!.kid ?? "")),
    );
    return key ?? why!;
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(form);
    const out = $("admit-download");
    replace(out);
    const publicJwk = await checkKey();
    if (typeof publicJwk === "string") {
      replace(out, h("p", { class: "error", role: "alert" }, publicJwk));
      return;
    }
    const record = {
      role: v.role,
      ...(v.role === "authority" ? { memberState: v.memberState } : {}),
      displayName: String(v.displayName ?? "").trim(),
      jwks: { keys: [publicJwk] },
    };
    const r = await confirmWrite<WriteReceipt>(s, {
      title: `Admit ${record.displayName || "a participant"}`,
      intro: `Admit a new ${String(v.role)}${v.role === "authority" ? ` for ${String(v.memberState)}` : ""} with the public key it supplied (key id ${publicJwk.kid}). The admission takes effect with a second signature, unless it is the network's first admitted coordinator.`,
      kind: "participant.admit",
      path: "/v1/participants",
      record: () => record,
    });
    if (!r?.receipt) return;
    const id = r.receipt.subjectId;
    const { requests } = await getPublic<{ requests: RegistryRequestView[] }>("/v1/registry/requests");
    const waiting = requests.some((q) => q.requestRecordId === r.receipt!.recordId);
    replace(
      out,
      h(
        "p",
        { role: "status" },
        waiting
          ? `Requested ${id}: it takes effect when ${secondSigners({ role: v.role as RegistryRequestView["role"], action: "admit", memberState: (v.memberState as RegistryRequestView["memberState"]) ?? null })} countersigns it.`
          : `Admitted ${id}. It signs in with its own key file.`,
      ),
    );
    form.reset();
    syncState();
    replace(kidOut);
    await Promise.all([render(), renderRequests()]);
  });
  await renderRequests();
  await render();
}
