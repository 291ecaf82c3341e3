/** User and membership queries. Users are global; memberships are organization rows under RLS. */
import type pg from "pg";
import type { Membership, RoleName, User } from "../../domain/model.js";
import type { Tx } from "../with-org.js";
import { mapPgError, uniqueAs } from "../pg-errors.js";
import { appendOwnerEvents, type TokenEvent } from "./revocations.js";

interface UserRow {
  id: string;
  name: string;
  root: boolean;
  created_at: Date;
}

const toUser = (r: UserRow): User => ({ id: r.id, name: r.name, root: r.root, createdAt: r.created_at });

export async function insertUser(tx: Tx, u: { id: string; name: string; root: boolean }): Promise<User> {
  const r = await uniqueAs(`a user named "${u.name}" already exists`, () =>
    tx.query<UserRow>(`INSERT INTO users (id, name, root) VALUES ($1, $2, $3) RETURNING id, name, root, created_at`, [
      u.id,
      u.name,
      u.root,
    ]),
  );
  return toUser(r.rows[0]!);
}

/** A live user by id, whatever organizations it belongs to (the caller checks reach). */
export async function getUser(pool: pg.Pool | Tx, id: string): Promise<User | undefined> {
  try {
    const r = await pool.query<UserRow>(`SELECT * FROM tessera_user_summary($1)`, [id]);
    return r.rows[0] ? toUser(r.rows[0]) : undefined;
  } catch (err) {
    mapPgError(err);
  }
}

/**
 * Marks a user deleted and ends all its memberships, in every organization; returns the events
 * of the tokens that ended, or undefined if there was no such live user.
 */
export async function deleteUser(pool: pg.Pool | Tx, id: string): Promise<TokenEvent[] | undefined> {
  try {
    const r = await pool.query<{ org_id: string | null; token_id: string | null }>(`SELECT * FROM tessera_remove_user($1)`, [id]);
    if (r.rows.length === 0) return undefined;
    const events: TokenEvent[] = [];
    for (const x of r.rows)
      if (x.org_id !== null && x.token_id !== null) events.push({ orgId: x.org_id, tokenId: x.token_id, reason: "OWNER_REMOVED" });
    return events;
  } catch (err) {
    mapPgError(err);
  }
}

/** The user's membership in the context organization. */
export async function getMembership(tx: Tx, userId: string): Promise<Membership | undefined> {
  const r = await tx.query<{ org_id: string; user_id: string; role: RoleName }>(
    `SELECT org_id, user_id, role FROM memberships WHERE user_id = $1`,
    [userId],
  );
  const row = r.rows[0];
  return row ? { orgId: row.org_id, userId: row.user_id, role: row.role } : undefined;
}

/**
 * Adds the user to the context organization or changes its role there. Either changes what the
 * user's tokens may do, so it is announced on the revocation feed; the events come back.
 */
export async function upsertMembership(
  tx: Tx,
  userId: string,
  role: RoleName,
): Promise<{ membership: Membership; previous: Membership | undefined; events: TokenEvent[] }> {
  const before = await getMembership(tx, userId);
  const r = await tx.query<{ org_id: string; user_id: string; role: RoleName }>(
    `INSERT INTO memberships (org_id, user_id, role) VALUES (tessera_current_org(), $1, $2)
     ON CONFLICT (org_id, user_id) DO UPDATE SET role = EXCLUDED.role
     RETURNING org_id, user_id, role`,
    [userId, role],
  );
  // A role change narrows or widens what the user's tokens may do; a member coming back makes
  // its tokens (refused as OWNER_INACTIVE while it was away) good again: caches must re-read them.
  const events =
    before === undefined
      ? await appendOwnerEvents(tx, userId, "ENABLED")
      : before.role !== role
        ? await appendOwnerEvents(tx, userId, "OWNER_REMOVED")
        : [];
  const row = r.rows[0]!;
  return { membership: { orgId: row.org_id, userId: row.user_id, role: row.role }, previous: before, events };
}

/** Removes the user from the context organization; the events of its tokens there, or undefined if it was not a member. */
export async function deleteMembership(tx: Tx, userId: string): Promise<TokenEvent[] | undefined> {
  const r = await tx.query(`DELETE FROM memberships WHERE user_id = $1`, [userId]);
  if (r.rowCount !== 1) return undefined;
  return appendOwnerEvents(tx, userId, "OWNER_REMOVED");
}

/**
 * ListUsers across organizations: live users with a membership in an organization `from`
 * reaches (every live user when `all`), by name, after `afterName` (tessera_visible_users).
 */
export async function listVisibleUsers(pool: pg.Pool | Tx, from: string, all: boolean, afterName: string, limit: number): Promise<User[]> {
  try {
    const r = await pool.query<UserRow>(`SELECT * FROM tessera_visible_users($1, $2, $3, $4)`, [from, all, afterName, limit]);
    return r.rows.map(toUser);
  } catch (err) {
    mapPgError(err);
  }
}

/**
 * A live user's memberships in the organizations `from` reaches (all of them when `all`), by
 * organization id: what GetUser may show, and whether it may show the user at all.
 */
export async function visibleMemberships(pool: pg.Pool, from: string, all: boolean, userId: string): Promise<Membership[]> {
  try {
    const r = await pool.query<{ org_id: string; user_id: string; role: RoleName }>(
      `SELECT org_id, user_id, role FROM tessera_visible_memberships($1, $2, $3)`,
      [from, all, userId],
    );
    return r.rows.map((x) => ({ orgId: x.org_id, userId: x.user_id, role: x.role }));
  } catch (err) {
    mapPgError(err);
  }
}

/** One page of the context organization's members with their users, by user name, after `afterName`. */
export async function listMembers(tx: Tx, afterName: string, limit: number): Promise<Array<{ membership: Membership; user: User }>> {
  const r = await tx.query<UserRow & { org_id: string; role: RoleName }>(
    `SELECT u.id, u.name, u.root, u.created_at, m.org_id, m.role
       FROM memberships m JOIN users u ON u.id = m.user_id
      WHERE u.deleted_at IS NULL AND u.name > $1
      ORDER BY u.name
      LIMIT $2`,
    [afterName, limit],
  );
  return r.rows.map((x) => ({ membership: { orgId: x.org_id, userId: x.id, role: x.role }, user: toUser(x) }));
}
