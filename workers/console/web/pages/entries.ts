// Coordinators and authorities: every entry on the node as one queue — filtered by state, flag,
// member state, limb, TLP, submitter and day, sorted, searched by id or hash prefix — a page at a
// time from the node. Open an entry for its signed history and the actions it allows.
import type { ParticipantView } from "@eusn/protocol";
import { getPublic } from "../api.ts";
import { queue } from "../queue.ts";
import type { Session } from "../session.ts";

export default async function entries(s: Session | null) {
  if (!s) return;
  const { participants: people } = await getPublic<{ participants: ParticipantView[] }>("/v1/participants");
  await queue(s, {
    host: "entries-table",
    caption: "Entries",
    base: { scope: "all" },
    sort: "newest",
    pageSize: 50,
    filters: ["search", "state", "flag", "memberState", "limb", "tlp", "submitter", "days"],
    empty: "No entry matches.",
    filtersOpen: true,
    people,
  }).reload();
}
