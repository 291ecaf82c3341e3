/**
 * The benchmark suite (issue 4): `npm run bench` (full) or `npm run bench -- --quick` (< 2 min).
 *
 * Starts everything it needs — an embedded PostgreSQL in a temp dir, Tessera instances and a
 * no-op grpc-js baseline in child processes (server-main.ts), a raw `pg` child — finds or installs
 * h2load, and measures each figure beside its baseline in the same run: a warm-up, then several
 * interleaved repetitions (baseline, tessera, baseline, tessera, …), reported as median and range.
 * Prints a table and writes benchmarks/results/latest.json. Everything it started is stopped at
 * the end, on error, on Ctrl-C, and when the watchdog fires.
 *
 * Flags: --quick, --profile (V8 CPU profiles of the servers during the cached, uncached and
 *        many-token series, summarized at the end and kept in benchmarks/results/; profiling
 *        slows what it watches, so take figures from a run without it),
 *        --reps N, --duration S (seconds per repetition), --big-tokens N.
 */
import { fork } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { toBinary } from "@bufbuild/protobuf";
import pg from "pg";
import { createKeyring, newKey } from "../src/domain/digest.js";
import { randomBytes } from "node:crypto";
import { Authorization, CheckResponseSchema } from "../src/gen/envoy/service/auth/v3/external_auth_pb.js";
import { generateToken, isWellFormedToken } from "../src/domain/token-format.js";
import { EndpointClass, TokenKind } from "../src/gen/tessera/v1/resources_pb.js";
import { TokenAdminService } from "../src/gen/tessera/v1/token_admin_service_pb.js";
import {
  TokenVerifyService,
  VerifyResponseSchema,
  VerifyStatus,
  type VerifyResponse,
} from "../src/gen/tessera/v1/token_verify_service_pb.js";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../src/store/embedded.js";
import { migrate } from "../src/store/migrate.js";
import { withDatabase } from "../src/store/roles.js";
import { createGrpcClient } from "../src/wire/grpc-client.js";
import { forkChild, killAllChildren, spawnServe, type Child, type ServeChild } from "./children.js";
import { insertTokens, setupInstance, type Instance } from "./dataset.js";
import { CHECK_PATH, VERIFY_PATH, checkBody, statusName, verifyBody } from "./grpc-body.js";
import { findH2load, h2loadVersion, runH2load } from "./h2load.js";
import { runHttp2Load, type Http2LoadResult } from "./http2-load.js";
import { summarizeProfile } from "./profile-summary.js";
import type { CacheOverrides, ChildStats } from "./protocol.js";
import { fmt, printTable, writeJson, type Figure } from "./report.js";
import { medianPercentiles, percentiles, summarize, type Percentiles, type Summary } from "./stats.js";
import type { WorkerClientRate } from "./worker-client-rate.js";

// ---------------------------------------------------------------- options

interface Options {
  quick: boolean;
  profile: boolean;
  reps: number;
  durationS: number;
  warmupS: number;
  smallOrgs: number;
  smallTokensPerOrg: number;
  bigOrgs: number;
  bigTokensPerOrg: number;
  watchdogMs: number;
  /** Sections to run (cached, extauthz, flood, uncached, worker, workers, many); all by default. */
  only: Set<string> | undefined;
  /** Extra node flags for the Tessera children (--tessera-node-flags "--max-semi-space-size=64"). */
  tesseraNodeFlags: string[];
}

function parseOptions(argv: string[]): Options {
  const flag = (name: string): string | undefined => {
    const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i < 0) return undefined;
    const a = argv[i]!;
    return a.includes("=") ? a.slice(a.indexOf("=") + 1) : (argv[i + 1] ?? "");
  };
  const quick = argv.includes("--quick");
  const bigTokens = Number(flag("big-tokens") ?? (quick ? 20_000 : 1_000_000));
  const bigTokensPerOrg = 100;
  return {
    quick,
    profile: argv.includes("--profile"),
    reps: Number(flag("reps") ?? (quick ? 3 : 5)),
    durationS: Number(flag("duration") ?? (quick ? 1 : 4)),
    warmupS: quick ? 1 : 2,
    smallOrgs: 10,
    smallTokensPerOrg: 100,
    bigOrgs: Math.max(1, Math.round(bigTokens / bigTokensPerOrg)),
    bigTokensPerOrg,
    watchdogMs: quick ? 5 * 60_000 : 30 * 60_000,
    only: flag("only") === undefined ? undefined : new Set(flag("only")!.split(",")),
    tesseraNodeFlags: (flag("tessera-node-flags") ?? "").split(" ").filter((f) => f !== ""),
  };
}

// ---------------------------------------------------------------- output

const say = (line: string) => process.stdout.write(line + "\n");
const t00 = Date.now();
const step = (line: string) => say(`# [${((Date.now() - t00) / 1000).toFixed(0).padStart(3)}s] ${line}`);

// ---------------------------------------------------------------- measurements

/** One measured repetition against one server. */
interface Sample {
  rps: number;
  latencyUs: Percentiles;
  /** Server (or pg child) CPU time per completed request. */
  cpuUsPerReq: number;
  /** Verify database round trips per request (onQuery; concurrent misses share one); NaN where not applicable. */
  queriesPerReq: number;
  /** Verify cache misses per request, where the server reports them. */
  missesPerReq?: number;
  /** Of the CPU, the kernel's share (µs per request), and page faults per request, where the server reports them. */
  sysUsPerReq?: number;
  faultsPerReq?: number;
  /** The server's main-thread GC pauses per request (µs), and how many full GCs ran, where it reports them. */
  gcUsPerReq?: number;
  majorGcMs?: number;
  requests: number;
  outcomes?: Record<string, number>;
}

interface SeriesSummary {
  label: string;
  rps: Summary;
  latencyUs: Percentiles;
  cpuUsPerReq: Summary;
  queriesPerReq: Summary;
  requests: number;
  outcomes: Record<string, number>;
  samples: Sample[];
}

function summarizeSeries(label: string, samples: Sample[]): SeriesSummary {
  const outcomes: Record<string, number> = {};
  for (const s of samples) for (const [k, v] of Object.entries(s.outcomes ?? {})) outcomes[k] = (outcomes[k] ?? 0) + v;
  return {
    label,
    rps: summarize(samples.map((s) => s.rps)),
    latencyUs: medianPercentiles(samples.map((s) => s.latencyUs)),
    cpuUsPerReq: summarize(samples.map((s) => s.cpuUsPerReq)),
    queriesPerReq: summarize(samples.map((s) => s.queriesPerReq)),
    requests: samples.reduce((n, s) => n + s.requests, 0),
    outcomes,
    samples,
  };
}

function describe(s: SeriesSummary): string {
  const l = s.latencyUs;
  return (
    `${s.label}: ${fmt.rps(s.rps.median)} [${fmt.rps(s.rps.min)}–${fmt.rps(s.rps.max)}]` +
    ` p50 ${fmt.ms(l.p50)} p90 ${fmt.ms(l.p90)} p99 ${fmt.ms(l.p99)} p999 ${fmt.ms(l.p999)}` +
    ` cpu ${fmt.us(s.cpuUsPerReq.median)}/req` +
    (Number.isFinite(s.queriesPerReq.median) ? ` queries/req ${s.queriesPerReq.median.toFixed(4)}` : "")
  );
}

const cpuUs = (a: ChildStats, b: ChildStats) => b.cpuUserUs + b.cpuSystemUs - (a.cpuUserUs + a.cpuSystemUs);

/** What a server child spent per completed request between two of its reports. */
function serverCosts(
  s0: ChildStats,
  s1: ChildStats,
  requests: number,
): Pick<Sample, "cpuUsPerReq" | "sysUsPerReq" | "faultsPerReq" | "gcUsPerReq" | "majorGcMs"> {
  return {
    cpuUsPerReq: cpuUs(s0, s1) / requests,
    sysUsPerReq: (s1.cpuSystemUs - s0.cpuSystemUs) / requests,
    faultsPerReq: (s1.minorPageFaults + s1.majorPageFaults - s0.minorPageFaults - s0.majorPageFaults) / requests,
    gcUsPerReq: ((s1.gcPauseMs - s0.gcPauseMs) * 1000) / requests,
    majorGcMs: s1.gcMajorPauseMs - s0.gcMajorPauseMs,
  };
}

