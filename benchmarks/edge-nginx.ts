/**
 * The edge through a real nginx (issue 14): what `auth_request` to Tessera's /forward-auth costs a
 * gateway, and how soon a disabled token is refused through it.
 *
 *   npm run bench:edge [-- --duration S --reps N --revocations N]
 *
 * Starts an embedded PostgreSQL, Tessera in a child process (server-main.ts, as `npm run bench`
 * does), a small upstream that answers "ok", and Debian's nginx three times in front of it: the
 * README's configuration without `auth_request` (the baseline), with it, and with it and kept-
 * alive connections to Tessera. h2load drives small OTLP/HTTP log exports over keep-alive
 * HTTP/1.1 at 16 and 64 in flight (one request per connection at a time), interleaved with the
 * baseline; then a token is disabled with SetTokenEnabled N times and each time the loop of
 * back-to-back requests through nginx is timed from the call's return to the first refusal.
 * Prints a table and writes benchmarks/results/edge-nginx.json.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { newKey } from "../src/domain/digest.js";
import { TokenKind } from "../src/gen/tessera/v1/resources_pb.js";
import { TokenAdminService } from "../src/gen/tessera/v1/token_admin_service_pb.js";
import { startEmbeddedPostgres } from "../src/store/embedded.js";
import { migrate } from "../src/store/migrate.js";
import { createGrpcClient } from "../src/wire/grpc-client.js";
import { startNginx, startUpstream, type Gateway } from "../test/edge/gateway-processes.js";
import { forkChild, killAllChildren, type Child } from "./children.js";
import { setupInstance } from "./dataset.js";
import { findH2load, h2loadVersion, runH2load, type H2loadResult } from "./h2load.js";
import { fmt, printTable, writeJson, type Figure } from "./report.js";
import { percentiles, summarize, type Percentiles } from "./stats.js";

const argv = process.argv.slice(2);
const flag = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`);
  const v = i < 0 ? NaN : Number(argv[i + 1]);
  return Number.isFinite(v) && v > 0 ? v : dflt;
};
const o = { durationS: flag("duration", 4), reps: flag("reps", 3), warmupS: 1, revocations: flag("revocations", 100) };
const CONCURRENCY = [16, 64];
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BODY = JSON.stringify({
  resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: "1700000000000000000", body: { stringValue: "GET /health 200 1ms" } }] }] }],
});

const say = (line: string) => process.stdout.write(line + "\n");
const t00 = Date.now();
const step = (line: string) => say(`# [${((Date.now() - t00) / 1000).toFixed(0).padStart(3)}s] ${line}`);

interface Arm {
  name: string;
  gateway: Gateway;
}

interface Sample {
  rps: number;
  latencyUs: Percentiles;
  /** Tessera's CPU per request through this arm, µs (≈ 0 for the baseline). */
  tesseraCpuUs: number;
}

