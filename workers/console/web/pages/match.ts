// Platform: match dropped images and MP4 videos (hashed here, PDQ and vPDQ; the content never
// leaves the machine) or pasted hashes against the baseline or every live submission, see each hit
// with its distance (a video's: both percentages and the matched time ranges), legal basis and
// baseline state, report the outcome (signed feedback), and see reversals of entries matched
// before.
import { DIHEDRAL_NAMES } from "@eusn/pdq";
import type { EntryStateView, ProvisionalLabel, VpdqFrame } from "@eusn/protocol";
import { get, postJson } from "../api.ts";
import { confirmWrite } from "../confirm.ts";
import { $, button, h, hashCell, replace, table, when } from "../dom.ts";
import { parseHashes } from "../hashes.ts";
import { hashImage, wireDrop } from "../images.ts";
import type { Session } from "../session.ts";
import { hashVideo, isVideoFile } from "../videos.ts";
import { entryStateBadges, stateBadge } from "./views.ts";

type Item = {
  type: "pdq" | "md5" | "sha256" | "vpdq";
  /** A video's hashed frames (vpdq; `value` then names it for the page only). */
  frames?: VpdqFrame[];
  value: string;
  dihedral?: string[];
  /** Variants pasted from `eusn hash --dihedral`: asked for explicitly, always matched. */
  pastedVariants?: boolean;
  source: string;
  quality?: number;
  /** The platform's own reference for the content, kept with the result when asked (file name, or a pasted line's label). */
  ref?: string;
};

// A file's name as the node's content reference: letters, digits, . _ - (anything else becomes
// "_"), starting with a letter or digit, at most 128; none when the name holds a hash value (a
// file named by its own MD5 would otherwise put that hash on the node).
const asRef = (s: string) => {
  const ref = s
    .replace(/[^A-Za-z0-9._-]+/g, "_")
    .replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, 128);
  return ref && !/[0-9a-f]{32,}/i.test(ref) ? ref : undefined;
};
type Hit = {
  submissionId: string;
  distance: number;
  variant: number;
  signalType: string;
  limbs: string[];
  legalBasis: { nationalProvision: string };
  memberState: string;
  baselineState: string;
  state: EntryStateView;
  assessments: { concurStates: string[]; dissenting: number };
  tlp: string | null;
  lowQuality: boolean;
  /** A crisis incident's provisional entry: its incident and when it lapses (null otherwise). */
  provisional: ProvisionalLabel | null;
  kind?: "hash" | "video" | "frame";
  video?: {
    queryMatchPercent: number;
    targetMatchPercent: number;
    queryRanges: { start: number; end: number }[];
    targetRanges: { start: number; end: number }[];
    frameCount: number;
    durationSeconds: number;
  };
  queryFrame?: { frameNumber: number; timestamp: number };
  entryFrame?: { frameNumber: number; timestamp: number };
};

const ranges = (rs: { start: number; end: number }[]) =>
  rs.map((r) => (r.start === r.end ? `${r.start} s` : `${r.start}–${r.end} s`)).join(", ") || "—";

/** A hit's distance column: a video's percentages and ranges, a frame's time, or the distance. */
function distanceCell(m: Hit): string {
  if (m.kind === "video" && m.video)
    return `video: ${m.video.queryMatchPercent.toFixed(2)} % of this video, ${m.video.targetMatchPercent.toFixed(2)} % of the entry's ${m.video.frameCount} frames (${m.video.durationSeconds} s); here ${ranges(m.video.queryRanges)}, in the entry ${ranges(m.video.targetRanges)}`;
  if (m.queryFrame) return `${m.distance} (frame at ${m.queryFrame.timestamp} s of this video)`;
  if (m.entryFrame) return `${m.distance} (the entry's frame at ${m.entryFrame.timestamp} s)`;
  return `${m.distance}${m.variant > 0 ? ` (${DIHEDRAL_NAMES[m.variant]})` : ""}`;
}
type MatchAnswer = {
  requestId: string;
  scope: string;
  threshold: number;
  baselineVersion: number;
  results: { index: number; matches: Hit[] }[];
  kept: number;
  advisory: string;
};
type Reversal = {
  submissionId: string;
  change: string;
  at: string;
  reason: string | null;
  ground: string | null;
  signalType: string;
  value: string;
};

