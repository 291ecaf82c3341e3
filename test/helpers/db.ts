/** A fresh database per test file, cloned from the migrated template (or empty, for testing migrations). */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { withDatabase } from "../../src/store/roles.js";
import { getCluster } from "./cluster.js";

export interface TestDatabase {
  name: string;
  /** tessera_app: what the service uses. */
  appUrl: string;
  /** tessera_owner: migrations. */
  ownerUrl: string;
  /** postgres superuser on this database: for inspecting rows behind the service's back. */
  superuserUrl: string;
  drop(): Promise<void>;
}

/**
 * `migrated: false` gives an empty database laid out like the one src/store/roles.ts creates (its
 * public schema owned by tessera_owner), so whoever starts Tessera on it runs every migration.
 */
export async function freshDatabase(opts: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const c = getCluster();
  const name = "t_" + randomBytes(6).toString("hex");
  const su = new pg.Client({ connectionString: c.superuserUrl });
  await su.connect();
  try {
    const template = opts.migrated === false ? "template0" : "tessera_template";
    await su.query(`CREATE DATABASE ${name} TEMPLATE ${template} OWNER tessera_owner`);
  } finally {
    await su.end();
  }
  if (opts.migrated === false) {
    const db = new pg.Client({ connectionString: withDatabase(c.superuserUrl, name) });
    await db.connect();
    try {
      await db.query("ALTER SCHEMA public OWNER TO tessera_owner");
      await db.query("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
    } finally {
      await db.end();
    }
  }
  const swap = (url: string) => {
    const u = new URL(url);
    u.pathname = "/" + name;
    return u.toString();
  };
  return {
    name,
    appUrl: swap(c.appUrl),
    ownerUrl: swap(c.ownerUrl),
    superuserUrl: withDatabase(c.superuserUrl, name),
    async drop() {
      const s = new pg.Client({ connectionString: c.superuserUrl });
      await s.connect();
      try {
        await s.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await s.end();
      }
    },
  };
}

/** Runs one query as the superuser (bypasses RLS): for checking what is really stored. */
export async function superQuery<T extends pg.QueryResultRow>(db: TestDatabase, text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: db.superuserUrl });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}
