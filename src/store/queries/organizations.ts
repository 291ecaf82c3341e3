/** Organization queries. Inside withOrg a transaction sees only its own organization's row. */
import type pg from "pg";
import type { Organization, TokenPolicies } from "../../domain/model.js";
import type { Tx } from "../with-org.js";
import { mapPgError, uniqueAs } from "../pg-errors.js";
import type { TokenEvent } from "./revocations.js";

interface OrgRow {
  id: string;
  identifier: string;
  name: string;
  parent_id: string | null;
  parent_access: boolean;
  enabled: boolean;
  created_at: Date;
  max_token_lifetime_s: string | null;
  token_idle_limit_s: string | null;
}

function toOrganization(r: OrgRow): Organization {
  return {
    id: r.id,
    identifier: r.identifier,
    name: r.name,
    parentId: r.parent_id,
    parentAccess: r.parent_access,
    enabled: r.enabled,
    createdAt: r.created_at,
    // bigint columns come as strings; the service bounds them to 10 years, well inside 2^53.
    maxTokenLifetimeS: r.max_token_lifetime_s === null ? null : Number(r.max_token_lifetime_s),
    tokenIdleLimitS: r.token_idle_limit_s === null ? null : Number(r.token_idle_limit_s),
  };
}

/** Inserts an organization; the transaction's context must be the new organization's id. */
export async function insertOrganization(
  tx: Tx,
  o: { id: string; identifier: string; name: string; parentId: string | null; parentAccess: boolean } & TokenPolicies,
): Promise<Organization> {
  const r = await uniqueAs(`an organization with identifier "${o.identifier}" already exists`, () =>
    tx.query<OrgRow>(
      `INSERT INTO organizations (id, identifier, name, parent_id, parent_access, max_token_lifetime_s, token_idle_limit_s)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
      [o.id, o.identifier, o.name, o.parentId, o.parentAccess, o.maxTokenLifetimeS, o.tokenIdleLimitS],
    ),
  );
  return toOrganization(r.rows[0]!);
}

/** The context organization's own row (RLS shows no other). */
export async function getCurrentOrganization(tx: Tx): Promise<Organization | undefined> {
  const r = await tx.query<OrgRow>(`SELECT * FROM organizations WHERE id = tessera_current_org()`);
  return r.rows[0] ? toOrganization(r.rows[0]) : undefined;
}

/** Whether organization `from` may act on organization `to` (itself or a reachable descendant). */
export async function isReachable(pool: pg.Pool, from: string, to: string): Promise<boolean> {
  try {
    const r = await pool.query<{ ok: boolean }>(`SELECT tessera_org_reachable($1, $2) AS ok`, [from, to]);
    return r.rows[0]?.ok === true;
  } catch (err) {
    mapPgError(err);
  }
}

/** Organizations visible from `from` (all of them for an operator), a page at a time. */
export async function listOrganizations(
  pool: pg.Pool | Tx,
  from: string,
  all: boolean,
  afterIdentifier: string,
  limit: number,
): Promise<Organization[]> {
  try {
    const r = await pool.query<OrgRow>(`SELECT * FROM tessera_list_organizations($1, $2, $3, $4)`, [from, all, afterIdentifier, limit]);
    return r.rows.map(toOrganization);
  } catch (err) {
    mapPgError(err);
  }
}

/** Whether Setup has already run. */
export async function isSetupDone(pool: pg.Pool): Promise<boolean> {
  try {
    const r = await pool.query<{ done: boolean }>(`SELECT tessera_is_setup() AS done`);
    return r.rows[0]?.done === true;
  } catch (err) {
    mapPgError(err);
  }
}

/** Claims the one-time Setup inside its transaction; false if another Setup already claimed it. */
export async function claimSetup(tx: Tx): Promise<boolean> {
  const r = await tx.query(`INSERT INTO instance_setup (id) VALUES (1) ON CONFLICT DO NOTHING`);
  return r.rowCount === 1;
}

/** Whether an organization exists at all (operators may name any organization). */
export async function organizationExists(pool: pg.Pool, id: string): Promise<boolean> {
  try {
    const r = await pool.query<{ ok: boolean }>(`SELECT tessera_org_exists($1) AS ok`, [id]);
    return r.rows[0]?.ok === true;
  } catch (err) {
    mapPgError(err);
  }
}

/**
 * Enables or disables the context organization. Disabling announces every token of the
 * organization on the revocation feed (ORG_DISABLED); re-enabling announces them as ENABLED.
 * The events come back, for this instance's cache to apply once the change commits.
 * Returns undefined when there is no such organization in context.
 */
export async function setOrganizationEnabled(
  tx: Tx,
  enabled: boolean,
): Promise<{ organization: Organization; changed: boolean; events: TokenEvent[] } | undefined> {
  const r = await tx.query<OrgRow & { was: boolean }>(
    // `old` is joined, not only read in RETURNING: a CTE first read there runs after the update,
    // and its FOR UPDATE then skips the row this statement changed (so `was` came back NULL and
    // a no-op call announced every token again).
    `WITH old AS (SELECT enabled AS was FROM organizations WHERE id = tessera_current_org() FOR UPDATE)
     UPDATE organizations SET enabled = $1 FROM old WHERE id = tessera_current_org()
     RETURNING organizations.*, old.was`,
    [enabled],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  const reason = enabled ? "ENABLED" : "ORG_DISABLED";
  const events =
    row.was === enabled
      ? []
      : (
          await tx.query<{ org_id: string; token_id: string }>(
            `INSERT INTO revocation_events (org_id, token_id, reason)
             SELECT org_id, id, $1 FROM tokens
             RETURNING org_id, token_id`,
            [reason],
          )
        ).rows.map((x): TokenEvent => ({ orgId: x.org_id, tokenId: x.token_id, reason }));
  return { organization: toOrganization(row), changed: row.was !== enabled, events };
}

/** The fields UpdateOrganization may change; an absent one keeps its value. */
export interface OrganizationPatch {
  name?: string;
  parentAccess?: boolean;
  /** Seconds, or null to remove the limit. */
  maxTokenLifetimeS?: number | null;
  /** Seconds, or null to remove the limit. */
  tokenIdleLimitS?: number | null;
}

/**
 * Changes the context organization's updatable fields in one statement (a field left out of
 * `patch` keeps its value), and says whether parent access flipped. Undefined when there is no
 * such organization in context.
 */
export async function updateOrganization(
  tx: Tx,
  patch: OrganizationPatch,
): Promise<{ organization: Organization; parentAccessChanged: boolean } | undefined> {
  const r = await tx.query<OrgRow & { was_parent_access: boolean }>(
    // `old` is joined, not only read in RETURNING: a CTE first read there would run after the
    // update, and its FOR UPDATE would then skip the row this very statement changed.
    `WITH old AS (SELECT parent_access AS was_parent_access FROM organizations WHERE id = tessera_current_org() FOR UPDATE)
     UPDATE organizations SET name = COALESCE($1, name), parent_access = COALESCE($2, parent_access),
            max_token_lifetime_s = CASE WHEN $3 THEN $4::bigint ELSE max_token_lifetime_s END,
            token_idle_limit_s = CASE WHEN $5 THEN $6::bigint ELSE token_idle_limit_s END
       FROM old
      WHERE id = tessera_current_org()
     RETURNING organizations.*, old.was_parent_access`,
    [
      patch.name ?? null,
      patch.parentAccess ?? null,
      patch.maxTokenLifetimeS !== undefined,
      patch.maxTokenLifetimeS ?? null,
      patch.tokenIdleLimitS !== undefined,
      patch.tokenIdleLimitS ?? null,
    ],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  return { organization: toOrganization(row), parentAccessChanged: row.was_parent_access !== row.parent_access };
}

/**
 * After the context organization's parent access flipped, in the same transaction: announces
 * every token of the organizations above it that reached it (PARENT_ACCESS_REVOKED when access
 * was turned off, ENABLED when on, so that refusals cached meanwhile drop), and returns those
 * events for this instance's caches. Those tokens live in other organizations, so this goes
 * through tessera_announce_parent_access (migration 0013), which works on the context
 * organization only.
 */
export async function announceParentAccess(tx: Tx, access: boolean): Promise<TokenEvent[]> {
  const r = await tx.query<{ org_id: string; token_id: string }>(`SELECT org_id, token_id FROM tessera_announce_parent_access($1)`, [
    access,
  ]);
  const reason = access ? "ENABLED" : "PARENT_ACCESS_REVOKED";
  return r.rows.map((x): TokenEvent => ({ orgId: x.org_id, tokenId: x.token_id, reason }));
}
