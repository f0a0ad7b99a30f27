// The runnable parts of a guide: its `sh` blocks grouped by `##` section, in order, so a test can
// run each section as one bash script (test/helpers/cli-shell.ts) and check what it did.

/** The guide's sections that hold `sh` blocks, in order: heading → the blocks joined. */
export function shSections(markdown: string): { title: string; script: string }[] {
  const out: { title: string; script: string }[] = [];
  let title = "";
  let blocks: string[] = [];
  const flush = () => {
    if (blocks.length > 0) out.push({ title, script: blocks.join("\n") });
    blocks = [];
  };
  const re = /^## (.+)$|^```sh\n([\s\S]*?)^```$/gm;
  for (const m of markdown.matchAll(re)) {
    if (m[1] !== undefined) {
      flush();
      title = m[1];
    } else blocks.push(m[2]!);
  }
  flush();
  return out;
}
