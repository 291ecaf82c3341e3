/** Tokens: create, read (masked), list, describe, enable/disable, rotate (with an overlap), delete, passcode. */
import { create } from "@bufbuild/protobuf";
import {
  CreateTokenResponseSchema,
  DeleteTokenResponseSchema,
  GetPasscodeResponseSchema,
  GetTokenResponseSchema,
  ListTokensResponseSchema,
  RotateTokenResponseSchema,
  SetTokenEnabledResponseSchema,
  UpdateTokenResponseSchema,
  type CreateTokenRequest,
  type CreateTokenResponse,
  type DeleteTokenRequest,
  type DeleteTokenResponse,
  type GetPasscodeRequest,
  type GetPasscodeResponse,
  type GetTokenRequest,
  type GetTokenResponse,
  type ListTokensRequest,
  type ListTokensResponse,
  type RotateTokenRequest,
  type RotateTokenResponse,
  type SetTokenEnabledRequest,
  type SetTokenEnabledResponse,
  type UpdateTokenRequest,
  type UpdateTokenResponse,
} from "../../gen/tessera/v1/token_admin_service_pb.js";
import { TokenKind as PbTokenKind } from "../../gen/tessera/v1/resources_pb.js";
import { failedPrecondition, notFound } from "../../domain/errors.js";
import { gracePeriodMs } from "../../domain/grace-period.js";
import { validateDescription } from "../../domain/names.js";
import { boundedExpiry } from "../../domain/token-policy.js";
import { getCurrentOrganization } from "../../store/queries/organizations.js";
import * as tokens from "../../store/queries/tokens.js";
import { requireRole, requireUuid, targetOrg, tokenOrg } from "../access.js";
import type { Caller } from "../caller.js";
import { tokenToPb } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import { decodePageToken, encodePageToken, pageSize } from "../paging.js";
import { issueToken, mint } from "../token-issue.js";
import { checkIngestionBuckets, parseCreateToken, requireKind, resolveOwner } from "./token-spec.js";

/** Token sequence numbers are PostgreSQL bigints. */
const MAX_BIGINT = 9_223_372_036_854_775_807n;

/** A ListTokens position: `<0 for the default token, else 1>:<sequence number>`. */
function tokenPosition(p: string): [number, string] | undefined {
  const m = /^([01]):(\d{1,19})$/.exec(p);
  return m !== null && BigInt(m[2]!) <= MAX_BIGINT ? [Number(m[1]), m[2]!] : undefined;
}

export async function createToken(deps: ServiceDeps, caller: Caller, req: CreateTokenRequest): Promise<CreateTokenResponse> {
  const spec = parseCreateToken(req, deps.now());
  const orgId = await targetOrg(deps.db, caller, req.organizationId);
  requireRole(caller, "ADMIN", "creating tokens");
  const issued = await deps.db.withOrg(orgId, async (tx) => {
    const org = await getCurrentOrganization(tx);
    if (org === undefined) throw notFound("organization");
    const expiresAt = boundedExpiry(org, spec.expiresAt, deps.now(), false);
    const ownerUserId = await resolveOwner(deps.db, tx, caller, spec.kind, spec.permissions, req.userId);
    if (spec.kind === "INGESTION") await checkIngestionBuckets(tx, spec.permissions);
    return issueToken(tx, deps.keyring, { ...spec, expiresAt, ownerUserId, createdBy: caller.userId ?? null });
  });
  deps.log("token_created", { tokenId: issued.token.id, orgId, kind: spec.kind, by: caller.tokenId });
  return create(CreateTokenResponseSchema, { token: tokenToPb(issued.token), value: issued.value });
}

export async function getToken(deps: ServiceDeps, caller: Caller, req: GetTokenRequest): Promise<GetTokenResponse> {
  const id = requireUuid("id", req.id);
  const orgId = await tokenOrg(deps.db, caller, id);
  requireRole(caller, "VIEWER", "reading tokens");
  const t = await deps.db.withOrg(orgId, (tx) => tokens.getToken(tx, id));
  if (t === undefined) throw notFound("token");
  return create(GetTokenResponseSchema, { token: tokenToPb(t) });
}

export async function listTokens(deps: ServiceDeps, caller: Caller, req: ListTokensRequest): Promise<ListTokensResponse> {
  const limit = pageSize(req.pageSize);
  const kind = req.kind === PbTokenKind.UNSPECIFIED ? undefined : requireKind(req.kind);
  const ownerUserId = req.ownerUserId === "" ? undefined : requireUuid("owner_user_id", req.ownerUserId);
  const afterKey = req.pageToken === "" ? undefined : decodePageToken(req.pageToken, "t", tokenPosition);
  const orgId = await targetOrg(deps.db, caller, req.organizationId);
  requireRole(caller, "VIEWER", "listing tokens");
  const rows = await deps.db.withOrg(orgId, (tx) =>
    tokens.listTokens(tx, { ...(kind && { kind }), ...(ownerUserId && { ownerUserId }), ...(afterKey && { afterKey }), limit: limit + 1 }),
  );
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return create(ListTokensResponseSchema, {
    tokens: page.map(tokenToPb),
    nextPageToken: rows.length > limit && last ? encodePageToken("t", `${last.isDefault ? 0 : 1}:${last.seq}`) : "",
  });
}