export default async function match(s: Session | null) {
  if (!s) return;
  const items: Item[] = [];
  const notes: string[] = [];
  const box = $("match-items");
  const render = () =>
    replace(
      box,
      notes.length
        ? h(
            "ul",
            { class: "error" },
            notes.map((n) => h("li", {}, n)),
          )
        : null,
      table(
        `${items.length} hash(es) to match`,
        ["Source", "Type", "Hash", "Quality", ""],
        items.map((it, i) => [
          it.source,
          it.type,
          it.frames ? `${it.frames.length} frames` : hashCell(it.value),
          it.quality === undefined ? "—" : String(it.quality),
          button(
            "Remove",
            () => {
              items.splice(i, 1);
              render();
            },
            { "aria-label": `Remove ${it.value.slice(0, 12)}…` },
          ),
        ]),
        "No hashes yet: drop image files or paste hashes.",
      ),
    );

  wireDrop($("match-zone"), $("match-files") as unknown as HTMLInputElement, async (files) => {
    notes.length = 0;
    replace(box, h("p", { role: "status" }, `Hashing ${files.length} file(s) in this browser…`));
    for (const f of files) {
      try {
        if (isVideoFile(f)) {
          const v = await hashVideo(f, {
            progress: (done, total) => {
              if (done % 30 === 0 || done === total)
                replace(
                  box,
                  h("p", { role: "status" }, `Hashing ${f.name} in this browser: frame ${done} of ${total}…`),
                );
            },
          });
          if (v.frames.length === 0) throw new Error(`${f.name}: no frame was hashed`);
          items.push({
            type: "vpdq",
            value: v.file,
            frames: v.frames,
            source: `${v.file} (${v.width}×${v.height}, ${v.durationSeconds} s)`,
            ...(asRef(v.file) ? { ref: asRef(v.file)! } : {}),
          });
          continue;
        }
        const r = await hashImage(f);
        items.push({
          type: "pdq",
          value: r.pdq,
          dihedral: r.dihedral,
          quality: r.quality,
          source: `${r.file} (${r.width}×${r.height})`,
          ...(asRef(r.file) ? { ref: asRef(r.file)! } : {}),
        });
      } catch (e) {
        notes.push((e as Error).message);
      }
    }
    render();
  });
  $("match-paste-add").addEventListener("click", () => {
    const ta = $("match-paste-text") as unknown as HTMLTextAreaElement;
    const parsed = parseHashes(ta.value, "pdq");
    notes.length = 0;
    notes.push(...parsed.errors, ...parsed.notes);
    for (const p of parsed.items)
      items.push({
        type: p.signalType,
        value: p.value,
        source: p.label,
        ...(p.quality !== undefined ? { quality: p.quality } : {}),
        ...(p.dihedral ? { dihedral: p.dihedral, pastedVariants: true } : {}),
        ...(p.ref && asRef(p.ref) ? { ref: asRef(p.ref)! } : {}),
      });
    if (parsed.errors.length === 0) ta.value = "";
    render();
  });

  ($("match-form") as unknown as HTMLFormElement).addEventListener("submit", async (e) => {
    e.preventDefault();
    if (items.length === 0) {
      notes.length = 0;
      notes.push("Add at least one hash first.");
      render();
      return;
    }
    const scope = ($("match-scope") as unknown as HTMLSelectElement).value;
    const threshold = Number(($("match-threshold") as unknown as HTMLInputElement).value || 31);
    const dihedral = ($("match-dihedral") as unknown as HTMLInputElement).checked;
    const keep = ($("match-keep") as unknown as HTMLInputElement).checked;
    const out = $("match-results-body");
    replace(out, h("p", { role: "status" }, "Matching…"));
    const answer = await postJson<MatchAnswer>(s, "/v1/match", {
      scope,
      threshold,
      ...(keep ? { keep: true } : {}),
      items: items.map((it) => ({
        ...(it.type === "vpdq"
          ? { type: "vpdq" as const, frames: it.frames!, distance: threshold }
          : it.type === "pdq"
            ? {
                type: "pdq" as const,
                value: it.value,
                ...((dihedral || it.pastedVariants) && it.dihedral?.length ? { dihedral: it.dihedral } : {}),
              }
            : { type: it.type, value: it.value }),
        // The reference travels only when the results are to be kept with it.
        ...(keep && it.ref ? { ref: it.ref } : {}),
      })),
    });
    const hits = answer.results.reduce((a, r) => a + r.matches.length, 0);
    replace(
      out,
      h("p", { class: "advisory", role: "note" }, answer.advisory),
      h(
        "p",
        { id: "match-summary" },
        `${hits} match(es) for ${items.length} hash(es) — scope ${answer.scope}, threshold ${answer.threshold}, baseline version ${answer.baselineVersion}, request ${answer.requestId}.`,
        keep
          ? [
              " ",
              h("a", { href: "/console/review" }, `${answer.kept} result(s) kept in your review queue`),
              ".",
            ]
          : "",
      ),
      answer.results.map((r) => {
        const it = items[r.index]!;
        return h(
          "section",
          { class: "result", "aria-label": `Result for ${it.source}` },
          h(
            "h3",
            {},
            `${it.source}: `,
            it.frames ? `${it.frames.length} frame hashes` : h("code", { class: "hash" }, it.value),
          ),
          table(
            `Matches for ${it.source}`,
            ["Entry", "Distance", "State", "Origin", "Legal basis", "Assessments", "Outcome"],
            r.matches.map((m) => [
              h("code", {}, m.submissionId),
              distanceCell(m),
              [
                entryStateBadges(m.state),
                m.tlp ? ` TLP:${m.tlp.toUpperCase()}` : "",
                // A crisis incident's provisional entry: matched before any quorum, and until when.
                m.provisional
                  ? [
                      " ",
                      h(
                        "span",
                        { class: "badge b-provisional", "data-provisional": m.provisional.incidentId },
                        `provisional until ${when(m.provisional.lapsesAt)}`,
                      ),
                    ]
                  : "",
              ],
              m.memberState,
              `${m.limbs.map((l) => `(${l})`).join(" ")} ${m.legalBasis.nationalProvision}`,
              `${m.assessments.concurStates.join(", ")} concur${m.assessments.dissenting ? `, ${m.assessments.dissenting} dissent` : ""}`,
              button("Report outcome…", () => void reportOutcome(s, m.submissionId), {
                "aria-label": `Report outcome for ${m.submissionId}`,
              }),
            ]),
            "No match.",
          ),
        );
      }),
    );
  });
  render();

  const rev = await get<{ reversals: Reversal[] }>(s, "/v1/reversals?limit=200");
  replace(
    $("reversals-table"),
    table(
      "Reversals of entries you matched",
      ["When", "Entry", "Change", "Hash", "Reason"],
      rev.reversals.map((r) => [
        when(r.at),
        h("code", {}, r.submissionId),
        stateBadge(r.change),
        [h("span", { class: "type" }, r.signalType), " ", hashCell(r.value)],
        `${r.ground ? `${r.ground.replaceAll("_", " ")}: ` : ""}${r.reason ?? ""}`,
      ]),
      "None: nothing you matched was withdrawn, reversed or excluded.",
    ),
  );
}

/** The signed feedback on a matched entry, through the confirmation dialog; true when accepted. */
export async function reportOutcome(s: Session, submissionId: string): Promise<boolean> {
  const r = await confirmWrite(s, {
    title: "Report the match outcome",
    intro: `Tell the network what ${submissionId} turned out to be on your service. A later report of yours replaces this one; false positives put the entry up for coordinator review.`,
    kind: "feedback.create",
    path: `/v1/submissions/${encodeURIComponent(submissionId)}/feedback`,
    fields: [
      {
        name: "outcome",
        label: "Outcome",
        type: "select",
        options: [
          ["true_positive", "true positive (it was terrorist content)"],
          ["false_positive", "false positive (it was not)"],
          ["not_actioned", "not actioned"],
        ],
      },
      { name: "note", label: "Note (optional)", type: "textarea" },
    ],
    record: (x) => ({
      submissionId,
      outcome: x.outcome,
      ...(String(x.note ?? "").trim() ? { note: String(x.note).trim() } : {}),
    }),
  });
  return r !== null;
}
