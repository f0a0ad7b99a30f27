// Hash lists for `eusn submit` and `eusn match`, read with the shared reader of @eusn/client
// (parseHashList): every value from the column named for it, or from the layout `eusn hash` wrote,
// never from a guessed position. Errors name the input and the line; nothing is sent when any
// row cannot be read.
import { type HashListRow, type HashListType, parseHashList } from "@eusn/client";
import { readInput } from "./credential.ts";
import { Failure } from "./output.ts";

export type InputRow = HashListRow & { where: string };

/** `FILE line N`, or `line N` for stdin. */
function whereOf(input: string, line: number): string {
  return input === "-" ? `line ${line}` : `${input} line ${line}`;
}

/**
 * Reads every input (files, or - for stdin). Throws a Failure listing the first problems when
 * any row cannot be read exactly; says on stderr when upper-case hex was folded to lower case.
 */
export async function readHashInputs(
  name: string,
  inputs: readonly string[],
  opts: { type: HashListType; column?: string },
): Promise<InputRow[]> {
  const rows: InputRow[] = [];
  const problems: string[] = [];
  let folded = 0;
  let firstFolded = "";
  for (const input of inputs) {
    const parsed = parseHashList(await readInput(input), {
      type: opts.type,
      ...(opts.column !== undefined ? { column: opts.column } : {}),
    });
    if (!parsed.ok) {
      for (const e of parsed.errors) problems.push(`${whereOf(input, e.line)}: ${e.message}`);
      continue;
    }
    if (parsed.folded.length > 0) {
      if (folded === 0) firstFolded = whereOf(input, parsed.folded[0]!);
      folded += parsed.folded.length;
    }
    for (const r of parsed.rows) rows.push({ ...r, where: whereOf(input, r.line) });
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 10).map((p) => `  ${p}`);
    if (problems.length > 10) shown.push(`  … and ${problems.length - 10} more`);
    throw new Failure(`cannot read the hash list; nothing was sent:\n${shown.join("\n")}`);
  }
  if (folded > 0) {
    process.stderr.write(
      `${name}: upper-case hex folded to lower case on ${folded} row(s) (first: ${firstFolded}); the network stores hex in lower case\n`,
    );
  }
  return rows;
}
