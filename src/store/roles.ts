/**
 * Creates the two roles Tessera uses inside a PostgreSQL it administers (the embedded default,
 * or a test cluster):
 *
 *  - tessera_owner: owns the schema, runs migrations, owns the SECURITY DEFINER functions. It has
 *    BYPASSRLS so that those few functions can cross organizations; it is never used to serve.
 *  - tessera_app: what the service connects as. NOSUPERUSER, NOBYPASSRLS, owns nothing, so
 *    row-level security always applies to it.
 */
import pg from "pg";

export const OWNER_ROLE = "tessera_owner";
export const APP_ROLE = "tessera_app";

export interface RolePasswords {
  owner: string;
  app: string;
}

/** Idempotent: creates or updates both roles and the database, owned by tessera_owner. */
export async function ensureRolesAndDatabase(superuserUrl: string, database: string, pw: RolePasswords): Promise<void> {
  const su = new pg.Client({ connectionString: superuserUrl });
  await su.connect();
  try {
    for (const [role, password, attrs] of [
      [OWNER_ROLE, pw.owner, "LOGIN NOSUPERUSER BYPASSRLS NOCREATEROLE"],
      [APP_ROLE, pw.app, "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB"],
    ] as const) {
      const exists = await su.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]);
      const verb = exists.rowCount === 0 ? "CREATE" : "ALTER";
      await su.query(`${verb} ROLE ${pg.escapeIdentifier(role)} ${attrs} PASSWORD ${pg.escapeLiteral(password)}`);
    }
    const db = await su.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (db.rowCount === 0) {
      await su.query(`CREATE DATABASE ${pg.escapeIdentifier(database)} OWNER ${pg.escapeIdentifier(OWNER_ROLE)}`);
    }
  } finally {
    await su.end();
  }
  // The public schema must belong to the owner so it can create objects there (PostgreSQL 15+
  // no longer lets every role create in public).
  const dbUrl = withDatabase(superuserUrl, database);
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    await c.query(`ALTER SCHEMA public OWNER TO ${pg.escapeIdentifier(OWNER_ROLE)}`);
    await c.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
  } finally {
    await c.end();
  }
}

/** Returns `url` with its database and, optionally, its credentials replaced. */
export function withDatabase(url: string, database: string, user?: string, password?: string): string {
  const u = new URL(url);
  u.pathname = "/" + encodeURIComponent(database);
  if (user !== undefined) u.username = encodeURIComponent(user);
  if (password !== undefined) u.password = encodeURIComponent(password);
  return u.toString();
}
