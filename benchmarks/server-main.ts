/**
 * A benchmark child process: a Tessera instance, the no-op baseline gRPC server, or a raw `pg`
 * lookup loop. The runner forks it, sends a ChildSpec, and talks to it over IPC (protocol.ts).
 * It prints its ports on stdout as `listening grpc=<port> http=<port>` and exits when told to
 * close or when the runner goes away (IPC disconnect), so no child outlives a failed run.
 */
import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { PerformanceObserver, constants as perfConstants } from "node:perf_hooks";
import { fromBinary } from "@bufbuild/protobuf";
import pg from "pg";
import { startTessera, type Tessera } from "../src/app.js";
import { keyringFromEnv } from "../src/domain/digest.js";
import { TokenVerifyService, VerifyResponseSchema } from "../src/gen/tessera/v1/token_verify_service_pb.js";
import { silentLog } from "../src/log.js";
import type { Caller } from "../src/services/caller.js";
import { startGrpcServer, type GrpcServer } from "../src/transport/grpc-server.js";
import { benchTesseraConfig } from "./tessera-config.js";
import type { ChildSpec, ChildStats, Command, PgRunArgs, PgRunResult, Reply } from "./protocol.js";

let tessera: Tessera | undefined;
let noop: GrpcServer | undefined;
let pool: pg.Pool | undefined;
let cacheMaxEntries = 0;
let queries = 0;
let closing = false;
let profiler: Session | undefined;
let gcPauseMs = 0;
let gcMajorPauseMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcPauseMs += e.duration;
    if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR)
      gcMajorPauseMs += e.duration;
  }
}).observe({ entryTypes: ["gc"] });

function send(msg: unknown): void {
  if (process.connected) process.send!(msg);
}

async function start(spec: ChildSpec): Promise<{ grpcPort: number; httpPort: number }> {
  switch (spec.kind) {
    case "tessera": {
      const config = benchTesseraConfig(spec);
      cacheMaxEntries = config.cache.maxEntries;
      tessera = await startTessera(config, {
        keyring: keyringFromEnv(spec.keysJson),
        log: silentLog,
        appRole: "tessera_app",
        onQuery: () => {
          queries++;
        },
      });
      return { grpcPort: tessera.grpcPort, httpPort: tessera.httpPort };
    }
    case "noop": {
      const response = fromBinary(VerifyResponseSchema, Buffer.from(spec.responseBase64, "base64"));
      const caller: Caller = { tokenId: "noop", kind: "VERIFIER", orgId: "noop", userId: undefined, operator: false, role: undefined };
      noop = await startGrpcServer({
        host: "127.0.0.1",
        port: 0,
        // Same adapter, codec, health and reflection as Tessera's listener; Verify does nothing.
        services: [{ desc: TokenVerifyService, impl: { verify: async () => response } }],
        authenticate: async () => caller,
      });
      noop.health.setStatus("", "SERVING");
      return { grpcPort: noop.port, httpPort: 0 };
    }
    case "noop-pg": {
      // Same listener as the no-op, but each Verify digests the credential and reads its row:
      // what any implementation of an uncached Verify must at least pay, without Tessera's logic.
      const response = fromBinary(VerifyResponseSchema, Buffer.from(spec.responseBase64, "base64"));
      const keyring = keyringFromEnv(spec.keysJson);
      const p = (pool = new pg.Pool({ connectionString: spec.ownerUrl, max: spec.poolSize }));
      const caller: Caller = { tokenId: "noop", kind: "VERIFIER", orgId: "noop", userId: undefined, operator: false, role: undefined };
      noop = await startGrpcServer({
        host: "127.0.0.1",
        port: 0,
        services: [
          {
            desc: TokenVerifyService,
            impl: {
              verify: async (req: { credential: string }) => {
                queries++;
                const digest = keyring.digest(req.credential.slice(req.credential.indexOf(" ") + 1));
                const r = await p.query({ name: "bench_plain_lookup", text: "SELECT * FROM tokens WHERE digest = $1", values: [digest] });
                if (r.rows.length !== 1) throw new Error("no such token");
                return response;
              },
            },
          },
        ],
        authenticate: async () => caller,
      });
      noop.health.setStatus("", "SERVING");
      return { grpcPort: noop.port, httpPort: 0 };
    }
    case "pg": {
      pool = new pg.Pool({ connectionString: spec.ownerUrl, max: spec.poolSize });
      await pool.query("SELECT 1");
      return { grpcPort: 0, httpPort: 0 };
    }
  }
}

