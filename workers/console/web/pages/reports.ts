// Authorities and coordinators: the TCO Art. 8 transparency report of a year, read from
// GET /v1/reports/tco with the session's own token, drawn as a chart per quarter and a table of every
// figure, each with the ids of the signed records it counts. CSV download and print.
import type { ParticipantView, TcoReport } from "@eusn/protocol";
import { get, getPublic, getText } from "../api.ts";
import { $, flash, h, replace } from "../dom.ts";
import type { Session } from "../session.ts";

const SVG = "http://www.w3.org/2000/svg";
const svg = (tag: string, attrs: Record<string, string | number>, text?: string) => {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
};

/** Appends (appendChild: the workers types give Element.append another signature). */
const add = (parent: Node, ...children: Node[]) => {
  for (const c of children) parent.appendChild(c);
};

/** The figures charted per quarter (the table has them all). */
const CHARTED = ["submitted", "included", "disputed", "reversed", "truePositive", "falsePositive"] as const;
const COLOURS = ["#003399", "#2e7d32", "#b26a00", "#b00020", "#4a6fa5", "#8e24aa"];

function chart(r: TcoReport): SVGSVGElement {
  const figs = r.figures.filter((f) => (CHARTED as readonly string[]).includes(f.key));
  const max = Math.max(1, ...figs.flatMap((f) => f.quarters.map((c) => c.value)));
  const width = 640;
  const height = 260;
  const left = 40;
  const bottom = 30;
  const groupW = (width - left) / 4;
  const barW = (groupW - 16) / figs.length;
  const root = svg("svg", {
    role: "img",
    viewBox: `0 0 ${width} ${height + 60}`,
    width,
    height: height + 60,
  });
  add(
    root,
    svg("title", {}, `${r.year}: ${figs.map((f) => f.label).join(", ")} per quarter`),
    svg(
      "desc",
      {},
      figs
        .map((f) => `${f.label}: ${f.quarters.map((c, i) => `Q${i + 1} ${c.value}`).join(", ")}`)
        .join("; "),
    ),
  );
  const plotH = height - bottom;
  add(root, svg("line", { x1: left, y1: plotH, x2: width, y2: plotH, stroke: "#333" }));
  add(root, svg("text", { x: left - 6, y: 14, "text-anchor": "end", "font-size": 12 }, String(max)));
  add(root, svg("text", { x: left - 6, y: plotH, "text-anchor": "end", "font-size": 12 }, "0"));
  for (let q = 0; q < 4; q++) {
    const x0 = left + q * groupW + 8;
    figs.forEach((f, i) => {
      const v = f.quarters[q]!.value;
      const hgt = Math.round((v / max) * (plotH - 16));
      add(
        root,
        svg("rect", {
          x: x0 + i * barW,
          y: plotH - hgt,
          width: Math.max(barW - 2, 1),
          height: hgt,
          fill: COLOURS[i]!,
        }),
      );
      if (v > 0)
        add(
          root,
          svg(
            "text",
            { x: x0 + i * barW + barW / 2, y: plotH - hgt - 3, "text-anchor": "middle", "font-size": 10 },
            String(v),
          ),
        );
    });
    add(
      root,
      svg(
        "text",
        { x: x0 + (groupW - 16) / 2, y: plotH + 18, "text-anchor": "middle", "font-size": 13 },
        `Q${q + 1}`,
      ),
    );
  }
  figs.forEach((f, i) => {
    const x = left + (i % 3) * 200;
    const y = height + 14 + Math.floor(i / 3) * 20;
    add(root, svg("rect", { x, y: y - 10, width: 12, height: 12, fill: COLOURS[i]! }));
    add(root, svg("text", { x: x + 18, y, "font-size": 12 }, f.label));
  });
  return root as SVGSVGElement;
}

