// The banner every console page shows a signed-in participant while a crisis incident is active
// (docs/incidents.md): its title and when it ends, and what it means for the participant's role.
// Read from GET /v1/incidents?status=active with the participant's token (incidents are listed to
// participants only); the banner is a polite live region (layout.tsx), so it is announced once.
import type { IncidentList, IncidentView } from "@eusn/protocol";
import { get } from "./api.ts";
import { $, h, link, replace, when } from "./dom.ts";
import type { Session } from "./session.ts";

/** The incidents active now, for the page that needs them too (the submit form's tag). */
export async function activeIncidents(s: Session): Promise<IncidentView[]> {
  return (await get<IncidentList>(s, "/v1/incidents?status=active")).incidents;
}

function roleHint(s: Session): (Node | string)[] {
  if (s.role === "coordinator") return [" ", link("/console/incidents", "Open the incident page")];
  if (s.role === "authority")
    return [" You may tag submissions with it: ", link("/console/submit", "submit provisional hashes"), "."];
  return [" Its provisional entries match in scope baseline, labelled provisional."];
}

/** Shows (or hides) the banner for the incidents active now; answers them. */
export async function refreshIncidentBanner(s: Session | null): Promise<IncidentView[]> {
  const banner = $("incident-banner");
  if (!s) {
    banner.hidden = true;
    return [];
  }
  const active = await activeIncidents(s);
  if (active.length === 0) {
    replace(banner);
    banner.hidden = true;
    return active;
  }
  replace(
    banner,
    active.map((i) =>
      h(
        "p",
        { "data-incident-id": i.id },
        h("strong", {}, "Crisis incident active: "),
        h("span", { class: "incident-title" }, i.title),
        ` — until ${when(i.endsAt)}.`,
        roleHint(s),
      ),
    ),
  );
  banner.hidden = false;
  return active;
}
