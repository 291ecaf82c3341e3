/** Printing a fuzz report: counts by route and code, failures with their inputs in full. */
import { routeOf, type FuzzCase } from "./cases.js";
import type { FuzzReport, Kind } from "./engine.js";

/** Counts by route and code, as a table: what `npm run fuzz` prints and the test logs. */
export function formatCounts(report: FuzzReport): string {
  const codes = new Map<string, number>();
  for (const byCode of report.counts.values()) for (const [code, n] of byCode) codes.set(code, (codes.get(code) ?? 0) + n);
  const cols = [...codes.entries()].sort((a, b) => b[1] - a[1]).map(([c]) => c);
  const routes = [...report.counts.keys()].sort();
  const rows = [["route (listener:wire:protocol)", ...cols, "total"]];
  for (const r of routes) {
    const byCode = report.counts.get(r)!;
    let total = 0;
    for (const n of byCode.values()) total += n;
    rows.push([r, ...cols.map((c) => String(byCode.get(c) ?? "")), String(total)]);
  }
  rows.push(["all", ...cols.map((c) => String(codes.get(c))), String(report.count)]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")).join("\n");
}

/** A case in full: enough to see what was sent and to send it again by hand. */
function formatCase(c: FuzzCase, full = false): string {
  const cap = full ? Infinity : 512;
  const shown = (v: string) => (v.length > 200 && !full ? `${JSON.stringify(v.slice(0, 200))}… (${v.length} bytes)` : JSON.stringify(v));
  const hex =
    c.body.length > cap
      ? `${c.body.subarray(0, cap).toString("hex")}… (${c.body.length} bytes; --only ${c.index} prints all)`
      : c.body.toString("hex");
  return [
    `case ${c.index}: ${c.method} over ${routeOf(c)} (${c.httpMethod} ${c.path})`,
    `  made by: ${c.notes.join("; ")}`,
    ...c.headers.map(([k, v]) => `  header ${k}: ${shown(v)}`),
    `  body (${c.body.length} bytes, hex): ${hex}`,
  ].join("\n");
}

/** Every case of a replay in full, and what it got. */
export function formatResults(report: FuzzReport): string {
  return (report.results ?? [])
    .map(
      (r) =>
        `${formatCase(r.case, true)}\n  → ${r.outcome.code}${r.outcome.httpStatus !== undefined ? ` (HTTP ${r.outcome.httpStatus})` : ""} ${JSON.stringify(r.outcome.message)}`,
    )
    .join("\n\n");
}

/** Kinds of failure, each with its count, where it was seen, and its first case in full. */
export function formatKinds(kinds: Kind[], seed: number): string {
  const out = [`(replay a case alone: npm run fuzz -- --seed ${seed} --only <case>)`];
  for (const k of kinds) {
    out.push("");
    out.push(`× ${k.count}  ${k.signature}`);
    out.push(`  routes: ${[...k.routes].sort().join(", ")}; codes: ${[...k.codes].sort().join(", ")}`);
    out.push(`  ${k.methods.size} method(s): ${[...k.methods].sort().slice(0, 6).join(", ")}${k.methods.size > 6 ? ", …" : ""}`);
    for (const v of k.first.violations) out.push(`  ${v.rule}: ${v.detail.slice(0, 300)}`);
    if (k.alone !== undefined) {
      const same = k.alone.code === k.first.outcome.code;
      out.push(
        `  sent again alone: ${k.alone.code}${k.alone.message ? ` "${k.alone.message.slice(0, 120)}"` : ""}${same ? "" : " (differs: it failed beside other cases)"}`,
      );
    }
    for (const [what, n] of k.aloneLogs ?? []) out.push(`  server logged then: ${n > 1 ? `${n} × ` : ""}${what}`);
    out.push(formatCase(k.first.case).replace(/^/gm, "  "));
  }
  return out.join("\n");
}

/** Internal-error log lines grouped by RPC and error text. */
export function summarizeLogs(lines: string[]): Array<[string, number]> {
  const m = new Map<string, number>();
  for (const l of lines) {
    let key = l.slice(0, 200);
    try {
      const o = JSON.parse(l) as { rpc?: string; error?: unknown; name?: string };
      key = `${o.rpc ?? "?"}: ${o.name ?? ""} ${typeof o.error === "string" ? o.error : JSON.stringify(o.error)}`.slice(0, 300);
    } catch {
      // not JSON: keep the raw start
    }
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  return [...m.entries()].sort((a, b) => b[1] - a[1]);
}

/** Log lines a client input must never cause: internal errors (they carry the stack). */
export function internalErrorLogs(logs: string[]): string[] {
  return logs.filter((l) => l.includes('"rpc_internal_error"') || l.includes('"stack"'));
}
