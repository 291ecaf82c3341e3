/**
 * The revocation feed's queries. Writers append inside the transaction of the change (so an event
 * exists exactly when the change committed); readers go through SECURITY DEFINER functions that
 * return only rows below the safe horizon (see migration 0002 for why).
 */
import type pg from "pg";
import type { Tx } from "../with-org.js";
import { mapPgError } from "../pg-errors.js";

export type RevocationReasonName =
  | "DISABLED"
  | "DELETED"
  | "ROTATED"
  | "EXPIRED"
  | "OWNER_REMOVED"
  | "ORG_DISABLED"
  | "ENABLED"
  | "PARENT_ACCESS_REVOKED"
  | "UPDATED";

export interface FeedPosition {
  xid: bigint;
  id: bigint;
}

export interface StoredEvent {
  position: FeedPosition;
  orgId: string;
  tokenId: string;
  reason: RevocationReasonName;
  createdAt: Date;
}

/** What a change announced for one token: what a cache must evict once the change commits. */
export interface TokenEvent {
  orgId: string;
  tokenId: string;
  reason: RevocationReasonName;
}

/** Appends an event for one token of the context organization. */
export async function appendEvent(tx: Tx, tokenId: string, reason: RevocationReasonName): Promise<void> {
  await tx.query(`INSERT INTO revocation_events (org_id, token_id, reason) VALUES (tessera_current_org(), $1, $2)`, [tokenId, reason]);
}

/** Appends `reason` for every token a user owns in the context organization; returns them. */
export async function appendOwnerEvents(tx: Tx, userId: string, reason: RevocationReasonName): Promise<TokenEvent[]> {
  const r = await tx.query<{ org_id: string; token_id: string }>(
    `INSERT INTO revocation_events (org_id, token_id, reason)
     SELECT org_id, id, $2 FROM tokens WHERE owner_user_id = $1
     RETURNING org_id, token_id`,
    [userId, reason],
  );
  return r.rows.map((x) => ({ orgId: x.org_id, tokenId: x.token_id, reason }));
}

export interface FeedState {
  feedId: string;
  floor: FeedPosition;
  horizon: bigint;
}

export async function feedState(q: pg.Pool | pg.Client): Promise<FeedState> {
  try {
    const r = await q.query<{ feed_id: string; floor_xid: string; floor_id: string; horizon: string }>(
      `SELECT feed_id, floor_xid::text, floor_id::text, horizon::text FROM tessera_feed_state()`,
    );
    const row = r.rows[0]!;
    return {
      feedId: row.feed_id,
      floor: { xid: BigInt(row.floor_xid), id: BigInt(row.floor_id) },
      horizon: BigInt(row.horizon),
    };
  } catch (err) {
    mapPgError(err);
  }
}

/** Announces expiries due at `now`; returns how many events were appended. */
export async function announceExpiries(pool: pg.Pool, now: Date, limit = 1000): Promise<number> {
  try {
    const r = await pool.query<{ n: number }>(`SELECT tessera_announce_expiries($1, $2) AS n`, [now, limit]);
    return r.rows[0]?.n ?? 0;
  } catch (err) {
    mapPgError(err);
  }
}

/**
 * The idle sweep inside a transaction the caller holds (so what it disabled is recorded in the
 * same one): the tokens disabled, each announced as DISABLED. Empty while another instance sweeps.
 */
export async function disableIdleTokensListed(
  tx: Tx,
  now: Date,
  limit = 1000,
): Promise<Array<{ orgId: string; tokenId: string; name: string }>> {
  const r = await tx.query<{ org_id: string; token_id: string; name: string }>(`SELECT * FROM tessera_disable_idle_tokens_listed($1, $2)`, [
    now,
    limit,
  ]);
  return r.rows.map((x) => ({ orgId: x.org_id, tokenId: x.token_id, name: x.name }));
}

/**
 * Ends the rotation overlaps whose deadline has passed at `now` (their previous values stop
 * matching) and announces each as ROTATED; returns how many.
 */
export async function endOverlaps(pool: pg.Pool, now: Date, limit = 1000): Promise<number> {
  try {
    const r = await pool.query<{ n: number }>(`SELECT tessera_end_overlaps($1, $2) AS n`, [now, limit]);
    return r.rows[0]?.n ?? 0;
  } catch (err) {
    mapPgError(err);
  }
}

/** Prunes events created before `before`. */
export async function pruneEvents(pool: pg.Pool, before: Date): Promise<number> {
  try {
    const r = await pool.query<{ n: number }>(`SELECT tessera_prune_revocations($1) AS n`, [before]);
    return r.rows[0]?.n ?? 0;
  } catch (err) {
    mapPgError(err);
  }
}

/**
 * Up to `limit` finished events after `after`, and the horizon they were read at, in one round
 * trip (the feed listener's read on every wake-up).
 */
export async function readFeed(
  q: pg.Pool | pg.Client,
  after: FeedPosition,
  limit: number,
): Promise<{ horizon: bigint; events: StoredEvent[] }> {
  try {
    const r = await q.query<{
      horizon: string;
      id: string | null;
      xid: string | null;
      org_id: string;
      token_id: string;
      reason: RevocationReasonName;
      created_at: Date;
    }>({
      name: "tessera_read_feed",
      text: `SELECT horizon::text, id::text, xid::text, org_id, token_id, reason, created_at
               FROM tessera_read_feed($1::text::xid8, $2, $3)`,
      values: [after.xid.toString(), after.id.toString(), limit],
    });
    const events: StoredEvent[] = [];
    for (const x of r.rows) {
      if (x.id === null || x.xid === null) continue;
      events.push({
        position: { xid: BigInt(x.xid), id: BigInt(x.id) },
        orgId: x.org_id,
        tokenId: x.token_id,
        reason: x.reason,
        createdAt: x.created_at,
      });
    }
    return { horizon: BigInt(r.rows[0]!.horizon), events };
  } catch (err) {
    mapPgError(err);
  }
}

/**
 * When the first event after `after` was appended (the oldest one a reader at `after` has not
 * applied, committed but possibly still behind the safe horizon), or undefined when there is none.
 */
export async function oldestUnreadEventAt(pool: pg.Pool, after: FeedPosition): Promise<Date | undefined> {
  try {
    const r = await pool.query<{ at: Date | null }>({
      name: "tessera_feed_oldest_unread",
      text: `SELECT tessera_feed_oldest_unread($1::text::xid8, $2) AS at`,
      values: [after.xid.toString(), after.id.toString()],
    });
    return r.rows[0]?.at ?? undefined;
  } catch (err) {
    mapPgError(err);
  }
}
