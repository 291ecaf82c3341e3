/**
 * Checks, before serving, that row-level security can actually hold: the service role must not be
 * a superuser, must not have BYPASSRLS, and must own no table (owners can switch RLS off).
 */
import type pg from "pg";

export interface Posture {
  role: string;
  superuser: boolean;
  bypassRls: boolean;
  ownedTables: string[];
}

export async function servicePosture(pool: pg.Pool): Promise<Posture> {
  const r = await pool.query<{ role: string; superuser: boolean; bypass: boolean }>(
    `SELECT current_user AS role, rolsuper AS superuser, rolbypassrls AS bypass FROM pg_roles WHERE rolname = current_user`,
  );
  const owned = await pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND pg_get_userbyid(c.relowner) = current_user`,
  );
  const row = r.rows[0]!;
  return { role: row.role, superuser: row.superuser, bypassRls: row.bypass, ownedTables: owned.rows.map((x) => x.name) };
}

/** Why the posture is unsafe, or undefined when it is fine. */
export function postureProblem(p: Posture): string | undefined {
  if (p.superuser) return `the database role ${p.role} is a superuser, which ignores row-level security`;
  if (p.bypassRls) return `the database role ${p.role} has BYPASSRLS`;
  if (p.ownedTables.length > 0)
    return `the database role ${p.role} owns tables (${p.ownedTables.join(", ")}); migrations must run as another role`;
  return undefined;
}
