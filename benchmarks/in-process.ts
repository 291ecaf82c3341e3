/**
 * `npm run bench:in-process`: what Tessera's own Verify logic costs, with no transport in the way.
 *
 * The handler (authentication of the verifier, credential parsing, digest, cache, decision,
 * memoized answer) is called directly in one process against an embedded PostgreSQL, so the
 * figures show what the service adds on top of gRPC, which `npm run bench` cannot separate:
 *
 * - cached: one caller, one token, sequential calls: µs of CPU per Verify (request decoding included),
 *   and the same with cold CPU caches (16 MiB of other memory touched before each call);
 * - uncached: 16 callers, 1,000 tokens, a cache of 500 (every lookup misses), against 16 loops of
 *   raw `pg` point lookups by digest on a pool of the same size, interleaved: throughput and CPU;
 * - memory: heap per cache entry after verifying N tokens once each (`--tokens N`, 100,000 by default).
 *
 * Run with `node --expose-gc` (the npm script does) so the memory figure is measured after a full GC.
 */
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { createContextValues, type HandlerContext } from "@connectrpc/connect";
import pg from "pg";
import { startTessera, type Tessera } from "../src/app.js";
import { createKeyring, newKey, type Keyring } from "../src/domain/digest.js";
import { VerifyRequestSchema } from "../src/gen/tessera/v1/token_verify_service_pb.js";
import { silentLog } from "../src/log.js";
import { createAuthenticator } from "../src/services/authenticate.js";
import { kCaller } from "../src/services/caller.js";
import { createTokenVerifyService } from "../src/services/verify-service.js";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../src/store/embedded.js";
import { migrate } from "../src/store/migrate.js";
import { insertTokens, setupInstance } from "./dataset.js";
import { verifyRequest } from "./grpc-body.js";
import { benchTesseraConfig } from "./tessera-config.js";

const argv = process.argv.slice(2);
const flag = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const memoryTokens = flag("tokens", 100_000);
const gc = (globalThis as { gc?: () => void }).gc;
const say = (line: string) => process.stdout.write(line + "\n");

/** A Verify caller over the service implementation itself: decode, authenticate, verify. */
function verifier(t: Tessera, verifierToken: string): (body: Uint8Array) => Promise<{ allowed?: boolean; status?: number }> {
  const authenticate = createAuthenticator(t.deps.lookup, t.deps.now, t.deps.lastUsed);
  const service = createTokenVerifyService(t.deps);
  const header = `Bearer ${verifierToken}`;
  return async (body) => {
    const req = fromBinary(VerifyRequestSchema, body);
    const ctx = { values: createContextValues().set(kCaller, await authenticate(header)) } as unknown as HandlerContext;
    const res = await service.verify(req, ctx);
    if (!res.allowed) throw new Error(`Verify refused a valid token (status ${res.status})`);
    return res;
  };
}

/** `concurrency` loops of `op` for `ms`: operations per second and this process's CPU per operation. */
async function measure(op: () => Promise<unknown>, concurrency: number, ms: number): Promise<{ rps: number; cpuUs: number }> {
  let stop = false;
  let n = 0;
  const loop = async () => {
    while (!stop) {
      await op();
      // A cached Verify never waits for I/O, so only microtasks would ever run: let timers in.
      if (++n % 256 === 0) await new Promise((r) => setImmediate(r));
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const loops = Array.from({ length: concurrency }, loop);
  await new Promise((r) => setTimeout(r, ms));
  stop = true;
  await Promise.all(loops);
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { rps: (n / elapsed) * 1000, cpuUs: (cpu.user + cpu.system) / n };
}

/** Mean wall time of `op` (µs) when each call follows a walk through 16 MiB of other memory. */
async function coldCalls(op: () => Promise<unknown>, n: number): Promise<number> {
  const other = Buffer.alloc(16 << 20);
  let total = 0n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < other.length; j += 64) other[j]!++;
    const t0 = process.hrtime.bigint();
    await op();
    total += process.hrtime.bigint() - t0;
  }
  return Number(total) / n / 1000;
}

async function start(pgdb: EmbeddedDatabase, keyring: Keyring, dir: string, maxEntries?: number): Promise<Tessera> {
  const config = benchTesseraConfig({
    dataDir: dir,
    appUrl: pgdb.appUrl,
    ownerUrl: pgdb.ownerUrl,
    poolSize: 16,
    cache: maxEntries === undefined ? {} : { maxEntries },
  });
  return startTessera(config, { keyring, log: silentLog });
}

