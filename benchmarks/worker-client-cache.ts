/**
 * In-process cached Verify throughput of the worker client (src/client/worker-client.ts).
 *
 * Primes the client's cache with one real answer from a real Tessera, then calls `verify` N times
 * in a loop on one core, awaiting each call (as a request handler would), and reports verifies/s
 * and per-call p50/p99/max. Prints a human line and a JSON line.
 *
 *   node dist/benchmarks/worker-client-cache.js [--n 2000000] [--distinct 1]
 *
 * Server: with TESSERA_ADDRESS, TESSERA_VERIFIER_TOKEN and TESSERA_CREDENTIAL set, that server;
 * otherwise a throwaway Tessera over an embedded PostgreSQL in a temporary directory.
 * `--distinct k` rotates through k different cached requests (k different bucket names) so the
 * key digest and map lookup are not always of the same string.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createWorkerClient, EndpointClass, type WorkerVerifyRequest } from "../src/client/worker-client.js";
import { startTessera, type Tessera } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { createKeyring, newKey } from "../src/domain/digest.js";
import { TokenKind } from "../src/gen/tessera/v1/resources_pb.js";
import { TokenAdminService } from "../src/gen/tessera/v1/token_admin_service_pb.js";
import { silentLog } from "../src/log.js";
import { createGrpcClient } from "../src/wire/grpc-client.js";

interface Target {
  address: string;
  verifierToken: string;
  credential: string;
  close(): Promise<void>;
}

async function ownServer(): Promise<Target> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tessera-wc-bench-"));
  let tessera: Tessera | undefined;
  try {
    tessera = await startTessera(
      {
        ...loadConfig({}, {}),
        dataDir: dir,
        databaseUrl: undefined,
        ownerDatabaseUrl: undefined,
        grpcPort: 0,
        httpPort: 0,
        keyFile: path.join(dir, "keys.json"),
      },
      { keyring: createKeyring({ 1: newKey() }, 1), log: silentLog },
    );
    const address = `127.0.0.1:${tessera.grpcPort}`;
    const admin = createGrpcClient(TokenAdminService, address);
    try {
      const s = await admin.setup({ userName: "root", organizationIdentifier: "bench", bucketName: "main" });
      const auth = { metadata: { authorization: `Bearer ${s.tokenValue}` } };
      const v = await admin.createToken({ name: "bench-verifier", kind: TokenKind.VERIFIER }, auth);
      const t = await admin.createToken({ organizationId: s.organization!.id, name: "bench-ingest", kind: TokenKind.INGESTION }, auth);
      const t1 = tessera;
      return {
        address,
        verifierToken: v.value,
        credential: t.value,
        close: async () => {
          await t1.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    } finally {
      admin.close();
    }
  } catch (err) {
    await tessera?.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function envServer(): Target | undefined {
  const { TESSERA_ADDRESS: address, TESSERA_VERIFIER_TOKEN: verifierToken, TESSERA_CREDENTIAL: credential } = process.env;
  if (!address || !verifierToken || !credential) return undefined;
  return { address, verifierToken, credential, close: async () => undefined };
}

const pct = (sorted: Float64Array, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { n: { type: "string", default: "2000000" }, distinct: { type: "string", default: "1" } } });
  const n = Number(values.n);
  const distinct = Math.max(1, Number(values.distinct));
  const target = envServer() ?? (await ownServer());
  const client = createWorkerClient({ address: target.address, verifierToken: target.verifierToken });
  try {
    await client.ready();
    const reqs: WorkerVerifyRequest[] = Array.from({ length: distinct }, (_, i) => ({
      credential: target.credential,
      endpoint: EndpointClass.INGEST,
      ...(distinct > 1 && { bucket: `bucket-${i}` }),
    }));
    // Prime: one real answer per request, then wait until each is served from the cache.
    for (const r of reqs) {
      const first = await client.verify(r);
      if (!first.allowed && distinct === 1) throw new Error(`the server refused the benchmark credential: ${String(first.status)}`);
      const deadline = Date.now() + 5000;
      while (!(await client.verify(r)).fromCache) {
        if (Date.now() > deadline) throw new Error("the answer never became cached (is the revocation stream healthy?)");
        await new Promise((res) => setTimeout(res, 10));
      }
    }
    // Warm-up (JIT), then the throughput pass: nothing but awaited verify calls.
    // Every YIELD_EVERY calls the loop lets I/O run, as a real worker's event loop would: a loop of
    // nothing but resolved promises would starve the revocation stream, and after stalenessMs the
    // client (rightly) stops trusting its cache.
    const YIELD_EVERY = 10_000;
    const breathe = () => new Promise<void>((res) => setImmediate(res));
    for (let i = 0; i < 200_000; i++) {
      await client.verify(reqs[i % distinct]!);
      if (i % YIELD_EVERY === 0) await breathe();
    }
    const before = client.stats();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      await client.verify(reqs[i % distinct]!);
      if (i % YIELD_EVERY === 0) await breathe();
    }
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const after = client.stats();
    const hits = after.hits - before.hits;
    // Latency pass: each call timed on its own (adds the timer's own cost).
    const m = Math.min(n, 500_000);
    const lat = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      const s = performance.now();
      await client.verify(reqs[i % distinct]!);
      lat[i] = performance.now() - s;
      if (i % YIELD_EVERY === 0) await breathe();
    }
    lat.sort();
    const result = {
      benchmark: "worker-client cached verify (in-process, one core, awaited calls)",
      server: envServer() ? target.address : "own (embedded PostgreSQL)",
      calls: n,
      distinctRequests: distinct,
      hitRatio: hits / n,
      verifiesPerSecond: Math.round((n / wallMs) * 1000),
      /** Calls per second of CPU time used: the one-core rate on a machine shared with other work. */
      verifiesPerCpuSecond: Math.round((n / ((cpu.user + cpu.system) / 1000)) * 1000),
      nsPerVerify: Math.round((wallMs * 1e6) / n),
      coreShare: Number(((cpu.user + cpu.system) / 1000 / wallMs).toFixed(2)),
      latencyUs: {
        p50: Number((pct(lat, 0.5) * 1000).toFixed(2)),
        p99: Number((pct(lat, 0.99) * 1000).toFixed(2)),
        p999: Number((pct(lat, 0.999) * 1000).toFixed(2)),
        max: Number((lat[lat.length - 1]! * 1000).toFixed(2)),
      },
      node: process.version,
    };
    console.log(
      `worker-client cached verify: ${result.verifiesPerSecond.toLocaleString("en")} verifies/s wall, ` +
        `${result.verifiesPerCpuSecond.toLocaleString("en")} per CPU-second (core share ${result.coreShare}; ${result.nsPerVerify} ns each, hit ratio ${result.hitRatio.toFixed(4)}), ` +
        `p50 ${result.latencyUs.p50} µs, p99 ${result.latencyUs.p99} µs, max ${result.latencyUs.max} µs`,
    );
    console.log(JSON.stringify(result));
  } finally {
    await client.close();
    await target.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
