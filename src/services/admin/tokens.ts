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
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { TokenKind as PbTokenKind, TokenSchema } from "../../gen/tessera/v1/resources_pb.js";
import { Keyring } from "../../domain/digest.js";
import type { TokenRecord } from "../../domain/model.js";
import type { Tx } from "../../store/database.js";
import { alreadyExists, failedPrecondition, invalidArgument, notFound } from "../../domain/errors.js";
import { gracePeriodMs } from "../../domain/grace-period.js";
import { acceptBroughtValue } from "../../domain/token-value.js";
import { validateDescription } from "../../domain/names.js";
import { boundedExpiry } from "../../domain/token-policy.js";
import { getCurrentOrganization } from "../../store/queries/organizations.js";
import * as tokens from "../../store/queries/tokens.js";
import { requireRole, requireUuid, targetOrg, tokenOrg } from "../access.js";
import type { Caller } from "../caller.js";
import { tokenToPb } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import type { AuditScope } from "../audit/scope.js";
import { changedFields, tokenFields, tokenTarget } from "../../domain/audit/audit-fields.js";
import { maskPaths, type MaskRules } from "../field-mask.js";
import { bindPage, decodePageToken, encodePageToken, pageSize } from "../paging.js";
import { issueToken, mint } from "../token-issue.js";
import { checkIngestionBuckets, parseCreateToken, requireKind, resolveOwner } from "./token-spec.js";

/** Token sequence numbers are PostgreSQL bigints. */
const MAX_BIGINT = 9_223_372_036_854_775_807n;

/** A ListTokens position: `<0 for the default token, else 1>:<sequence number>`. */
function tokenPosition(p: string): [number, string] | undefined {
  const m = /^([01]):(\d{1,19})$/.exec(p);
  return m !== null && BigInt(m[2]!) <= MAX_BIGINT ? [Number(m[1]), m[2]!] : undefined;
}

/**
 * CreateToken. With a brought `value` (token-value.ts) only its digest is kept and the response
 * does not repeat it; a value any token already holds is ALREADY_EXISTS without saying where.
 * With `allow_existing`, a token of this name that already holds exactly this value and kind is
 * the answer (created = false): what makes `tessera import` safe to run again.
 */
export async function createToken(
  deps: ServiceDeps,
  caller: Caller,
  req: CreateTokenRequest,
  audit: AuditScope,
): Promise<CreateTokenResponse> {
  const spec = parseCreateToken(req, deps.now());
  const brought = req.value === "" ? undefined : { value: req.value, ...acceptBroughtValue(spec.kind, req.value) };
  if (req.allowExisting && brought === undefined) throw invalidArgument("allow_existing needs a value: a generated value never matches");
  const orgId = await targetOrg(deps.db, caller, req.organizationId);
  requireRole(caller, "ADMIN", "creating tokens");
  const keyring = deps.keyring;
  const out = await deps.db.withOrg(orgId, async (tx) => {
    // (A VERIFIER token is the operator's to create, so only the operator is told it exists.)
    if (brought !== undefined && req.allowExisting && (spec.kind !== "VERIFIER" || caller.operator)) {
      const existing = await tokens.getTokenDigestByName(tx, spec.name);
      if (existing !== undefined && existing.token.kind === spec.kind && keyring.has(existing.keyId)) {
        if (Keyring.equal(keyring.digest(brought.value, existing.keyId), existing.digest))
          return { existing: existing.token, issued: undefined };
      }
    }
    const org = await getCurrentOrganization(tx);
    if (org === undefined) throw notFound("organization");
    const expiresAt = boundedExpiry(org, spec.expiresAt, deps.now(), false);
    const ownerUserId = await resolveOwner(deps.db, tx, caller, spec.kind, spec.permissions, req.userId);
    if (spec.kind === "INGESTION") await checkIngestionBuckets(tx, spec.permissions);
    if (brought !== undefined) await refuseValueUnderOlderKeys(tx, keyring, brought.value);
    const issued = await issueToken(tx, keyring, {
      ...spec,
      expiresAt,
      ownerUserId,
      createdBy: caller.userId ?? null,
      ...(brought !== undefined && { value: brought.value, valueOrigin: brought.origin }),
    });
    await audit.record(tx, { action: "token.create", target: tokenTarget(issued.token), after: tokenFields(issued.token) });
    return { existing: undefined, issued };
  });
  if (out.existing !== undefined) {
    deps.log("token_exists", { tokenId: out.existing.id, orgId, kind: spec.kind, by: caller.tokenId });
    return create(CreateTokenResponseSchema, { token: tokenToPb(out.existing), created: false });
  }
  const issued = out.issued!;
  // This instance's filter knows an imported value at once; other instances learn it from the feed.
  deps.importedFilter.add(issued.token.id, issued.token.valueOrigin === "IMPORTED" ? issued.digest : undefined);
  deps.hub.applyLocal([{ orgId, tokenId: issued.token.id, reason: "ENABLED" }]);
  deps.log("token_created", { tokenId: issued.token.id, orgId, kind: spec.kind, origin: issued.token.valueOrigin, by: caller.tokenId });
  return create(CreateTokenResponseSchema, {
    token: tokenToPb(issued.token),
    value: brought === undefined ? issued.value : "",
    created: true,
  });
}

