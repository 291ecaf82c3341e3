/**
 * The IPC protocol between the benchmark runner and its child processes (server-main.ts).
 * Servers run in their own processes so the load generator never shares their event loop, and
 * each child reports its own process.cpuUsage() so CPU per request is the server's alone.
 */

export interface CacheOverrides {
  maxEntries?: number;
  positiveTtlMs?: number;
  negativeTtlMs?: number;
}

export type ChildSpec =
  | {
      kind: "tessera";
      name: string;
      appUrl: string;
      ownerUrl: string;
      /** Digest keys as TESSERA_DIGEST_KEYS JSON: the runner digests tokens with the same keys. */
      keysJson: string;
      dataDir: string;
      poolSize: number;
      cache: CacheOverrides;
    }
  | {
      kind: "noop";
      name: string;
      /** The constant VerifyResponse, serialized: the same bytes Tessera answers for the token. */
      responseBase64: string;
    }
  | {
      /** The uncached path's transport + database floor: grpc-js Verify that does one raw pg lookup. */
      kind: "noop-pg";
      name: string;
      responseBase64: string;
      ownerUrl: string;
      keysJson: string;
      poolSize: number;
    }
  | {
      kind: "pg";
      name: string;
      /** Owner role: BYPASSRLS, so a plain SELECT sees every organization. */
      ownerUrl: string;
      poolSize: number;
    };

export interface Ready {
  type: "ready";
  pid: number;
  grpcPort: number;
  httpPort: number;
}

export interface Failed {
  type: "failed";
  error: string;
}

/** A snapshot; the runner subtracts two of them around a measurement. */
export interface ChildStats {
  /** process.cpuUsage(), microseconds. */
  cpuUserUs: number;
  cpuSystemUs: number;
  /** process.resourceUsage() page faults so far (minor: no disk; major: read from disk). */
  minorPageFaults: number;
  majorPageFaults: number;
  /** Verify database lookups so far (onQuery). */
  queries: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  cacheEntries: number;
  cacheHits: number;
  cacheMisses: number;
  cacheMaxEntries: number;
  /** Main-thread garbage collection pauses so far (perf_hooks 'gc' entries), ms: all, and full (mark-compact) ones. */
  gcPauseMs: number;
  gcMajorPauseMs: number;
}

export interface PgRunArgs {
  /** Digests to cycle through, base64. */
  digests: string[];
  query: "plain" | "function";
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

export interface PgRunResult {
  completed: number;
  found: number;
  durationMs: number;
  cpuUs: number;
  latenciesUs: number[];
}

export type Command =
  | { id: number; cmd: "stats" }
  | { id: number; cmd: "gc" }
  | { id: number; cmd: "pg-run"; args: PgRunArgs }
  | { id: number; cmd: "profile-start" }
  | { id: number; cmd: "profile-stop"; file: string }
  | { id: number; cmd: "close" };

export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
