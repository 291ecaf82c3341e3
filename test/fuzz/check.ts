/**
 * The whole check, as the mocha test and `npm run fuzz` both run it: the cases in two halves with
 * memory measured between them, each kind of failure replayed alone, then the probe on both ports
 * and the server log. The verdict keeps each finding apart, so the test can assert them one by one.
 */
import * as grpc from "@grpc/grpc-js";
// Not re-exported by the package root; needed to put grpc-js's own logger back after the run.
import { getLogger } from "@grpc/grpc-js/build/src/logging.js";
import { collectGarbage, probe, replayAlone, runFuzz, MiB, type FuzzReport, type Kind, type Seeded } from "./engine.js";
import { formatCounts, formatKinds, formatResults, internalErrorLogs, summarizeLogs } from "./report.js";
import type { Ports } from "./transport.js";

export interface CheckOptions {
  seed: number;
  count: number;
  concurrency: number;
  timeoutMs: number;
  /** RSS may grow at most this much from the end of the first half to the end of the second. */
  rssGrowthLimitBytes: number;
  /** Replay only these cases (memory is not judged then). */
  only?: number[];
  /** Keep examples of cases that got these codes. */
  show?: string[];
  onProgress?: (done: number) => void;
}

export interface Memory {
  rssAfterFirstHalf: number;
  rssAfterSecondHalf: number;
  heapAfterFirstHalf: number;
  heapAfterSecondHalf: number;
  /** Memory outside the JS heap (Buffers, native objects V8 knows of). */
  externalAfterFirstHalf: number;
  externalAfterSecondHalf: number;
}

export interface Verdict {
  seed: number;
  report: FuzzReport;
  /** Failed probes, one line each; empty when the server still answers on both ports. */
  probeProblems: string[];
  /** Internal errors the server logged during the run, grouped: [what, how many]. */
  internalLogs: Array<[string, number]>;
  memory: Memory | undefined;
  rssGrowthLimitBytes: number;
  /** How many lines grpc-js logged about the inputs (e.g. metadata it dropped); not a failure. */
  grpcLogLines: number;
  /** Everything that fails the run, one line each. */
  problems: string[];
  /** Counts by route and code, memory, probe, log: printed by the test whatever happens. */
  summary: string;
}

/** The failing kinds with any of `rules`. */
export function kindsWith(v: Verdict, rules: string[]): Kind[] {
  return v.report.kinds.filter((k) => k.first.violations.some((x) => rules.includes(x.rule)));
}

export function rssGrowth(m: Memory): number {
  return m.rssAfterSecondHalf - m.rssAfterFirstHalf;
}

/** Everything about the run in text: the summary, then each kind of failure with its input. */
export function fullText(v: Verdict): string {
  const parts = [v.summary];
  if (v.report.results !== undefined && v.report.results.length > 0) parts.push(formatResults(v.report));
  if (v.report.kinds.length > 0) parts.push(formatKinds(v.report.kinds, v.seed));
  parts.push(
    v.problems.length === 0 ? "fuzz: no problems" : ["fuzz: PROBLEMS (seed " + v.seed + ")", ...v.problems.map((p) => `- ${p}`)].join("\n"),
  );
  return parts.join("\n\n");
}

export async function fuzzAndCheck(server: { ports: Ports; logs: string[] }, seeded: Seeded, o: CheckOptions): Promise<Verdict> {
  // The server's grpc-js logs each metadata value it drops for illegal characters to stderr, and
  // the cases send plenty: count those lines instead of printing them.
  const grpcLogger = getLogger();
  let grpcLogLines = 0;
  grpc.setLogger({ error: () => void grpcLogLines++, info: () => undefined, debug: () => undefined });
  try {
    return await check(server, seeded, o, () => grpcLogLines);
  } finally {
    grpc.setLogger(grpcLogger);
  }
}

/**
 * The first half warms everything up (JIT, pools, caches, the server's bounded Verify cache), so
 * RSS growth across the second half, both measured after a full collection, is what inputs leak.
 */
