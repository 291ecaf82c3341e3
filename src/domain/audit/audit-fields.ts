/**
 * The before/after snapshots an entry keeps of what changed, built from domain records by
 * listing the fields that may appear: a token's value, mask or digest is not among them, so no
 * new field on a record reaches the trail without someone deciding it belongs there. Names follow
 * the API's (snake_case) field names.
 */
import type { Bucket, Membership, Organization, Permissions, TokenRecord, User } from "../model.js";
import type { AuditFields, AuditTargetFields, AuditValue } from "./entry.js";

const time = (d: Date | null): string | null => (d === null ? null : d.toISOString());

function permissions(p: Permissions): AuditFields {
  const out: AuditFields = {};
  if (p.signals !== undefined) out.signals = [...p.signals];
  if (p.buckets !== undefined) out.buckets = [...p.buckets];
  if (p.bucketAccess !== undefined) out.bucket_access = p.bucketAccess.map((g) => ({ bucket: g.bucket, read: g.read, write: g.write }));
  if (p.dashboards !== undefined) out.dashboards = [...p.dashboards];
  if (p.filters !== undefined) out.filters = { ...p.filters };
  return out;
}

export function tokenFields(t: TokenRecord): AuditFields {
  return {
    name: t.name,
    kind: t.kind,
    description: t.description,
    enabled: t.enabled,
    expire_time: time(t.expiresAt),
    owner_user_id: t.ownerUserId,
    permissions: permissions(t.permissions),
    value_origin: t.valueOrigin,
    disabled_reason: t.disabledReason,
    previous_value_expire_time: t.previous === null ? null : t.previous.expiresAt.toISOString(),
  };
}

export function organizationFields(o: Organization): AuditFields {
  return {
    identifier: o.identifier,
    name: o.name,
    parent_id: o.parentId,
    parent_access: o.parentAccess,
    enabled: o.enabled,
    max_token_lifetime_seconds: o.maxTokenLifetimeS,
    token_idle_limit_seconds: o.tokenIdleLimitS,
  };
}

export function userFields(u: User): AuditFields {
  return { name: u.name, root: u.root };
}

export function membershipFields(m: Pick<Membership, "role">): AuditFields {
  return { role: m.role };
}

export function bucketFields(b: Bucket): AuditFields {
  return { name: b.name, description: b.description };
}

/**
 * The fields whose values differ, as [before, after]; both null when nothing changed. Values are
 * compared as JSON (they are plain data).
 */
export function changedFields(before: AuditFields, after: AuditFields): [AuditFields, AuditFields] | null {
  const b: AuditFields = {};
  const a: AuditFields = {};
  let any = false;
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const x: AuditValue = before[k] ?? null;
    const y: AuditValue = after[k] ?? null;
    if (JSON.stringify(x) === JSON.stringify(y)) continue;
    b[k] = x;
    a[k] = y;
    any = true;
  }
  return any ? [b, a] : null;
}

export const tokenTarget = (t: Pick<TokenRecord, "id" | "name">): AuditTargetFields => ({ type: "token", id: t.id, name: t.name });
export const organizationTarget = (o: Pick<Organization, "id" | "identifier">): AuditTargetFields => ({
  type: "organization",
  id: o.id,
  name: o.identifier,
});
export const userTarget = (u: Pick<User, "id" | "name">): AuditTargetFields => ({ type: "user", id: u.id, name: u.name });
/** A membership is named by its user (the organization is the trail's). */
export const membershipTarget = (userId: string, userName?: string): AuditTargetFields => ({
  type: "membership",
  id: userId,
  ...(userName !== undefined && { name: userName }),
});
export const bucketTarget = (b: Pick<Bucket, "id" | "name">): AuditTargetFields => ({ type: "bucket", id: b.id, name: b.name });
