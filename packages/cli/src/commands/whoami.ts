// `eusn whoami`: checks a key file against its node in one request (GET /v1/whoami verifies the
// token only with an active key of an active participant) and says who the key is. With --save,
// records what the node told (participant id, node id, URL) in the key file, so a file from
// `eusn keygen` becomes a complete one after admission.
import { whoami } from "@eusn/client";
import { Command } from "commander";
import { type CommonOpts, connect, must, networked, run, saveLearned, show } from "../output.ts";

const NAME = "eusn whoami";

export default function whoamiCommand(): Command {
  return networked(
    new Command("whoami")
      .description("who this key is on the node: participant, role, member state, keys; checks the key works")
      .option(
        "--save",
        "record the participant id, node id and URL learned from the node in the key file",
        false,
      ),
    ["eusn whoami --key me.key.json --node https://eusn.example.eu --save"],
  ).action(
    run(NAME, async (opts: CommonOpts & { save: boolean }) => {
      const loaded = await connect(NAME, { ...opts, json: true });
      const me = must(await whoami(loaded.client));
      const saved = opts.save ? await saveLearned(loaded) : {};
      show(opts, { ...me, baseUrl: loaded.client.baseUrl, keyFile: loaded.key.file, saved }, () => {
        const p = me.participant;
        const active = p.keys.filter((k) => k.status === "active").length;
        return [
          `${p.id}  ${p.role}${p.memberState ? ` ${p.memberState}` : ""}  ${p.displayName}  (${p.status})`,
          `node ${me.nodeId} at ${loaded.client.baseUrl}`,
          `signing key ${me.kid} (${active} active key${active === 1 ? "" : "s"}, ${p.keys.length - active} retired)`,
          ...(Object.keys(saved).length > 0
            ? [`saved ${Object.keys(saved).join(", ")} in ${loaded.key.file}`]
            : []),
          ...(!opts.save && Object.keys(loaded.learned).length > 0
            ? [
                `(the key file does not record ${Object.keys(loaded.learned).join(", ")}; --save records them)`,
              ]
            : []),
        ].join("\n");
      });
      return 0;
    }),
  );
}
