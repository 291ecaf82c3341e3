/**
 * Token queries. Rows hold a keyed digest of the value and a display mask, never the value.
 * Everything here runs inside withOrg except the Verify lookup, which must cross organizations
 * and goes through the SECURITY DEFINER function tessera_verify_lookup_with_previous in one round
 * trip. A token may also hold a previous value (a rotation's grace period, migration 0011): its
 * digest, key, mask, deadline and last use sit on the same row, and end with it.
 */
import type pg from "pg";
import type { DisabledReason, NewToken, Permissions, RoleName, TokenLookup, TokenRecord } from "../../domain/model.js";
import type { TokenKind } from "../../domain/token-format.js";
import type { ValueOrigin } from "../../domain/token-value.js";
import type { Tx } from "../with-org.js";
import { mapPgError, uniqueAs } from "../pg-errors.js";
import { LOOKUP_TYPES, internKind, internString } from "./lookup-interning.js";
import { appendEvent } from "./revocations.js";

// Every column but the digest: digests never leave the store through a listing.
const COLUMNS = `id, seq, org_id, name, description, kind, is_default, mask, value_origin, enabled, owner_user_id,
  created_by, permissions, expires_at, created_at, updated_at, last_used_at, disabled_reason,
  previous_mask, previous_expires_at, previous_last_used_at`;

/** COLUMNS of `tokens`, for statements that join another relation with an `id`. */
const QUALIFIED_COLUMNS = COLUMNS.replace(/\w+/g, "tokens.$&");

/** What ends a previous value, in an UPDATE's SET list (the table's check keeps the five together). */
const END_PREVIOUS = `previous_digest = NULL, previous_key_id = NULL, previous_mask = NULL,
  previous_expires_at = NULL, previous_last_used_at = NULL, previous_imported = false`;

interface TokenRow {
  id: string;
  seq: string;
  org_id: string;
  name: string;
  description: string;
  kind: TokenKind;
  is_default: boolean;
  mask: string;
  value_origin: ValueOrigin;
  enabled: boolean;
  owner_user_id: string | null;
  created_by: string | null;
  permissions: Permissions;
  expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
  last_used_at: Date | null;
  disabled_reason: DisabledReason | null;
  previous_mask: string | null;
  previous_expires_at: Date | null;
  previous_last_used_at: Date | null;
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
  valueOrigin: r.value_origin,
  enabled: r.enabled,
  ownerUserId: r.owner_user_id,
  createdBy: r.created_by,
  permissions: r.permissions,
  expiresAt: r.expires_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  lastUsedAt: r.last_used_at,
  disabledReason: r.disabled_reason,
  previous:
    r.previous_mask === null || r.previous_expires_at === null
      ? null
      : { mask: r.previous_mask, expiresAt: r.previous_expires_at, lastUsedAt: r.previous_last_used_at },
});

/** What a clash on a digest says: that the value is taken, never by whom or where. */
export const VALUE_IN_USE = "this value is already in use";

/**
 * Inserts a token into the context organization. A name clash is ALREADY_EXISTS naming the name;
 * a digest clash (a brought value some token of any organization holds) is ALREADY_EXISTS saying
 * only that the value is in use. Any unique index on a digest column counts as the latter.
 */
