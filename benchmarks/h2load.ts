/**
 * h2load (Debian package nghttp2-client) as the load generator for fixed-body runs: a C client
 * that keeps a grpc-js server busy where a Node client would saturate first. Found on PATH or
 * installed with apt-get (printed before it runs).
 */
import { execFile, spawnSync } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { percentiles, type Percentiles } from "./stats.js";

export function findH2load(log: (line: string) => void): string {
  const which = spawnSync("sh", ["-c", "command -v h2load"], { encoding: "utf8" });
  if (which.status === 0 && which.stdout.trim() !== "") return which.stdout.trim();
  const isRoot = process.getuid?.() === 0;
  const sudo = isRoot ? [] : ["sudo", "-n"];
  for (const cmd of [
    [...sudo, "apt-get", "update"],
    [...sudo, "apt-get", "install", "-y", "nghttp2-client"],
  ]) {
    log(`h2load not found; running: ${cmd.join(" ")}`);
    const r = spawnSync(cmd[0]!, cmd.slice(1), {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    if (r.status !== 0)
      throw new Error(`"${cmd.join(" ")}" failed (${r.status ?? r.signal}); install h2load (Debian/Ubuntu: nghttp2-client) and rerun`);
  }
  const again = spawnSync("sh", ["-c", "command -v h2load"], { encoding: "utf8" });
  if (again.status !== 0) throw new Error("h2load is still not on PATH after installing nghttp2-client");
  return again.stdout.trim();
}

export function h2loadVersion(bin: string): string {
  return spawnSync(bin, ["--version"], { encoding: "utf8" }).stdout.trim();
}

export interface H2loadRun {
  port: number;
  path: string;
  bodyFile: string;
  authorization: string;
  /** Other request headers ("name: value"); gRPC's content-type and te by default. */
  headers?: string[];
  /** HTTP/1.1 (keep-alive, one request in flight per connection unless pipelined) instead of h2c. */
  h1?: boolean;
  connections: number;
  streamsPerConnection: number;
  durationS: number;
  logFile: string;
}

export interface H2loadResult {
  requests: number;
  succeeded: number;
  failed: number;
  errored: number;
  non2xx: number;
  /** Bytes of DATA frames received: the gRPC response bodies (HTTP/1.1: the bodies). A gRPC error has none. */
  dataBytes: number;
  rps: number;
  latencyUs: Percentiles;
  durationS: number;
}

export async function runH2load(bin: string, r: H2loadRun): Promise<H2loadResult> {
  const headers = r.headers ?? ["content-type: application/grpc", "te: trailers"];
  const args = [
    ...(r.h1 ? ["--h1"] : []),
    "-c",
    String(r.connections),
    "-m",
    String(r.streamsPerConnection),
    "-D",
    `${Math.round(r.durationS * 1000)}ms`,
    "-d",
    r.bodyFile,
    ...headers.flatMap((h) => ["-H", h]),
    "-H",
    `authorization: ${r.authorization}`,
    "--log-file",
    r.logFile,
    `http://127.0.0.1:${r.port}${r.path}`,
  ];
  const out = await new Promise<string>((resolve, reject) => {
    execFile(bin, args, { maxBuffer: 16 * 1024 * 1024, timeout: (r.durationS + 30) * 1000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`h2load failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
  const num = (re: RegExp, what: string): number => {
    const m = re.exec(out);
    if (!m) throw new Error(`cannot find ${what} in h2load output:\n${out}`);
    return Number(m[1]);
  };
  const succeeded = num(/(\d+) succeeded/, "succeeded");
  const c2xx = num(/status codes: (\d+) 2xx/, "2xx");
  const log = await readFile(r.logFile, "utf8");
  await rm(r.logFile, { force: true });
  const lat: number[] = [];
  for (const line of log.split("\n")) {
    if (line === "") continue;
    const cols = line.split("\t");
    if (cols[1] === "200") lat.push(Number(cols[2]));
  }
  return {
    requests: num(/requests: (\d+) total/, "total"),
    succeeded,
    failed: num(/(\d+) failed/, "failed"),
    errored: num(/(\d+) errored/, "errored"),
    non2xx: succeeded - c2xx,
    dataBytes: num(/\((\d+)\) data/, "data bytes"),
    rps: succeeded / r.durationS,
    latencyUs: percentiles(lat),
    durationS: r.durationS,
  };
}
