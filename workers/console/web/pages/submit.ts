// Authority: submit hashes. Image files dropped on the page are decoded and PDQ-hashed here, MP4
// videos decoded and vPDQ-hashed here (web/videos.ts; the content never leaves the machine);
// hashes can also be pasted. One legal basis covers the batch, which is signed as one
// submission.create record after confirmation.
import {
  type IncidentView,
  MAX_BATCH,
  MIN_PDQ_QUALITY,
  PROVISIONAL_MAX_HOURS,
  type SubmitResult,
  type VpdqFrame,
  vpdqDigest,
} from "@eusn/protocol";
import { confirmWrite } from "../confirm.ts";
import { $, button, type Child, entryLink, formValues, h, hashCell, replace, table, when } from "../dom.ts";
import { parseHashes, type SignalType } from "../hashes.ts";
import { hashImage, wireDrop } from "../images.ts";
import { activeIncidents } from "../incident-banner.ts";
import type { Session } from "../session.ts";
import { hashVideo, isVideoFile } from "../videos.ts";

type Item = {
  signalType: SignalType | "vpdq";
  value: string;
  quality?: number;
  source: string;
  /** A video entry's frames (vpdq). */
  video?: { frameCount: number; durationSeconds: number; frames: VpdqFrame[] };
};

/** A video's frames in the batch table: how many, how many count (quality ≥ 50), its duration. */
const videoCell = (v: NonNullable<Item["video"]>) => {
  const good = v.frames.filter((f) => f[1] >= MIN_PDQ_QUALITY).length;
  return h(
    "span",
    { class: good === 0 ? "warn" : "", "data-video-frames": String(v.frameCount) },
    `${v.frameCount} frames, ${good} of quality ≥ ${MIN_PDQ_QUALITY}, ${v.durationSeconds} s`,
    good === 0 ? " (none counts: refused unless forced)" : "",
  );
};
type SubmitAnswer = SubmitResult;

const FIELD_NAMES: Record<string, string> = {
  limbs: "limbs",
  contentType: "content type",
  nationalProvision: "national provision",
  tlp: "TLP",
  expiresAt: "expiry",
  note: "note",
};
const labelValue = (field: string, v: string | string[] | null) =>
  v === null
    ? "none"
    : Array.isArray(v)
      ? v.map((l) => `(${l})`).join(" ")
      : field === "tlp"
        ? `TLP:${v.toUpperCase()}`
        : v;

/** What a repeat of an already submitted hash would have changed, and that it did not. */
function outcomeCell(x: SubmitResult["submissions"][number]): Child {
  const base = `${x.outcome}${x.lowQuality ? " (low quality)" : ""}`;
  if (!x.labelsDiffer?.length) return base;
  return h(
    "div",
    { class: "warn", "data-labels-differ": "1" },
    h("strong", {}, `${base}: submitted before with other labels, which stand.`),
    h(
      "ul",
      {},
      x.labelsDiffer.map((d) =>
        h(
          "li",
          {},
          `${FIELD_NAMES[d.field] ?? d.field}: stored ${labelValue(d.field, d.stored)}, you sent ${labelValue(d.field, d.sent)}`,
        ),
      ),
    ),
    "Nothing about the entry changed. To change its legal basis, withdraw it and submit it again.",
  );
}

/**
 * While a crisis incident is active, the batch may be tagged with it (docs/incidents.md): its
 * entries are then provisional — they match at once, labelled so, and lapse at the incident's end
 * or 72 h after submission unless included first. No incident is chosen for the authority.
 */
