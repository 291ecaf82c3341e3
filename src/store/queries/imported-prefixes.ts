/**
 * What the instance's imported-value filter loads: the first 8 bytes of the digest of every token
 * holding an imported value, across organizations (SECURITY DEFINER functions of migration 0012).
 * Eight bytes of a keyed digest name no token and reveal nothing about a value.
 */
import type pg from "pg";
import { mapPgError } from "../pg-errors.js";

/** Digest prefixes of imported values after position `after` (a token seq), in seq order: one page of the start-up load. */
export async function importedPrefixesPage(pool: pg.Pool, after: string, limit: number): Promise<{ prefixes: Buffer[]; last: string }> {
  try {
    const r = await pool.query<{ seq: string; prefix: Buffer }>(`SELECT seq::text, prefix FROM tessera_imported_prefixes($1, $2)`, [
      after,
      limit,
    ]);
    return { prefixes: r.rows.map((x) => x.prefix), last: r.rows.at(-1)?.seq ?? after };
  } catch (err) {
    mapPgError(err);
  }
}

/** Digest prefixes of those of `ids` that hold an imported value (tokens announced by ENABLED events). */
export async function importedPrefixesOf(pool: pg.Pool, ids: string[]): Promise<Buffer[]> {
  try {
    const r = await pool.query<{ prefix: Buffer }>(`SELECT prefix FROM tessera_imported_prefixes_of($1::uuid[])`, [ids]);
    return r.rows.map((x) => x.prefix);
  } catch (err) {
    mapPgError(err);
  }
}
