/**
 * Tessera instances the worker client's tests can stop and start again on the same gRPC port,
 * over a database that outlives them (test/helpers/server.ts always binds port 0).
 */
import type { Keyring } from "../../src/domain/digest.js";
import { startTessera, type Tessera } from "../../src/app.js";
import { loadConfig, type Config } from "../../src/config.js";
import { silentLog } from "../../src/log.js";
import type { TestDatabase } from "../helpers/db.js";

export interface InstanceOptions {
  db: TestDatabase;
  keyring: Keyring;
  /** The gRPC port to bind; 0 (any) by default. */
  grpcPort?: number;
  now?: () => number;
  /** WatchRevocations checkpoint interval; short here so that small staleness bounds hold. */
  checkpointMs?: number;
}

export async function startInstance(o: InstanceOptions): Promise<Tessera> {
  const base = loadConfig({}, {});
  const config: Config = {
    ...base,
    grpcPort: o.grpcPort ?? 0,
    httpPort: 0,
    databaseUrl: o.db.appUrl,
    ownerDatabaseUrl: o.db.ownerUrl,
    poolSize: 4,
    feed: { ...base.feed, checkpointMs: o.checkpointMs ?? 100, pollMs: Math.min(base.feed.pollMs, 100) },
  };
  return startTessera(config, { keyring: o.keyring, log: silentLog, ...(o.now && { now: o.now }) });
}
