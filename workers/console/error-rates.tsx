/** @jsxImportSource hono/jsx */
// The measured error rates on the public statistics page: the baseline's false-positive rate with
// its Wilson 95 % interval, over all time and the last 90 days, then each reported entry's (unnamed,
// like every public figure). Where there are too few reports the cell says so instead of a rate.

import type { ErrorRate, ErrorRates } from "@eusn/protocol";
import type { FC } from "hono/jsx";

const Cells: FC<{ r: ErrorRate }> = ({ r }) => (
  <>
    <td>{r.reports}</td>
    <td>{r.truePositive}</td>
    <td>{r.falsePositive}</td>
    <td>{r.summary}</td>
  </>
);

const HEAD = ["Reports", "True positives", "False positives", "False-positive rate (95 % interval)"];

export const ErrorRatesSection: FC<{ rates: ErrorRates }> = ({ rates }) => (
  <section aria-labelledby="error-rates-h" id="error-rates">
    <h2 id="error-rates-h">Measured error rates</h2>
    <p>
      From platforms' live reports on what they matched: false positives over true and false positives, with
      the Wilson score interval (95 %). A rate is given from {rates.minReports} reports on; below that the
      figure says there are too few reports.
    </p>
    <table id="error-rates-baseline">
      <caption>The baseline as a whole (entries in it now)</caption>
      <thead>
        <tr>
          <th scope="col">Period</th>
          {HEAD.map((h) => (
            <th scope="col">{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        <tr>
          <th scope="row">All time</th>
          <Cells r={rates.baseline.allTime} />
        </tr>
        <tr>
          <th scope="row">Last 90 days</th>
          <Cells r={rates.baseline.last90Days} />
        </tr>
      </tbody>
    </table>
    <table id="error-rates-entries">
      <caption>
        Per entry, most reported first ({rates.entries.length} of {rates.entriesWithReports} entries with
        reports; entries are not named)
      </caption>
      <thead>
        <tr>
          <th scope="col">Entry</th>
          <th scope="col">State</th>
          {HEAD.map((h) => (
            <th scope="col">{h}, all time</th>
          ))}
          <th scope="col">False-positive rate, last 90 days</th>
        </tr>
      </thead>
      <tbody>
        {rates.entries.length === 0 ? (
          <tr>
            <td colspan={7}>No reports yet.</td>
          </tr>
        ) : null}
        {rates.entries.map((e, i) => (
          <tr>
            <th scope="row">{i + 1}</th>
            <td>{e.label}</td>
            <Cells r={e.allTime} />
            <td>{e.last90Days.summary}</td>
          </tr>
        ))}
      </tbody>
    </table>
  </section>
);
