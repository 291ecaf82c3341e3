/** The runner's side of protocol.ts: fork a child, wait for its ports, call it, stop it. */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
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
    execArgv: ["--expose-gc", ...(opts.execArgv ?? [])],
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  live.add(proc);
  let stderr = "";
  proc.stderr!.on("data", (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  proc.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => (live.delete(proc), resolve(code))));

  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${spec.name}: no ready message within ${opts.startTimeoutMs ?? 60_000} ms`)), opts.startTimeoutMs ?? 60_000);
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
