// One entry: its state, tallies and full signed history (each record's signature checked here
// against the issuer's published keys), the platforms that matched it (coordinator), and the
// actions the signed-in participant may take — each through the confirmation dialog.
import { type ParticipantView, type SubmissionView, TCO_LIMBS } from "@eusn/protocol";
import { compactVerify, decodeProtectedHeader, importJWK, type JWK } from "jose";
import { get, getPublic } from "../api.ts";
import { confirmWrite, type FieldSpec, reasonField } from "../confirm.ts";
import { $, button, type Child, entryLink, h, hashCell, replace, table, when } from "../dom.ts";
import { entryCaseFiles } from "../evidence-attach.ts";
import type { Session } from "../session.ts";
import { entryStateBadges, feedbackText, tallyText } from "./views.ts";

type HistoryItem = {
  kind: string;
  recordId: string;
  issuer: string;
  receivedAt: string;
  jws: string;
  summary: Record<string, unknown>;
};
type Detail = { submission: SubmissionView; history: HistoryItem[] };
type Matches = {
  platforms: number;
  total: number;
  byPlatform: { platformId: string; displayName: string | null; count: number; lastMatchedAt: string }[];
};

/** Verifies one history record: signature by the issuer's key (any status: a record signed before
 * a rotation or revocation stays valid), and that its claims name the issuer, the kind and this node. */
async function verify(item: HistoryItem, people: Map<string, ParticipantView>, nodeId: string) {
  try {
    const { kid } = decodeProtectedHeader(item.jws);
    const key = people.get(item.issuer)?.keys.find((k) => k.kid === kid);
    if (!key) return { ok: false, text: "issuer key unknown" };
    const alg = key.jwk.kty === "OKP" ? "EdDSA" : "ES256";
    const pub = await importJWK(key.jwk as JWK, alg);
    const { payload } = await compactVerify(item.jws, pub, { algorithms: [alg] });
    const claims = JSON.parse(new TextDecoder().decode(payload)) as {
      iss: string;
      kind: string;
      aud: string;
      record: unknown;
    };
    if (claims.iss !== item.issuer || claims.kind !== item.kind || claims.aud !== nodeId)
      return { ok: false, text: "claims do not match" };
    return { ok: true, text: "signature verified", record: claims.record };
  } catch (e) {
    return { ok: false, text: `invalid: ${(e as Error).message}` };
  }
}

function who(id: string, people: Map<string, ParticipantView>): Child {
  const p = people.get(id);
  return p
    ? [p.displayName, p.memberState ? ` (${p.memberState})` : "", h("br"), h("code", {}, id)]
    : h("code", {}, id);
}

function summaryText(item: HistoryItem): Child {
  const s = item.summary as Record<string, string | boolean | string[] | undefined>;
  const parts: Child[] = [h("strong", {}, String(s.action ?? item.kind))];
  if (s.verdict)
    parts.push(
      ` ${s.verdict} on limb (${s.limb})${s.live === false ? " — superseded" : s.authorityRevoked ? " — authority revoked, does not count" : ""}`,
    );
  if (s.outcome)
    parts.push(` ${String(s.outcome).replace("_", " ")}${s.live === false ? " — superseded" : ""}`);
  if (s.ground) parts.push(` — ground: ${String(s.ground).replaceAll("_", " ")}`);
  if (s.reason) parts.push(h("br"), "Reason: ", String(s.reason));
  if (Array.isArray(s.assessmentIds) && s.assessmentIds.length > 0)
    parts.push(h("br"), `Cites: ${s.assessmentIds.join(", ")}`);
  return parts;
}

export default async function entry(s: Session | null) {
  if (!s) return;
  const id = document.body.dataset.entry;
  if (!id) {
    replace($("entry-summary"), h("p", { class: "error" }, "No such entry id."));
    return;
  }
  await render(s, id);
}

