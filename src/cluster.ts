/**
 * `serve --workers N`: N server processes behind the same two ports, with node:cluster.
 *
 * Why these choices:
 * - The primary does what must happen once: it starts the embedded PostgreSQL (when no database
 *   URL is given), runs migrations, and creates the digest key file. Workers get the app URL and
 *   no owner URL, so N processes never race each other over migrations, `initdb` or the key file.
 * - Each worker is an ordinary startTessera: its own pool, revocation listener (LISTEN + poll)
 *   and Verify cache. The feed invalidates every worker's cache exactly as it does for separate
 *   instances; nothing is shared between workers but the listening sockets.
 * - Ports are fixed before forking: with port 0 the primary picks free ones, so every worker
 *   (and a worker restarted later) binds the same pair, which cluster shares between them.
 * - Workers take their configuration over IPC from the primary (not the environment: config.ts
 *   stays the only reader of process.env), after saying hello, so no message can arrive before
 *   the worker listens for it.
 * - Connections are handed out round-robin by the primary (Node's default on Linux): HTTP/2
 *   clients keep few, long connections, so balancing per connection is even enough and costs the
 *   primary nothing per request.
 */
import cluster, { type Worker } from "node:cluster";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { loadKeyring, prepareDatabase, startTessera, type PreparedDatabase, type Tessera } from "./app.js";
import type { Config } from "./config.js";
import { createMetricsBroker, createWorkerMetrics, type MetricsToPrimary, type MetricsToWorker } from "./services/cluster-metrics.js";
import { createLog, type Log } from "./log.js";

/** Messages between primary and workers; tagged so nothing else on the channel is mistaken for one. */
type ToPrimary =
  | { tessera: "hello" }
  | { tessera: "ready"; grpcPort: number; httpPort: number; setUp: boolean }
  | { tessera: "failed"; error: string }
  | MetricsToPrimary;
type ToWorker = { tessera: "start"; config: Config } | MetricsToWorker;

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
/** Restart backoff: doubles per consecutive early death, up to the cap; reset after a good run. */
const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 5_000;
const STABLE_MS = 10_000;
/** A worker drains its listeners for at most 2 s each; past this it is stuck. */
const WORKER_DEADLINE_MS = 15_000;

export interface TesseraCluster {
  grpcPort: number;
  httpPort: number;
  /** Whether Setup has run (for the "not set up yet" hint). */
  setUp: boolean;
  /** Current worker process ids. */
  workerPids(): number[];
  /** Forwards `signal` to every worker, waits for them, then stops the embedded PostgreSQL. */
  close(signal?: NodeJS.Signals): Promise<void>;
}

/** Primary side: resolves once every worker serves; rejects (having cleaned up) if one fails first. */
export async function startCluster(config: Config, opts: { log?: Log } = {}): Promise<TesseraCluster> {
  if (!cluster.isPrimary) throw new Error("startCluster runs in the primary process");
  const log = opts.log ?? createLog({ level: config.logLevel });
  let prepared: PreparedDatabase | undefined;
  const stopDatabase = async () => {
    await prepared?.stop().catch((err: unknown) => log("shutdown_error", { error: String(err) }));
    prepared = undefined;
  };
  try {
    prepared = await prepareDatabase(config, log);
    const appUrl = prepared.appUrl;
    // Created (or checked) once here; every worker then reads the same file or variable.
    await loadKeyring(config);
    const grpcPort = config.grpcPort || (await freePortOn(config.host));
    let httpPort = config.httpPort || (await freePortOn(config.host));
    while (httpPort === grpcPort) httpPort = await freePortOn(config.host);
    const workerConfig: Config = { ...config, databaseUrl: appUrl, ownerDatabaseUrl: undefined, grpcPort, httpPort, workers: 1 };
    return await runWorkers(workerConfig, config.workers, log, stopDatabase);
  } catch (err) {
    await stopDatabase();
    throw err;
  }
}

