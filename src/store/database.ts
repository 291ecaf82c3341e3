/** The service's connection pool, as tessera_app. `pg` is imported only under src/store. */
import pg from "pg";
import { withOrg, withOrgTransaction, type OrgTransaction, type Tx } from "./with-org.js";

export interface Database {
  /** For SECURITY DEFINER calls and the few queries that need no organization context. */
  readonly pool: pg.Pool;
  /** Runs `fn` in a transaction whose organization context is `orgId` (see with-org.ts). */
  withOrg<T>(orgId: string, fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` in one transaction that spans organizations, each statement under one (see
   * with-org.ts); with `rollback` it is undone even when `fn` succeeds.
   */
  transaction<T>(fn: (t: OrgTransaction) => Promise<T>, rollback?: boolean): Promise<T>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  url: string;
  poolSize?: number;
  onError?: (err: Error) => void;
}

export function createDatabase(opts: DatabaseOptions): Database {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize ?? 16,
    // Long enough that a quiet minute does not cost a reconnect (SCRAM) per pooled connection.
    idleTimeoutMillis: 300_000,
    connectionTimeoutMillis: 5_000,
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on("error", (err) => opts.onError?.(err));
  return {
    pool,
    withOrg: (orgId, fn) => withOrg(pool, orgId, fn),
    transaction: (fn, rollback) => withOrgTransaction(pool, fn, rollback),
    close: () => pool.end(),
  };
}

/** How the pool's connections are used right now (metrics read it at scrape time). */
export interface PoolUsage {
  /** Connections checked out by a query or transaction. */
  inUse: number;
  idle: number;
  /** Requests waiting for a connection: the pool is at its size and all are in use. */
  waiting: number;
}

export function poolUsage(db: Database): PoolUsage {
  const { totalCount, idleCount, waitingCount } = db.pool;
  return { inUse: totalCount - idleCount, idle: idleCount, waiting: waitingCount };
}

export type { OrgTransaction, Tx };
export { contextOrg } from "./with-org.js";
