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
 *
 * withOrgTransaction is the same contract for work that spans organizations but must commit or
 * roll back as one (`tessera apply`): one transaction in which `asOrg(orgId, fn)` sets the context
 * to one organization for `fn` (set_config again, still transaction-local) and clears it after,
 * so every statement runs with exactly one organization in context, or none (`unscoped`). The
 * calls run one at a time: a second asOrg while one runs is a programming error, refused.
 */
import type pg from "pg";
import { isUuid } from "../domain/ids.js";
import { mapPgError } from "./pg-errors.js";

/** A connection inside a transaction whose organization context is set. */
export type Tx = pg.PoolClient;

/** A transaction spanning organizations, each statement under exactly one (see above). */
export interface OrgTransaction {
  asOrg<T>(orgId: string, fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * `fn` with no organization in context: for the SECURITY DEFINER functions that work across
   * organizations (the sealer's read, the idle sweep), which must not borrow some organization's
   * context to run. Row-level security then shows no organization's rows.
   */
  unscoped<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
}

/** The organization context each open transaction's connection is in, as set below. */
const contexts = new WeakMap<pg.PoolClient, string>();

/**
 * The organization context `tx` is in (what `tessera_current_org()` answers inside it), for code
 * that must name it without a round trip (the audit trail's MACs cover it). Throws outside one.
 */
export function contextOrg(tx: Tx): string {
  const id = contexts.get(tx);
  if (id === undefined) throw new Error("contextOrg: the connection is in no organization context");
  return id;
}

function requireOrgId(orgId: string): void {
  // Defence in depth: the id comes from a verified token or a reachability check, never raw input.
  if (!isUuid(orgId)) throw new Error("withOrg: organization id is not a UUID");
}

/**
 * Runs `fn` in a transaction on one pooled connection: `begin` opens it (with whatever must travel
 * in the same round trip), then COMMIT, or ROLLBACK when `fn` fails or `rollback` asks. A
 * connection whose ROLLBACK failed is discarded, not returned to the pool.
 */
async function inTransaction<T>(pool: pg.Pool, begin: string, fn: (client: pg.PoolClient) => Promise<T>, rollback = false): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    mapPgError(err);
  }
  let broken = false;
  try {
    await client.query({ text: begin });
    const result = await fn(client);
    await client.query(rollback ? "ROLLBACK" : "COMMIT");
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

export async function withOrg<T>(pool: pg.Pool, orgId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  requireOrgId(orgId);
  return inTransaction(pool, "BEGIN; SELECT set_config('tessera.org_id', '" + orgId + "', true)", async (client) => {
    contexts.set(client, orgId);
    try {
      return await fn(client);
    } finally {
      contexts.delete(client);
    }
  });
}

/** With `rollback`, the transaction ends in ROLLBACK even when `fn` succeeds (a dry run of the very same work). */
export async function withOrgTransaction<T>(pool: pg.Pool, fn: (t: OrgTransaction) => Promise<T>, rollback = false): Promise<T> {
  return inTransaction(
    pool,
    "BEGIN",
    async (client) => {
      let busy = false;
      let done = false;
      const t: OrgTransaction = {
        async unscoped(inner) {
          if (busy || done) throw new Error("withOrgTransaction: unscoped runs one at a time, inside the transaction");
          busy = true;
          try {
            return await inner(client);
          } finally {
            busy = false;
          }
        },
        async asOrg(orgId, inner) {
          requireOrgId(orgId);
          if (busy || done) throw new Error("withOrgTransaction: asOrg runs one at a time, inside the transaction");
          busy = true;
          try {
            await client.query({ text: "SELECT set_config('tessera.org_id', '" + orgId + "', true)" });
            contexts.set(client, orgId);
            const result = await inner(client);
            contexts.delete(client);
            await client.query("SELECT set_config('tessera.org_id', '', true)");
            return result;
          } finally {
            contexts.delete(client);
            busy = false;
          }
        },
      };
      try {
        return await fn(t);
      } finally {
        done = true;
      }
    },
    rollback,
  );
}
