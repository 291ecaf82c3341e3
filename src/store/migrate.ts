/**
 * Numbered, forward-only SQL migrations (src/store/migrations/NNNN_name.sql), each applied in its
 * own transaction, all under a session advisory lock so that several instances starting at once
 * migrate exactly once. Runs as the owner role; afterwards grants the service role exactly the
 * privileges it needs — never ownership, so row-level security always applies to it.
 */
import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";
import pg from "pg";

const MIGRATION_LOCK_KEY = 7_415_296_001; // arbitrary, constant: "tessera migrations"

/** The migrations folder lives in the source tree; dist/ code finds it relative to the package root. */
function migrationsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // here = <root>/dist/src/store  or  <root>/src/store
  const root = here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, "../../..") : path.resolve(here, "../..");
  return path.join(root, "src", "store", "migrations");
}

export interface MigrateOptions {
  /** Connection string of the owner role (runs DDL). */
  ownerUrl: string;
  /** The role the service connects as; receives table privileges, never ownership. */
  appRole: string;
}

export async function migrate(opts: MigrateOptions): Promise<{ applied: string[] }> {
  const client = new pg.Client({ connectionString: opts.ownerUrl });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await client.query<{ version: string }>("SELECT version FROM schema_migrations")).rows.map((r) => r.version));
    const files = (await readdir(migrationsDir())).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = await readFile(path.join(migrationsDir(), file), "utf8");
      await client.query("BEGIN");
      try {
        await client.query(sql);
        await client.query("INSERT INTO schema_migrations (version) VALUES ($1)", [file]);
        await client.query("COMMIT");
      } catch (err) {
        await client.query("ROLLBACK");
        throw new Error(`migration ${file} failed: ${(err as Error).message}`, { cause: err });
      }
      applied.push(file);
    }
    await grantAppRole(client, opts.appRole);
    return { applied };
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}

async function grantAppRole(client: pg.Client, appRole: string): Promise<void> {
  const role = pg.escapeIdentifier(appRole);
  const exists = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [appRole]);
  if (exists.rowCount === 0) throw new Error(`the service role ${appRole} does not exist`);
  await client.query(`
    GRANT USAGE ON SCHEMA public TO ${role};
    GRANT SELECT, INSERT, UPDATE, DELETE ON organizations, memberships, buckets, tokens TO ${role};
    GRANT SELECT, INSERT ON revocation_events TO ${role};
    GRANT SELECT, INSERT ON audit_events, audit_seals TO ${role};
    GRANT SELECT, INSERT, UPDATE ON users TO ${role};
    GRANT INSERT ON instance_setup TO ${role};
    GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${role};
    GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO ${role};
  `);
}
