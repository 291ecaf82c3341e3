/**
 * Summarizes a V8 .cpuprofile (node --cpu-prof): self time by function and by package, so the
 * report can say where a server's time goes. Also runnable: node dist/benchmarks/profile-summary.js <file> [top]
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: a package, Tessera's own source, Node's internals, or V8. */
function area(url: string, fn: string): string {
  if (url === "") return fn.startsWith("(") ? fn : "(native)";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith("node:"))
    return url
      .split("/")
      .slice(0, url.startsWith("node:internal/") ? 2 : 1)
      .join("/");
  const src = /\/dist\/(src\/[^/]+|benchmarks)\//.exec(url);
  if (src) return `tessera ${src[1]}`;
  return url;
}

export async function summarizeProfile(file: string, top = 25): Promise<string[]> {
  const p = JSON.parse(await readFile(file, "utf8")) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === "(idle)") {
      idle += us;
      continue;
    }
    total += us;
    const name =
      `${functionName || "(anonymous)"} ${url ? `${url.replace(/^.*\/(node_modules|dist)\//, "$1/")}:${lineNumber + 1}` : ""}`.trim();
    fns.set(name, (fns.get(name) ?? 0) + us);
    const a = area(url, functionName);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  // Inclusive time of Tessera's own functions: what each layer costs with everything it calls.
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  for (const [id, us] of self) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const { functionName, url, lineNumber } = byId.get(cur)!.callFrame;
      if (!/\/dist\/src\//.test(url)) continue;
      const name = `${functionName || "(anonymous)"} ${url.replace(/^.*\/dist\//, "")}:${lineNumber + 1}`;
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + us);
    }
  }
  const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
  const lines = [`busy ${(total / 1e6).toFixed(1)} s, idle ${(idle / 1e6).toFixed(1)} s; by area:`];
  for (const [a, us] of [...areas].sort((x, y) => y[1] - x[1]).slice(0, 12)) lines.push(`${pct(us)}  ${a}`);
  lines.push("by function (self time):");
  for (const [f, us] of [...fns].sort((x, y) => y[1] - x[1]).slice(0, top)) lines.push(`${pct(us)}  ${f}`);
  lines.push("Tessera functions, inclusive (with everything they call synchronously):");
  for (const [f, us] of [...inclusive].sort((x, y) => y[1] - x[1]).slice(0, 12)) lines.push(`${pct(us)}  ${f}`);
  return lines;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write("usage: node dist/benchmarks/profile-summary.js <file.cpuprofile> [top]\n");
    process.exit(2);
  }
  for (const line of await summarizeProfile(file, Number(top ?? 30))) process.stdout.write(line + "\n");
}