async function render(s: Session, id: string) {
  const [detail, plist] = await Promise.all([
    get<Detail>(s, `/v1/submissions/${encodeURIComponent(id)}`),
    getPublic<{ participants: ParticipantView[] }>("/v1/participants"),
  ]);
  const people = new Map(plist.participants.map((p) => [p.id, p]));
  const v = detail.submission;

  const rows: [string, Child][] = [
    ["Status", entryStateBadges(v.state)],
    ["Hash", [h("span", { class: "type" }, v.signalType), " ", hashCell(v.value)]],
    [
      "Quality",
      v.quality === null ? "—" : `${v.quality}${v.lowQuality ? " (low quality, submitted with force)" : ""}`,
    ],
    ...(v.video
      ? ([["Video", `${v.video.frameCount} frame hashes, ${v.video.durationSeconds} s`]] as [string, Child][])
      : []),
    ["Submitted by", who(v.submitter, people)],
    ["Origin member state", v.memberState],
    ["TCO limbs", v.limbs.map((l) => `(${l})`).join(" ")],
    ["National provision", v.nationalProvision],
    ["Content type", v.contentType],
    ["TLP", v.tlp ? `TLP:${v.tlp.toUpperCase()}` : "none"],
    ["Expires", when(v.expiresAt)],
    ["Submitted", when(v.createdAt)],
    ["Assessments", [tallyText(v), v.assessments.eligible ? " — eligible" : " — not eligible"]],
    ["Feedback", feedbackText(v)],
    ["Same hash from other authorities", v.linked.length ? v.linked.map((l) => [entryLink(l), " "]) : "none"],
  ];
  replace(
    $("entry-summary"),
    h(
      "dl",
      { class: "kv", id: "entry-facts" },
      rows.map(([k, val]) => [h("dt", {}, k), h("dd", { "data-field": k }, val)]),
    ),
  );

  // Matches per platform: coordinators only (who matched what is the platforms' business).
  if (s.role === "coordinator") {
    const m = await get<Matches>(s, `/v1/stats/submissions/${encodeURIComponent(id)}`);
    replace(
      $("entry-matches-table"),
      h("p", {}, `${m.total} match(es) by ${m.platforms} platform(s). Platforms carry no member state.`),
      table(
        "Matches per platform",
        ["Platform", "Matches", "Last matched"],
        m.byPlatform.map((r) => [
          r.displayName ? [r.displayName, " ", h("code", {}, r.platformId)] : r.platformId,
          String(r.count),
          when(r.lastMatchedAt),
        ]),
        "No platform has matched this entry.",
      ),
    );
  } else {
    $("entry-matches").hidden = true;
  }

  const checks = await Promise.all(detail.history.map((it) => verify(it, people, s.nodeId)));
  replace(
    $("entry-history-table"),
    table(
      "Signed records about this entry, oldest first",
      ["Received", "Record", "By", "What", "Signature"],
      detail.history.map((it, i) => {
        const c = checks[i]!;
        return [
          when(it.receivedAt),
          [h("code", {}, it.recordId), h("br"), h("span", { class: "hint" }, it.kind)],
          who(it.issuer, people),
          summaryText(it),
          [
            h("span", { class: c.ok ? "ok" : "error" }, c.ok ? "✓ " : "✗ ", c.text),
            c.record === undefined
              ? null
              : h(
                  "details",
                  {},
                  h("summary", {}, "signed record"),
                  h("pre", { tabindex: 0 }, JSON.stringify(c.record, null, 2)),
                ),
          ],
        ];
      }),
    ),
  );

  const buttons: HTMLElement[] = [];
  const liveAssessments = detail.history
    .map(
      (it) =>
        it.summary as {
          action?: string;
          assessmentId?: string;
          verdict?: string;
          live?: boolean;
          counts?: boolean;
          memberState?: string;
          limb?: string;
        },
    )
    // A revoked authority's assessments stay on record but cannot be cited (`counts: false`).
    .filter((x) => x.action === "assessed" && x.live && x.counts !== false && x.assessmentId);
  const act = (
    label: string,
    title: string,
    intro: string,
    kind: Parameters<typeof confirmWrite>[1]["kind"],
    path: string,
    fields: FieldSpec[],
    record: (v: Record<string, string | string[]>) => unknown,
  ) =>
    buttons.push(
      button(
        `${label}…`,
        async () => {
          const r = await confirmWrite(s, { title, intro, kind, path, fields, record });
          if (r) await render(s, id);
        },
        { "data-action": label.toLowerCase() },
      ),
    );
  const base = `/v1/submissions/${encodeURIComponent(id)}`;
  // Actions follow the entry's one state: baseline decisions and assessments need a current
  // entry; withdrawal and reversal any entry not already ended by one (an expired one included).
  const state = v.state.name;
  const live = v.status === "live";
  const current = live && state !== "expired";

  if (s.role === "coordinator" && live) {
    const cite = (verdict?: string): FieldSpec => ({
      name: "assessmentIds",
      label: "Cite assessments",
      type: "checks",
      options: liveAssessments.map((a) => ({
        value: a.assessmentId!,
        label: `${a.assessmentId} — ${a.memberState} ${a.verdict} (${a.limb})`,
        checked: verdict !== undefined && a.verdict === verdict,
      })),
    });
    const decide = (decision: string) => (x: Record<string, string | string[]>) => ({
      submissionId: id,
      decision,
      reason: String(x.reason ?? "").trim(),
      assessmentIds: (x.assessmentIds as string[] | undefined) ?? [],
    });
    if (current && state !== "included")
      act(
        "Include",
        "Include in the baseline",
        `Include ${id} in the EU baseline. The node accepts this only if the entry is eligible (${tallyText(v)}) and the cited concurrences reach the quorum.`,
        "baseline.decide",
        `${base}/decisions`,
        [reasonField(), cite("concur")],
        decide("include"),
      );
    if (current && state !== "excluded")
      act(
        "Exclude",
        "Exclude from the baseline",
        `Exclude ${id}: it leaves the baseline and stops matching altogether.`,
        "baseline.decide",
        `${base}/decisions`,
        [reasonField(), cite()],
        decide("exclude"),
      );
    if (v.state.inBaseline)
      act(
        "Retire",
        "Retire from the baseline",
        `Retire ${id}: it leaves the baseline but still matches in scope "all".`,
        "baseline.decide",
        `${base}/decisions`,
        [reasonField(), cite()],
        decide("retire"),
      );
    act(
      "Reverse",
      "Reverse the submission",
      `Reverse ${id} (e.g. an upheld complaint under TCO Art 10 or a court ruling). It stops matching at once and every platform that matched it is told.`,
      "submission.reverse",
      `${base}/reverse`,
      [
        {
          name: "ground",
          label: "Ground",
          type: "select",
          options: [
            ["complaint_upheld", "complaint upheld (TCO Art 10)"],
            ["court_ruling", "court ruling"],
            ["error", "error"],
            ["other", "other"],
          ],
        },
        reasonField(),
        { name: "reference", label: "Case or judgment reference (optional)", type: "text" },
      ],
      (x) => ({
        submissionId: id,
        ground: x.ground,
        reason: String(x.reason ?? "").trim(),
        ...(String(x.reference ?? "").trim() ? { reference: String(x.reference).trim() } : {}),
      }),
    );
  }
  if (s.role === "authority" && live) {
    if (v.submitter === s.participantId) {
      act(
        "Withdraw",
        "Withdraw your submission",
        `Withdraw ${id}. It stops matching at once; platforms that matched it see the withdrawal.`,
        "submission.withdraw",
        `${base}/withdraw`,
        [reasonField()],
        (x) => ({ submissionId: id, reason: String(x.reason ?? "").trim() }),
      );
    } else if (current) {
      for (const verdict of ["concur", "dissent"] as const) {
        act(
          verdict === "concur" ? "Concur" : "Dissent",
          verdict === "concur" ? "Concur" : "Dissent",
          `${verdict === "concur" ? "Concur with" : "Dissent from"} the assessment of ${id} as terrorist content. A later assessment of yours replaces this one.`,
          "assessment.create",
          `${base}/assessments`,
          assessFields(v, verdict),
          (x) => assessRecord(id, verdict, x),
        );
      }
    }
  }
  replace(
    $("entry-action-buttons"),
    buttons.length
      ? buttons
      : h("p", { class: "hint" }, "No actions for you on this entry in its current state."),
  );
  try {
    await entryCaseFiles(s, v);
  } catch (e) {
    replace($("entry-evidence-list"), h("p", { class: "error" }, String((e as Error).message)));
  }
}

export function assessFields(v: SubmissionView, verdict: "concur" | "dissent"): FieldSpec[] {
  return [
    {
      name: "limb",
      label: "TCO Art 2(7) limb",
      type: "select",
      options: TCO_LIMBS.map((l) => [l, `(${l})`] as [string, string]),
      value: v.limbs[0] ?? "a",
    },
    reasonField(verdict === "dissent" ? "Reason" : "Reason (optional)", verdict === "dissent"),
  ];
}

export function assessRecord(
  id: string,
  verdict: "concur" | "dissent",
  x: Record<string, string | string[]>,
) {
  const reason = String(x.reason ?? "").trim();
  return { submissionId: id, verdict, limb: x.limb, ...(reason ? { reason } : {}) };
}
