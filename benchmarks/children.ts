/** The runner's side of protocol.ts: fork a child, wait for its ports, call it, stop it. */
import { fork, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SERVER_NODE_FLAGS } from "../src/node-flags.js";
import type { ChildSpec, ChildStats, Command, Failed, PgRunArgs, PgRunResult, Ready, Reply } from "./protocol.js";

export interface Child {
  name: string;
  pid: number;
  grpcPort: number;
  httpPort: number;
  stats(): Promise<ChildStats>;
  /** Runs a full GC (children start with --expose-gc) and returns stats after it. */
  gc(): Promise<ChildStats>;
  pgRun(args: PgRunArgs): Promise<PgRunResult>;
  /** CPU profile of the child between these two calls, written to `file` (.cpuprofile). */
  profileStart(): Promise<void>;
  profileStop(file: string): Promise<void>;
  close(): Promise<void>;
}

export interface ForkOptions {
  /** Extra node flags, e.g. --cpu-prof. */
  execArgv?: string[];
  startTimeoutMs?: number;
}

const live = new Set<ChildProcess>();

/** Kills every child still running (SIGKILL); for the runner's last-resort cleanup. */
export function killAllChildren(): void {
  for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
}

export async function forkChild(spec: ChildSpec, opts: ForkOptions = {}): Promise<Child> {
  const script = fileURLToPath(new URL("./server-main.js", import.meta.url));
  const proc = fork(script, [], {
    // The flags Tessera's launchers use, for every server here alike (Tessera and the no-op baselines).
    execArgv: ["--expose-gc", ...SERVER_NODE_FLAGS, ...(opts.execArgv ?? [])],
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  live.add(proc);
  let stderr = "";
  proc.stderr!.on("data", (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  // V8 tracing flags (--trace-gc) print to stdout: kept per child when asked, else discarded.
  if (process.env.TESSERA_BENCH_CHILD_LOGS)
    proc.stdout!.pipe(createWriteStream(path.join(process.env.TESSERA_BENCH_CHILD_LOGS, `${spec.name}.log`)));
  else proc.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => (live.delete(proc), resolve(code))));

  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${spec.name}: no ready message within ${opts.startTimeoutMs ?? 60_000} ms`)),
      opts.startTimeoutMs ?? 60_000,
    );
    proc.on("message", function onMsg(m: Ready | Failed) {
      if (m.type === "ready") {
        clearTimeout(timer);
        proc.off("message", onMsg);
        resolve(m);
      } else if (m.type === "failed") {
        clearTimeout(timer);
        reject(new Error(`${spec.name} failed to start: ${m.error}`));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${spec.name} exited (${code}) before it was ready: ${stderr}`));
    });
    proc.send(spec);
  }).catch((err: unknown) => {
    proc.kill("SIGKILL");
    throw err;
  });

  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  proc.on("message", (m: Reply) => {
    const p = pending.get(m.id);
    if (p === undefined) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(`${spec.name}: ${m.error}`));
  });
  void exited.then((code) => {
    for (const p of pending.values()) p.reject(new Error(`${spec.name} exited (${code}): ${stderr}`));
    pending.clear();
  });
  const call = <T>(c: Omit<Command, "id">): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (!proc.connected) return reject(new Error(`${spec.name} is not running`));
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      proc.send({ ...c, id });
    });

  return {
    name: spec.name,
    pid: ready.pid,
    grpcPort: ready.grpcPort,
    httpPort: ready.httpPort,
    stats: () => call<ChildStats>({ cmd: "stats" }),
    gc: () => call<ChildStats>({ cmd: "gc" }),
    profileStart: () => call<void>({ cmd: "profile-start" }),
    profileStop: (file) => call<void>({ cmd: "profile-stop", file } as Omit<Command, "id">),
    pgRun: (args) => call<PgRunResult>({ cmd: "pg-run", args } as Omit<Command, "id">),
    async close() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      await call({ cmd: "close" }).catch(() => undefined);
      const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

// ---------------------------------------------------------------- `tessera serve` as a child

export interface ServeChild {
  name: string;
  pid: number;
  grpcPort: number;
  httpPort: number;
  /** user + system CPU of the serve process and every child of it (the cluster's workers), µs. */
  cpuUs(): Promise<number>;
  /** The same per process (the first is serve itself), µs. */
  cpuByPid(): Promise<Map<number, number>>;
  /** Process ids of the tree (serve and its workers). */
  pids(): Promise<number[]>;
  close(): Promise<void>;
}

export interface ServeOptions {
  name: string;
  workers: number;
  /** Service role URL of an already migrated database (no owner URL: serve runs no migrations). */
  appUrl: string;
  /** TESSERA_DIGEST_KEYS: the runner digests tokens with the same keys. */
  keysJson: string;
  dataDir: string;
  poolSize: number;
  /** Node flags for the serve process after SERVER_NODE_FLAGS (as the shebang passes them); cluster workers inherit them. */
  nodeFlags?: string[];
  startTimeoutMs?: number;
}

const CLI = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const CLK_TCK = 100; // Linux USER_HZ: /proc/<pid>/stat counts CPU in 1/100 s

/**
 * Runs `tessera serve --workers N` exactly as an operator would (the only way to measure the
 * cluster primary, its round-robin hand-off and the workers together). CPU is read from /proc for
 * the whole process tree, since a cluster's work is done in processes the runner did not fork.
 */
export async function spawnServe(o: ServeOptions): Promise<ServeChild> {
  const { spawn } = await import("node:child_process");
  const { readFile } = await import("node:fs/promises");
  const { createInterface } = await import("node:readline");
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("TESSERA_") && k !== "DATABASE_URL") env[k] = v;
  Object.assign(env, { TESSERA_DIGEST_KEYS: o.keysJson, TESSERA_POOL_SIZE: String(o.poolSize) });
  const proc = spawn(
    process.execPath,
    [
      ...SERVER_NODE_FLAGS,
      ...(o.nodeFlags ?? []),
      CLI,
      "serve",
      "--workers",
      String(o.workers),
      "--grpc-port",
      "0",
      "--http-port",
      "0",
      "--database-url",
      o.appUrl,
      "--data-dir",
      o.dataDir,
    ],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  live.add(proc);
  let stderr = "";
  proc.stderr.on("data", (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => (live.delete(proc), resolve(code))));
  const ports = await new Promise<{ grpcPort: number; httpPort: number }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${o.name}: not listening within ${o.startTimeoutMs ?? 60_000} ms: ${stderr}`)),
      o.startTimeoutMs ?? 60_000,
    );
    createInterface({ input: proc.stdout }).once("line", (line) => {
      clearTimeout(timer);
      const m = /^listening grpc=\S+:(\d+) http=\S+:(\d+)/.exec(line);
      if (m) resolve({ grpcPort: Number(m[1]), httpPort: Number(m[2]) });
      else reject(new Error(`${o.name}: unexpected first line ${JSON.stringify(line)}`));
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${o.name} exited (${code}) before it was listening: ${stderr}`));
    });
  }).catch((err: unknown) => {
    proc.kill("SIGKILL");
    throw err;
  });
  proc.stdout.resume();
  const pid = proc.pid!;
  const pids = async (): Promise<number[]> => {
    const kids = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8").catch(() => "");
    return [pid, ...kids.trim().split(/\s+/).filter(Boolean).map(Number)];
  };
  const cpuByPid = async (): Promise<Map<number, number>> => {
    const out = new Map<number, number>();
    for (const p of await pids()) {
      const stat = await readFile(`/proc/${p}/stat`, "utf8").catch(() => "");
      // Fields after the command name (which may hold spaces): utime and stime are 14th and 15th.
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (f.length > 13) out.set(p, ((Number(f[11]) + Number(f[12])) / CLK_TCK) * 1e6);
    }
    return out;
  };
  return {
    name: o.name,
    pid,
    ...ports,
    pids,
    async cpuUs() {
      let total = 0;
      for (const us of (await cpuByPid()).values()) total += us;
      return total;
    },
    cpuByPid,
    async close() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 25_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