export async function updateToken(deps: ServiceDeps, caller: Caller, req: UpdateTokenRequest): Promise<UpdateTokenResponse> {
  validateDescription(req.description);
  const id = requireUuid("id", req.id);
  const orgId = await tokenOrg(deps.db, caller, id);
  requireRole(caller, "ADMIN", "changing tokens");
  const t = await deps.db.withOrg(orgId, (tx) => tokens.updateDescription(tx, id, req.description));
  if (t === undefined) throw notFound("token");
  return create(UpdateTokenResponseSchema, { token: tokenToPb(t) });
}

export async function setTokenEnabled(deps: ServiceDeps, caller: Caller, req: SetTokenEnabledRequest): Promise<SetTokenEnabledResponse> {
  const id = requireUuid("id", req.id);
  const orgId = await tokenOrg(deps.db, caller, id);
  requireRole(caller, "ADMIN", "enabling or disabling tokens");
  const r = await deps.db.withOrg(orgId, (tx) => tokens.setEnabled(tx, id, req.enabled, new Date(deps.now())));
  if (r === undefined) throw notFound("token");
  // This instance stops (or resumes) accepting it before the call returns; others via the feed.
  if (r.changed) deps.hub.applyLocal([{ tokenId: r.token.id, reason: req.enabled ? "ENABLED" : "DISABLED" }]);
  if (r.changed) deps.log(req.enabled ? "token_enabled" : "token_disabled", { tokenId: r.token.id, orgId, by: caller.tokenId });
  return create(SetTokenEnabledResponseSchema, { token: tokenToPb(r.token) });
}

/**
 * A new value, returned once. With a grace period the old value keeps working until the deadline
 * (the services' clock, as for expiry): Verify says so in its answers for it, the periodic upkeep
 * ends it at the deadline with a ROTATED event, and disabling, deleting or rotating the token
 * again ends it sooner. Without one the old value stops at once, as does a previous value the
 * token still had: never more than two live values.
 */
export async function rotateToken(deps: ServiceDeps, caller: Caller, req: RotateTokenRequest): Promise<RotateTokenResponse> {
  const id = requireUuid("id", req.id);
  const graceMs = req.gracePeriod === undefined ? 0 : gracePeriodMs(req.gracePeriod.seconds, req.gracePeriod.nanos);
  const orgId = await tokenOrg(deps.db, caller, id);
  requireRole(caller, "ADMIN", "rotating tokens");
  const out = await deps.db.withOrg(orgId, async (tx) => {
    // Locked: a disable committing meanwhile must not leave a disabled token with a kept value.
    const current = await tokens.getToken(tx, id, true);
    if (current === undefined) throw notFound("token");
    if (graceMs > 0 && !current.enabled) {
      throw failedPrecondition("a disabled token's value cannot be kept for a grace period: enable the token first, or rotate without one");
    }
    const m = mint(deps.keyring, current.kind);
    const previousUntil = graceMs > 0 ? new Date(deps.now() + graceMs) : null;
    const r = await tokens.rotateValue(tx, current.id, m, previousUntil, new Date(deps.now()));
    if (r === undefined) throw notFound("token");
    return { ...r, value: m.value };
  });
  deps.hub.applyLocal(out.events.map((reason) => ({ tokenId: out.token.id, reason })));
  deps.log("token_rotated", {
    tokenId: out.token.id,
    orgId,
    by: caller.tokenId,
    ...(out.token.previous !== null && { previousUntil: out.token.previous.expiresAt.toISOString() }),
  });
  return create(RotateTokenResponseSchema, { token: tokenToPb(out.token), value: out.value });
}

export async function deleteToken(deps: ServiceDeps, caller: Caller, req: DeleteTokenRequest): Promise<DeleteTokenResponse> {
  const id = requireUuid("id", req.id);
  const orgId = await tokenOrg(deps.db, caller, id);
  requireRole(caller, "ADMIN", "deleting tokens");
  await deps.db.withOrg(orgId, async (tx) => {
    const current = await tokens.getToken(tx, id);
    if (current === undefined) throw notFound("token");
    if (current.isDefault) {
      throw failedPrecondition("the default ingestion token cannot be deleted; disable or rotate it instead");
    }
    await tokens.deleteToken(tx, current.id);
  });
  deps.hub.applyLocal([{ tokenId: id, reason: "DELETED" }]);
  deps.log("token_deleted", { tokenId: id, orgId, by: caller.tokenId });
  return create(DeleteTokenResponseSchema, {});
}

export async function getPasscode(deps: ServiceDeps, caller: Caller, req: GetPasscodeRequest): Promise<GetPasscodeResponse> {
  const orgId = await targetOrg(deps.db, caller, req.organizationId);
  requireRole(caller, "VIEWER", "reading the passcode");
  const { token, org } = await deps.db.withOrg(orgId, async (tx) => ({
    token: await tokens.getDefaultToken(tx),
    org: await getCurrentOrganization(tx),
  }));
  if (token === undefined || org === undefined) throw notFound("default ingestion token");
  return create(GetPasscodeResponseSchema, { token: tokenToPb(token), organizationIdentifier: org.identifier });
}
