/**
 * Revocation propagation: three Tessera processes on one PostgreSQL, a worker client on each.
 * For each of N revocations (SetTokenEnabled(false) through instance 1), the time from the
 * acknowledgement until every instance's Verify and every worker client refuse the token.
 *
 *   npm run build && node dist/benchmarks/propagation.js [--revocations 200]
 *
 * Prints p50/p90/p99/max and writes benchmarks/results/propagation.json.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { newKey } from "../src/domain/digest.js";
import { EndpointClass, TokenKind } from "../src/gen/tessera/v1/resources_pb.js";
import { TokenAdminService } from "../src/gen/tessera/v1/token_admin_service_pb.js";
import { TokenVerifyService } from "../src/gen/tessera/v1/token_verify_service_pb.js";
import { createWorkerClient, type WorkerClient } from "../src/client/worker-client.js";
import { SERVER_NODE_FLAGS } from "../src/node-flags.js";
import { startEmbeddedPostgres } from "../src/store/embedded.js";
import { migrate } from "../src/store/migrate.js";
import { APP_ROLE } from "../src/store/roles.js";
import { createGrpcClient } from "../src/wire/grpc-client.js";
import { percentiles } from "./stats.js";

const args = process.argv.slice(2);
const N = Number(args[args.indexOf("--revocations") + 1] ?? 200) || 200;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = path.join(ROOT, "dist/src/cli/main.js");

async function startInstance(env: Record<string, string>): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, CLI, "serve", "--grpc-port", "0", "--http-port", "0"], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "ignore"],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (l) => l.startsWith("listening") && resolve(l));
    child.once("exit", (code) => reject(new Error(`instance exited with ${code}`)));
  });
  return { port: Number(/grpc=[^ ]*:(\d+)/.exec(line)![1]), child };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tessera-propagation-"));
  const pg = await startEmbeddedPostgres({ dataDir: dir });
  const children: ChildProcess[] = [];
  const workers: WorkerClient[] = [];
  try {
    await migrate({ ownerUrl: pg.ownerUrl, appRole: APP_ROLE });
    const keys = JSON.stringify({ current: 1, keys: { "1": newKey().toString("base64") } });
    const env = { DATABASE_URL: pg.appUrl, TESSERA_DIGEST_KEYS: keys, TESSERA_CHECKPOINT_MS: "500" };
    const instances = await Promise.all([0, 1, 2].map(() => startInstance(env)));
    children.push(...instances.map((i) => i.child));
    const admin = createGrpcClient(TokenAdminService, `127.0.0.1:${instances[0]!.port}`);
    const verifiers = instances.map((i) => createGrpcClient(TokenVerifyService, `127.0.0.1:${i.port}`));
    const s = await admin.setup({ userName: "root", organizationIdentifier: "bench", bucketName: "main" });
    const auth = { metadata: { authorization: `Bearer ${s.tokenValue}` } };
    const verifier = (await admin.createToken({ name: "fleet", kind: TokenKind.VERIFIER }, auth)).value;
    const vauth = { metadata: { authorization: `Bearer ${verifier}` } };
    for (const i of instances) workers.push(createWorkerClient({ address: `127.0.0.1:${i.port}`, verifierToken: verifier }));
    await Promise.all(workers.map((w) => w.ready()));

    const tokens: Array<{ id: string; value: string }> = [];
    for (let k = 0; k < N; k++) {
      const t = await admin.createToken({ name: `t-${k}`, kind: TokenKind.INGESTION }, auth);
      tokens.push({ id: t.token!.id, value: t.value });
    }
    const req = (value: string) => ({ credential: value, endpoint: EndpointClass.INGEST });
    // Warm every cache: each instance's, and each worker client's (until it answers from cache).
    for (const t of tokens) {
      for (const v of verifiers) {
        await v.verify(req(t.value), vauth);
        await v.verify(req(t.value), vauth);
      }
      for (const w of workers) {
        for (let i = 0; i < 100 && !(await w.verify(req(t.value))).fromCache; i++) await new Promise((r) => setTimeout(r, 2));
      }
    }

    const all: number[] = [];
    const instanceTimes: number[] = [];
    const workerTimes: number[] = [];
    for (const t of tokens) {
      await admin.setTokenEnabled({ id: t.id, enabled: false }, auth);
      const acked = performance.now();
      const until = async (ask: () => Promise<boolean>): Promise<number> => {
        while (await ask()) {
          if (performance.now() - acked > 10_000) throw new Error("a revoked token was still accepted after 10 s");
          // Poll every millisecond: a tighter loop would steal the servers' CPU on 2 cores.
          await new Promise((r) => setTimeout(r, 1));
        }
        return performance.now() - acked;
      };
      const a = await Promise.all(verifiers.map((v) => until(async () => (await v.verify(req(t.value), vauth)).allowed)));
      const b = await Promise.all(workers.map((w) => until(async () => (await w.verify(req(t.value))).allowed)));
      instanceTimes.push(Math.max(...a));
      workerTimes.push(Math.max(...b));
      all.push(Math.max(...a, ...b));
      await new Promise((r) => setTimeout(r, 10));
    }
    const fmt = (p: ReturnType<typeof percentiles>) =>
      `p50 ${p.p50.toFixed(1)} ms  p90 ${p.p90.toFixed(1)} ms  p99 ${p.p99.toFixed(1)} ms  max ${p.max.toFixed(1)} ms`;
    const result = {
      revocations: N,
      allTargets: percentiles(all),
      instances: percentiles(instanceTimes),
      workerClients: percentiles(workerTimes),
      goalP99Ms: 50,
    };
    console.log(`revocation propagation over ${N} revocations (acknowledged disable → refused)`);
    console.log(
      `  3 instances + 3 worker clients: ${fmt(result.allTargets)}   goal p99 < 50 ms: ${result.allTargets.p99 < 50 ? "PASS" : "FAIL"}`,
    );
    console.log(`  3 instances (Verify):           ${fmt(result.instances)}`);
    console.log(`  3 worker clients:               ${fmt(result.workerClients)}`);
    await mkdir(path.join(ROOT, "benchmarks/results"), { recursive: true });
    await writeFile(path.join(ROOT, "benchmarks/results/propagation.json"), JSON.stringify(result, null, 2));
    admin.close();
    for (const v of verifiers) v.close();
  } finally {
    for (const w of workers) w.close();
    await Promise.all(
      children.map((c) => new Promise<void>((r) => (c.exitCode !== null ? r() : (c.once("exit", () => r()), c.kill("SIGTERM"))))),
    );
    await pg.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