async function runWorkers(workerConfig: Config, n: number, log: Log, stopDatabase: () => Promise<void>): Promise<TesseraCluster> {
  cluster.setupPrimary({ exec: fileURLToPath(import.meta.url), args: [] });
  const slots: Array<{ worker: Worker | undefined; failures: number; readyAt: number; timer: NodeJS.Timeout | undefined }> = Array.from(
    { length: n },
    () => ({
      worker: undefined,
      failures: 0,
      readyAt: 0,
      timer: undefined,
    }),
  );
  let stopping = false;
  let allReady = false;
  let setUp = true;
  let startFailed: ((err: Error) => void) | undefined;
  let readyCount = 0;
  let onAllReady: (() => void) | undefined;
  // GET /metrics reaches one worker; the answer is every serving worker's, merged.
  const metrics = createMetricsBroker(() =>
    slots.flatMap((s) => (s.worker !== undefined && s.readyAt !== 0 && s.worker.isConnected() ? [s.worker] : [])),
  );

  const fork = (i: number) => {
    const slot = slots[i]!;
    slot.timer = undefined;
    const w = cluster.fork();
    slot.worker = w;
    slot.readyAt = 0;
    w.on("message", (m: ToPrimary) => {
      if (metrics.onMessage(w, m as MetricsToPrimary)) return;
      if (m?.tessera === "hello") w.send({ tessera: "start", config: workerConfig } satisfies ToWorker);
      else if (m?.tessera === "ready") {
        slot.readyAt = Date.now();
        log("worker_ready", { worker: i, pid: w.process.pid });
        if (!allReady) {
          setUp &&= m.setUp;
          if (++readyCount === n) onAllReady?.();
        }
      } else if (m?.tessera === "failed") {
        log("worker_failed", { worker: i, pid: w.process.pid, error: m.error });
        if (!allReady) startFailed?.(new Error(m.error));
      }
    });
    w.on("exit", (code, signal) => {
      if (slot.worker === w) slot.worker = undefined;
      if (stopping) return;
      log("worker_exited", { worker: i, pid: w.process.pid, code, signal });
      if (!allReady) {
        startFailed?.(new Error(`worker ${i} exited (${code ?? signal}) before serving`));
        return;
      }
      // A worker that ran a while died of something transient: restart at once; one that keeps
      // dying young backs off so a crash loop does not burn the machine.
      slot.failures = slot.readyAt !== 0 && Date.now() - slot.readyAt >= STABLE_MS ? 0 : slot.failures + 1;
      const delay = slot.failures === 0 ? 0 : Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** (slot.failures - 1));
      log("worker_restarting", { worker: i, delayMs: delay });
      slot.timer = setTimeout(() => fork(i), delay);
    });
  };

  /** Signals every worker and waits for all of them to exit. */
  const stopWorkers = async (signal: NodeJS.Signals) => {
    stopping = true;
    for (const s of slots) if (s.timer) clearTimeout(s.timer);
    await Promise.all(
      slots.map(async (s) => {
        const w = s.worker;
        if (w === undefined || w.isDead()) return;
        const exited = new Promise<void>((r) => w.once("exit", () => r()));
        w.process.kill(signal);
        const kill = setTimeout(() => w.process.kill("SIGKILL"), WORKER_DEADLINE_MS);
        await exited;
        clearTimeout(kill);
      }),
    );
  };

  try {
    await new Promise<void>((resolve, reject) => {
      onAllReady = resolve;
      startFailed = reject;
      for (let i = 0; i < n; i++) fork(i);
    });
  } catch (err) {
    await stopWorkers("SIGTERM");
    await stopDatabase();
    throw err;
  }
  allReady = true;
  log("cluster_serving", { workers: n, grpcPort: workerConfig.grpcPort, httpPort: workerConfig.httpPort });
  let closing: Promise<void> | undefined;
  return {
    grpcPort: workerConfig.grpcPort,
    httpPort: workerConfig.httpPort,
    setUp,
    workerPids: () => slots.flatMap((s) => (s.worker?.process.pid === undefined ? [] : [s.worker.process.pid])),
    close: (signal = "SIGTERM") =>
      (closing ??= (async () => {
        await stopWorkers(signal);
        await stopDatabase();
      })()),
  };
}

/** A port free on `host` right now (the workers bind it moments later). */
function freePortOn(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Worker side (this file is the workers' entry point): say hello, take the configuration, serve
 * until told to stop by a signal or until the primary goes away, then close and exit 0.
 */
function runWorker(): void {
  // At info until the primary sends the configuration, which names the level.
  let log: Log = createLog();
  const send = (m: ToPrimary) => {
    if (process.connected) process.send!(m);
  };
  let starting: Promise<Tessera> | undefined;
  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log("worker_stopping", { pid: process.pid, reason: why });
    setTimeout(() => process.exit(1), WORKER_DEADLINE_MS).unref();
    void (starting ?? Promise.reject(new Error("not started")))
      .then(
        (t) => t.close(),
        () => undefined,
      )
      .then(() => process.exit(0));
  };
  // A dependency's signal handler that exits with 128+signal would race close(); this process
  // owns its signals, as serve does. A repeated signal (the terminal's Ctrl-C reaches the whole
  // process group, then the primary forwards it) changes nothing.
  for (const s of SIGNALS) {
    process.removeAllListeners(s);
    process.on(s, () => stop(s));
  }
  process.on("disconnect", () => stop("primary gone"));
  let tessera: Tessera | undefined;
  const metrics = createWorkerMetrics(send, () => tessera?.metricsJson());
  process.on("message", (m: ToWorker) => {
    if (metrics.onMessage(m as MetricsToWorker)) return;
    if (m?.tessera !== "start" || starting !== undefined || stopping) return;
    const config = m.config;
    log = createLog({ level: config.logLevel });
    starting = startTessera(config, { log, renderMetrics: metrics.render });
    starting.then(
      async (t) => {
        tessera = t;
        const setUp = await t.isSetUp();
        send({ tessera: "ready", grpcPort: t.grpcPort, httpPort: t.httpPort, setUp });
      },
      (err: unknown) => {
        // startTessera has closed what it opened; tell the primary why, then go.
        stopping = true;
        const m: ToPrimary = { tessera: "failed", error: err instanceof Error ? err.message : String(err) };
        if (process.connected) process.send!(m, () => process.exit(1));
        else process.exit(1);
      },
    );
  });
  send({ tessera: "hello" });
}

if (cluster.isWorker && process.argv[1] === fileURLToPath(import.meta.url)) runWorker();