/**
 * The unique index sees digests under the current key only; a brought value stored under an older
 * key (a token not used since the key rotated) is found here: ALREADY_EXISTS without saying where.
 */
export async function refuseValueUnderOlderKeys(tx: Tx, keyring: Keyring, value: string): Promise<void> {
  const older = keyring.keyIds.filter((id) => id !== keyring.currentKeyId).map((id) => keyring.digest(value, id));
  if (older.length > 0 && (await tokens.digestInUse(tx, older))) throw alreadyExists(tokens.VALUE_IN_USE);
}

export async function getToken(deps: ServiceDeps, caller: Caller, req: GetTokenRequest): Promise<GetTokenResponse> {
  const id = requireUuid("id", req.id);
  const orgId = await tokenOrg(deps.db, caller, id);
  requireRole(caller, "VIEWER", "reading tokens");
  const t = await deps.db.withOrg(orgId, (tx) => tokens.getToken(tx, id));
  if (t === undefined) throw notFound("token");
  return create(GetTokenResponseSchema, { token: tokenToPb(t) });
}

/** Token names are at most this long; so is a prefix of one. */
const MAX_NAME_PREFIX = 256;

/** A name_prefix filter: the start of a token name, so only token name characters. */
function namePrefix(p: string): string | undefined {
  if (p === "") return undefined;
  if (p.length > MAX_NAME_PREFIX || !/^[A-Za-z0-9_-]+$/.test(p)) {
    throw invalidArgument(
      `name_prefix may contain only the characters of token names: letters, digits, "_" and "-", at most ${MAX_NAME_PREFIX}`,
    );
  }
  return p;
}

export async function listTokens(deps: ServiceDeps, caller: Caller, req: ListTokensRequest): Promise<ListTokensResponse> {
  const limit = pageSize(req.pageSize);
  const kind = req.kind === PbTokenKind.UNSPECIFIED ? undefined : requireKind(req.kind);
  const ownerUserId = req.ownerUserId === "" ? undefined : requireUuid("owner_user_id", req.ownerUserId);
  const prefix = namePrefix(req.namePrefix);
  const orgId = await targetOrg(deps.db, caller, req.organizationId);
  requireRole(caller, "VIEWER", "listing tokens");
  // Tokens of the release before bindings carry none; they stay good for the filters it had.
  const binding = bindPage(
    { organization: orgId, kind, owner: ownerUserId, enabled: req.enabled, prefix },
    req.enabled === undefined && prefix === undefined,
  );
  const afterKey = req.pageToken === "" ? undefined : decodePageToken(req.pageToken, "t", tokenPosition, binding);
  const rows = await deps.db.withOrg(orgId, (tx) =>
    tokens.listTokens(tx, {
      ...(kind && { kind }),
      ...(ownerUserId && { ownerUserId }),
      ...(req.enabled !== undefined && { enabled: req.enabled }),
      ...(prefix && { namePrefix: prefix }),
      ...(afterKey && { afterKey }),
      limit: limit + 1,
    }),
  );
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return create(ListTokensResponseSchema, {
    tokens: page.map(tokenToPb),
    nextPageToken: rows.length > limit && last ? encodePageToken("t", `${last.isDefault ? 0 : 1}:${last.seq}`, binding) : "",
  });
}

const TOKEN_MASK: MaskRules = {
  field: "update_mask",
  updatable: ["description", "expire_time"],
  resource: TokenSchema,
  explain: {
    permissions: "permissions are fixed when a token is created; create another token",
    kind: "a token's kind is fixed when it is created",
    enabled: "use SetTokenEnabled",
    masked_value: "use RotateToken for a new value",
  },
};

/**
 * UpdateToken: the description and the expiry, as `update_mask` says (an empty mask means the
 * description alone, what clients from before the mask send). A new expiry must be in the future;
 * a path named with no expire_time clears the expiry, except on SHARED tokens, which must keep
 * one. A changed expiry is announced (UPDATED) and holds from the very next Verify.
 */
