/** @jsxImportSource hono/jsx */
// The statistics page's "Over time" section: a period selector (a GET form, so a period is a link
// that can be shared), one column chart per weekly series as accessible SVG (role="img" with a
// title and a description that states the figures), the same figures as one data table, and the
// CSV of GET /v1/stats/weekly for the same period.
import { WEEKLY_SERIES, WEEKLY_SERIES_LABELS, type WeeklySeriesName, type WeeklyStats } from "@eusn/protocol";
import type { FC } from "hono/jsx";

/** Presets of the period selector: the last N weeks up to today. */
export const PERIOD_PRESETS = [4, 12, 26, 52] as const;

/** A column chart of one weekly series: a column per week, labelled with its count. */
const WeeklyChart: FC<{ series: WeeklySeriesName; stats: WeeklyStats }> = ({ series, stats }) => {
  const id = `weekly-${series}`;
  const weeks = stats.weeks;
  const values = weeks.map((w) => w[series]);
  const max = Math.max(1, ...values);
  const total = values.reduce((a, b) => a + b, 0);
  const colW = Math.max(6, Math.min(40, Math.floor(520 / Math.max(1, weeks.length))));
  const width = Math.max(240, colW * weeks.length + 40);
  const plotH = 120;
  const height = plotH + 44;
  const busiest = weeks.reduce((b, w) => (w[series] > (b?.[series] ?? -1) ? w : b), weeks[0]);
  const desc = `${total} in ${weeks.length} week(s) from ${stats.from} to ${stats.to}${
    total > 0 && busiest ? `; most in the week of ${busiest.week} (${busiest[series]})` : ""
  }. Every figure is in the table below.`;
  const labelEvery = Math.ceil(weeks.length / 6);
  return (
    <figure class="chart weekly">
      <svg
        role="img"
        aria-labelledby={`${id}-title ${id}-desc`}
        viewBox={`0 0 ${width} ${height}`}
        width={width}
        height={height}
        id={id}
      >
        <title id={`${id}-title`}>{`${WEEKLY_SERIES_LABELS[series]} per week`}</title>
        <desc id={`${id}-desc`}>{desc}</desc>
        <line x1="20" y1={plotH + 4} x2={width - 10} y2={plotH + 4} stroke="#595959" stroke-width="1" />
        {weeks.map((w, i) => {
          const v = w[series];
          const h = Math.round((v / max) * (plotH - 18));
          const x = 20 + i * colW;
          return (
            <g>
              <rect x={x + 1} y={plotH + 4 - h} width={Math.max(2, colW - 2)} height={h} fill="#003399" />
              {v > 0 && colW >= 14 ? (
                <text x={x + colW / 2} y={plotH - h} text-anchor="middle" fill="#1a1a1a" font-size="11">
                  {String(v)}
                </text>
              ) : null}
              {i % labelEvery === 0 ? (
                <text x={x + 1} y={plotH + 20} fill="#1a1a1a" font-size="11">
                  {w.week.slice(5)}
                </text>
              ) : null}
            </g>
          );
        })}
        <text x="20" y={plotH + 38} fill="#333333" font-size="11">
          {`weeks from ${stats.from} (Mondays, UTC)`}
        </text>
      </svg>
      <figcaption>
        {WEEKLY_SERIES_LABELS[series]}: {total}
      </figcaption>
    </figure>
  );
};

export const WeeklySection: FC<{
  stats: WeeklyStats;
  error?: string | undefined;
  from: string;
  to: string;
}> = ({ stats, error, from, to }) => {
  const csv = `/v1/stats/weekly?${new URLSearchParams({ from: stats.from, to: stats.to, format: "csv" })}`;
  return (
    <section aria-labelledby="weekly-h" id="weekly">
      <h2 id="weekly-h">Over time</h2>
      <form method="get" action="/console/stats#weekly" class="filters" id="weekly-period">
        <fieldset class="inline">
          <legend>Reporting period</legend>
          <label>
            From <input type="date" name="from" value={from} />
          </label>{" "}
          <label>
            To <input type="date" name="to" value={to} />
          </label>{" "}
          <button type="submit">Show</button>
        </fieldset>
        <p>
          Last{" "}
          {PERIOD_PRESETS.map((n, i) => (
            <>
              {i > 0 ? ", " : ""}
              <a href={`/console/stats?weeks=${n}#weekly`}>{n} weeks</a>
            </>
          ))}
          .
        </p>
      </form>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      <p>
        Weeks {stats.from} to {stats.to} (ISO weeks, Monday to Sunday, UTC). The same figures as CSV:{" "}
        <a href={csv} id="weekly-csv">
          download
        </a>{" "}
        (<code>GET /v1/stats/weekly</code>).
      </p>
      <div class="charts">
        {WEEKLY_SERIES.map((s) => (
          <WeeklyChart series={s} stats={stats} />
        ))}
      </div>
      <div class="table">
        <table id="weekly-table">
          <caption>Activity per week</caption>
          <thead>
            <tr>
              <th scope="col">Week of</th>
              {WEEKLY_SERIES.map((s) => (
                <th scope="col">{WEEKLY_SERIES_LABELS[s]}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {stats.weeks.map((w) => (
              <tr>
                <th scope="row">{w.week}</th>
                {WEEKLY_SERIES.map((s) => (
                  <td>{String(w[s])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
};
