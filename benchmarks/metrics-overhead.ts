/**
 * `npm run bench:metrics`: what the per-RPC hooks (grpc_server_* metrics and the per-call log,
 * src/transport/rpc-metrics.ts and call-log.ts) cost a cached Verify. Issue 15's goal: cached
 * throughput within 5 % of the same server without them.
 *
 * Two Tessera instances in this process, on one embedded PostgreSQL and one database: `on` as
 * shipped (hooks on, the real pino logger at info writing to /dev/null) and `off` (TesseraOptions
 * rpcHooks: false, same logger). h2load, a separate process, sends the same cached Verify to one
 * at a time, in interleaved rounds (on off, off on, …) so a drift in the machine's speed weighs on
 * both alike, on the gRPC listener (grpc-adapter.ts) and on the HTTP one (auth-interceptor.ts).
 * Printed per listener: requests/s, latency p50/p99, CPU µs per request of this process, the
 * median of the paired on/off ratios and of the paired CPU differences. Throughput on a shared
 * machine swings far more than 5 % between rounds, so the run also times the hooks alone: a
 * Verify method's recorder (start, end, histogram observe, call log lookup) called 2,000,000
 * times in a loop, against the CPU a cached Verify costs. Then the load average.
 *
 * Flags: --rounds N (6), --duration S per arm and round (3), --conns C (4), --streams M (4 per connection).
 */
import { createWriteStream } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startTessera, type Tessera } from "../src/app.js";
import { createKeyring, newKey } from "../src/domain/digest.js";
import { createLog } from "../src/log.js";
import { TokenVerifyService } from "../src/gen/tessera/v1/token_verify_service_pb.js";
import { createRegistry } from "../src/services/metrics.js";
import { createRpcMetrics } from "../src/transport/rpc-metrics.js";
import { startEmbeddedPostgres } from "../src/store/embedded.js";
import { migrate } from "../src/store/migrate.js";
import { setupInstance } from "./dataset.js";
import { VERIFY_PATH, verifyBody } from "./grpc-body.js";
import { findH2load, runH2load, type H2loadResult } from "./h2load.js";
import { summarize } from "./stats.js";
import { benchTesseraConfig } from "./tessera-config.js";

const argv = process.argv.slice(2);
const flag = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const rounds = flag("rounds", 6);
const durationS = flag("duration", 3);
const conns = flag("conns", 4);
const streams = flag("streams", 4);
const say = (line: string) => process.stdout.write(line + "\n");

interface Arm {
  name: "on" | "off";
  tessera: Tessera;
}

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  cpuUs: number;
}

