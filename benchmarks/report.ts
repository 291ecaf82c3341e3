/** The closing table on stdout and the JSON file. */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";

export interface Figure {
  id: string;
  figure: string;
  /** Display strings; numbers are in `data`. */
  value: string;
  baseline: string;
  ratio: string;
  goal: string;
  /** true/false against the goal; null when the figure is informational or was not measured. */
  pass: boolean | null;
  data?: Record<string, unknown>;
}

export function printTable(figures: Figure[], out: (line: string) => void): void {
  const head = ["figure", "value", "baseline", "ratio", "goal", "result"];
  const rows = figures.map((f) => [f.figure, f.value, f.baseline, f.ratio, f.goal, f.pass === null ? "—" : f.pass ? "PASS" : "FAIL"]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join(" | ")
      .trimEnd();
  out(line(head));
  out(widths.map((w) => "-".repeat(w)).join("-|-"));
  for (const r of rows) out(line(r));
}

export async function writeJson(file: string, doc: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(doc, null, 2) + "\n");
}

export const fmt = {
  rps: (n: number) => (Number.isFinite(n) ? `${Math.round(n).toLocaleString("en-US")}/s` : "n/a"),
  ms: (us: number) => (Number.isFinite(us) ? `${(us / 1000).toFixed(2)} ms` : "n/a"),
  ratio: (r: number) => (Number.isFinite(r) ? r.toFixed(2) : "n/a"),
  mib: (b: number) => `${(b / 1048576).toFixed(0)} MiB`,
  us: (n: number) => (Number.isFinite(n) ? `${n.toFixed(1)} µs` : "n/a"),
};