function stats(): ChildStats {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  const ru = process.resourceUsage();
  return {
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    minorPageFaults: ru.minorPageFault,
    majorPageFaults: ru.majorPageFault,
    queries,
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    heapTotal: mem.heapTotal,
    external: mem.external,
    arrayBuffers: mem.arrayBuffers,
    cacheEntries: tessera?.cache.size ?? 0,
    cacheHits: tessera?.cache.hits ?? 0,
    cacheMisses: tessera?.cache.misses ?? 0,
    cacheMaxEntries,
    gcPauseMs,
    gcMajorPauseMs,
  };
}

/** `concurrency` loops of point lookups by digest on a pool of the same size as Tessera's. */
async function pgRun(args: PgRunArgs): Promise<PgRunResult> {
  if (pool === undefined) throw new Error("not a pg child");
  const p = pool;
  const digests = args.digests.map((d) => Buffer.from(d, "base64"));
  const query =
    args.query === "plain"
      ? { name: "bench_plain_lookup", text: "SELECT * FROM tokens WHERE digest = $1" }
      : { name: "bench_fn_lookup", text: "SELECT * FROM tessera_verify_lookup(ARRAY[1], ARRAY[$1::bytea], ARRAY[''])" };
  let next = 0;
  let measuring = false;
  let stop = false;
  let completed = 0;
  let found = 0;
  const latencies: number[] = [];
  const loop = async (): Promise<void> => {
    while (!stop) {
      const d = digests[next++ % digests.length]!;
      const t0 = performance.now();
      const r = await p.query({ ...query, values: [d] });
      if (measuring && !stop) {
        completed++;
        if (r.rows.length > 0) found++;
        latencies.push((performance.now() - t0) * 1000);
      }
    }
  };
  const loops = Array.from({ length: args.concurrency }, loop);
  await sleep(args.warmupMs);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  measuring = true;
  await sleep(args.durationMs);
  stop = true;
  const durationMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(loops);
  return { completed, found, durationMs, cpuUs: cpu.user + cpu.system, latenciesUs: latencies };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function shutdown(code: number): Promise<never> {
  if (!closing) {
    closing = true;
    const timer = setTimeout(() => process.exit(code), 10_000);
    timer.unref();
    await Promise.allSettled([tessera?.close(), noop?.close(), pool?.end()]);
  }
  process.exit(code);
}

async function handle(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case "stats":
      return stats();
    case "gc":
      (globalThis as { gc?: () => void }).gc?.();
      return stats();
    case "pg-run":
      return pgRun(c.args);
    case "profile-start":
      // The V8 profiler over the inspector protocol: only the measured window, not start-up.
      profiler ??= new Session();
      profiler.connect();
      await profiler.post("Profiler.enable");
      await profiler.post("Profiler.setSamplingInterval", { interval: 200 });
      await profiler.post("Profiler.start");
      return null;
    case "profile-stop": {
      if (profiler === undefined) throw new Error("no profile running");
      const { profile } = await profiler.post("Profiler.stop");
      profiler.disconnect();
      await writeFile(c.file, JSON.stringify(profile));
      return null;
    }
    case "close":
      setImmediate(() => void shutdown(0));
      return null;
  }
}

let started = false;
process.on("message", (msg: ChildSpec | Command) => {
  if (!started) {
    started = true;
    start(msg as ChildSpec).then(
      (ports) => {
        process.stdout.write(`listening grpc=${ports.grpcPort} http=${ports.httpPort}\n`);
        send({ type: "ready", pid: process.pid, ...ports });
      },
      (err: unknown) => {
        send({ type: "failed", error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
        void shutdown(1);
      },
    );
    return;
  }
  const c = msg as Command;
  handle(c).then(
    (result) => send({ id: c.id, ok: true, result } satisfies Reply),
    (err: unknown) => send({ id: c.id, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies Reply),
  );
});
process.on("disconnect", () => void shutdown(0));
for (const s of ["SIGINT", "SIGTERM"] as const) process.on(s, () => void shutdown(0));