async function main(): Promise<void> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), "tessera-in-process-"));
  await chmod(tmp, 0o711); // PostgreSQL runs as another OS user when started as root
  const pgdb = await startEmbeddedPostgres({ dataDir: path.join(tmp, "pg") });
  const keyring = createKeyring(new Map([[1, newKey()]]), 1);
  const servers: Tessera[] = [];
  try {
    await migrate({ ownerUrl: pgdb.ownerUrl, appRole: "tessera_app" });
    const cached = await start(pgdb, keyring, path.join(tmp, "a"));
    servers.push(cached);
    const inst = await setupInstance(cached.grpcPort, "bench");
    const tokens = await insertTokens({ ownerUrl: pgdb.ownerUrl, keyring, organizations: 10, tokensPerOrganization: 100, prefix: "small" });

    // Cached: one token, sequential.
    const verify = verifier(cached, inst.verifierToken);
    const one = verifyRequest(inst.ingestToken);
    await measure(() => verify(one), 1, 1000);
    const decodeOnly = await measure(async () => fromBinary(VerifyRequestSchema, one), 1, 1000);
    const c = await measure(() => verify(one), 1, 2000);
    say(
      `cached Verify, in-process, sequential: ${Math.round(c.rps).toLocaleString("en-US")}/s, ${c.cpuUs.toFixed(1)} µs CPU per call (of which request decoding ${decodeOnly.cpuUs.toFixed(1)} µs)`,
    );
    // A server at one call in flight runs each call after the kernel and the client have had the
    // CPU: its caches are cold. Touching 16 MiB between calls approximates that.
    const cold = await coldCalls(() => verify(one), 2000);
    const coldDecode = await coldCalls(async () => fromBinary(VerifyRequestSchema, one), 2000);
    say(
      `cached Verify, in-process, cold CPU caches (16 MiB touched between calls): ${cold.toFixed(1)} µs per call (of which request decoding ${coldDecode.toFixed(1)} µs)`,
    );

    // Uncached vs raw pg, interleaved.
    const uncached = await start(pgdb, keyring, path.join(tmp, "b"), 500);
    servers.push(uncached);
    const verifyMiss = verifier(uncached, inst.verifierToken);
    const bodies = tokens.map(verifyRequest);
    const digests = tokens.map((v) => keyring.digest(v));
    const pool = new pg.Pool({ connectionString: pgdb.ownerUrl, max: 16 });
    let i = 0;
    let j = 0;
    const raw = async () => {
      const r = await pool.query({ name: "raw", text: "SELECT * FROM tokens WHERE digest = $1", values: [digests[j++ % digests.length]] });
      if (r.rows.length !== 1) throw new Error("raw pg: no row");
    };
    const miss = () => verifyMiss(bodies[i++ % bodies.length]!);
    try {
      await measure(raw, 16, 500);
      await measure(miss, 16, 500);
      const ratios: number[] = [];
      for (let rep = 0; rep < 3; rep++) {
        const p = await measure(raw, 16, 2000);
        const u = await measure(miss, 16, 2000);
        ratios.push(u.rps / p.rps);
        say(
          `uncached Verify, in-process, 16 callers: ${Math.round(u.rps).toLocaleString("en-US")}/s (${u.cpuUs.toFixed(1)} µs CPU each); ` +
            `raw pg lookups: ${Math.round(p.rps).toLocaleString("en-US")}/s (${p.cpuUs.toFixed(1)} µs CPU each); ratio ${(u.rps / p.rps).toFixed(2)}`,
        );
      }
      say(`uncached / raw pg, median of ${ratios.length}: ${ratios.sort((a, b) => a - b)[1]!.toFixed(2)}`);
    } finally {
      await pool.end();
    }

    // Memory per cache entry.
    if (gc === undefined) {
      say("memory: skipped (run with node --expose-gc)");
      return;
    }
    const many = await insertTokens({
      ownerUrl: pgdb.ownerUrl,
      keyring,
      organizations: Math.max(1, memoryTokens / 100),
      tokensPerOrganization: 100,
      prefix: "many",
    });
    const fresh = await start(pgdb, keyring, path.join(tmp, "c"));
    servers.push(fresh);
    const fill = verifier(fresh, inst.verifierToken);
    await fill(one);
    gc();
    gc();
    const m0 = process.memoryUsage();
    const n0 = fresh.cache.size;
    for (let k = 0; k < many.length; k += 64) await Promise.all(many.slice(k, k + 64).map((v) => fill(verifyRequest(v))));
    gc();
    gc();
    const m1 = process.memoryUsage();
    const n = fresh.cache.size - n0;
    say(
      `memory: ${n.toLocaleString("en-US")} more cache entries (each with its memoized answer): ${Math.round((m1.heapUsed - m0.heapUsed) / n)} B heap and ${Math.round((m1.external - m0.external) / n)} B outside the heap per entry`,
    );

    // The same cached Verify over the whole set in random order, against a 1,000-token subset:
    // what a big cache costs per call in memory latency alone.
    const shuffled = many.map(verifyRequest);
    for (let k = shuffled.length - 1; k > 0; k--) {
      const r = Math.floor(Math.random() * (k + 1));
      [shuffled[k], shuffled[r]] = [shuffled[r]!, shuffled[k]!];
    }
    const small = shuffled.slice(0, 1000);
    let a = 0;
    let b = 0;
    const overAll = () => fill(shuffled[a++ % shuffled.length]!);
    const overSmall = () => fill(small[b++ % small.length]!);
    await measure(overAll, 1, 1000);
    await measure(overSmall, 1, 1000);
    for (let rep = 0; rep < 3; rep++) {
      const x = await measure(overSmall, 1, 1500);
      const y = await measure(overAll, 1, 1500);
      say(
        `cached Verify in random order, in-process: ${y.cpuUs.toFixed(1)} µs per call over ${n.toLocaleString("en-US")} tokens, ${x.cpuUs.toFixed(1)} µs over 1,000 of them (ratio of rates ${(y.rps / x.rps).toFixed(2)})`,
      );
    }
  } finally {
    for (const s of servers) await s.close();
    await pgdb.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`in-process benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
