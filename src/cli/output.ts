/**
 * Presentation helpers: tables with fixed headers, `--json` documents, flag lines for usage texts.
 * Token values have two ways out, both when a value is issued and only then: showSecret(), which
 * puts the value alone on stdout (so `$(tessera auth create …)` captures just the value) and the
 * warning on stderr, and the `{"id", "value", …}` object of `--json` for create and rotate. They
 * are never written anywhere else: not to a log, not into a table, not into any other JSON.
 */
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { Role, TokenKind } from "../gen/tessera/v1/resources_pb.js";
import { bool, type Context, type Flags, type Options } from "./command.js";

/** Server text shown in a terminal: control characters could forge lines or move the cursor. */
export function clean(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, "?");
}

/** `--json` for a command that prints one result. */
export const JSON_OPTION: Options = { json: { type: "boolean" } };

/** `--json` and `--hide-headers` for a command that prints a table. */
export const LIST_OPTIONS: Options = { ...JSON_OPTION, "hide-headers": { type: "boolean" } };

/**
 * One flag of a usage text: the flag, then its description from column `width` on (each further
 * line of `text` indented to it), so that shared flags line up with each command's own.
 */
export function flagHelp(flag: string, text: string, width: number): string {
  const indent = " ".repeat(width);
  const [first = "", ...rest] = text.split("\n");
  const head = `  ${flag}`;
  const top = head.length < width - 1 ? `${head.padEnd(width)}${first}` : `${head}\n${indent}${first}`;
  return [top, ...rest.map((l) => `${indent}${l}`)].join("\n");
}

export const jsonUsage = (width = 20): string =>
  flagHelp("--json", "print the result as JSON (protobuf JSON mapping, camelCase names)", width);

export const listUsage = (width = 20): string =>
  [
    flagHelp("--json", "print a JSON array of objects (protobuf JSON mapping, camelCase names)", width),
    flagHelp("--hide-headers", "leave out the table's header line (for cut, awk and the like)", width),
  ].join("\n");

/** Pretty-printed JSON on stdout: one document, for jq or a script. */
export function printJson(ctx: Context, doc: unknown): void {
  ctx.out(JSON.stringify(doc, null, 2));
}

/**
 * A list as a table with fixed headers (the same columns whatever the rows), or without its
 * header line for `--hide-headers`; columns are as wide with or without it, and an empty list
 * with no header prints nothing at all.
 */
export function printTable(ctx: Context, flags: Flags, headers: string[], rows: string[][]): void {
  const lines = table(headers, rows).split("\n");
  const shown = bool(flags, "hide-headers") ? lines.slice(1) : lines;
  if (shown.length > 0) ctx.out(shown.join("\n"));
}

/** Left-aligned columns separated by two spaces. */
export function table(headers: string[], rows: string[][]): string {
  const widths = columnWidths(headers, rows);
  return [headers, ...rows].map((r) => tableRow(widths, r)).join("\n");
}

/** Each column's width: its widest cell, as table() prints it. */
export function columnWidths(headers: string[], rows: string[][]): number[] {
  const all = [headers, ...rows.map((r) => r.map(clean))];
  return headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
}

/** One line of a table with these column widths (rows printed one by one as they arrive). */
export function tableRow(widths: number[], cells: string[]): string {
  return cells
    .map(clean)
    .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
    .join("  ")
    .trimEnd();
}

/** A timestamp as ISO 8601 to the second, or "-" when unset. */
export function when(ts: Timestamp | undefined): string {
  if (ts === undefined) return "-";
  return timestampDate(ts)
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z");
}

export function kindName(k: TokenKind): string {
  return (TokenKind[k] ?? String(k)).toLowerCase().replaceAll("_", "-");
}

export function roleName(r: Role): string {
  return (Role[r] ?? String(r)).toLowerCase();
}

/** Prints a token value once: the value alone on stdout, the reminder on stderr. */
export function showSecret(ctx: Context, value: string): void {
  ctx.out(value);
  ctx.err("Store this value safely (a password manager or secret store): it is shown only once and cannot be retrieved again.");
}