/** h2load sending a prebuilt Verify body (`bodyFile`) to `port`, authorized by the benchmark's verifier. */
function h2loadVerify(
  ctx: Context,
  o: { port: number; bodyFile: string; verifierToken: string; conns: number; perConn: number; durationS: number; logName: string },
) {
  return runH2load(ctx.h2load, {
    port: o.port,
    path: VERIFY_PATH,
    bodyFile: o.bodyFile,
    authorization: `Bearer ${o.verifierToken}`,
    connections: o.conns,
    streamsPerConnection: o.perConn,
    durationS: o.durationS,
    logFile: path.join(ctx.tmp, o.logName),
  });
}

/**
 * Runs warm-ups once, then `reps` rounds of every arm; returns each arm's samples. Rounds go
 * forward and backward in turn (A B, B A, A B, …) so a drift in the machine's speed during the
 * run weighs on every arm alike, and arms listed next to each other are always measured
 * back to back: see pairedRatio.
 */
async function interleaved(
  reps: number,
  arms: Array<{ label: string; warm: () => Promise<unknown>; run: () => Promise<Sample> }>,
): Promise<SeriesSummary[]> {
  step(
    `  (load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")})`,
  );
  for (const a of arms) await a.warm();
  const samples: Sample[][] = arms.map(() => []);
  for (let r = 0; r < reps; r++) {
    const order = r % 2 === 0 ? [...arms.entries()] : [...arms.entries()].reverse();
    for (const [i, a] of order) {
      const s = await a.run();
      samples[i]!.push(s);
      const sys = s.sysUsPerReq === undefined ? "" : ` (kernel ${fmt.us(s.sysUsPerReq)}, ${s.faultsPerReq!.toFixed(2)} page faults)`;
      const gc = s.gcUsPerReq === undefined ? "" : `, gc pauses ${fmt.us(s.gcUsPerReq)}/req (full GCs ${s.majorGcMs!.toFixed(0)} ms)`;
      step(
        `  ${a.label} rep ${r + 1}/${reps}: ${fmt.rps(s.rps)}, p99 ${fmt.ms(s.latencyUs.p99)}, cpu ${fmt.us(s.cpuUsPerReq)}/req${sys}${gc}`,
      );
    }
  }
  return arms.map((a, i) => summarizeSeries(a.label, samples[i]!));
}

/**
 * Throughput of `a` over `b`, one ratio per round (the two measured back to back), then the
 * median and range of those. The machine's speed drifts by ±20 % over seconds here (a shared
 * VM); a ratio of two runs a second apart cancels most of that, a ratio of two medians does not.
 */
function pairedRatio(a: SeriesSummary, b: SeriesSummary): Summary {
  return summarize(a.samples.map((s, i) => s.rps / b.samples[i]!.rps));
}

// ---------------------------------------------------------------- the run

interface Context {
  o: Options;
  h2load: string;
  tmp: string;
  figures: Figure[];
  series: Record<string, SeriesSummary>;
  meta: Record<string, unknown>;
  resultsDir: string;
  profiles: Array<{ label: string; file: string }>;
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  const started = Date.now();
  const cleanups: Array<() => Promise<unknown>> = [];
  let finished = false;
  const cleanup = async () => {
    while (cleanups.length > 0) await cleanups.pop()!().catch((err: unknown) => step(`cleanup: ${String(err)}`));
  };
  const watchdog = setTimeout(() => {
    step(`watchdog: the run took longer than ${o.watchdogMs / 1000} s; stopping everything`);
    killAllChildren();
    void cleanup().finally(() => process.exit(2));
  }, o.watchdogMs);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.removeAllListeners(sig); // no dependency's exit hook may race our cleanup
    process.on(sig, () => {
      if (finished) return;
      finished = true;
      step(`${sig}: stopping everything`);
      killAllChildren();
      void cleanup().finally(() => process.exit(130));
    });
  }

  const results = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../benchmarks/results");
  const ctx: Context = {
    o,
    h2load: "",
    tmp: "",
    figures: [],
    series: {},
    meta: {},
    resultsDir: results,
    profiles: [],
  };
  try {
    step(`mode: ${o.quick ? "quick" : "full"}; ${o.reps} repetitions of ${o.durationS} s after ${o.warmupS} s warm-ups`);
    ctx.h2load = findH2load(step);
    ctx.meta = {
      mode: o.quick ? "quick" : "full",
      date: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryBytes: os.totalmem(),
      h2load: h2loadVersion(ctx.h2load),
      options: { ...o, only: o.only === undefined ? undefined : [...o.only] },
      loadAverageAtStart: os.loadavg(),
    };
    const [l1] = os.loadavg();
    if (l1! > os.cpus().length * 0.5)
      step(`warning: load average ${l1!.toFixed(1)} on ${os.cpus().length} CPUs before the run: other processes will disturb the figures`);
    ctx.tmp = await mkdtemp(path.join(os.tmpdir(), "tessera-bench-"));
    cleanups.push(() => rm(ctx.tmp, { recursive: true, force: true }));
    // As root, PostgreSQL runs as the `postgres` OS user, which must traverse this directory.
    await chmod(ctx.tmp, 0o711);
    await run(ctx, cleanups);
    finished = true;
    return 0;
  } catch (err) {
    step(`FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    ctx.meta.error = String(err);
    return 1;
  } finally {
    finished = true;
    await cleanup();
    clearTimeout(watchdog);
    if (ctx.figures.length > 0) {
      say("");
      printTable(ctx.figures, say);
      ctx.meta.loadAverageAtEnd = os.loadavg();
      const file = path.join(results, "latest.json");
      await writeJson(file, { meta: { ...ctx.meta, elapsedS: (Date.now() - started) / 1000 }, figures: ctx.figures, series: ctx.series });
      say("");
      say(`JSON: ${path.relative(process.cwd(), file)}; elapsed ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
    await reportProfiles(ctx).catch((err: unknown) => step(`profile summary failed: ${String(err)}`));
  }
}

