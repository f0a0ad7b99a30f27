// Every resource router of the node, mounted at "/" by createApp(). Add a line per new resource.
import audit from "./audit.ts";
import meta from "./meta.ts";
import participants from "./participants.ts";

export const ROUTERS = [meta, participants, audit];