async function main(): Promise<void> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    while (cleanups.length > 0) await cleanups.pop()!().catch((err: unknown) => step(`cleanup: ${String(err)}`));
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      killAllChildren();
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    const h2load = findH2load(step);
    if (!existsSync("/usr/sbin/nginx")) {
      step("nginx is missing: running test/tools/ensure-nginx.sh");
      if (spawnSync("bash", [path.join(ROOT, "test/tools/ensure-nginx.sh")], { stdio: "inherit" }).status !== 0)
        throw new Error("nginx could not be installed");
    }
    const [l1] = os.loadavg();
    step(
      `load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")} on ${os.cpus().length} CPUs`,
    );
    if (l1! > os.cpus().length * 0.5) step("warning: the machine is busy: other processes will disturb the figures");
    const tmp = await mkdtemp(path.join(os.tmpdir(), "tessera-bench-edge-"));
    cleanups.push(() => rm(tmp, { recursive: true, force: true }));
    // As root, PostgreSQL runs as the `postgres` OS user, which must traverse this directory.
    await chmod(tmp, 0o711);

    step("starting embedded PostgreSQL and Tessera");
    const pg = await startEmbeddedPostgres({ dataDir: path.join(tmp, "pg-data") });
    cleanups.push(() => pg.stop());
    await migrate({ ownerUrl: pg.ownerUrl, appRole: "tessera_app" });
    const keysJson = JSON.stringify({ current: 1, keys: { "1": newKey().toString("base64") } });
    const tessera = await forkChild({
      kind: "tessera",
      name: "tessera-edge",
      appUrl: pg.appUrl,
      ownerUrl: pg.ownerUrl,
      keysJson,
      dataDir: path.join(tmp, "tessera"),
      poolSize: 16,
      cache: { positiveTtlMs: 3_600_000 },
    });
    cleanups.push(() => tessera.close());
    const inst = await setupInstance(tessera.grpcPort, "edge");

    const upstream = await startUpstream({ record: false });
    cleanups.push(() => upstream.close());
    const gw = { tesseraHttpPort: tessera.httpPort, upstreamPort: upstream.port, verifierToken: inst.verifierToken };
    const arm = async (name: string, g: Promise<Gateway>): Promise<Arm> => {
      const gateway = await g;
      cleanups.push(() => gateway.close());
      return { name, gateway };
    };
    const plain = await arm("nginx without auth", startNginx({ ...gw, auth: false }));
    const auth = await arm("nginx + auth_request", startNginx(gw));
    const keep = await arm("nginx + auth_request, keepalive to Tessera", startNginx({ ...gw, tesseraKeepalive: true }));
    const arms = [plain, auth, keep];

    // Each arm does what it says: the token passes everywhere, a wrong one only where there is no auth.
    for (const a of arms) {
      const ok = await post(a.gateway.port, inst.ingestToken);
      const bad = await post(a.gateway.port, "tsin_not-a-real-token");
      const expectBad = a === plain ? 200 : 401;
      if (ok !== 200 || bad !== expectBad)
        throw new Error(`${a.name}: token answered ${ok}, a wrong one ${bad} (expected 200, ${expectBad})`);
    }

    const bodyFile = path.join(tmp, "body.json");
    await writeFile(bodyFile, BODY);
    let logN = 0;
    const load = async (a: Arm, conns: number, durationS: number): Promise<Sample> => {
      const s0 = await tessera.stats();
      const r = await runH2load(h2load, {
        h1: true,
        port: a.gateway.port,
        path: "/v1/logs",
        bodyFile,
        authorization: `Bearer ${inst.ingestToken}`,
        headers: ["content-type: application/json"],
        connections: conns,
        streamsPerConnection: 1,
        durationS,
        logFile: path.join(tmp, `h2load-${logN++}.log`),
      });
      const s1 = await tessera.stats();
      checkRun(a, r);
      return {
        rps: r.rps,
        latencyUs: r.latencyUs,
        tesseraCpuUs: (s1.cpuUserUs + s1.cpuSystemUs - s0.cpuUserUs - s0.cpuSystemUs) / r.succeeded,
      };
    };

    const figures: Figure[] = [];
    const series: Record<string, unknown> = {};
    for (const conns of CONCURRENCY) {
      step(`${conns} in flight (h2load --h1 -c ${conns} -m 1), ${o.reps} × ${o.durationS} s per arm after ${o.warmupS} s warm-ups`);
      for (const a of arms) await load(a, conns, o.warmupS);
      const samples = new Map<Arm, Sample[]>(arms.map((a) => [a, []]));
      for (let rep = 0; rep < o.reps; rep++) {
        // Forward and backward in turn, so the machine's drift weighs on every arm alike.
        for (const a of rep % 2 === 0 ? arms : [...arms].reverse()) samples.get(a)!.push(await load(a, conns, o.durationS));
      }
      const base = samples.get(plain)!;
      for (const a of arms) {
        const s = samples.get(a)!;
        const rps = summarize(s.map((x) => x.rps));
        step(
          `  ${a.name.padEnd(44)} ${fmt.rps(rps.median)} (${fmt.rps(rps.min)}–${fmt.rps(rps.max)})  p50 ${fmt.ms(med(s.map((x) => x.latencyUs.p50)))}  p99 ${fmt.ms(med(s.map((x) => x.latencyUs.p99)))}  Tessera CPU ${fmt.us(med(s.map((x) => x.tesseraCpuUs)))}/req`,
        );
        series[`${a.name} / ${conns}`] = s;
      }
      for (const a of [auth, keep]) {
        const s = samples.get(a)!;
        // Each repetition against the baseline's beside it (same round): the machine's speed drifts.
        const ratio = summarize(s.map((x, i) => x.rps / base[i]!.rps));
        const p50 = med(s.map((x, i) => x.latencyUs.p50 - base[i]!.latencyUs.p50));
        const p99 = med(s.map((x, i) => x.latencyUs.p99 - base[i]!.latencyUs.p99));
        figures.push({
          id: `edge-nginx-${a === auth ? "auth" : "auth-keepalive"}-${conns}`,
          figure: `${a.name} / without, ${conns} in flight`,
          value: fmt.rps(med(s.map((x) => x.rps))),
          baseline: fmt.rps(med(base.map((x) => x.rps))),
          ratio: `${fmt.ratio(ratio.median)} (${fmt.ratio(ratio.min)}–${fmt.ratio(ratio.max)})`,
          goal: "",
          pass: null,
          data: { ratio: ratio.median, pairRatios: ratio.values, addedP50Us: p50, addedP99Us: p99 },
        });
        figures.push({
          id: `edge-nginx-${a === auth ? "auth" : "auth-keepalive"}-${conns}-latency`,
          figure: `  added latency, p50 / p99`,
          value: `+${fmt.ms(p50)} / +${fmt.ms(p99)}`,
          baseline: `${fmt.ms(med(base.map((x) => x.latencyUs.p50)))} / ${fmt.ms(med(base.map((x) => x.latencyUs.p99)))}`,
          ratio: "",
          goal: "",
          pass: null,
        });
      }
    }

    step(`revocation through nginx (auth_request): ${o.revocations} × SetTokenEnabled(false), then requests back to back until refused`);
    const times = await revocations(tessera, inst, auth.gateway.port, o.revocations);
    const p = percentiles(times.ms);
    const late = times.requests.filter((n) => n > 1).length;
    step(
      `  p50 ${p.p50.toFixed(2)} ms  p99 ${p.p99.toFixed(2)} ms  max ${p.max.toFixed(2)} ms; ${late === 0 ? "every one refused on the very next request" : `${late} let through after SetTokenEnabled returned (at most ${Math.max(...times.requests) - 1} requests)`}`,
    );
    figures.push({
      id: "edge-nginx-revocation",
      figure: `SetTokenEnabled(false) returned → first refusal through nginx (${o.revocations} revocations)`,
      value: `p50 ${p.p50.toFixed(2)} ms, p99 ${p.p99.toFixed(2)} ms, max ${p.max.toFixed(2)} ms`,
      baseline: "",
      ratio: "",
      goal: "refused on the next request",
      pass: times.requests.every((n) => n === 1),
      data: { percentilesMs: p, requestsUntilRefused: summarize(times.requests) },
    });

    say("");
    printTable(figures, say);
    const file = path.join(ROOT, "benchmarks/results/edge-nginx.json");
    await writeJson(file, {
      meta: {
        date: new Date().toISOString(),
        node: process.version,
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model,
        h2load: h2loadVersion(h2load),
        nginx: spawnSync("/usr/sbin/nginx", ["-v"], { encoding: "utf8" }).stderr.trim(),
        options: o,
        loadAverageAtEnd: os.loadavg(),
      },
      figures,
      series,
    });
    say("");
    say(`JSON: ${path.relative(process.cwd(), file)}; elapsed ${((Date.now() - t00) / 1000).toFixed(0)} s`);
  } finally {
    await cleanup();
  }
}

