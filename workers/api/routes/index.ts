// Every resource router of the node, mounted at "/" by createApp(). Add a line per new resource.
import consolePages from "../../console/routes.tsx";
import apiCredentials from "./api-credentials.ts";
import audit from "./audit.ts";
import baseline from "./baseline.ts";
import evidence from "./evidence.ts";
import baselineExport from "./export.ts";
import federation from "./federation.ts";
import incidents from "./incidents.ts";
import log from "./log.ts";
import match from "./match.ts";
import meta from "./meta.ts";
import participants from "./participants.ts";
import reports from "./reports.ts";
import review from "./review.ts";
import signals from "./signals.ts";
import statements from "./statements.ts";
import stats from "./stats.ts";
import submissions from "./submissions.ts";
import taxii from "./taxii.ts";
import webhooks from "./webhooks.ts";

export const ROUTERS = [
  meta,
  participants,
  audit,
  submissions,
  baseline,
  match,
  review,
  signals,
  stats,
  consolePages,
  apiCredentials,
  baselineExport,
  taxii,
  log,
  federation,
  statements,
  reports,
  webhooks,
  evidence,
  incidents,
];
