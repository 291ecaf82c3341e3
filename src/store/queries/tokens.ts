/**
 * Token queries. Rows hold a keyed digest of the value and a display mask, never the value.
 * Everything here runs inside withOrg except the Verify lookup, which must cross organizations
 * and goes through the SECURITY DEFINER function tessera_verify_lookup in one round trip.
 */
import type pg from "pg";
import type { NewToken, Permissions, RoleName, TokenLookup, TokenRecord } from "../../domain/model.js";
import type { TokenKind } from "../../domain/token-format.js";
import type { Tx } from "../with-org.js";
import { mapPgError, uniqueAs } from "../pg-errors.js";
import { LOOKUP_TYPES, internKind, internString } from "./lookup-interning.js";
import { appendEvent } from "./revocations.js";

// Every column but the digest: digests never leave the store through a listing.
const COLUMNS = `id, seq, org_id, name, description, kind, is_default, mask, enabled, owner_user_id,
  created_by, permissions, expires_at, created_at, updated_at, last_used_at`;

interface TokenRow {
  id: string;
  seq: string;
  org_id: string;
  name: string;
  description: string;
  kind: TokenKind;
  is_default: boolean;
  mask: string;
  enabled: boolean;
  owner_user_id: string | null;
  created_by: string | null;
  permissions: Permissions;
  expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
  last_used_at: Date | null;
}

const toToken = (r: TokenRow): TokenRecord => ({
  id: r.id,
  seq: r.seq,
  orgId: r.org_id,
  name: r.name,
  description: r.description,
  kind: r.kind,
  isDefault: r.is_default,
  mask: r.mask,
  enabled: r.enabled,
  ownerUserId: r.owner_user_id,
  createdBy: r.created_by,
  permissions: r.permissions,
  expiresAt: r.expires_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  lastUsedAt: r.last_used_at,
});

/** Inserts a token into the context organization. Name clashes raise unique violations. */
export async function insertToken(tx: Tx, t: NewToken): Promise<TokenRecord> {
  const r = await uniqueAs(`a token named "${t.name}" already exists in this organization`, () =>
    tx.query<TokenRow>(
      `INSERT INTO tokens (id, org_id, name, description, kind, is_default, digest, key_id, mask,
                         owner_user_id, created_by, permissions, expires_at)
     VALUES ($1, tessera_current_org(), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     RETURNING ${COLUMNS}`,
      [
        t.id,
        t.name,
        t.description,
        t.kind,
        t.isDefault,
        t.digest,
        t.keyId,
        t.mask,
        t.ownerUserId,
        t.createdBy,
        JSON.stringify(t.permissions),
        t.expiresAt,
      ],
    ),
  );
  // A new token may have been asked about before it existed: let negative caches drop.
  await appendEvent(tx, t.id, "ENABLED");
  return toToken(r.rows[0]!);
}

export async function getToken(tx: Tx, id: string): Promise<TokenRecord | undefined> {
  const r = await tx.query<TokenRow>(`SELECT ${COLUMNS} FROM tokens WHERE id = $1`, [id]);
  return r.rows[0] ? toToken(r.rows[0]) : undefined;
}

export async function getDefaultToken(tx: Tx): Promise<TokenRecord | undefined> {
  const r = await tx.query<TokenRow>(`SELECT ${COLUMNS} FROM tokens WHERE is_default`);
  return r.rows[0] ? toToken(r.rows[0]) : undefined;
}

/** What ListTokens may filter on; an absent field does not filter. */
export interface TokenFilter {
  kind?: TokenKind;
  ownerUserId?: string;
  enabled?: boolean;
  /** Names starting with exactly this text: compared with starts_with, so `_` and `%` are plain characters. */
  namePrefix?: string;
}

/** One page of tokens: the default token first, then creation order; `afterKey` is the last row's key. */
export async function listTokens(tx: Tx, f: TokenFilter & { afterKey?: [number, string]; limit: number }): Promise<TokenRecord[]> {
  const r = await tx.query<TokenRow>(
    `SELECT ${COLUMNS} FROM tokens
      WHERE ($1::text IS NULL OR kind = $1)
        AND ($2::uuid IS NULL OR owner_user_id = $2)
        AND ($3::int IS NULL OR (CASE WHEN is_default THEN 0 ELSE 1 END, seq) > ($3::int, $4::bigint))
        AND ($6::boolean IS NULL OR enabled = $6)
        AND ($7::text IS NULL OR starts_with(name, $7))
      ORDER BY CASE WHEN is_default THEN 0 ELSE 1 END, seq
      LIMIT $5`,
    [
      f.kind ?? null,
      f.ownerUserId ?? null,
      f.afterKey?.[0] ?? null,
      f.afterKey?.[1] ?? null,
      f.limit,
      f.enabled ?? null,
      f.namePrefix ?? null,
    ],
  );
  return r.rows.map(toToken);
}