export async function insertToken(tx: Tx, t: NewToken): Promise<TokenRecord> {
  const r = await uniqueAs(
    `a token named "${t.name}" already exists in this organization`,
    () =>
      tx.query<TokenRow>(
        `INSERT INTO tokens (id, org_id, name, description, kind, is_default, digest, key_id, mask, value_origin,
                         owner_user_id, created_by, permissions, expires_at)
     VALUES ($1, tessera_current_org(), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
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
          t.valueOrigin ?? "GENERATED",
          t.ownerUserId,
          t.createdBy,
          JSON.stringify(t.permissions),
          t.expiresAt,
        ],
      ),
    (constraint) => (constraint.includes("digest") ? VALUE_IN_USE : undefined),
  );
  // A new token may have been asked about before it existed: let negative caches drop.
  await appendEvent(tx, t.id, "ENABLED");
  return toToken(r.rows[0]!);
}

/** A token by id; `lock` holds its row until the transaction ends (a change that depends on what was read). */
export async function getToken(tx: Tx, id: string, lock = false): Promise<TokenRecord | undefined> {
  const r = await tx.query<TokenRow>(`SELECT ${COLUMNS} FROM tokens WHERE id = $1${lock ? " FOR UPDATE" : ""}`, [id]);
  return r.rows[0] ? toToken(r.rows[0]) : undefined;
}

/**
 * The context organization's token named `name` and its stored digest and key id: an idempotent
 * CreateToken compares the digest (in constant time, in the service) to tell "this very token
 * already exists" from a name clash.
 */
export async function getTokenDigestByName(
  tx: Tx,
  name: string,
): Promise<{ token: TokenRecord; digest: Buffer; keyId: number } | undefined> {
  const r = await tx.query<TokenRow & { digest: Buffer; key_id: number }>(`SELECT ${COLUMNS}, digest, key_id FROM tokens WHERE name = $1`, [
    name,
  ]);
  const row = r.rows[0];
  return row ? { token: toToken(row), digest: row.digest, keyId: row.key_id } : undefined;
}

/**
 * Whether any token of any organization holds one of `digests` (tessera_digest_in_use): a
 * brought value under an older key's digest, which the unique index cannot see.
 */
export async function digestInUse(q: pg.Pool | Tx, digests: Buffer[]): Promise<boolean> {
  try {
    const r = await q.query<{ used: boolean }>(`SELECT tessera_digest_in_use($1) AS used`, [digests]);
    return r.rows[0]?.used === true;
  } catch (err) {
    mapPgError(err);
  }
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

/**
 * Sets the enabled flag at a caller's request; `changed` says whether it actually flipped.
 * Disabling also ends a previous value for good: enabling the token again brings back only its
 * current value. A disable records that a caller did it; a re-enable restarts the idle clock
 * (idle_since), so an idle-disabled token switched back on gets a whole idle period before the
 * sweep looks at it again. `at` is the service's clock, as last-used times are: the sweep
 * compares the two.
 */
export async function setEnabled(
  tx: Tx,
  id: string,
  enabled: boolean,
  at: Date,
): Promise<{ token: TokenRecord; changed: boolean } | undefined> {
  // The old flag is read and locked in the UPDATE's own scan: a CTE read only by RETURNING runs
  // after the update, when FOR UPDATE skips the row (it used to, so `changed` was always true).
  const r = await tx.query<TokenRow & { was: boolean }>(
    `UPDATE tokens SET enabled = $2, updated_at = now(),
            disabled_reason = CASE WHEN $2 THEN NULL WHEN old.enabled THEN 'ADMIN' ELSE tokens.disabled_reason END,
            idle_since = CASE WHEN $2 AND NOT old.enabled THEN $3 ELSE tokens.idle_since END${enabled ? "" : `, ${END_PREVIOUS}`}
       FROM (SELECT id, enabled FROM tokens WHERE id = $1 FOR UPDATE) old
     WHERE tokens.id = old.id
     RETURNING ${QUALIFIED_COLUMNS}, old.enabled AS was`,
    [id, enabled, at],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  const changed = row.was !== enabled;
  if (changed) await appendEvent(tx, id, enabled ? "ENABLED" : "DISABLED");
  return { token: toToken(row), changed };
}

/** A new value as the store keeps it. */
interface StoredValue {
  digest: Buffer;
  keyId: number;
  mask: string;
}

/**
 * Gives a token a new value (rotation). With `previousUntil` the current value becomes the
 * previous one until then, and the new value starts with no last use; without it the current
 * value stops matching at commit. The new value is a generated one; an imported value kept as the
 * previous one stays in the imported-value filters (previous_imported). Either way a previous value the token had ends at once, so a
 * token never holds more than two values, and its idle clock restarts at `at` (idle_since; the
 * service's clock, as last-used times are). Returns the events appended, in order: ROTATED when a
 * value ended, ENABLED when a value was kept (caches must refetch its answers, which now carry
 * the deadline).
 */
export async function rotateValue(
  tx: Tx,
  id: string,
  next: StoredValue,
  previousUntil: Date | null,
  at: Date,
): Promise<{ token: TokenRecord; events: Array<"ROTATED" | "ENABLED"> } | undefined> {
  const keep = previousUntil !== null;
  const r = await tx.query<TokenRow & { had_previous: boolean }>(
    // The row is locked and read in the UPDATE's own scan (a CTE read in RETURNING would come
    // after the update, and FOR UPDATE there skips the row this statement just changed).
    `UPDATE tokens SET digest = $2, key_id = $3, mask = $4, value_origin = 'GENERATED', updated_at = now(), idle_since = $5,
       ${
         keep
           ? `previous_digest = tokens.digest, previous_key_id = tokens.key_id, previous_mask = tokens.mask,
              previous_expires_at = $6, previous_last_used_at = tokens.last_used_at, last_used_at = NULL,
              previous_imported = tokens.value_origin = 'IMPORTED'`
           : END_PREVIOUS
       }
       FROM (SELECT id, previous_digest IS NOT NULL AS had_previous FROM tokens WHERE id = $1 FOR UPDATE) old
     WHERE tokens.id = old.id
     RETURNING ${QUALIFIED_COLUMNS}, old.had_previous`,
    keep ? [id, next.digest, next.keyId, next.mask, at, previousUntil] : [id, next.digest, next.keyId, next.mask, at],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  const events: Array<"ROTATED" | "ENABLED"> = keep ? (row.had_previous ? ["ROTATED", "ENABLED"] : ["ENABLED"]) : ["ROTATED"];
  for (const reason of events) await appendEvent(tx, id, reason);
  return { token: toToken(row), events };
}

/**
 * Re-digests a value found under an old key, only if the token still holds that old digest, as
 * its current value or (`previous`) as its previous one.
 */
export async function redigest(tx: Tx, id: string, oldDigest: Buffer, newDigest: Buffer, keyId: number, previous: boolean): Promise<void> {
  await tx.query(
    previous
      ? `UPDATE tokens SET previous_digest = $3, previous_key_id = $4 WHERE id = $1 AND previous_digest = $2`
      : `UPDATE tokens SET digest = $3, key_id = $4 WHERE id = $1 AND digest = $2`,
    [id, oldDigest, newDigest, keyId],
  );
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
  previous_until: Date | null;
}

/** A token as Verify's lookup found it, and its stored digest. */
export interface FoundToken {
  lookup: TokenLookup;
  /** Kept apart from the lookup: checked once by the caller, then not needed by the caches that keep lookups. */
  digest: Buffer;
}

/**
 * Verify's lookup for one or more requests in one round trip (tessera_verify_lookup_with_previous,
 * across organizations): request i asks for the token whose current or previous digest is any of
 * `requests[i].digests` (one per live key), joined with its organization, owner and the target
 * organization named `requests[i].targetIdentifier`. The answer has one entry per request, in
 * order; undefined where no token matched. The digest is the matched value's.
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
      name: "tessera_verify_lookup_with_previous",
      text: `SELECT * FROM tessera_verify_lookup_with_previous($1, $2, $3)`,
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
    previousUntil: x.previous_until,
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

/**
 * Sets previous_last_used_at = `at` on the previous values of `ids` whose deadline is still
 * `deadlines[i]` (the value that was used) and whose last-used time is unset or before `staleBefore`.
 */
export async function touchPreviousValues(pool: pg.Pool, ids: string[], deadlines: Date[], at: Date, staleBefore: Date): Promise<void> {
  try {
    await pool.query(`SELECT tessera_touch_previous_values($1, $2, $3, $4)`, [ids, deadlines, at, staleBefore]);
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
