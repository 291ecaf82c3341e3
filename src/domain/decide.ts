/**
 * The Verify decision, as a pure function of what the store found and what was asked.
 *
 * The result is data (Unkey's model): a refused token is a status, never an exception. The order
 * of checks is part of the contract: anything that would reveal a token of another organization
 * comes first and answers NOT_FOUND, whatever state that token is in.
 */
import type { Permissions, RoleName, SignalName, TokenLookup } from "./model.js";

export type EndpointClassName = "INGEST" | "QUERY" | "ADMIN" | "SHARED_VIEW";

export type VerifyStatusName =
  | "VALID"
  | "MALFORMED"
  | "NOT_FOUND"
  | "DISABLED"
  | "EXPIRED"
  | "WRONG_ENDPOINT"
  | "FORBIDDEN"
  | "OWNER_INACTIVE"
  | "ORGANIZATION_DISABLED";

export interface VerifyQuestion {
  /** Organization identifier the request is addressed to; '' when unknown. */
  orgIdentifier: string;
  endpoint: EndpointClassName;
  bucket: string;
  signal: SignalName | undefined;
}

export interface Decision {
  allowed: boolean;
  status: VerifyStatusName;
  /** The effective role for user-bound tokens (token ∩ owner's current role). */
  role: RoleName | undefined;
}

const RANK: Record<RoleName, number> = { VIEWER: 1, EDITOR: 2, ADMIN: 3 };
export const roleAtLeast = (role: RoleName | null | undefined, min: RoleName): boolean => role != null && RANK[role] >= RANK[min];

const deny = (status: VerifyStatusName, role?: RoleName): Decision => ({ allowed: false, status, role });

/**
 * The token's standing regardless of endpoint: organization, enabled, expiry and owner. A previous
 * value past its rotation deadline is no value at all: NOT_FOUND before anything else, exactly
 * what the lookup answers once the overlap has been ended in the database.
 */
export function standing(t: TokenLookup, q: { orgIdentifier: string }, now: number): Decision | RoleName | null {
  if (t.previousUntil !== null && t.previousUntil.getTime() <= now) return deny("NOT_FOUND");
  if (q.orgIdentifier !== "" && !t.targetReachable) return deny("NOT_FOUND");
  if (!t.orgEnabled || t.targetEnabled === false) return deny("ORGANIZATION_DISABLED");
  if (!t.enabled) return deny("DISABLED");
  if (t.expiresAt !== null && t.expiresAt.getTime() <= now) return deny("EXPIRED");
  switch (t.kind) {
    case "OPERATOR":
      return t.ownerLive && t.ownerRoot ? "ADMIN" : deny("OWNER_INACTIVE");
    case "ALL_ACCESS":
    case "READ_WRITE":
      return t.ownerLive && t.ownerRole !== null ? t.ownerRole : deny("OWNER_INACTIVE");
    default:
      return null;
  }
}

export function decide(t: TokenLookup | undefined, q: VerifyQuestion, now: number): Decision {
  if (t === undefined) return deny("NOT_FOUND");
  const s = standing(t, q, now);
  if (s !== null && typeof s === "object") return s;
  const role = s ?? undefined;
  const ok: Decision = { allowed: true, status: "VALID", role };
  const p = t.permissions;
  switch (t.kind) {
    case "OPERATOR":
      return ok;
    case "ALL_ACCESS":
      if (q.endpoint === "INGEST" && !roleAtLeast(role, "EDITOR")) return deny("FORBIDDEN", role);
      return ok;
    case "INGESTION":
      if (q.endpoint !== "INGEST") return deny("WRONG_ENDPOINT");
      if (!allowedBy(p.signals, q.signal)) return deny("FORBIDDEN");
      if (!allowedBy(p.buckets, q.bucket || undefined)) return deny("FORBIDDEN");
      return ok;
    case "READ_WRITE":
      return decideReadWrite(p, q, role);
    case "SHARED":
      return q.endpoint === "SHARED_VIEW" ? ok : deny("WRONG_ENDPOINT");
    case "VERIFIER":
      return deny("WRONG_ENDPOINT");
  }
}

/** An empty filter allows everything; a non-empty one requires the request to name a member. */
function allowedBy<T>(filter: T[] | undefined, value: T | undefined): boolean {
  if (filter === undefined || filter.length === 0) return true;
  return value !== undefined && filter.includes(value);
}

function decideReadWrite(p: Permissions, q: VerifyQuestion, role: RoleName | undefined): Decision {
  if (q.endpoint !== "INGEST" && q.endpoint !== "QUERY") return deny("WRONG_ENDPOINT");
  const grant = (p.bucketAccess ?? []).find((g) => g.bucket === q.bucket);
  if (q.endpoint === "INGEST") {
    return grant?.write && roleAtLeast(role, "EDITOR") ? { allowed: true, status: "VALID", role } : deny("FORBIDDEN", role);
  }
  return grant?.read && roleAtLeast(role, "VIEWER") ? { allowed: true, status: "VALID", role } : deny("FORBIDDEN", role);
}

/**
 * The permissions a token has right now: its fixed permissions narrowed by its owner's current
 * role (a READ_WRITE token of a user demoted to VIEWER keeps its reads and loses its writes).
 */
export function effectivePermissions(t: TokenLookup, role: RoleName | undefined): Permissions {
  if (t.kind !== "READ_WRITE") return t.permissions;
  const bucketAccess = (t.permissions.bucketAccess ?? [])
    .map((g) => ({ bucket: g.bucket, read: g.read && roleAtLeast(role, "VIEWER"), write: g.write && roleAtLeast(role, "EDITOR") }))
    .filter((g) => g.read || g.write);
  return { ...t.permissions, bucketAccess };
}
