/**
 * Validates a CreateToken request into a TokenSpec: kind, owner, permissions and expiry, with the
 * rules that make permissions fixed and never more than the owner's role allows at creation.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { CreateTokenRequest } from "../../gen/tessera/v1/token_admin_service_pb.js";
import { TokenKind as PbTokenKind } from "../../gen/tessera/v1/resources_pb.js";
import { invalidArgument, notFound, permissionDenied } from "../../domain/errors.js";
import { roleAtLeast } from "../../domain/decide.js";
import type { BucketGrant, Permissions, SignalName } from "../../domain/model.js";
import { validateDescription, validateTokenName, validateBucketName } from "../../domain/names.js";
import type { TokenKind } from "../../domain/token-format.js";
import {
  MAX_PERMISSION_ENTRIES as MAX_LIST,
  MAX_PERMISSION_TEXT as MAX_FILTER_TEXT,
  PERMISSION_FIELDS,
  USER_BOUND_KINDS,
  isPermissionText,
  missingForKind,
} from "../../domain/token-rules.js";
import type { Tx } from "../../store/database.js";
import { existingBucketNames } from "../../store/queries/buckets.js";
import { getMembership, getUser } from "../../store/queries/users.js";
import type { Database } from "../../store/database.js";
import { requireUuid } from "../access.js";
import type { Caller } from "../caller.js";
import { kindFromPb, signalFromPb } from "../convert.js";
import type { TokenSpec } from "../token-issue.js";

export function requireKind(k: PbTokenKind): TokenKind {
  const kind = kindFromPb(k);
  if (kind === undefined) {
    throw invalidArgument(k === PbTokenKind.UNSPECIFIED ? "kind is required" : `kind ${k} is not a known token kind`);
  }
  return kind;
}

/** Checks that only fields meaningful for `kind` are set. */
function permissionsFor(kind: TokenKind, req: CreateTokenRequest): Permissions {
  const p = req.permissions;
  const has = {
    signals: (p?.signals.length ?? 0) > 0,
    buckets: (p?.buckets.length ?? 0) > 0,
    bucketAccess: (p?.bucketAccess.length ?? 0) > 0,
    dashboards: (p?.dashboards.length ?? 0) > 0,
    filters: Object.keys(p?.filters ?? {}).length > 0,
  };
  for (const [field, set] of Object.entries(has)) {
    if (set && !PERMISSION_FIELDS[kind].includes(field as keyof typeof has)) {
      throw invalidArgument(`permissions.${snake(field)} does not apply to ${kind} tokens`);
    }
  }
  const out: Permissions = {};
  if (!p) return out;
  if (has.signals) {
    const signals = [...new Set(p.signals)].map((s) => {
      const name = signalFromPb(s);
      if (name === undefined) throw invalidArgument("permissions.signals may contain only SIGNAL_LOGS, SIGNAL_METRICS and SIGNAL_TRACES");
      return name;
    });
    out.signals = signals as SignalName[];
  }
  if (has.buckets) out.buckets = uniqueNames(p.buckets, "permissions.buckets");
  if (has.bucketAccess) {
    if (p.bucketAccess.length > MAX_LIST) throw invalidArgument(`permissions.bucket_access may name at most ${MAX_LIST} buckets`);
    const seen = new Set<string>();
    out.bucketAccess = p.bucketAccess.map((g): BucketGrant => {
      validateBucketName(g.bucket);
      if (seen.has(g.bucket)) throw invalidArgument(`permissions.bucket_access names bucket "${g.bucket}" twice`);
      seen.add(g.bucket);
      if (!g.read && !g.write) throw invalidArgument(`permissions.bucket_access for "${g.bucket}" grants neither read nor write`);
      return { bucket: g.bucket, read: g.read, write: g.write };
    });
  }
  if (has.dashboards) out.dashboards = uniqueText(p.dashboards, "permissions.dashboards");
  if (has.filters) {
    const entries = Object.entries(p.filters);
    if (entries.length > MAX_LIST) throw invalidArgument(`permissions.filters may hold at most ${MAX_LIST} entries`);
    for (const [k, v] of entries) {
      if (k === "" || !isPermissionText(k) || !isPermissionText(v)) {
        throw invalidArgument(`permissions.filters keys and values must be 1–${MAX_FILTER_TEXT} printable characters`);
      }
    }
    out.filters = Object.fromEntries(entries);
  }
  return out;
}

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());

function uniqueNames(names: string[], field: string): string[] {
  if (names.length > MAX_LIST) throw invalidArgument(`${field} may name at most ${MAX_LIST} entries`);
  for (const n of names) validateBucketName(n);
  return [...new Set(names)];
}

