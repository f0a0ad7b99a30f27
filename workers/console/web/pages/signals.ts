// Platform: migration-signal lookups. Filled in once the signals API is in (see docs/console.md).
import { $, h, replace } from "../dom.ts";
import type { Session } from "../session.ts";

export default function signals(s: Session | null) {
  if (!s) return;
  replace($("signals-body"), h("p", {}, "Signal lookups are not available in the console yet."));
}