async function check(
  server: { ports: Ports; logs: string[] },
  seeded: Seeded,
  o: CheckOptions,
  grpcLogLines: () => number,
): Promise<Verdict> {
  const base = {
    seed: o.seed,
    concurrency: o.concurrency,
    timeoutMs: o.timeoutMs,
    ports: server.ports,
    ctx: seeded.ctx,
    ...(o.show && { show: o.show }),
  };
  const progress = (offset: number) => (o.onProgress === undefined ? {} : { onProgress: (n: number) => o.onProgress!(offset + n) });
  const logsBefore = server.logs.length;
  let report: FuzzReport;
  let memory: Memory | undefined;
  if (o.only !== undefined) {
    report = await runFuzz({ ...base, count: o.only.length, only: o.only, ...progress(0) });
  } else {
    const half = Math.floor(o.count / 2);
    const first = await runFuzz({ ...base, count: half, from: 0, ...progress(0) });
    collectGarbage();
    const m1 = process.memoryUsage();
    const second = await runFuzz({ ...base, count: o.count - half, from: half, ...progress(half) });
    collectGarbage();
    const m2 = process.memoryUsage();
    memory = {
      rssAfterFirstHalf: m1.rss,
      rssAfterSecondHalf: m2.rss,
      heapAfterFirstHalf: m1.heapUsed,
      heapAfterSecondHalf: m2.heapUsed,
      externalAfterFirstHalf: m1.external,
      externalAfterSecondHalf: m2.external,
    };
    report = merge(first, second);
  }
  await replayAlone(report, base, server.logs);
  const probeProblems = await probe(server.ports, seeded.ctx.verifierToken, seeded.probe);
  const internal = internalErrorLogs(server.logs.slice(logsBefore));
  const internalLogs = summarizeLogs(internal);

  const problems: string[] = [];
  if (report.failures > 0) problems.push(`${report.failures} case(s) failed, ${report.kinds.length} kind(s): see above`);
  problems.push(...probeProblems);
  if (internal.length > 0) {
    problems.push(`${internal.length} internal error(s) in the server log, each with a stack:`);
    for (const [what, n] of internalLogs) problems.push(`  × ${n}  ${what}`);
  }
  if (memory !== undefined && rssGrowth(memory) > o.rssGrowthLimitBytes) {
    problems.push(
      `RSS grew by ${(rssGrowth(memory) / MiB).toFixed(1)} MiB over the second half (limit ${(o.rssGrowthLimitBytes / MiB).toFixed(0)} MiB)`,
    );
  }

  const mib = (n: number) => (n / MiB).toFixed(1);
  const summary = [
    `fuzz: seed ${o.seed}, ${report.count} cases in ${(report.elapsedMs / 1000).toFixed(1)} s, concurrency ${o.concurrency}; ${report.failures} failed, ${report.kinds.length} kind(s)`,
    formatCounts(report),
    ...(memory === undefined
      ? []
      : [
          `memory after a full GC, end of first half → end of second: RSS ${mib(memory.rssAfterFirstHalf)} → ${mib(memory.rssAfterSecondHalf)} MiB, ` +
            `heap ${mib(memory.heapAfterFirstHalf)} → ${mib(memory.heapAfterSecondHalf)} MiB, external ${mib(memory.externalAfterFirstHalf)} → ${mib(memory.externalAfterSecondHalf)} MiB`,
        ]),
    probeProblems.length === 0 ? "probe: Verify of a good token is VALID on both ports" : `probe: ${probeProblems.join("; ")}`,
    internal.length === 0 ? "server log: no internal errors" : `server log: ${internal.length} internal error(s)`,
    ...(grpcLogLines() > 0
      ? [`(grpc-js logged ${grpcLogLines()} error line(s) about the inputs, e.g. metadata values with illegal characters, which it drops)`]
      : []),
  ].join("\n");
  return {
    seed: o.seed,
    report,
    probeProblems,
    internalLogs,
    memory,
    rssGrowthLimitBytes: o.rssGrowthLimitBytes,
    grpcLogLines: grpcLogLines(),
    problems,
    summary,
  };
}

function merge(a: FuzzReport, b: FuzzReport): FuzzReport {
  const counts = new Map<string, Map<string, number>>();
  for (const r of [a, b]) {
    for (const [route, byCode] of r.counts) {
      let m = counts.get(route);
      if (m === undefined) counts.set(route, (m = new Map()));
      for (const [code, n] of byCode) m.set(code, (m.get(code) ?? 0) + n);
    }
  }
  const kinds = new Map<string, Kind>();
  for (const k of [...a.kinds, ...b.kinds]) {
    const e = kinds.get(k.signature);
    if (e === undefined) {
      kinds.set(k.signature, { ...k, routes: new Set(k.routes), methods: new Set(k.methods), codes: new Set(k.codes) });
      continue;
    }
    e.count += k.count;
    for (const c of k.codes) e.codes.add(c);
    for (const r of k.routes) e.routes.add(r);
    for (const m of k.methods) e.methods.add(m);
  }
  return {
    seed: a.seed,
    count: a.count + b.count,
    elapsedMs: a.elapsedMs + b.elapsedMs,
    counts,
    failures: a.failures + b.failures,
    kinds: [...kinds.values()].sort((x, y) => y.count - x.count),
    ...((a.results || b.results) && { results: [...(a.results ?? []), ...(b.results ?? [])] }),
  };
}
