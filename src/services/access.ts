/**
 * Who may act on which organization. Every admin handler resolves its target organization here
 * and nowhere else: an empty `organization_id` means the caller's own organization; any other
 * must be reachable (an operator reaches all; a parent organization reaches descendants that keep
 * parent access). What the caller cannot reach answers NOT_FOUND, exactly like what does not exist.
 */
import type { HandlerContext } from "@connectrpc/connect";
import { notFound, permissionDenied, unauthenticated, invalidArgument } from "../domain/errors.js";
import { roleAtLeast } from "../domain/decide.js";
import { isUuid } from "../domain/ids.js";
import type { Database } from "../store/database.js";
import { isReachable, organizationExists } from "../store/queries/organizations.js";
import { tokenOrganization } from "../store/queries/tokens.js";
import type { RoleName } from "../domain/model.js";
import { kCaller, type Caller } from "./caller.js";

export function requireUuid(field: string, value: string): string {
  if (!isUuid(value))
    throw invalidArgument(`${field} must be a UUID, for example 3f1c…; got ${value === "" ? "nothing" : "a malformed value"}`);
  return value.toLowerCase();
}

/** Any authenticated caller, whatever its token's kind (GetCaller: who am I). */
export function anyCaller(ctx: HandlerContext): Caller {
  const caller = ctx.values.get(kCaller);
  if (caller === undefined) throw unauthenticated('missing credentials: send the header "authorization: Bearer <token>"');
  return caller;
}

/** The caller of an admin RPC: a live OPERATOR or ALL_ACCESS token. */
export function adminCaller(ctx: HandlerContext): Caller {
  const caller = anyCaller(ctx);
  if (caller.kind !== "OPERATOR" && caller.kind !== "ALL_ACCESS") {
    throw permissionDenied(`a ${caller.kind} token cannot call the admin API; use an operator or all-access token`);
  }
  return caller;
}

export function requireOperator(caller: Caller, action: string): void {
  if (!caller.operator) throw permissionDenied(`only an operator may ${action}`);
}

/** Requires the caller's role to be at least `min` (operators are ADMIN everywhere). */
export function requireRole(caller: Caller, min: RoleName, action: string): void {
  if (caller.operator) return;
  if (!roleAtLeast(caller.role, min)) throw permissionDenied(`${action} requires the ${min} role`);
}

/** The organization an RPC acts on, checked for reach; `field` names it in errors. */
export async function targetOrg(db: Database, caller: Caller, requested: string, field = "organization_id"): Promise<string> {
  if (requested === "") return caller.orgId;
  const id = requireUuid(field, requested);
  if (id === caller.orgId) return id;
  const ok = caller.operator ? await organizationExists(db.pool, id) : await isReachable(db.pool, caller.orgId, id);
  if (!ok) throw notFound("organization");
  return id;
}

/** The organization a token belongs to, if the caller may reach it; NOT_FOUND otherwise. */
export async function tokenOrg(db: Database, caller: Caller, tokenId: string): Promise<string> {
  const id = requireUuid("id", tokenId);
  const org = await tokenOrganization(db.pool, id);
  if (org === undefined) throw notFound("token");
  if (org === caller.orgId) return org;
  const ok = caller.operator || (await isReachable(db.pool, caller.orgId, org));
  if (!ok) throw notFound("token");
  return org;
}