async function main(): Promise<void> {
  const h2load = findH2load(say);
  const tmp = await mkdtemp(path.join(os.tmpdir(), "tessera-bench-metrics-"));
  await chmod(tmp, 0o711); // PostgreSQL runs as another OS user when started as root
  const pgdb = await startEmbeddedPostgres({ dataDir: path.join(tmp, "pg") });
  const keyring = createKeyring(new Map([[1, newKey()]]), 1);
  const devNull = createWriteStream("/dev/null");
  // The shipped logger at the default level: Verify's per-call line is at debug, so not written.
  const log = createLog({ level: "info", destination: { write: (s: string) => devNull.write(s) } });
  const arms: Arm[] = [];
  try {
    await migrate({ ownerUrl: pgdb.ownerUrl, appRole: "tessera_app" });
    for (const name of ["on", "off"] as const) {
      const config = benchTesseraConfig({ dataDir: path.join(tmp, name), appUrl: pgdb.appUrl, ownerUrl: pgdb.ownerUrl, poolSize: 16 });
      arms.push({ name, tessera: await startTessera(config, { keyring, log, rpcHooks: name === "on" }) });
    }
    const inst = await setupInstance(arms[0]!.tessera.grpcPort, "bench");
    const bodyFile = path.join(tmp, "verify.bin");
    await writeFile(bodyFile, verifyBody(inst.ingestToken));
    let logN = 0;
    const run = async (port: number, seconds: number): Promise<{ r: H2loadResult; cpuUs: number }> => {
      const cpu0 = process.cpuUsage();
      const r = await runH2load(h2load, {
        port,
        path: VERIFY_PATH,
        bodyFile,
        authorization: `Bearer ${inst.verifierToken}`,
        connections: conns,
        streamsPerConnection: streams,
        durationS: seconds,
        logFile: path.join(tmp, `h2load-${logN++}.log`),
      });
      const cpu = process.cpuUsage(cpu0);
      // A gRPC error is a trailers-only answer: no DATA. Every answer must carry a message.
      if (r.failed + r.errored + r.non2xx > 0 || r.succeeded === 0 || r.dataBytes < r.succeeded * 5) {
        throw new Error(
          `port ${port}: ${r.succeeded} ok, ${r.failed} failed, ${r.errored} errored, ${r.non2xx} non-2xx, ${r.dataBytes} B of answers`,
        );
      }
      return { r, cpuUs: (cpu.user + cpu.system) / r.succeeded };
    };

    say(
      `cached Verify, per-RPC hooks on vs off: ${rounds} rounds × ${durationS} s per arm, h2load -c ${conns} -m ${streams}, node ${process.version}, ${os.cpus().length} CPUs`,
    );
    const load0 = os.loadavg();
    const cpuPerVerify: number[] = [];
    for (const listener of ["grpc", "http"] as const) {
      const port = (a: Arm) => (listener === "grpc" ? a.tessera.grpcPort : a.tessera.httpPort);
      // Warm-up: fills both caches (the verifier and the token) and lets V8 optimise.
      for (const a of arms) await run(port(a), 1);
      const samples: Record<Arm["name"], Sample[]> = { on: [], off: [] };
      const ratios: number[] = [];
      const cpuDiffs: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? arms : [...arms].reverse();
        const got: Partial<Record<Arm["name"], Sample>> = {};
        for (const a of order) {
          const { r, cpuUs } = await run(port(a), durationS);
          got[a.name] = { rps: r.rps, p50: r.latencyUs.p50, p99: r.latencyUs.p99, cpuUs };
          samples[a.name].push(got[a.name]!);
        }
        ratios.push(got.on!.rps / got.off!.rps);
        cpuDiffs.push(got.on!.cpuUs - got.off!.cpuUs);
        say(
          `  ${listener} round ${round + 1}: on ${fmt(got.on!)} | off ${fmt(got.off!)} | on/off ${(got.on!.rps / got.off!.rps).toFixed(3)}`,
        );
      }
      const med = (name: Arm["name"], k: keyof Sample) => summarize(samples[name].map((s) => s[k])).median;
      const ratio = summarize(ratios);
      say(
        `${listener} listener, medians: on ${Math.round(med("on", "rps")).toLocaleString("en-US")}/s p50 ${med("on", "p50").toFixed(0)} µs p99 ${med("on", "p99").toFixed(0)} µs ${med("on", "cpuUs").toFixed(1)} µs CPU/req; ` +
          `off ${Math.round(med("off", "rps")).toLocaleString("en-US")}/s p50 ${med("off", "p50").toFixed(0)} µs p99 ${med("off", "p99").toFixed(0)} µs ${med("off", "cpuUs").toFixed(1)} µs CPU/req`,
      );
      say(
        `${listener} listener, on/off throughput: median ${ratio.median.toFixed(3)} (range ${ratio.min.toFixed(3)}–${ratio.max.toFixed(3)}); goal ≥ 0.95: ${ratio.median >= 0.95 ? "met" : "NOT met"}`,
      );
      const diff = summarize(cpuDiffs);
      say(
        `${listener} listener, CPU per request on − off: median ${diff.median.toFixed(1)} µs (range ${diff.min.toFixed(1)} to ${diff.max.toFixed(1)}), of ${med("off", "cpuUs").toFixed(1)} µs`,
      );
      cpuPerVerify.push(med("off", "cpuUs"));
    }
    const hook = hookCostUs();
    const least = Math.min(...cpuPerVerify);
    say(
      `the hooks alone, in a loop: ${hook.toFixed(2)} µs per Verify call (${((hook / least) * 100).toFixed(1)} % of the ${least.toFixed(1)} µs CPU of a cached Verify without them)`,
    );
    // Proof that the arms differ: only `on` has grpc_server_* series for Verify.
    for (const a of arms) {
      const text = await (await fetch(`http://127.0.0.1:${a.tessera.httpPort}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith("grpc_server_handled_total{") && l.includes('grpc_method="Verify"'));
      say(`${a.name}: ${line ?? "no grpc_server_handled_total for Verify"}`);
    }
    const load1 = os.loadavg();
    say(
      `load average (1, 5, 15 min): before ${load0.map((x) => x.toFixed(2)).join(", ")}; after ${load1.map((x) => x.toFixed(2)).join(", ")}`,
    );
  } finally {
    for (const a of arms) await a.tessera.close();
    await pgdb.stop();
    devNull.end();
    await rm(tmp, { recursive: true, force: true });
  }
}

/** µs per call of Verify's recorder, as both listeners call it (start, then end with OK). */
function hookCostUs(): number {
  const verify = TokenVerifyService.method.verify;
  const devNull = { write: () => undefined };
  const recorder = createRpcMetrics(createRegistry(), createLog({ level: "info", destination: devNull }))(verify);
  const n = 2_000_000;
  let best = Number.POSITIVE_INFINITY;
  for (let rep = 0; rep < 5; rep++) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      const started = recorder.start();
      const id = recorder.log?.begin(
        () => undefined,
        () => undefined,
      );
      recorder.end(started, 0);
      if (id !== undefined) recorder.log?.end(id, started, 0, undefined);
    }
    const cpu = process.cpuUsage(t0);
    best = Math.min(best, (cpu.user + cpu.system) / n);
  }
  return best;
}

function fmt(s: Sample): string {
  return `${Math.round(s.rps).toLocaleString("en-US")}/s p50 ${s.p50.toFixed(0)} µs p99 ${s.p99.toFixed(0)} µs ${s.cpuUs.toFixed(1)} µs CPU`;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`metrics-overhead benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