const med = (values: number[]): number => summarize(values).median;

/** Every request of a run answered 200 (a refusal or an error would make the figure meaningless). */
function checkRun(a: Arm, r: H2loadResult): void {
  if (r.succeeded === 0) throw new Error(`${a.name}: h2load completed no request`);
  if (r.failed > 0 || r.errored > 0 || r.non2xx > 0)
    throw new Error(`${a.name}: h2load saw ${r.failed} failed, ${r.errored} errored, ${r.non2xx} non-2xx requests`);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** One POST /v1/logs through the gateway on a kept-alive connection; its status. */
function post(port: number, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path: "/v1/logs",
        method: "POST",
        agent,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "content-length": Buffer.byteLength(BODY) },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode!));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(BODY);
  });
}

/**
 * `n` tokens, each used through nginx until Tessera's cache holds it, then disabled with the real
 * admin client: the time from SetTokenEnabled's return to the first 401 of a loop of requests
 * sent back to back, and how many requests that took (1: the very next one was refused).
 */
async function revocations(
  tessera: Child,
  inst: { operatorToken: string; organizationId: string },
  port: number,
  n: number,
): Promise<{ ms: number[]; requests: number[] }> {
  const admin = createGrpcClient(TokenAdminService, `127.0.0.1:${tessera.grpcPort}`);
  const auth = { metadata: { authorization: `Bearer ${inst.operatorToken}` } };
  try {
    const ms: number[] = [];
    const requests: number[] = [];
    for (let k = 0; k < n; k++) {
      const t = await admin.createToken({ organizationId: inst.organizationId, name: `revoked-${k}`, kind: TokenKind.INGESTION }, auth);
      for (let i = 0; i < 3; i++) {
        const s = await post(port, t.value);
        if (s !== 200) throw new Error(`a fresh token was answered ${s} through nginx`);
      }
      await admin.setTokenEnabled({ id: t.token!.id, enabled: false }, auth);
      const returned = performance.now();
      let sent = 0;
      for (;;) {
        const s = await post(port, t.value);
        sent++;
        if (s === 401) break;
        if (s !== 200) throw new Error(`a disabled token was answered ${s} through nginx`);
        if (performance.now() - returned > 10_000) throw new Error("a disabled token was still let through after 10 s");
      }
      ms.push(performance.now() - returned);
      requests.push(sent);
    }
    return { ms, requests };
  } finally {
    admin.close();
  }
}

await main();
