// CSV as RFC 4180 defines it (CRLF line ends, fields with a comma, quote or line break quoted,
// quotes doubled), with one addition for files people open in spreadsheets: a text field that
// starts with =, +, -, @, a tab or a carriage return is prefixed with an apostrophe, so a value a
// participant chose (a content reference) is never run as a formula (OWASP "CSV Injection").

export type Cell = string | number | boolean | null | undefined;

function field(v: Cell): string {
  if (v === null || v === undefined) return "";
  if (typeof v !== "string") return String(v);
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** One CSV record, CRLF-terminated. */
export function csvLine(cells: readonly Cell[]): string {
  return `${cells.map(field).join(",")}\r\n`;
}

/** A whole CSV document: the header, then one line per row. */
export function csv(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  return csvLine(header) + rows.map(csvLine).join("");
}