async function offerIncidents(s: Session): Promise<IncidentView[]> {
  const box = $("submit-incident");
  const active = await activeIncidents(s).catch(() => [] as IncidentView[]);
  if (active.length === 0) {
    box.hidden = true;
    return active;
  }
  replace(
    box,
    h("legend", {}, "Crisis incident"),
    h(
      "label",
      { for: "submit-incident-select" },
      "Tag this batch with an active incident ",
      h(
        "select",
        { id: "submit-incident-select", name: "incidentId", "aria-describedby": "submit-incident-help" },
        h("option", { value: "" }, "none: a normal submission"),
        active.map((i) => h("option", { value: i.id }, `${i.title} (until ${when(i.endsAt)})`)),
      ),
    ),
    h(
      "p",
      { class: "hint", id: "submit-incident-help" },
      `A tagged batch is provisional: its hashes match at once, in scope baseline too, labelled provisional, before any assessment; they lapse at the incident's end or ${PROVISIONAL_MAX_HOURS} h after submission unless the normal rules include them first.`,
    ),
  );
  box.hidden = false;
  return active;
}

export default async function submit(s: Session | null) {
  if (!s) return;
  const incidents = await offerIncidents(s);
  const items: Item[] = [];
  const notes: string[] = [];
  const box = $("submit-items");

  const render = () => {
    replace(
      box,
      notes.length
        ? h(
            "ul",
            { class: "error", id: "submit-notes" },
            notes.map((n) => h("li", {}, n)),
          )
        : null,
      table(
        `${items.length} hash(es) ready to submit`,
        ["Source", "Type", "Hash", "Quality", ""],
        items.map((it, i) => [
          it.source,
          it.signalType,
          hashCell(it.value),
          it.video
            ? videoCell(it.video)
            : it.quality === undefined
              ? "—"
              : h(
                  "span",
                  { class: it.quality < MIN_PDQ_QUALITY ? "warn" : "" },
                  String(it.quality),
                  it.quality < MIN_PDQ_QUALITY ? " (below 50: refused unless forced)" : "",
                ),
          button(
            "Remove",
            () => {
              items.splice(i, 1);
              render();
            },
            { "aria-label": `Remove ${it.signalType} ${it.value.slice(0, 12)}… from the batch` },
          ),
        ]),
        "No hashes yet: drop image files or paste hashes.",
      ),
    );
  };
  const add = (it: Item) => {
    if (items.some((x) => x.signalType === it.signalType && x.value === it.value)) {
      notes.push(`${it.source}: the same ${it.signalType} hash is already in the batch`);
      return;
    }
    items.push(it);
  };

  wireDrop($("submit-zone"), $("submit-files") as unknown as HTMLInputElement, async (files) => {
    notes.length = 0;
    replace(box, h("p", { role: "status" }, `Hashing ${files.length} file(s) in this browser…`));
    const withSha = ($("submit-sha256") as HTMLInputElement).checked;
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
          add({
            signalType: "vpdq",
            value: await vpdqDigest(v.frames),
            source: `${v.file} (${v.width}×${v.height}, ${v.decoded} frames at ${v.frameRate.toFixed(2)} fps)`,
            video: {
              frameCount: v.frames.length,
              durationSeconds: Math.max(v.durationSeconds, v.frames.at(-1)![3]),
              frames: v.frames,
            },
          });
          continue;
        }
        const r = await hashImage(f);
        add({
          signalType: "pdq",
          value: r.pdq,
          quality: r.quality,
          source: `${r.file} (${r.width}×${r.height})`,
        });
        if (withSha) add({ signalType: "sha256", value: r.sha256, source: r.file });
      } catch (e) {
        notes.push((e as Error).message);
      }
    }
    render();
  });

  $("submit-paste-add").addEventListener("click", () => {
    const ta = $("submit-paste-text") as unknown as HTMLTextAreaElement;
    const parsed = parseHashes(ta.value, "sha256");
    notes.length = 0;
    notes.push(...parsed.errors, ...parsed.notes);
    for (const p of parsed.items)
      add({
        signalType: p.signalType,
        value: p.value,
        source: p.label,
        ...(p.quality !== undefined ? { quality: p.quality } : {}),
      });
    if (parsed.errors.length === 0) ta.value = "";
    render();
  });

  const form = $("submit-form") as unknown as HTMLFormElement;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    notes.length = 0;
    if (items.length === 0) notes.push("Add at least one hash first.");
    if (items.length > MAX_BATCH) notes.push(`At most ${MAX_BATCH} hashes per submission.`);
    const v = formValues(form);
    const limbs = (v.limbs as string[]) ?? [];
    if (limbs.length === 0) notes.push("Choose at least one TCO limb.");
    if (String(v.nationalProvision ?? "").trim().length < 2)
      notes.push("Name the national provision relied on.");
    if (notes.length) {
      render();
      return;
    }
    const common = {
      limbs,
      contentType: v.contentType,
      nationalProvision: String(v.nationalProvision).trim(),
      ...(v.tlp ? { tlp: v.tlp } : {}),
      ...(v.expiresOn ? { expiresAt: `${v.expiresOn}T23:59:59Z` } : {}),
      ...(String(v.note ?? "").trim() ? { note: String(v.note).trim() } : {}),
    };
    const incident = incidents.find((i) => i.id === v.incidentId);
    const record = {
      ...(incident ? { incidentId: incident.id } : {}),
      items: items.map((it) => ({
        signalType: it.signalType,
        value: it.value,
        ...(it.signalType === "pdq" ? { quality: it.quality } : {}),
        ...(it.signalType === "pdq" && v.force === true && (it.quality ?? 0) < MIN_PDQ_QUALITY
          ? { force: true }
          : {}),
        ...(it.video ? { video: it.video } : {}),
        ...(it.video && v.force === true && !it.video.frames.some((f) => f[1] >= MIN_PDQ_QUALITY)
          ? { force: true }
          : {}),
        ...common,
      })),
    };
    const r = await confirmWrite<SubmitAnswer>(s, {
      title: incident ? `Submit ${items.length} provisional hash(es)` : `Submit ${items.length} hash(es)`,
      intro: `Signed by ${s.displayName} (${s.memberState}) as one record. Legal basis: TCO Art 2(7) ${limbs.map((l) => `(${l})`).join(" ")}, ${common.nationalProvision}${v.tlp ? `, TLP:${String(v.tlp).toUpperCase()}` : ""}.${incident ? ` Provisional, tagged with the crisis incident “${incident.title}”: they match at once and lapse by ${when(incident.endsAt)} at the latest unless included first.` : ""}`,
      kind: "submission.create",
      path: "/v1/submissions",
      record: () => record,
    });
    if (!r) return;
    const differ = r.data.submissions.filter((x) => x.labelsDiffer?.length).length;
    replace(
      $("submit-results-table"),
      incident
        ? h(
            "p",
            { class: "notice", id: "submit-provisional" },
            `Provisional entries of the crisis incident “${incident.title}”: they match at once, labelled provisional, until ${when(incident.endsAt)} at the latest unless included first.`,
          )
        : null,
      differ > 0
        ? h(
            "p",
            { class: "notice", role: "alert", id: "submit-relabel-warning" },
            `${differ} hash(es) had been submitted before with other labels: the stored labels stand and nothing about those entries changed (details below).`,
          )
        : null,
      table(
        `${r.data.submissions.length} hash(es) answered`,
        ["Entry", "Type", "Hash", "Outcome", "Linked to other authorities' entries"],
        r.data.submissions.map((x) => [
          [
            entryLink(x.id),
            h("br"),
            h(
              "a",
              {
                href: `/console/entries/${encodeURIComponent(x.id)}#entry-evidence`,
                "aria-label": `Attach a case file to ${x.id}`,
              },
              "attach a case file",
            ),
          ],
          x.signalType,
          hashCell(x.value),
          outcomeCell(x),
          x.linked.length ? x.linked.map((l) => [entryLink(l), " "]) : "—",
        ]),
      ),
    );
    items.length = 0;
    render();
  });
  render();
}