/** What UpdateToken may change; an absent field keeps its value (`expiresAt: null` clears the expiry). */
export interface TokenPatch {
  description?: string;
  expiresAt?: Date | null;
}

/**
 * Applies UpdateToken's changes. A changed expiry is announced (UPDATED): caches hold the old
 * one, and an earlier expiry must refuse on the very next Verify. The new expiry is announced
 * again when it passes (expiry_announced starts over).
 */
export async function updateToken(tx: Tx, id: string, patch: TokenPatch): Promise<TokenRecord | undefined> {
  const setExpiry = patch.expiresAt !== undefined;
  const r = await tx.query<TokenRow & { expiry_changed: boolean }>(
    // `old` is joined, not only read in RETURNING: a CTE first read there would run after the
    // update, and its FOR UPDATE would then skip the row this very statement changed.
    `WITH old AS (SELECT expires_at AS was_expires_at FROM tokens WHERE id = $1 FOR UPDATE)
     UPDATE tokens
        SET description = COALESCE($2, description),
            expires_at = CASE WHEN $3::boolean THEN $4::timestamptz ELSE expires_at END,
            expiry_announced = CASE WHEN $3::boolean THEN false ELSE expiry_announced END,
            updated_at = now()
       FROM old
      WHERE id = $1
     RETURNING ${COLUMNS}, expires_at IS DISTINCT FROM old.was_expires_at AS expiry_changed`,
    [id, patch.description ?? null, setExpiry, patch.expiresAt ?? null],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  if (row.expiry_changed) await appendEvent(tx, id, "UPDATED");
  return toToken(row);
}

/**
 * The context organization's tokens whose permissions name bucket `name` (an ingestion token's
 * bucket list, a read-write token's grants), locked for DeleteBucket to narrow or end them.
 */
export async function tokensNamingBucket(tx: Tx, name: string): Promise<TokenRecord[]> {
  const r = await tx.query<TokenRow>(
    `SELECT ${COLUMNS} FROM tokens
      WHERE permissions->'buckets' ? $1
         OR permissions->'bucketAccess' @> jsonb_build_array(jsonb_build_object('bucket', $1::text))
      ORDER BY seq
      FOR UPDATE`,
    [name],
  );
  return r.rows.map(toToken);
}

/**
 * Replaces a token's permissions with narrower ones (DeleteBucket with force: never anything
 * else, permissions are otherwise fixed) and announces it (UPDATED), so caches re-read it.
 */
export async function narrowPermissions(tx: Tx, id: string, permissions: Permissions): Promise<TokenRecord | undefined> {
  const r = await tx.query<TokenRow>(`UPDATE tokens SET permissions = $2, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`, [
    id,
    JSON.stringify(permissions),
  ]);
  if (!r.rows[0]) return undefined;
  await appendEvent(tx, id, "UPDATED");
  return toToken(r.rows[0]);
}

/** Sets the enabled flag; `changed` says whether it actually flipped. */
export async function setEnabled(tx: Tx, id: string, enabled: boolean): Promise<{ token: TokenRecord; changed: boolean } | undefined> {
  const r = await tx.query<TokenRow & { was: boolean }>(
    `WITH old AS (SELECT enabled FROM tokens WHERE id = $1 FOR UPDATE)
     UPDATE tokens SET enabled = $2, updated_at = now() WHERE id = $1
     RETURNING ${COLUMNS}, (SELECT enabled FROM old) AS was`,
    [id, enabled],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  const changed = row.was !== enabled;
  if (changed) await appendEvent(tx, id, enabled ? "ENABLED" : "DISABLED");
  return { token: toToken(row), changed };
}

/** Replaces a token's digest (rotation); the old value stops matching at commit. */
export async function replaceDigest(tx: Tx, id: string, digest: Buffer, keyId: number, mask: string): Promise<TokenRecord | undefined> {
  const r = await tx.query<TokenRow>(
    `UPDATE tokens SET digest = $2, key_id = $3, mask = $4, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, digest, keyId, mask],
  );
  if (!r.rows[0]) return undefined;
  await appendEvent(tx, id, "ROTATED");
  return toToken(r.rows[0]);
}

/** Re-digests a token found under an old key, only if it still holds that old digest. */
export async function redigest(tx: Tx, id: string, oldDigest: Buffer, newDigest: Buffer, keyId: number): Promise<void> {
  await tx.query(`UPDATE tokens SET digest = $3, key_id = $4 WHERE id = $1 AND digest = $2`, [id, oldDigest, newDigest, keyId]);
}

export async function deleteToken(tx: Tx, id: string): Promise<TokenRecord | undefined> {
  const r = await tx.query<TokenRow>(`DELETE FROM tokens WHERE id = $1 RETURNING ${COLUMNS}`, [id]);
  if (!r.rows[0]) return undefined;
  await appendEvent(tx, id, "DELETED");
  return toToken(r.rows[0]);
}

interface LookupRow {
  token_id: string;
  org_id: string;
  org_identifier: string;
  org_enabled: boolean;
  name: string;
  kind: TokenKind;
  key_id: number;
  digest: Buffer;
  enabled: boolean;
  expires_at: Date | null;
  permissions: Permissions;
  owner_user_id: string | null;
  owner_live: boolean;
  owner_root: boolean;
  owner_role: RoleName | null;
  target_org_id: string | null;
  target_identifier: string | null;
  target_enabled: boolean | null;
  target_reachable: boolean;
  last_used_minute: number | null;
}

/** A token as Verify's lookup found it, and its stored digest. */
export interface FoundToken {
  lookup: TokenLookup;
  /** Kept apart from the lookup: checked once by the caller, then not needed by the caches that keep lookups. */
  digest: Buffer;
}

/**
 * Verify's lookup for one or more requests in one round trip (tessera_verify_lookup, across
 * organizations): request i asks for the token whose digest is any of `requests[i].digests` (one
 * per live key), joined with its organization, owner and the target organization named
 * `requests[i].targetIdentifier`. The answer has one entry per request, in order; undefined where
 * no token matched.
 */
export async function lookupByDigests(
  pool: pg.Pool,
  requests: ReadonlyArray<{ digests: readonly Buffer[]; targetIdentifier: string }>,
): Promise<Array<FoundToken | undefined>> {
  const idx: number[] = [];
  const digests: Buffer[] = [];
  const targets: string[] = [];
  for (let i = 0; i < requests.length; i++) {
    const q = requests[i]!;
    for (const d of q.digests) {
      idx.push(i + 1);
      digests.push(d);
    }
    targets.push(q.targetIdentifier);
  }
  let r: pg.QueryResult<LookupRow & { idx: number }>;
  try {
    r = await pool.query<LookupRow & { idx: number }>({
      name: "tessera_verify_lookup",
      text: `SELECT * FROM tessera_verify_lookup($1, $2, $3)`,
      values: [idx, digests, targets],
      types: LOOKUP_TYPES,
    });
  } catch (err) {
    mapPgError(err);
  }
  const out = new Array<FoundToken | undefined>(requests.length).fill(undefined);
  for (const x of r.rows) {
    const i = x.idx - 1;
    // One row per request at most (the function's LIMIT 1); keep the first if not.
    if (i >= 0 && i < out.length && out[i] === undefined) out[i] = { lookup: toLookup(x), digest: x.digest };
  }
  return out;
}

function toLookup(x: LookupRow): TokenLookup {
  return {
    tokenId: x.token_id,
    orgId: internString(x.org_id),
    orgIdentifier: internString(x.org_identifier),
    orgEnabled: x.org_enabled,
    name: x.name,
    kind: internKind(x.kind),
    keyId: x.key_id,
    enabled: x.enabled,
    expiresAt: x.expires_at,
    permissions: x.permissions,
    ownerUserId: x.owner_user_id,
    ownerLive: x.owner_live,
    ownerRoot: x.owner_root,
    ownerRole: x.owner_role,
    targetOrgId: internString(x.target_org_id),
    targetIdentifier: internString(x.target_identifier),
    targetEnabled: x.target_enabled,
    targetReachable: x.target_reachable,
    lastUsedMinute: x.last_used_minute,
  };
}

/** Sets last_used_at = `at` on those of `ids` whose last-used time is unset or before `staleBefore`. */
export async function touchTokens(pool: pg.Pool, ids: string[], at: Date, staleBefore: Date): Promise<void> {
  try {
    await pool.query(`SELECT tessera_touch_tokens($1, $2, $3)`, [ids, at, staleBefore]);
  } catch (err) {
    mapPgError(err);
  }
}

/** The organization a token id belongs to, across organizations; undefined if there is none. */
export async function tokenOrganization(pool: pg.Pool, id: string): Promise<string | undefined> {
  try {
    const r = await pool.query<{ org: string | null }>(`SELECT tessera_token_org($1) AS org`, [id]);
    return r.rows[0]?.org ?? undefined;
  } catch (err) {
    mapPgError(err);
  }
}
