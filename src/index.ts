/**
 * `import "tessera"`: the public entry for running Tessera inside your own Node.js process, the
 * way `tessera serve` does — build a Config with `loadConfig`, then `startTessera` it:
 *
 *   import { loadConfig, startTessera } from "tessera";
 *   const tessera = await startTessera(loadConfig({ "grpc-port": "0", "http-port": "0" }, process.env));
 *   console.log(tessera.grpcPort, tessera.httpPort);
 *   await tessera.close();
 *
 * It runs one instance in this process (both listeners, the revocation feed follower, the Verify
 * cache); `Config.workers` is read only by `tessera serve`. Start Node with
 * `--max-semi-space-size=32`, as the `tessera` command does (README, Performance).
 *
 * Deliberately small: only what a caller needs to start, configure and stop an instance. The
 * database handle, service dependencies and caches that src/app.ts also returns (for Tessera's own
 * tests and benchmarks) stay internal, so the declarations here need nothing beyond the package's
 * dependencies and @types/node. Ingestion workers want `tessera/worker-client` instead.
 */
import { startTessera as startInstance } from "./app.js";
import type { Config } from "./config.js";
import type { Log } from "./log.js";

export { loadConfig, ConfigError, type Config } from "./config.js";
export type { Log } from "./log.js";

export interface TesseraOptions {
  /** Receives every structured log event (JSON lines on stderr by default). Never sees token values. */
  log?: Log;
}

/** A running instance. */
export interface Tessera {
  /** The bound gRPC port (the configured one, or the one picked for port 0). */
  readonly grpcPort: number;
  /** The bound HTTP port: Connect, gRPC-web, the admin console, /healthz, /metrics. */
  readonly httpPort: number;
  /** Stops the listeners, the feed follower, the pool and the embedded PostgreSQL if it started one. */
  close(): Promise<void>;
}

/**
 * Starts an instance: the embedded PostgreSQL when `config.databaseUrl` is unset, migrations when
 * an owner connection is known, the database posture check, digest keys, both listeners. Rejects,
 * having closed whatever it opened, if any step fails.
 */
export function startTessera(config: Config, options: TesseraOptions = {}): Promise<Tessera> {
  return startInstance(config, options);
}