async function run(ctx: Context, cleanups: Array<() => Promise<unknown>>): Promise<void> {
  const { o } = ctx;
  const bigTotal = o.bigOrgs * o.bigTokensPerOrg;

  // --- PostgreSQL: one cluster, two databases (1,000 tokens / the big set), both migrated.
  step("starting embedded PostgreSQL");
  const pgdb: EmbeddedDatabase = await startEmbeddedPostgres({ dataDir: path.join(ctx.tmp, "pg-data") });
  cleanups.push(() => pgdb.stop());
  await migrate({ ownerUrl: pgdb.ownerUrl, appRole: "tessera_app" });
  await asSuperuser(pgdb, "CREATE DATABASE tessera_big TEMPLATE tessera OWNER tessera_owner");
  const small = { appUrl: pgdb.appUrl, ownerUrl: pgdb.ownerUrl };
  const big = { appUrl: withDatabase(pgdb.appUrl, "tessera_big"), ownerUrl: withDatabase(pgdb.ownerUrl, "tessera_big") };

  // --- The digest key, shared by the servers (TESSERA_DIGEST_KEYS form) and the bulk insert.
  const key = newKey();
  const keyring = createKeyring({ 1: key }, 1);
  const keysJson = JSON.stringify({ current: 1, keys: { "1": key.toString("base64") } });

  // --- Servers. The cached ones hold a positive answer for 1 h (not 5 min) so a long cache fill
  //     cannot expire mid-run; the uncached ones keep 500 entries while the load cycles through
  //     ≥ 1,000 distinct tokens, so every lookup of a token misses (FIFO eviction).
  const tessera = (name: string, db: { appUrl: string; ownerUrl: string }, cache: CacheOverrides) =>
    forkChild(
      { kind: "tessera", name, ...db, keysJson, dataDir: path.join(ctx.tmp, name), poolSize: 16, cache },
      { execArgv: o.tesseraNodeFlags },
    );
  const UNCACHED: CacheOverrides = { maxEntries: UNCACHED_MAX };
  step("starting Tessera servers (child processes)");
  const [smallCached, smallUncached, bigCached, bigUncached, pgChild] = await Promise.all([
    tessera("tessera-1k-cached", small, { positiveTtlMs: 3_600_000 }),
    tessera("tessera-1k-uncached", small, UNCACHED),
    tessera("tessera-big-cached", big, { positiveTtlMs: 3_600_000, maxEntries: bigTotal + Math.ceil(bigTotal / 100) + 1000 }),
    tessera("tessera-big-uncached", big, UNCACHED),
    forkChild({ kind: "pg", name: "raw-pg", ownerUrl: small.ownerUrl, poolSize: 16 }),
  ]);
  for (const c of [smallCached, smallUncached, bigCached, bigUncached, pgChild]) cleanups.push(() => c.close());

  // --- Data.
  step("setting up both instances through the API (operator, VERIFIER and INGESTION tokens)");
  const inst = await setupInstance(smallCached.grpcPort, "bench");
  const instBig = await setupInstance(bigCached.grpcPort, "bench");
  step(`inserting ${o.smallOrgs * o.smallTokensPerOrg} tokens in ${o.smallOrgs} organizations (SQL as the owner role)`);
  const smallTokens = await insertTokens({
    ownerUrl: small.ownerUrl,
    keyring,
    organizations: o.smallOrgs,
    tokensPerOrganization: o.smallTokensPerOrg,
    prefix: "small",
  });
  // --- Outcome checks before any load: Verify once with grpc-js.
  const sampleVerify = async (port: number, verifier: string, token: string): Promise<VerifyResponse> => {
    const c = createGrpcClient(TokenVerifyService, `127.0.0.1:${port}`);
    try {
      return await c.verify(
        { credential: `Bearer ${token}`, endpoint: EndpointClass.INGEST },
        { metadata: { authorization: `Bearer ${verifier}` } },
      );
    } finally {
      c.close();
    }
  };
  const expectValid = async (port: number, verifier: string, token: string, what: string): Promise<VerifyResponse> => {
    const r = await sampleVerify(port, verifier, token);
    if (!r.allowed || r.status !== VerifyStatus.VALID) throw new Error(`${what}: Verify answered ${statusName(r.status)}, expected VALID`);
    return r;
  };
  const validResponse = await expectValid(smallCached.grpcPort, inst.verifierToken, inst.ingestToken, "API-issued token");
  await expectValid(smallCached.grpcPort, inst.verifierToken, smallTokens[0]!, "SQL-inserted token (1k)");
  await expectValid(smallUncached.grpcPort, inst.verifierToken, smallTokens[1]!, "SQL-inserted token (1k, uncached server)");
  step("sample Verify calls answered VALID on the 1k servers");

  // --- The no-op baseline answers exactly the bytes Tessera answered for the token.
  const responseBytes = toBinary(VerifyResponseSchema, validResponse);
  const noop = await forkChild({ kind: "noop", name: "noop-grpc-js", responseBase64: Buffer.from(responseBytes).toString("base64") });
  cleanups.push(() => noop.close());
  const noopCheck = await sampleVerify(noop.grpcPort, inst.verifierToken, inst.ingestToken);
  if (!noopCheck.allowed) throw new Error("the no-op server did not answer the constant response");
  const noopPg = await forkChild({
    kind: "noop-pg",
    name: "noop-grpc-js+pg",
    responseBase64: Buffer.from(responseBytes).toString("base64"),
    ownerUrl: small.ownerUrl,
    keysJson,
    poolSize: 16,
  });
  cleanups.push(() => noopPg.close());
  await expectValid(noopPg.grpcPort, inst.verifierToken, smallTokens[2]!, "no-op + pg lookup server");

  const section = (name: string) => o.only === undefined || o.only.has(name);
  if (section("cached")) await cachedVsNoop(ctx, smallCached, noop, inst, 5 + responseBytes.length);
  if (section("extauthz")) await extAuthzVsVerify(ctx, smallCached, inst, 5 + responseBytes.length);
  if (section("flood")) await unknownTokenFlood(ctx, smallCached, inst);
  if (section("flood")) await importedValueFlood(ctx, smallCached, inst);
  // One walk through the 1,000 tokens for everything sent to the uncached server: a token comes
  // back only after 1,000 others, long after the 500-entry cache (FIFO) dropped it.
  const smallWalk = new Walk(smallTokens.length);
  if (section("uncached")) await uncachedVsPg(ctx, smallUncached, pgChild, noopPg, inst, smallTokens, smallWalk, keyring);
  if (section("worker")) await workerClientRate(ctx, smallCached, inst);
  if (section("workers")) await workersScaling(ctx, { appUrl: small.appUrl, keysJson }, inst);
  ctx.figures.push({
    id: "revocation-propagation",
    figure: "revocation propagation to 3 instances + worker clients, p99",
    value: "not measured here",
    baseline: "",
    ratio: "",
    goal: "< 50 ms",
    pass: null,
  });
  if (section("many")) {
    // The big set is inserted only now: the aftermath of writing a million rows (checkpoint,
    // WAL, page cache) must not overlap the figures above, which do not use it.
    step(
      `inserting ${bigTotal.toLocaleString("en-US")} tokens in ${o.bigOrgs.toLocaleString("en-US")} organizations (SQL as the owner role)`,
    );
    const t0 = Date.now();
    let lastReport = 0;
    const bigTokens = await insertTokens({
      ownerUrl: big.ownerUrl,
      keyring,
      organizations: o.bigOrgs,
      tokensPerOrganization: o.bigTokensPerOrg,
      prefix: "big",
      onProgress: (done, total) => {
        if (Date.now() - lastReport > 10_000) {
          lastReport = Date.now();
          step(`  ${done.toLocaleString("en-US")} / ${total.toLocaleString("en-US")}`);
        }
      },
    });
    step(`  inserted in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // Write the inserted pages out now: a checkpoint flushing a million rows' worth of dirty
    // buffers would otherwise land in the middle of the measurements that follow.
    await asSuperuser(pgdb, "CHECKPOINT");
    await expectValid(bigCached.grpcPort, instBig.verifierToken, bigTokens[bigTokens.length - 1]!, "SQL-inserted token (big)");
    await expectValid(bigUncached.grpcPort, instBig.verifierToken, bigTokens[0]!, "SQL-inserted token (big, uncached server)");
    await manyTokens(ctx, { smallCached, smallUncached, bigCached, bigUncached }, { inst, instBig, smallTokens, bigTokens, smallWalk });
  }
}

/** One statement on its own superuser connection (CREATE DATABASE and CHECKPOINT need one). */
async function asSuperuser(pgdb: EmbeddedDatabase, sql: string): Promise<void> {
  const su = new pg.Client({ connectionString: pgdb.superuserUrl });
  await su.connect();
  try {
    await su.query(sql);
  } finally {
    await su.end();
  }
}

/** With --profile, runs `fn` with the V8 profiler on in each child; the profiles are summarized at the end. */
async function profiling<T>(ctx: Context, targets: Array<[Child, string]>, fn: () => Promise<T>): Promise<T> {
  if (!ctx.o.profile) return fn();
  for (const [c] of targets) await c.profileStart();
  try {
    return await fn();
  } finally {
    await mkdir(ctx.resultsDir, { recursive: true });
    for (const [c, label] of targets) {
      const file = path.join(ctx.resultsDir, `${label}.cpuprofile`);
      await c.profileStop(file);
      ctx.profiles.push({ label, file });
    }
  }
}

async function reportProfiles(ctx: Context): Promise<void> {
  for (const p of ctx.profiles) {
    say("");
    say(`# CPU profile: ${p.label} (${path.relative(process.cwd(), p.file)}; open in Chrome DevTools)`);
    for (const line of await summarizeProfile(p.file, 25)) say(`#   ${line}`);
  }
}

// ---------------------------------------------------------------- figures

async function cachedVsNoop(ctx: Context, tessera: Child, noop: Child, inst: Instance, expectedBytes: number): Promise<void> {
  const { o } = ctx;
  const bodyFile = path.join(ctx.tmp, "verify-cached.bin");
  await writeFile(bodyFile, verifyBody(inst.ingestToken));
  let logN = 0;
  const h2 = async (child: Child, conns: number, perConn: number, durationS: number): Promise<Sample> => {
    const s0 = await child.stats();
    const r = await h2loadVerify(ctx, {
      port: child.grpcPort,
      bodyFile,
      verifierToken: inst.verifierToken,
      conns,
      perConn,
      durationS,
      logName: `h2load-${logN++}.log`,
    });
    const s1 = await child.stats();
    checkH2(child.name, r, expectedBytes);
    return {
      rps: r.rps,
      latencyUs: r.latencyUs,
      ...serverCosts(s0, s1, r.succeeded),
      queriesPerReq: child === noop ? NaN : (s1.queries - s0.queries) / r.succeeded,
      requests: r.succeeded,
    };
  };
  for (const inFlight of [1, 16, 64]) {
    const conns = Math.min(4, inFlight);
    const perConn = inFlight / conns;
    step(`cached Verify vs no-op grpc-js, ${inFlight} in flight (h2load -c ${conns} -m ${perConn})`);
    const targets: Array<[Child, string]> =
      inFlight === 1
        ? []
        : [
            [noop, `noop-${inFlight}-in-flight`],
            [tessera, `cached-verify-${inFlight}-in-flight`],
          ];
    const [base, tess] = await profiling(ctx, targets, () =>
      interleaved(o.reps, [
        {
          label: `noop c${conns}m${perConn}`,
          warm: () => h2(noop, conns, perConn, o.warmupS),
          run: () => h2(noop, conns, perConn, o.durationS),
        },
        {
          label: `tessera c${conns}m${perConn}`,
          warm: () => h2(tessera, conns, perConn, o.warmupS),
          run: () => h2(tessera, conns, perConn, o.durationS),
        },
      ]),
    );
    ctx.series[`noop-${inFlight}`] = base!;
    ctx.series[`cached-${inFlight}`] = tess!;
    step(`  ${describe(base!)}`);
    step(`  ${describe(tess!)}`);
    const paired = pairedRatio(tess!, base!);
    const ratio = paired.median;
    ctx.figures.push({
      id: `cached-throughput-${inFlight}`,
      figure: `cached Verify / no-op throughput, ${inFlight} in flight`,
      value: fmt.rps(tess!.rps.median),
      baseline: fmt.rps(base!.rps.median),
      ratio: fmt.ratio(ratio),
      goal: "≥ 0.95",
      pass: ratio >= 0.95,
      data: {
        ratio,
        ratioRange: [paired.min, paired.max],
        pairRatios: paired.values,
        ratioOfMedians: tess!.rps.median / base!.rps.median,
        tessera: strip(tess!),
        noop: strip(base!),
      },
    });
    if (inFlight === 16) {
      const p99 = tess!.latencyUs.p99 / base!.latencyUs.p99;
      ctx.figures.push({
        id: "cached-p99-16",
        figure: "cached Verify / no-op p99 latency, 16 in flight",
        value: fmt.ms(tess!.latencyUs.p99),
        baseline: fmt.ms(base!.latencyUs.p99),
        ratio: fmt.ratio(p99),
        goal: "≤ 1.25",
        pass: p99 <= 1.25,
        data: { ratio: p99, tesseraUs: tess!.latencyUs, noopUs: base!.latencyUs },
      });
    }
  }
  ctx.figures.push({
    id: "cached-cpu-per-request",
    figure: "server CPU per cached Verify (16 in flight)",
    value: fmt.us(ctx.series["cached-16"]!.cpuUsPerReq.median),
    baseline: fmt.us(ctx.series["noop-16"]!.cpuUsPerReq.median),
    ratio: fmt.ratio(ctx.series["cached-16"]!.cpuUsPerReq.median / ctx.series["noop-16"]!.cpuUsPerReq.median),
    goal: "(reported)",
    pass: null,
  });
}

/**
 * Envoy's ext_authz Check of a cached token against cached Verify of the same token, on the same
 * server, in the same run (issue 14: ≥ 0.9 of Verify's throughput). Both go through one decider
 * and cache; Check also parses Envoy's headers, matches the route presets and builds its answer.
 */
async function extAuthzVsVerify(ctx: Context, tessera: Child, inst: Instance, verifyBytes: number): Promise<void> {
  const { o } = ctx;
  const verifyFile = path.join(ctx.tmp, "verify-extauthz.bin");
  const checkFile = path.join(ctx.tmp, "check-cached.bin");
  await writeFile(verifyFile, verifyBody(inst.ingestToken));
  await writeFile(checkFile, checkBody(inst.ingestToken));
  const c = createGrpcClient(Authorization, `127.0.0.1:${tessera.grpcPort}`);
  let checkBytes: number;
  try {
    const r = await c.check(
      { attributes: { request: { http: { method: "POST", path: "/v1/logs", headers: { authorization: `Bearer ${inst.ingestToken}` } } } } },
      { metadata: { authorization: `Bearer ${inst.verifierToken}` } },
    );
    if (r.status?.code !== 0 || r.httpResponse.case !== "okResponse")
      throw new Error(`Check refused the benchmark's token: ${r.status?.message}`);
    // The benchmark's own body carries more headers but asks the same: the same answer.
    checkBytes = 5 + toBinary(CheckResponseSchema, r).length;
  } finally {
    c.close();
  }
  const conns = 4;
  const perConn = 4;
  let logN = 0;
  const h2 = async (requestPath: string, bodyFile: string, expectedBytes: number, durationS: number): Promise<Sample> => {
    const s0 = await tessera.stats();
    const r = await runH2load(ctx.h2load, {
      port: tessera.grpcPort,
      path: requestPath,
      bodyFile,
      authorization: `Bearer ${inst.verifierToken}`,
      connections: conns,
      streamsPerConnection: perConn,
      durationS,
      logFile: path.join(ctx.tmp, `h2load-extauthz-${logN++}.log`),
    });
    const s1 = await tessera.stats();
    checkH2(`${tessera.name} ${requestPath}`, r, expectedBytes);
    return {
      rps: r.rps,
      latencyUs: r.latencyUs,
      ...serverCosts(s0, s1, r.succeeded),
      queriesPerReq: (s1.queries - s0.queries) / r.succeeded,
      requests: r.succeeded,
    };
  };
  step(`cached ext_authz Check vs cached Verify, ${conns * perConn} in flight (h2load -c ${conns} -m ${perConn})`);
  const [verify, check] = await profiling(ctx, [[tessera, "cached-check-16-in-flight"]], () =>
    interleaved(o.reps, [
      {
        label: `Verify c${conns}m${perConn}`,
        warm: () => h2(VERIFY_PATH, verifyFile, verifyBytes, o.warmupS),
        run: () => h2(VERIFY_PATH, verifyFile, verifyBytes, o.durationS),
      },
      {
        label: `Check c${conns}m${perConn}`,
        warm: () => h2(CHECK_PATH, checkFile, checkBytes, o.warmupS),
        run: () => h2(CHECK_PATH, checkFile, checkBytes, o.durationS),
      },
    ]),
  );
  step(`  ${describe(verify!)}`);
  step(`  ${describe(check!)}`);
  ctx.series["extauthz-verify-16"] = verify!;
  ctx.series["extauthz-check-16"] = check!;
  const paired = pairedRatio(check!, verify!);
  const ratio = paired.median;
  ctx.figures.push({
    id: "extauthz-check-vs-verify",
    figure: "cached ext_authz Check / cached Verify throughput, 16 in flight",
    value: fmt.rps(check!.rps.median),
    baseline: fmt.rps(verify!.rps.median),
    ratio: fmt.ratio(ratio),
    goal: "≥ 0.9",
    pass: ratio >= 0.9,
    data: {
      ratio,
      ratioRange: [paired.min, paired.max],
      pairRatios: paired.values,
      ratioOfMedians: check!.rps.median / verify!.rps.median,
      cpuUsPerCheck: check!.cpuUsPerReq.median,
      cpuUsPerVerify: verify!.cpuUsPerReq.median,
      check: strip(check!),
      verify: strip(verify!),
    },
  });
}

/** h2load says nothing about grpc-status; a gRPC error is an HTTP 200 without a body, so count bytes. */
function checkH2(name: string, r: Awaited<ReturnType<typeof runH2load>>, expectedBytes: number): void {
  if (r.succeeded === 0) throw new Error(`${name}: h2load completed no request`);
  if (r.failed > 0 || r.errored > 0 || r.non2xx > 0)
    throw new Error(`${name}: h2load saw ${r.failed} failed, ${r.errored} errored, ${r.non2xx} non-2xx requests`);
  // Responses still arriving when the duration ended add bytes (at most one per stream in flight);
  // a call that failed takes a whole response away.
  const missing = (r.succeeded * expectedBytes - r.dataBytes) / expectedBytes;
  if (missing >= 1) {
    throw new Error(
      `${name}: ${r.dataBytes} response bytes for ${r.succeeded} responses of ${expectedBytes} bytes: about ${Math.round(missing)} calls did not answer the expected message (gRPC errors?)`,
    );
  }
}

async function unknownTokenFlood(ctx: Context, tessera: Child, inst: Instance): Promise<void> {
  const { o } = ctx;
  const unknown = generateToken("INGESTION");
  const c = createGrpcClient(TokenVerifyService, `127.0.0.1:${tessera.grpcPort}`);
  let r: VerifyResponse;
  try {
    r = await c.verify(
      { credential: `Bearer ${unknown}`, endpoint: EndpointClass.INGEST },
      { metadata: { authorization: `Bearer ${inst.verifierToken}` } },
    );
  } finally {
    c.close();
  }
  if (r.allowed || r.status !== VerifyStatus.NOT_FOUND)
    throw new Error(`unknown token: Verify answered ${statusName(r.status)}, expected NOT_FOUND`);
  const expectedBytes = 5 + toBinary(VerifyResponseSchema, r).length;
  const bodyFile = path.join(ctx.tmp, "verify-unknown.bin");
  await writeFile(bodyFile, verifyBody(unknown));
  step("flood of one unknown well-formed token (h2load -c 4 -m 4)");
  const durationS = Math.max(2, o.durationS * 2);
  const s0 = await tessera.stats();
  const h = await h2loadVerify(ctx, {
    port: tessera.grpcPort,
    bodyFile,
    verifierToken: inst.verifierToken,
    conns: 4,
    perConn: 4,
    durationS,
    logName: "h2load-flood.log",
  });
  const s1 = await tessera.stats();
  checkH2(tessera.name, h, expectedBytes);
  const qpr = (s1.queries - s0.queries) / h.succeeded;
  const sample: Sample = {
    rps: h.rps,
    latencyUs: h.latencyUs,
    ...serverCosts(s0, s1, h.succeeded),
    queriesPerReq: qpr,
    requests: h.succeeded,
  };
  ctx.series["unknown-flood"] = summarizeSeries("unknown-token flood", [sample]);
  step(`  ${describe(ctx.series["unknown-flood"])} (${s1.queries - s0.queries} queries for ${h.succeeded} requests)`);
  ctx.figures.push({
    id: "unknown-token-queries",
    figure: "DB queries per request, flood of one unknown token",
    value: qpr.toFixed(5),
    baseline: `${h.succeeded.toLocaleString("en-US")} req`,
    ratio: "",
    goal: "≤ 0.01",
    pass: qpr <= 0.01,
    data: { queries: s1.queries - s0.queries, requests: h.succeeded, rps: h.rps },
  });
}

/**
 * Requests whose credential is `template` with a different counter written at its `at`th
 * character each time (base 36, 10 characters): distinct values without building a message per
 * request in the load generator, which shares the machine's cores with the server.
 */
function distinctBodies(template: string, at: number, accept: (value: string) => boolean = () => true): () => Buffer {
  const body = verifyBody(template);
  const offset = body.indexOf(Buffer.from(template, "latin1"));
  if (offset < 0) throw new Error("the credential is not in its body");
  let n = 0;
  return () => {
    for (;;) {
      const counter = (n++).toString(36).padStart(10, "0");
      const value = template.slice(0, at) + counter + template.slice(at + 10);
      if (!accept(value)) continue;
      const b = Buffer.from(body);
      b.write(counter, offset + at, "latin1");
      return b;
    }
  };
}

/**
 * A flood of DISTINCT unknown imported-looking values (48 printable characters, never the same
 * twice): no checksum refuses them and no per-value negative cache can help, so the
 * imported-value filter must keep them from the database (≤ 0.01 queries per request), with 100
 * imported tokens in it. Baseline, same run and load generator: distinct mistyped Tessera tokens
 * (wrong checksum), refused as MALFORMED before any lookup: the cheapest refusal there is.
 */
async function importedValueFlood(ctx: Context, tessera: Child, inst: Instance): Promise<void> {
  const { o } = ctx;
  const admin = createGrpcClient(TokenAdminService, `127.0.0.1:${tessera.grpcPort}`);
  const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const randomValue = () => Array.from(randomBytes(48), (b) => alnum[b % 62]).join("");
  let known = "";
  try {
    for (let i = 0; i < 100; i++) {
      known = randomValue();
      await admin.createToken(
        { name: `imported-${i}`, kind: TokenKind.INGESTION, value: known },
        { metadata: { authorization: `Bearer ${inst.operatorToken}` } },
      );
    }
  } finally {
    admin.close();
  }
  const check = createGrpcClient(TokenVerifyService, `127.0.0.1:${tessera.grpcPort}`);
  try {
    const r = await check.verify(
      { credential: `Bearer ${known}`, endpoint: EndpointClass.INGEST },
      { metadata: { authorization: `Bearer ${inst.verifierToken}` } },
    );
    if (r.status !== VerifyStatus.VALID) throw new Error(`an imported value: Verify answered ${statusName(r.status)}, expected VALID`);
  } finally {
    check.close();
  }
  const importedBody = distinctBodies(randomValue(), 20);
  const good = generateToken("INGESTION");
  const typo = `${good.slice(0, 5)}${good[5] === "A" ? "B" : "A"}${good.slice(6)}`;
  const mistypedBody = distinctBodies(typo, 10, (v) => !isWellFormedToken(v));
  const arm = (body: () => Buffer, expect: string, durationMs: number, warmupMs: number) => async (): Promise<Sample> => {
    let s0: ChildStats | undefined;
    let s1: ChildStats | undefined;
    const r = await runHttp2Load({
      port: tessera.grpcPort,
      path: VERIFY_PATH,
      authorization: `Bearer ${inst.verifierToken}`,
      sessions: 4,
      inFlight: 16,
      body,
      warmupMs,
      durationMs,
      onWindow: async (edge) => {
        if (edge === "start") s0 = await tessera.stats();
        else s1 = await tessera.stats();
      },
    });
    return loadSample(tessera.name, r, s0!, s1!, expect);
  };
  const notFound = statusName(VerifyStatus.NOT_FOUND);
  const malformed = statusName(VerifyStatus.MALFORMED);
  step("flood of distinct unknown imported-looking values vs distinct mistyped Tessera tokens, 16 in flight");
  const ms = o.durationS * 1000;
  const [flood, mistyped] = await interleaved(o.reps, [
    {
      label: "distinct unknown imported values",
      warm: arm(importedBody, notFound, o.warmupS * 1000, 200),
      run: arm(importedBody, notFound, ms, 200),
    },
    {
      label: "distinct mistyped Tessera tokens",
      warm: arm(mistypedBody, malformed, o.warmupS * 1000, 200),
      run: arm(mistypedBody, malformed, ms, 200),
    },
  ]);
  for (const sr of [flood!, mistyped!]) step(`  ${describe(sr)}`);
  ctx.series["imported-flood"] = flood!;
  ctx.series["mistyped-flood"] = mistyped!;
  const requests = flood!.samples.reduce((n, x) => n + x.requests, 0);
  const queries = flood!.samples.reduce((n, x) => n + x.queriesPerReq * x.requests, 0);
  const qpr = queries / requests;
  ctx.figures.push({
    id: "imported-flood-queries",
    figure: "DB queries per request, flood of distinct unknown imported values",
    value: qpr.toFixed(5),
    baseline: `${requests.toLocaleString("en-US")} req`,
    ratio: "",
    goal: "≤ 0.01",
    pass: qpr <= 0.01,
    data: { queries: Math.round(queries), requests },
  });
  const paired = pairedRatio(flood!, mistyped!);
  ctx.figures.push({
    id: "imported-flood-throughput",
    figure: "distinct unknown imported values / distinct mistyped Tessera tokens (16 in flight)",
    value: fmt.rps(flood!.rps.median),
    baseline: fmt.rps(mistyped!.rps.median),
    ratio: fmt.ratio(paired.median),
    goal: "(diagnostic)",
    pass: null,
    data: { ratio: paired.median, ratioRange: [paired.min, paired.max], flood: strip(flood!), mistyped: strip(mistyped!) },
  });
}

/**
 * `tessera serve --workers 2` against `serve --workers 1`, both started as an operator would (the
 * CLI, TESSERA_DIGEST_KEYS, an already migrated database) on the same 1,000-token database: the
 * cached Verify of one token with h2load at 64 in flight over 8 connections, so the cluster
 * primary's round-robin hand-off gives each worker several. CPU per request is summed over the
 * serve process and its workers (from /proc), since the work happens in processes of their own.
 */
async function workersScaling(ctx: Context, db: { appUrl: string; keysJson: string }, inst: Instance): Promise<void> {
  const { o } = ctx;
  const conns = 8;
  const perConn = 8;
  const serve = (workers: number) =>
    spawnServe({
      name: `serve-workers-${workers}`,
      workers,
      appUrl: db.appUrl,
      keysJson: db.keysJson,
      dataDir: path.join(ctx.tmp, `serve-workers-${workers}`),
      poolSize: 16,
      nodeFlags: o.tesseraNodeFlags,
    });
  step("starting `tessera serve --workers 1` and `--workers 2` (the CLI, on the 1k database)");
  const servers = await Promise.all([serve(1), serve(2)]);
  try {
    const [one, two] = servers as [ServeChild, ServeChild];
    const bodyFile = path.join(ctx.tmp, "verify-workers.bin");
    await writeFile(bodyFile, verifyBody(inst.ingestToken));
    // Each server's own answer fixes the expected response size (its cursor is its own).
    const expected = new Map<ServeChild, number>();
    for (const s of [one, two]) {
      const c = createGrpcClient(TokenVerifyService, `127.0.0.1:${s.grpcPort}`);
      try {
        const r = await c.verify(
          { credential: `Bearer ${inst.ingestToken}`, endpoint: EndpointClass.INGEST },
          { metadata: { authorization: `Bearer ${inst.verifierToken}` } },
        );
        if (!r.allowed || r.status !== VerifyStatus.VALID)
          throw new Error(`${s.name}: Verify answered ${statusName(r.status)}, expected VALID`);
        expected.set(s, 5 + toBinary(VerifyResponseSchema, r).length);
      } finally {
        c.close();
      }
    }
    const pids = await two.pids();
    if (pids.length !== 3) throw new Error(`${two.name}: expected a primary and 2 workers, found processes ${pids.join(", ")}`);
    let logN = 0;
    /** Per process CPU share of the last repetitions (primary first): shows both workers busy. */
    const split: Record<string, number[][]> = {};
    const h2 = async (s: ServeChild, durationS: number): Promise<Sample> => {
      const byPid0 = await s.cpuByPid();
      const c0 = [...byPid0.values()].reduce((a, b) => a + b, 0);
      const r = await h2loadVerify(ctx, {
        port: s.grpcPort,
        bodyFile,
        verifierToken: inst.verifierToken,
        conns,
        perConn,
        durationS,
        logName: `h2load-workers-${logN++}.log`,
      });
      const byPid1 = await s.cpuByPid();
      const c1 = [...byPid1.values()].reduce((a, b) => a + b, 0);
      checkH2(s.name, r, expected.get(s)!);
      (split[s.name] ??= []).push([...byPid1].map(([pid, us]) => Math.round((us - (byPid0.get(pid) ?? us)) / 1000 / durationS) / 1000));
      return { rps: r.rps, latencyUs: r.latencyUs, cpuUsPerReq: (c1 - c0) / r.succeeded, queriesPerReq: NaN, requests: r.succeeded };
    };
    step(`cached Verify, 2 server workers vs 1 (h2load -c ${conns} -m ${perConn}: ${conns * perConn} in flight)`);
    // A longer warm-up than elsewhere: each worker JIT-compiles on its own share of the load, so
    // the cluster reaches steady state later than one process does (seen as rising early reps).
    const warmS = Math.max(3, o.warmupS * 2);
    const [w1, w2] = await interleaved(o.reps, [
      { label: `1 worker c${conns}m${perConn}`, warm: () => h2(one, warmS), run: () => h2(one, o.durationS) },
      { label: `2 workers c${conns}m${perConn}`, warm: () => h2(two, warmS), run: () => h2(two, o.durationS) },
    ]);
    step(`  ${describe(w1!)}`);
    step(`  ${describe(w2!)}`);
    step(
      `  cores used per process (serve/primary first) in each 2-worker repetition: ${split[two.name]!.slice(-o.reps)
        .map((r) => r.map((x) => x.toFixed(2)).join("+"))
        .join(", ")}`,
    );
    ctx.series["workers-1"] = w1!;
    ctx.series["workers-2"] = w2!;
    const paired = pairedRatio(w2!, w1!);
    const ratio = paired.median;
    ctx.figures.push({
      id: "workers-2-vs-1",
      figure: `2 server workers / 1 worker, cached Verify (${conns} conns, ${conns * perConn} in flight)`,
      value: fmt.rps(w2!.rps.median),
      baseline: fmt.rps(w1!.rps.median),
      ratio: fmt.ratio(ratio),
      goal: "≥ 1.5",
      pass: ratio >= 1.5,
      data: {
        ratio,
        ratioRange: [paired.min, paired.max],
        pairRatios: paired.values,
        ratioOfMedians: w2!.rps.median / w1!.rps.median,
        cpus: os.cpus().length,
        oneWorker: strip(w1!),
        twoWorkers: strip(w2!),
        coresPerProcess: split,
        loadAverage: os.loadavg(),
        note: "CPU per request is summed over the serve process and its workers; the load generator (h2load) shares the machine's cores",
      },
    });
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
}

/** Every request a token the server's cache does not hold: one database lookup each, RLS in force. */
async function uncachedVsPg(
  ctx: Context,
  uncached: Child,
  pgChild: Child,
  noopPg: Child,
  inst: Instance,
  tokens: string[],
  walk: Walk,
  keyring: ReturnType<typeof createKeyring>,
): Promise<void> {
  const { o } = ctx;
  const bodies = tokens.map(verifyBody);
  const digests = tokens.map((t) => keyring.digest(t).toString("base64"));
  const inFlight = 16;
  // The floor server has no cache, so it walks the tokens on its own: sharing Tessera's walk would
  // move it past tokens Tessera never saw, and a later pass could then find some still cached.
  const floorWalk = new Walk(tokens.length);
  const verifyArm =
    (durationMs: number, warmupMs: number, server = uncached, order = walk) =>
    async (): Promise<Sample> => {
      let s0: ChildStats | undefined;
      let s1: ChildStats | undefined;
      const r = await runHttp2Load({
        port: server.grpcPort,
        path: VERIFY_PATH,
        authorization: `Bearer ${inst.verifierToken}`,
        sessions: 4,
        inFlight,
        body: () => bodies[order.next()]!,
        warmupMs,
        durationMs,
        onWindow: async (edge) => {
          if (edge === "start") s0 = await server.stats();
          else s1 = await server.stats();
        },
      });
      return loadSample(server.name, r, s0!, s1!, VALID_NAME);
    };
  const pgArm = (query: "plain" | "function", durationMs: number, warmupMs: number) => async (): Promise<Sample> => {
    const r = await pgChild.pgRun({ digests, query, concurrency: inFlight, warmupMs, durationMs });
    if (r.found !== r.completed) throw new Error(`raw pg: ${r.completed - r.found} lookups found no row`);
    return {
      rps: (r.completed / r.durationMs) * 1000,
      latencyUs: percentiles(r.latenciesUs),
      cpuUsPerReq: r.cpuUs / r.completed,
      queriesPerReq: 1,
      requests: r.completed,
    };
  };
  step(
    `uncached Verify (${tokens.length} distinct tokens, cache of ${UNCACHED_MAX}) vs raw pg lookups by digest, pool 16, ${inFlight} in flight`,
  );
  const ms = o.durationS * 1000;
  const [pgPlain, verify, pgFn, floor] = await profiling(
    ctx,
    [
      [uncached, "uncached-verify"],
      [noopPg, "noop-plus-pg"],
    ],
    () =>
      interleaved(o.reps, [
        { label: "raw pg SELECT by digest", warm: pgArm("plain", o.warmupS * 1000, 200), run: pgArm("plain", ms, 200) },
        { label: "uncached Verify", warm: verifyArm(o.warmupS * 1000, 200), run: verifyArm(ms, 300) },
        {
          label: "raw pg tessera_verify_lookup(), one token",
          warm: pgArm("function", o.warmupS * 1000, 200),
          run: pgArm("function", ms, 200),
        },
        {
          label: "no-op grpc-js + raw pg lookup",
          warm: verifyArm(o.warmupS * 1000, 200, noopPg, floorWalk),
          run: verifyArm(ms, 300, noopPg, floorWalk),
        },
      ]),
  );
  for (const s of [pgPlain!, verify!, pgFn!, floor!]) step(`  ${describe(s)}`);
  ctx.series["noop-plus-pg"] = floor!;
  ctx.series["pg-plain"] = pgPlain!;
  ctx.series["uncached-verify"] = verify!;
  ctx.series["pg-function"] = pgFn!;
  const paired = pairedRatio(verify!, pgPlain!);
  const ratio = paired.median;
  ctx.figures.push({
    id: "uncached-vs-pg",
    figure: "uncached Verify / raw pg lookup by digest (pool 16, 16 in flight)",
    value: fmt.rps(verify!.rps.median),
    baseline: fmt.rps(pgPlain!.rps.median),
    ratio: fmt.ratio(ratio),
    goal: "≥ 0.5",
    pass: ratio >= 0.5,
    data: {
      ratio,
      ratioRange: [paired.min, paired.max],
      ratioOfMedians: verify!.rps.median / pgPlain!.rps.median,
      queriesPerRequest: verify!.queriesPerReq.median,
      verify: strip(verify!),
      pgPlain: strip(pgPlain!),
      pgFunction: strip(pgFn!),
      verifyVsFunction: verify!.rps.median / pgFn!.rps.median,
      noopPlusPg: strip(floor!),
    },
  });
  const fr = verify!.rps.median / floor!.rps.median;
  ctx.figures.push({
    id: "uncached-vs-noop-plus-pg",
    figure: "uncached Verify / no-op grpc-js + one raw pg lookup",
    value: fmt.rps(verify!.rps.median),
    baseline: fmt.rps(floor!.rps.median),
    ratio: fmt.ratio(fr),
    goal: "(diagnostic)",
    pass: null,
    data: { ratio: fr, cpuUsPerReq: verify!.cpuUsPerReq.median, baselineCpuUsPerReq: floor!.cpuUsPerReq.median },
  });
}

const UNCACHED_MAX = 500;
const VALID_NAME = statusName(VerifyStatus.VALID);

/** A Sample from a runHttp2Load run; every answer must be `expect`. */
function loadSample(name: string, r: Http2LoadResult, s0: ChildStats, s1: ChildStats, expect: string): Sample {
  const bad = Object.entries(r.outcomes).filter(([k]) => k !== expect);
  if (r.completed === 0) throw new Error(`${name}: no request completed`);
  if (bad.length > 0) throw new Error(`${name}: unexpected outcomes ${JSON.stringify(r.outcomes)}`);
  return {
    rps: r.rps,
    latencyUs: r.latencyUs,
    ...serverCosts(s0, s1, r.completed),
    queriesPerReq: (s1.queries - s0.queries) / r.completed,
    missesPerReq: (s1.cacheMisses - s0.cacheMisses) / r.completed,
    requests: r.completed,
    outcomes: r.outcomes,
  };
}

async function workerClientRate(ctx: Context, tessera: Child, inst: Instance): Promise<void> {
  const { o } = ctx;
  const script = fileURLToPath(new URL("./worker-client-rate.js", import.meta.url));
  const lib = fileURLToPath(new URL("../src/client/worker-client.js", import.meta.url));
  const exists = await import("node:fs").then((fs) => fs.existsSync(lib));
  if (!exists) {
    say("# worker client: not available (no src/client/worker-client.ts)");
    ctx.figures.push({
      id: "worker-client",
      figure: "worker client cached verify, in-process",
      value: "not available",
      baseline: "",
      ratio: "",
      goal: "≥ 500k/s",
      pass: null,
    });
    return;
  }
  step("worker client: cached verify rate in a process of its own");
  const child = fork(script, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const reps: WorkerClientRate[] = [];
  try {
    const res = await new Promise<WorkerClientRate[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("worker client measurement timed out")), 60_000 + o.reps * o.durationS * 1000);
      child.once("message", (m: { ok: boolean; result?: WorkerClientRate[]; error?: string }) => {
        clearTimeout(timer);
        if (m.ok) resolve(m.result!);
        else reject(new Error(`worker client: ${m.error}`));
      });
      child.once("exit", (code) => reject(new Error(`worker client child exited (${code})`)));
      child.send({
        address: `127.0.0.1:${tessera.grpcPort}`,
        verifierToken: inst.verifierToken,
        token: inst.ingestToken,
        warmupMs: o.warmupS * 1000,
        durationMs: o.durationS * 1000,
        reps: o.reps,
      });
    });
    reps.push(...res);
  } finally {
    if (child.exitCode === null) child.kill();
  }
  const rates = summarize(reps.map((r) => r.rate));
  const perCpuSecond = summarize(reps.map((r) => r.rate / r.coreShare));
  for (const r of reps)
    step(
      `  ${fmt.rps(r.rate)} (${((r.fromCache / r.verifies) * 100).toFixed(1)}% from cache, ${r.coreShare.toFixed(2)} cores busy: ${fmt.rps(r.rate / r.coreShare)} per CPU-second)`,
    );
  ctx.figures.push({
    id: "worker-client",
    figure: "worker client cached verify, in-process, one core",
    value: `${fmt.rps(rates.median)} [${fmt.rps(rates.min)}–${fmt.rps(rates.max)}]`,
    baseline: "",
    ratio: `${fmt.rps(perCpuSecond.median).replace("/s", "")} per CPU-s`,
    goal: "≥ 500k/s",
    pass: rates.median >= 500_000,
    data: { rates, perCpuSecond, reps },
  });
}