export async function updateToken(
  deps: ServiceDeps,
  caller: Caller,
  req: UpdateTokenRequest,
  audit: AuditScope,
): Promise<UpdateTokenResponse> {
  const paths = maskPaths(req.updateMask, TOKEN_MASK);
  const patch: tokens.TokenPatch = {};
  if (paths.length === 0 || paths.includes("description")) patch.description = validateDescription(req.description);
  if (paths.includes("expire_time")) {
    patch.expiresAt = null;
    if (req.expireTime !== undefined) {
      const at = timestampDate(req.expireTime);
      if (!Number.isFinite(at.getTime())) throw invalidArgument("expire_time is out of range");
      if (at.getTime() <= deps.now()) throw invalidArgument("expire_time must be in the future");
      patch.expiresAt = at;
    }
  }
  const id = requireUuid("id", req.id);
  const orgId = await tokenOrg(deps.db, caller, id);
  requireRole(caller, "ADMIN", "changing tokens");
  const r = await deps.db.withOrg(orgId, (tx) => patchToken(tx, id, patch, audit));
  // Shorter or longer, caches hold the old expiry: this instance re-reads the token at once.
  if (r.expiryChanged) deps.hub.applyLocal([{ orgId, tokenId: id, reason: "UPDATED" }]);
  deps.log("token_updated", { tokenId: id, orgId, paths: paths.length === 0 ? ["description"] : paths, by: caller.tokenId });
  return create(UpdateTokenResponseSchema, { token: tokenToPb(r.token) });
}

/** UpdateToken's change inside the token's organization, with its rules and its record (ApplyManifest runs it too). */
export async function patchToken(
  tx: Tx,
  id: string,
  patch: tokens.TokenPatch,
  audit: AuditScope,
): Promise<{ token: TokenRecord; expiryChanged: boolean }> {
  const current = await tokens.getToken(tx, id);
  if (current === undefined) throw notFound("token");
  if (patch.expiresAt === null && current.kind === "SHARED") {
    throw invalidArgument("SHARED tokens must keep an expiry: give expire_time a new value instead of clearing it");
  }
  if (patch.expiresAt !== undefined) {
    // A lifetime counts from creation: no update stretches a token past it, nor clears its expiry.
    const org = await getCurrentOrganization(tx);
    if (org === undefined) throw notFound("organization");
    boundedExpiry(org, patch.expiresAt, current.createdAt.getTime(), false);
  }
  const t = await tokens.updateToken(tx, id, patch);
  if (t === undefined) throw notFound("token");
  const changed = changedFields(tokenFields(current), tokenFields(t));
  if (changed !== null) await audit.record(tx, { action: "token.update", target: tokenTarget(t), before: changed[0], after: changed[1] });
  return { token: t, expiryChanged: patch.expiresAt !== undefined && t.expiresAt?.getTime() !== current.expiresAt?.getTime() };
}

export async function setTokenEnabled(
  deps: ServiceDeps,
  caller: Caller,
  req: SetTokenEnabledRequest,
  audit: AuditScope,
): Promise<SetTokenEnabledResponse> {
  const id = requireUuid("id", req.id);
  const orgId = await tokenOrg(deps.db, caller, id);
  requireRole(caller, "ADMIN", "enabling or disabling tokens");
  const r = await deps.db.withOrg(orgId, async (tx) => {
    const r = await tokens.setEnabled(tx, id, req.enabled, new Date(deps.now()));
    if (r?.changed) {
      await audit.record(tx, {
        action: req.enabled ? "token.enable" : "token.disable",
        target: tokenTarget(r.token),
        before: { enabled: !req.enabled },
        after: { enabled: req.enabled },
      });
    }
    return r;
  });
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
export async function rotateToken(
  deps: ServiceDeps,
  caller: Caller,
  req: RotateTokenRequest,
  audit: AuditScope,
): Promise<RotateTokenResponse> {
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
    await audit.record(tx, {
      action: "token.rotate",
      target: tokenTarget(r.token),
      // Values are never recorded: only that there is a new one, and how long the old one lasts.
      before: { previous_value_expire_time: current.previous === null ? null : current.previous.expiresAt.toISOString() },
      after: { previous_value_expire_time: previousUntil === null ? null : previousUntil.toISOString() },
    });
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

export async function deleteToken(
  deps: ServiceDeps,
  caller: Caller,
  req: DeleteTokenRequest,
  audit: AuditScope,
): Promise<DeleteTokenResponse> {
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
    await audit.record(tx, { action: "token.delete", target: tokenTarget(current), before: tokenFields(current) });
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