function render(r: TcoReport) {
  const who = r.scope.authorityId
    ? `${r.scope.displayName ?? r.scope.authorityId} (${r.scope.memberState ?? "—"})`
    : r.scope.memberState
      ? `the competent authorities of ${r.scope.memberState}`
      : "every authority on this node";
  const counted = r.authorities.map((a) => `${a.displayName} (${a.memberState ?? "—"}, ${a.id})`).join("; ");
  const rows = r.figures.map((f) =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, f.label),
      f.quarters.map((c) => h("td", { class: "num" }, String(c.value))),
      h("td", { class: "num" }, String(f.total)),
      h(
        "td",
        {},
        f.total === 0
          ? "—"
          : h(
              "details",
              { class: "records" },
              h("summary", {}, `${new Set(f.quarters.flatMap((c) => c.records)).size} record(s)`),
              f.quarters.map((c, i) =>
                c.records.length
                  ? h(
                      "p",
                      {},
                      `Q${i + 1}: `,
                      c.records.map((id) => h("code", {}, id)),
                    )
                  : null,
              ),
            ),
      ),
    ),
  );
  const whole = r.period.from === `${r.year}-01-01` && r.period.to === `${r.year + 1}-01-01`;
  const when = whole ? String(r.year) : `${r.year}, ${r.period.from} to ${r.period.to} (exclusive)`;
  replace(
    $("report-body"),
    h("h2", {}, `${when} — ${who}`),
    h("p", {}, `Node ${r.nodeId}, generated ${r.generatedAt}. ${r.note}`),
    h("p", { id: "report-authorities" }, `Authorities counted: ${counted || "none on this node"}.`),
    h("div", { class: "report-charts" }, chart(r)),
    h(
      "table",
      { class: "report", id: "report-table" },
      h(
        "caption",
        {},
        "Figures per quarter (UTC); each lists the signed records it counts (GET /v1/records/{id}).",
      ),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Figure", "Q1", "Q2", "Q3", "Q4", whole ? "Year" : "Period", "Records"].map((x) =>
            h("th", { scope: "col" }, x),
          ),
        ),
      ),
      h("tbody", {}, rows),
    ),
  );
}

export default async function reports(s: Session | null) {
  if (!s) return;
  const year = $("report-year") as unknown as HTMLInputElement;
  const authority = $("report-authority") as unknown as HTMLSelectElement;
  const state = $("report-state") as unknown as HTMLSelectElement;
  const from = $("report-from") as unknown as HTMLInputElement;
  const to = $("report-to") as unknown as HTMLInputElement;
  if (s.role === "coordinator") {
    $("report-authority-label").hidden = false;
    $("report-state-label").hidden = false;
    const list = await getPublic<{ participants: ParticipantView[] }>("/v1/participants?role=authority");
    for (const p of list.participants)
      authority.appendChild(h("option", { value: p.id }, `${p.displayName} (${p.memberState ?? "—"})`));
    const states = [...new Set(list.participants.map((p) => p.memberState).filter((m) => m !== null))];
    for (const m of states.sort()) state.appendChild(h("option", { value: m }, m));
    // One authority or one member state: choosing one clears the other.
    authority.addEventListener("change", () => {
      if (authority.value) state.value = "";
    });
    state.addEventListener("change", () => {
      if (state.value) authority.value = "";
    });
  }
  const query = (format: "json" | "csv") => {
    const q = new URLSearchParams({ year: year.value, format });
    if (authority.value) q.set("authority", authority.value);
    else if (state.value) q.set("memberState", state.value);
    if (from.value) q.set("from", from.value);
    if (to.value) q.set("to", to.value);
    return `/v1/reports/tco?${q}`;
  };
  const load = async () => {
    try {
      render(await get<TcoReport>(s, query("json")));
      flash("");
    } catch (e) {
      flash(`Could not load the report: ${(e as Error).message}`, "error");
    }
  };
  $("report-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    void load();
  });
  $("report-print").addEventListener("click", () => window.print());
  $("report-csv").addEventListener("click", async () => {
    try {
      const csv = await getText(s, query("csv"));
      const url = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
      const named = authority.value || state.value;
      const a = h("a", { href: url, download: `tco-report-${year.value}${named ? `-${named}` : ""}.csv` });
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (e) {
      flash(`Could not download the CSV: ${(e as Error).message}`, "error");
    }
  });
  await load();
}