async function manyTokens(
  ctx: Context,
  s: { smallCached: Child; smallUncached: Child; bigCached: Child; bigUncached: Child },
  d: { inst: Instance; instBig: Instance; smallTokens: string[]; bigTokens: string[]; smallWalk: Walk },
): Promise<void> {
  const { o } = ctx;
  const nBig = d.bigTokens.length;
  const label = nBig >= 1_000_000 ? `${nBig / 1_000_000}M` : `${Math.round(nBig / 1000)}k`;
  // Fill both cached servers' caches with every token (each answer checked).
  const fill = async (child: Child, verifier: string, tokens: string[]) => {
    const t0 = Date.now();
    let progress: NodeJS.Timeout | undefined;
    const order = shuffled(tokens.length);
    let sent = 0;
    progress = setInterval(
      () => step(`  ${child.name}: ${sent.toLocaleString("en-US")} / ${tokens.length.toLocaleString("en-US")}`),
      15_000,
    );
    try {
      const r = await runHttp2Load({
        port: child.grpcPort,
        path: VERIFY_PATH,
        authorization: `Bearer ${verifier}`,
        sessions: 4,
        inFlight: 64,
        body: (i) => ((sent = i), verifyBody(tokens[order[i]!]!)),
        requests: tokens.length,
      });
      const bad = Object.entries(r.outcomes).filter(([k]) => k !== VALID_NAME);
      if (bad.length > 0) throw new Error(`${child.name} fill: unexpected outcomes ${JSON.stringify(r.outcomes)}`);
      step(
        `  ${child.name}: ${tokens.length.toLocaleString("en-US")} tokens verified in ${((Date.now() - t0) / 1000).toFixed(1)} s (${fmt.rps(r.rps)})`,
      );
    } finally {
      clearInterval(progress);
      progress = undefined;
    }
  };
  step(`filling the caches: 1,000 tokens and ${nBig.toLocaleString("en-US")} tokens`);
  await fill(s.smallCached, d.inst.verifierToken, d.smallTokens);
  const before = await s.bigCached.gc();
  await fill(s.bigCached, d.instBig.verifierToken, d.bigTokens);
  const after = await s.bigCached.gc();
  const entries = after.cacheEntries - before.cacheEntries;
  const rssPerEntry = (after.rss - before.rss) / Math.max(1, entries);
  const heapPerEntry = (after.heapUsed - before.heapUsed) / Math.max(1, entries);
  step(
    `  ${s.bigCached.name} after GC: RSS ${fmt.mib(before.rss)} → ${fmt.mib(after.rss)}, heap ${fmt.mib(before.heapUsed)} → ${fmt.mib(after.heapUsed)}` +
      ` for ${entries.toLocaleString("en-US")} more cache entries (${after.cacheEntries.toLocaleString("en-US")} of at most ${after.cacheMaxEntries.toLocaleString("en-US")}):` +
      ` ~${Math.round(heapPerEntry)} B heap, ~${Math.round(rssPerEntry)} B RSS per entry`,
  );
  ctx.figures.push({
    id: "memory-many-tokens",
    figure: `server RSS, ${label} tokens in ${o.bigOrgs.toLocaleString("en-US")} orgs, full cache`,
    value: fmt.mib(after.rss),
    baseline: `${fmt.mib(before.rss)} (empty cache)`,
    ratio: `${Math.round(heapPerEntry)} B heap/entry`,
    goal: "reported; ≤ cache.maxEntries",
    pass: after.cacheEntries <= after.cacheMaxEntries,
    data: {
      before,
      after,
      entries,
      heapBytesPerEntry: heapPerEntry,
      rssBytesPerEntry: rssPerEntry,
      cacheMaxEntries: after.cacheMaxEntries,
    },
  });

  const arm = (child: Child, verifier: string, tokens: string[], expectQueries: "none" | "all", walk = new Walk(tokens.length)) => {
    const go = (warmupMs: number, durationMs: number) => async (): Promise<Sample> => {
      let s0: ChildStats | undefined;
      let s1: ChildStats | undefined;
      const r = await runHttp2Load({
        port: child.grpcPort,
        path: VERIFY_PATH,
        authorization: `Bearer ${verifier}`,
        sessions: 4,
        inFlight: 16,
        body: () => verifyBody(tokens[walk.next()]!),
        warmupMs,
        durationMs,
        onWindow: async (edge) => {
          if (edge === "start") s0 = await child.stats();
          else s1 = await child.stats();
        },
      });
      const sample = loadSample(child.name, r, s0!, s1!, VALID_NAME);
      if (expectQueries === "none" && sample.queriesPerReq > 0.01)
        throw new Error(`${child.name}: ${sample.queriesPerReq.toFixed(3)} queries/request on a warm cache`);
      // Concurrent misses share a round trip (batched lookups), so "defeated" is judged by misses.
      if (expectQueries === "all" && (sample.missesPerReq ?? 0) < 0.95)
        throw new Error(`${child.name}: only ${(sample.missesPerReq ?? 0).toFixed(3)} cache misses/request with the cache defeated`);
      return sample;
    };
    return { warm: go(0, ctx.o.warmupS * 1000), run: go(300, ctx.o.durationS * 1000) };
  };
  step(`cached and uncached Verify with ${label} tokens vs 1,000 tokens (random order, 4 sessions, 16 in flight)`);
  const targets: Array<[Child, string]> = [
    [s.smallCached, "cached-verify-1k-tokens"],
    [s.bigCached, `cached-verify-${label}-tokens`],
  ];
  const [c1k, cBig, u1k, uBig] = await profiling(ctx, targets, () =>
    interleaved(o.reps, [
      { label: "cached, 1k tokens", ...arm(s.smallCached, d.inst.verifierToken, d.smallTokens, "none") },
      { label: `cached, ${label} tokens`, ...arm(s.bigCached, d.instBig.verifierToken, d.bigTokens, "none") },
      { label: "uncached, 1k tokens", ...arm(s.smallUncached, d.inst.verifierToken, d.smallTokens, "all", d.smallWalk) },
      { label: `uncached, ${label} tokens`, ...arm(s.bigUncached, d.instBig.verifierToken, d.bigTokens, "all") },
    ]),
  );
  for (const x of [c1k!, cBig!, u1k!, uBig!]) step(`  ${describe(x)}`);
  Object.assign(ctx.series, {
    "cached-1k-tokens": c1k,
    [`cached-${label}-tokens`]: cBig,
    "uncached-1k-tokens": u1k,
    [`uncached-${label}-tokens`]: uBig,
  });
  for (const [kind, a, b] of [
    ["cached", cBig!, c1k!],
    ["uncached", uBig!, u1k!],
  ] as const) {
    const paired = pairedRatio(a, b);
    const ratio = paired.median;
    ctx.figures.push({
      id: `${kind}-many-tokens`,
      figure: `${kind} Verify, ${label} tokens / 1k tokens`,
      value: fmt.rps(a.rps.median),
      baseline: fmt.rps(b.rps.median),
      ratio: fmt.ratio(ratio),
      goal: "≥ 0.9",
      pass: ratio >= 0.9,
      data: {
        ratio,
        ratioRange: [paired.min, paired.max],
        pairRatios: paired.values,
        ratioOfMedians: a.rps.median / b.rps.median,
        many: strip(a),
        thousand: strip(b),
      },
    });
  }
}

// ---------------------------------------------------------------- helpers

/** Endless walk through 0..n-1 in one random order; runs that share it continue where the last stopped. */
class Walk {
  readonly #order: Uint32Array;
  #i = 0;
  constructor(n: number) {
    this.#order = shuffled(n);
  }
  next(): number {
    const v = this.#order[this.#i]!;
    this.#i = (this.#i + 1) % this.#order.length;
    return v;
  }
}

function shuffled(n: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

/** A series without its per-sample detail, for the figure's data. */
function strip(s: SeriesSummary): Omit<SeriesSummary, "samples"> {
  const { samples: _samples, ...rest } = s;
  return rest;
}

process.exitCode = await main();
// Anything left (a stuck socket) must not keep the run alive.
setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
