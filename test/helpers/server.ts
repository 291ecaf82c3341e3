/** A real Tessera instance on ports 0 over a fresh database, and seed helpers that use its API. */
import { createKeyring, newKey, type Keyring } from "../../src/domain/digest.js";
import { startTessera, type Tessera, type TesseraOptions } from "../../src/app.js";
import { loadConfig, type Config } from "../../src/config.js";
import { logs as wouldLog, silentLog, type Log } from "../../src/log.js";
import { freshDatabase, type TestDatabase } from "./db.js";

export interface TestServer {
  tessera: Tessera;
  db: TestDatabase;
  keyring: Keyring;
  logs: string[];
  close(): Promise<void>;
}

export async function startTestServer(
  opts: { keyring?: Keyring; now?: () => number; db?: TestDatabase; configure?: (c: Config) => Config; options?: TesseraOptions } = {},
): Promise<TestServer> {
  const db = opts.db ?? (await freshDatabase());
  const keyring = opts.keyring ?? createKeyring({ 1: newKey() }, 1);
  const logs: string[] = [];
  // Lines kept for assertions; a test that passes its own `log` (the real logger on a captured
  // stream) gets every event as well.
  const also = opts.options?.log ?? silentLog;
  // It writes per-call debug lines (Verify's) when the test's own log does.
  const log: Log = Object.assign(
    (event: string, fields?: Record<string, unknown>) => {
      logs.push(JSON.stringify({ event, ...fields }));
      also(event, fields);
    },
    { enabled: (event: string) => wouldLog(also, event) },
  );
  const config = {
    ...loadConfig({}, {}),
    grpcPort: 0,
    httpPort: 0,
    databaseUrl: db.appUrl,
    ownerDatabaseUrl: db.ownerUrl,
    poolSize: 8,
  };
  const tessera = await startTessera(opts.configure ? opts.configure(config) : config, {
    ...opts.options,
    keyring,
    log,
    ...(opts.now && { now: opts.now }),
  });
  return {
    tessera,
    db,
    keyring,
    logs,
    async close() {
      await tessera.close();
      if (opts.db === undefined) await db.drop();
    },
  };
}