function uniqueText(values: string[], field: string): string[] {
  if (values.length > MAX_LIST) throw invalidArgument(`${field} may name at most ${MAX_LIST} entries`);
  for (const v of values) {
    if (v === "" || !isPermissionText(v)) {
      throw invalidArgument(`${field} entries must be 1–${MAX_FILTER_TEXT} printable characters`);
    }
  }
  return [...new Set(values)];
}

/** Everything checkable without the database. */
export function parseCreateToken(req: CreateTokenRequest, now: number): Omit<TokenSpec, "ownerUserId" | "createdBy"> {
  if (req.name === "") throw invalidArgument("name is required");
  validateTokenName(req.name);
  validateDescription(req.description);
  const kind = requireKind(req.kind);
  const permissions = permissionsFor(kind, req);
  let expiresAt: Date | null = null;
  if (req.expireTime !== undefined) {
    expiresAt = timestampDate(req.expireTime);
    // Beyond what a date can hold (year 275760): not "in the past", so say what it is.
    if (!Number.isFinite(expiresAt.getTime())) throw invalidArgument("expire_time is out of range");
    if (expiresAt.getTime() <= now) throw invalidArgument("expire_time must be in the future");
  }
  const missing = missingForKind(kind, permissions, expiresAt !== null)[0];
  if (missing === "expiry") throw invalidArgument("SHARED tokens require an expire_time");
  if (missing === "dashboards") throw invalidArgument("SHARED tokens must name at least one dashboard in permissions.dashboards");
  if (missing === "bucketAccess") throw invalidArgument("READ_WRITE tokens must grant at least one bucket in permissions.bucket_access");
  if (!USER_BOUND_KINDS.includes(kind) && req.userId !== "") {
    throw invalidArgument(`user_id does not apply to ${kind} tokens: they belong to the organization`);
  }
  return { name: req.name, description: req.description, kind, permissions, expiresAt };
}

/**
 * The owner of a user-bound token, checked against the owner's current role so that a token is
 * never created with more than its user may do. Returns null for organization-owned kinds.
 */
export async function resolveOwner(
  db: Database,
  tx: Tx,
  caller: Caller,
  kind: TokenKind,
  permissions: Permissions,
  requestedUserId: string,
): Promise<string | null> {
  if (kind === "OPERATOR") {
    if (!caller.operator) throw permissionDenied("only an operator may create OPERATOR tokens");
    const userId = requestedUserId === "" ? caller.userId : requireUuid("user_id", requestedUserId);
    const user = userId === undefined ? undefined : await getUser(db.pool, userId);
    if (user === undefined) throw notFound("user");
    if (!user.root) throw permissionDenied("OPERATOR tokens can only belong to root users");
    return user.id;
  }
  if (kind === "VERIFIER") {
    if (!caller.operator) throw permissionDenied("only an operator may create VERIFIER tokens");
    return null;
  }
  if (kind !== "ALL_ACCESS" && kind !== "READ_WRITE") return null;
  const userId = requestedUserId === "" ? caller.userId : requireUuid("user_id", requestedUserId);
  if (userId === undefined) throw invalidArgument("user_id is required");
  const membership = await getMembership(tx, userId);
  if (membership === undefined) throw notFound("user in this organization");
  if (kind === "ALL_ACCESS" && membership.role !== "ADMIN") {
    throw permissionDenied(`an ALL_ACCESS token would exceed the user's ${membership.role} role; create a READ_WRITE token instead`);
  }
  if (kind === "READ_WRITE") {
    const grants = permissions.bucketAccess ?? [];
    if (grants.some((g) => g.write) && !roleAtLeast(membership.role, "EDITOR")) {
      throw permissionDenied(`write access would exceed the user's ${membership.role} role`);
    }
    const existing = await existingBucketNames(
      tx,
      grants.map((g) => g.bucket),
    );
    const missing = grants.find((g) => !existing.has(g.bucket));
    if (missing) throw invalidArgument(`bucket "${missing.bucket}" does not exist in this organization`);
  }
  return membership.userId;
}

/** Buckets named by an ingestion token must exist. */
export async function checkIngestionBuckets(tx: Tx, permissions: Permissions): Promise<void> {
  const names = permissions.buckets ?? [];
  if (names.length === 0) return;
  const existing = await existingBucketNames(tx, names);
  const missing = names.find((n) => !existing.has(n));
  if (missing) throw invalidArgument(`bucket "${missing}" does not exist in this organization`);
}
