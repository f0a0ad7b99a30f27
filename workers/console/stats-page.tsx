/** @jsxImportSource hono/jsx */
// The public statistics page: the GET /v1/stats figures as key numbers, tables and two bar charts
// drawn as inline SVG on the server (no chart library, no script; presentation attributes only,
// so the strict CSP needs no inline styles). Each chart has a title, a description and a data
// table with the same numbers for screen readers and for copying into a report.

import { ENTRY_STATE_LABELS, ENTRY_STATES, type NodeStats, rateText, shownRate } from "@eusn/protocol";
import type { FC } from "hono/jsx";
import { ErrorRatesSection } from "./error-rates.tsx";

/** A false-positive rate as shown everywhere: with its sample, withheld below the minimum. */

type Bar = { label: string; value: number };

/** A horizontal bar chart; bars are scaled to the largest value, each labelled with its count. */
export const BarChart: FC<{ id: string; title: string; desc: string; bars: Bar[] }> = ({
  id,
  title,
  desc,
  bars,
}) => {
  const rowH = 26;
  const labelW = 56;
  const width = 560;
  const barMax = width - labelW - 60;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const height = Math.max(1, bars.length) * rowH + 8;
  return (
    <figure class="chart">
      <svg
        role="img"
        aria-labelledby={`${id}-title ${id}-desc`}
        viewBox={`0 0 ${width} ${height}`}
        width={width}
        height={height}
        id={id}
      >
        <title id={`${id}-title`}>{title}</title>
        <desc id={`${id}-desc`}>{desc}</desc>
        {bars.length === 0 ? (
          <text x="0" y="18" fill="#333333" font-size="14">
            No data yet
          </text>
        ) : null}
        {bars.map((b, i) => {
          const y = i * rowH + 4;
          const w = Math.round((b.value / max) * barMax);
          return (
            <g>
              <text x={labelW - 8} y={y + 16} text-anchor="end" fill="#1a1a1a" font-size="14">
                {b.label}
              </text>
              <rect
                x={labelW}
                y={y}
                width={Math.max(w, b.value > 0 ? 2 : 0)}
                height={rowH - 8}
                fill="#003399"
              />
              <text x={labelW + w + 6} y={y + 16} fill="#1a1a1a" font-size="14">
                {String(b.value)}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  );
};

const Figure: FC<{ label: string; value: string; detail?: string }> = ({ label, value, detail }) => (
  <div class="figure">
    <dt>{label}</dt>
    <dd>
      <span class="big">{value}</span>
      {detail ? <span class="detail">{detail}</span> : null}
    </dd>
  </div>
);

export const StatsBody: FC<{ stats: NodeStats }> = ({ stats: s }) => {
  // Every rate on the page is withheld below the node's one minimum (policy.minRateSample).
  const fpRate = (fp: number, tp: number) => shownRate(fp, tp + fp, s.policy.minRateSample);
  const byState = Object.entries(s.baseline.byMemberState)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([label, value]) => ({ label, value }));
  const byLimb = Object.entries(s.baseline.byLimb).map(([l, value]) => ({ label: `(${l})`, value }));
  return (
    <>
      <p>
        Public figures of node <code>{s.nodeId}</code> at {s.generatedAt} (baseline version{" "}
        {s.baselineVersion}). {s.note} Machine-readable: <a href="/v1/stats">/v1/stats</a>.
      </p>
      <section aria-labelledby="key-figures-h">
        <h2 id="key-figures-h">Key figures</h2>
        <dl class="figures">
          <Figure
            label="Baseline entries"
            value={String(s.baseline.total)}
            detail={`${s.baseline.included} included, ${s.baseline.disputed} disputed`}
          />
          <Figure
            label="Submissions"
            value={String(s.submissions.total)}
            detail={`${s.submissions.byStatus.live} live`}
          />
          <Figure
            label="Assessments (live)"
            value={String(s.assessments.concur + s.assessments.dissent)}
            detail={`${s.assessments.concur} concur, ${s.assessments.dissent} dissent`}
          />
          <Figure
            label="Disputes"
            value={String(s.disputes.open)}
            detail={`open now; ${s.disputes.raised} raised in all`}
          />
          <Figure
            label="Withdrawals and reversals"
            value={String(s.reversals.withdrawn + s.reversals.reversed)}
            detail={`${s.reversals.withdrawn} withdrawn, ${s.reversals.reversed} reversed`}
          />
          <Figure
            label="False-positive rate"
            value={(() => {
              const r = fpRate(s.feedback.falsePositive, s.feedback.truePositive);
              return r.value === null ? (r.withheld ? "withheld" : "—") : `${(r.value * 100).toFixed(1)} %`;
            })()}
            detail={`${rateText(fpRate(s.feedback.falsePositive, s.feedback.truePositive))}; on baseline entries ${rateText(fpRate(s.feedback.baseline.falsePositive, s.feedback.baseline.truePositive))}`}
          />
          <Figure
            label="Member states with an authority"
            value={String(s.participants.memberStatesWithAuthority)}
            detail={`quorum ${s.policy.quorum}`}
          />
          <Figure
            label="Match requests"
            value={String(s.matching.requests)}
            detail={`${s.matching.hashesQueried} hashes, ${s.matching.itemsMatched} matched`}
          />
        </dl>
      </section>
      <section aria-labelledby="charts-h">
        <h2 id="charts-h">Baseline entries</h2>
        <div class="charts">
          <BarChart
            id="chart-states"
            title="Baseline entries per originating member state"
            desc={
              byState.length > 0
                ? byState.map((b) => `${b.label}: ${b.value}`).join(", ")
                : "No baseline entries yet."
            }
            bars={byState}
          />
          <BarChart
            id="chart-limbs"
            title="Baseline entries per TCO Art 2(7) limb (an entry may cite several)"
            desc={byLimb.map((b) => `${b.label}: ${b.value}`).join(", ")}
            bars={byLimb}
          />
        </div>
      </section>
      <section aria-labelledby="states-h">
        <h2 id="states-h">Per member state</h2>
        <table id="stats-states">
          <caption>
            Submissions and baseline entries by originating member state; assessments by the assessing state;
            feedback on the state's entries.
          </caption>
          <thead>
            <tr>
              <th scope="col">State</th>
              <th scope="col">Submissions</th>
              <th scope="col">In baseline</th>
              <th scope="col">Withdrawn</th>
              <th scope="col">Reversed</th>
              <th scope="col">Concurrences given</th>
              <th scope="col">Dissents given</th>
              <th scope="col">True positives</th>
              <th scope="col">False positives</th>
              <th scope="col">FP rate</th>
            </tr>
          </thead>
          <tbody>
            {s.byMemberState.length === 0 ? (
              <tr>
                <td colspan={10}>No activity yet.</td>
              </tr>
            ) : null}
            {s.byMemberState.map((m) => (
              <tr>
                <th scope="row">{m.memberState}</th>
                <td>{m.submissions}</td>
                <td>{m.baselineEntries}</td>
                <td>{m.withdrawn}</td>
                <td>{m.reversed}</td>
                <td>{m.concurrences}</td>
                <td>{m.dissents}</td>
                <td>{m.truePositive}</td>
                <td>{m.falsePositive}</td>
                <td>{rateText(fpRate(m.falsePositive, m.truePositive))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section aria-labelledby="more-h">
        <h2 id="more-h">Decisions, reversals and feedback</h2>
        <div class="charts">
          <table>
            <caption>Coordinator decisions</caption>
            <tbody>
              <tr>
                <th scope="row">Included</th>
                <td>{s.decisions.include}</td>
              </tr>
              <tr>
                <th scope="row">Excluded</th>
                <td>{s.decisions.exclude}</td>
              </tr>
              <tr>
                <th scope="row">Retired</th>
                <td>{s.decisions.retire}</td>
              </tr>
              {Object.entries(s.reversals.byGround).map(([g, n]) => (
                <tr>
                  <th scope="row">Reversed: {g.replaceAll("_", " ")}</th>
                  <td>{n}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <table>
            <caption>Platform feedback (live reports)</caption>
            <tbody>
              <tr>
                <th scope="row">True positive</th>
                <td>{s.feedback.truePositive}</td>
              </tr>
              <tr>
                <th scope="row">False positive</th>
                <td>{s.feedback.falsePositive}</td>
              </tr>
              <tr>
                <th scope="row">Not actioned</th>
                <td>{s.feedback.notActioned}</td>
              </tr>
              <tr>
                <th scope="row">Entries flagged for review</th>
                <td>{s.feedback.flaggedEntries}</td>
              </tr>
            </tbody>
          </table>
          <table id="stats-entry-states">
            <caption>Entries by state (each counted once)</caption>
            <tbody>
              {ENTRY_STATES.map((k) => (
                <tr>
                  <th scope="row">{ENTRY_STATE_LABELS[k]}</th>
                  <td>{s.submissions.byState[k]}</td>
                </tr>
              ))}
              <tr>
                <th scope="row">{"low quality (PDQ < 50)"}</th>
                <td>{s.submissions.lowQuality}</td>
              </tr>
            </tbody>
          </table>
        </div>
      </section>
      <ErrorRatesSection rates={s.errorRates} />
    </>
  );
};
