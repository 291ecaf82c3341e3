/**
 * withOrg: the one place the organization context is set.
 *
 * Row-level-security contract: every organization-scoped table has RLS enabled and forced, with
 * policies comparing its organization column to `tessera.org_id`. This function opens a
 * transaction, sets that variable with `set_config(..., true)` — transaction-local, so it ends
 * with COMMIT or ROLLBACK and can never leak to the next request on the same pooled connection —
 * runs `fn`, and commits. BEGIN and set_config travel in one round trip.
 *
 * Code that forgets an organization filter still sees only this organization's rows; code that
 * runs outside withOrg sees none.
 */
import type pg from "pg";
import { isUuid } from "../domain/ids.js";
import { mapPgError } from "./pg-errors.js";

/** A connection inside a transaction whose organization context is set. */
export type Tx = pg.PoolClient;

export async function withOrg<T>(pool: pg.Pool, orgId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  // Defence in depth: the id comes from a verified token or a reachability check, never raw input.
  if (!isUuid(orgId)) throw new Error("withOrg: organization id is not a UUID");
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    mapPgError(err);
  }
  let broken = false;
  try {
    await client.query({ text: "BEGIN; SELECT set_config('tessera.org_id', '" + orgId + "', true)" });
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    try {
      await client.query("ROLLBACK");
    } catch {
      broken = true;
    }
    mapPgError(err);
  } finally {
    client.release(broken);
  }
}
