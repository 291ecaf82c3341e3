/** Organizations: create (with the `default` ingestion token), get, list, enable/disable, update. */
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import {
  CreateOrganizationResponseSchema,
  GetOrganizationResponseSchema,
  ListOrganizationsResponseSchema,
  SetOrganizationEnabledResponseSchema,
  UpdateOrganizationResponseSchema,
  type UpdateOrganizationRequest,
  type UpdateOrganizationResponse,
  type SetOrganizationEnabledRequest,
  type SetOrganizationEnabledResponse,
  type CreateOrganizationRequest,
  type CreateOrganizationResponse,
  type GetOrganizationRequest,
  type GetOrganizationResponse,
  type ListOrganizationsRequest,
  type ListOrganizationsResponse,
} from "../../gen/tessera/v1/token_admin_service_pb.js";
import { OrganizationSchema, type Organization as PbOrganization } from "../../gen/tessera/v1/resources_pb.js";
import { failedPrecondition, invalidArgument, notFound } from "../../domain/errors.js";
import { validateDisplayName, validateOrgIdentifier } from "../../domain/names.js";
import { boundedExpiry, parsePolicies } from "../../domain/token-policy.js";
import {
  announceParentAccess,
  getCurrentOrganization,
  insertOrganization,
  listOrganizations,
  setOrganizationEnabled as setOrgEnabledRow,
  updateOrganization as updateOrgRow,
  type OrganizationPatch,
} from "../../store/queries/organizations.js";
import { requireOperator, requireRole, targetOrg } from "../access.js";
import type { Caller } from "../caller.js";
import { organizationToPb, tokenToPb } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import { maskPaths, type MaskRules } from "../field-mask.js";
import { decodePageToken, encodePageToken, pageSize } from "../paging.js";
import { defaultIngestionSpec, issueToken, type TokenSpec } from "../token-issue.js";
import type { Organization, TokenPolicies } from "../../domain/model.js";
import type { Tx } from "../../store/database.js";
import type { AuditScope } from "../audit/scope.js";
import { changedFields, organizationFields, organizationTarget, tokenFields, tokenTarget } from "../../domain/audit/audit-fields.js";
import type { TokenEvent } from "../../store/queries/revocations.js";

export async function createOrganization(
  deps: ServiceDeps,
  caller: Caller,
  req: CreateOrganizationRequest,
  audit: AuditScope,
): Promise<CreateOrganizationResponse> {
  if (req.identifier === "") throw invalidArgument("identifier is required");
  validateOrgIdentifier(req.identifier);
  const name = req.name === "" ? req.identifier : validateDisplayName(req.name, "name");
  const policies = parsePolicies(req, deps.lastUsed.precisionMs);
  let parentId: string | null = null;
  if (req.parentId === "") {
    requireOperator(caller, "create a top-level organization");
  } else {
    parentId = await targetOrg(deps.db, caller, req.parentId, "parent_id");
    requireRole(caller, "ADMIN", "creating a sub-organization");
  }
  const id = randomUUID();
  const out = await deps.db.withOrg(id, async (tx) => {
    const organization = await insertOrganization(tx, {
      id,
      identifier: req.identifier,
      name,
      parentId,
      parentAccess: !req.denyParentAccess,
      ...policies,
    });
    const def = await issueToken(tx, deps.keyring, defaultTokenSpec(deps, caller, policies));
    await audit.record(
      tx,
      { action: "organization.create", target: organizationTarget(organization), after: organizationFields(organization) },
      { action: "token.create", target: tokenTarget(def.token), after: tokenFields(def.token) },
    );
    return create(CreateOrganizationResponseSchema, {
      organization: organizationToPb(organization),
      defaultToken: tokenToPb(def.token),
      defaultTokenValue: def.value,
    });
  });
  deps.log("organization_created", { orgId: id, parentId, defaultTokenId: out.defaultToken?.id, by: caller.tokenId });
  return out;
}

/** Every new organization's `default` ingestion token, bounded by the organization's policies. */
export function defaultTokenSpec(deps: ServiceDeps, caller: Caller, policies: TokenPolicies): TokenSpec {
  const spec = defaultIngestionSpec(caller.userId ?? null);
  spec.expiresAt = boundedExpiry(policies, spec.expiresAt, deps.now(), true);
  return spec;
}

export async function getOrganization(deps: ServiceDeps, caller: Caller, req: GetOrganizationRequest): Promise<GetOrganizationResponse> {
  const orgId = await targetOrg(deps.db, caller, req.id, "id");
  const org = await deps.db.withOrg(orgId, (tx) => getCurrentOrganization(tx));
  if (org === undefined) throw notFound("organization");
  return create(GetOrganizationResponseSchema, { organization: organizationToPb(org) });
}

export async function listOrgs(deps: ServiceDeps, caller: Caller, req: ListOrganizationsRequest): Promise<ListOrganizationsResponse> {
  const limit = pageSize(req.pageSize);
  const after = req.pageToken === "" ? "" : decodePageToken(req.pageToken, "o");
  const rows = await listOrganizations(deps.db.pool, caller.orgId, caller.operator, after, limit + 1);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return create(ListOrganizationsResponseSchema, {
    organizations: page.map(organizationToPb),
    nextPageToken: rows.length > limit && last ? encodePageToken("o", last.identifier) : "",
  });
}

export async function setOrganizationEnabled(
  deps: ServiceDeps,
  caller: Caller,
  req: SetOrganizationEnabledRequest,
  audit: AuditScope,
): Promise<SetOrganizationEnabledResponse> {
  if (req.id === "") throw invalidArgument("id is required");
  const orgId = await targetOrg(deps.db, caller, req.id, "id");
  // An organization cannot switch itself off: that would lock out the very caller doing it.
  if (orgId === caller.orgId)
    throw failedPrecondition("an organization cannot disable itself; ask an operator or a parent organization's admin");
  requireRole(caller, "ADMIN", "enabling or disabling organizations");
  const r = await deps.db.withOrg(orgId, async (tx) => {
    const r = await setOrgEnabledRow(tx, req.enabled);
    if (r?.changed) {
      await audit.record(tx, {
        action: req.enabled ? "organization.enable" : "organization.disable",
        target: organizationTarget(r.organization),
        before: { enabled: !req.enabled },
        after: { enabled: req.enabled },
      });
    }
    return r;
  });
  if (r === undefined) throw notFound("organization");
  if (r.changed) {
    // Every token of the organization changes at once: this instance evicts them before returning.
    deps.hub.applyLocal(r.events);
    deps.log(req.enabled ? "organization_enabled" : "organization_disabled", { orgId, by: caller.tokenId });
  }
  return create(SetOrganizationEnabledResponseSchema, { organization: organizationToPb(r.organization) });
}

/**
 * The paths UpdateOrganization changes. Each says when an empty mask includes it (AIP-134: the
 * fields that are set) and what it writes; rules that depend on the stored organization or on
 * the caller are in updateOrganization. Adding a path is an entry here, its column in the store's
 * updateOrganization, and a line in the mask rules' list.
 */
const ORG_PATHS: Record<
  string,
  { populated(o: PbOrganization): boolean; write(o: PbOrganization, patch: OrganizationPatch, lastUsedPrecisionMs: number): void }
> = {
  name: {
    populated: (o) => o.name !== "",
    write: (o, patch) => {
      patch.name = validateDisplayName(o.name, "organization.name");
    },
  },
  parent_access: {
    populated: (o) => o.parentAccess,
    write: (o, patch) => {
      patch.parentAccess = o.parentAccess;
    },
  },
  // Named in the mask but unset in the organization: the limit is removed. New tokens only:
  // tokens that exist keep their expiry whatever the lifetime becomes.
  max_token_lifetime: {
    populated: (o) => o.maxTokenLifetime !== undefined,
    write: (o, patch, precisionMs) => {
      const set = o.maxTokenLifetime && { maxTokenLifetime: o.maxTokenLifetime };
      patch.maxTokenLifetimeS = parsePolicies({ ...set }, precisionMs, "organization.").maxTokenLifetimeS;
    },
  },
  token_idle_limit: {
    populated: (o) => o.tokenIdleLimit !== undefined,
    write: (o, patch, precisionMs) => {
      const set = o.tokenIdleLimit && { tokenIdleLimit: o.tokenIdleLimit };
      patch.tokenIdleLimitS = parsePolicies({ ...set }, precisionMs, "organization.").tokenIdleLimitS;
    },
  },
};

const ORG_MASK: MaskRules = {
  field: "update_mask",
  updatable: Object.keys(ORG_PATHS),
  resource: OrganizationSchema,
  explain: {
    enabled: "use SetOrganizationEnabled",
    identifier: "credentials name it",
    parent_id: "an organization stays where it was created",
  },
};

/**
 * Who may change parent access, which is a sub-organization's protection against the
 * organizations above it: its own ADMINs may turn it off and on; an ADMIN of an organization above
 * may only turn it off (giving up its own reach: once it is off, nothing above reaches the
 * sub-organization, so a request to turn it on answers NOT_FOUND like anything else out of
 * reach); operators may do both. Turning it off is announced for every token that reached the
 * sub-organization through it, and refused by the very next Verify of any of them addressed there.
 */
export async function updateOrganization(
  deps: ServiceDeps,
  caller: Caller,
  req: UpdateOrganizationRequest,
  audit: AuditScope,
): Promise<UpdateOrganizationResponse> {
  const o = req.organization ?? create(OrganizationSchema);
  let paths = maskPaths(req.updateMask, ORG_MASK);
  if (paths.length === 0) {
    paths = ORG_MASK.updatable.filter((p) => ORG_PATHS[p]!.populated(o));
    if (paths.length === 0) {
      throw invalidArgument(
        `nothing to update: name the fields in update_mask (${ORG_MASK.updatable.join(", ")}) or set them in organization`,
      );
    }
  }
  const patch: OrganizationPatch = {};
  for (const p of paths) ORG_PATHS[p]!.write(o, patch, deps.lastUsed.precisionMs);
  const orgId = await targetOrg(deps.db, caller, o.id, "organization.id");
  requireRole(caller, "ADMIN", "changing organizations");
  const r = await deps.db.withOrg(orgId, (tx) => patchOrganization(tx, caller, orgId, patch, audit));
  if (r.events.length > 0) deps.hub.applyLocal(r.events);
  deps.log("organization_updated", { orgId, paths, by: caller.tokenId });
  return create(UpdateOrganizationResponseSchema, { organization: organizationToPb(r.organization) });
}

/** UpdateOrganization's change inside the organization, with its rules (ApplyManifest runs it too). */
export async function patchOrganization(
  tx: Tx,
  caller: Caller,
  orgId: string,
  patch: OrganizationPatch,
  audit: AuditScope,
): Promise<{ organization: Organization; events: TokenEvent[] }> {
  const current = await getCurrentOrganization(tx);
  if (current === undefined) throw notFound("organization");
  if (patch.parentAccess !== undefined && patch.parentAccess !== current.parentAccess) {
    if (current.parentId === null) {
      throw failedPrecondition("parent_access applies only to sub-organizations; this organization has no parent");
    }
    // Out of reach already (see above); checked again so that the rule does not rest on that.
    if (patch.parentAccess && !caller.operator && caller.orgId !== orgId) throw notFound("organization");
  }
  const u = await updateOrgRow(tx, patch);
  if (u === undefined) throw notFound("organization");
  const events = u.parentAccessChanged ? await announceParentAccess(tx, u.organization.parentAccess) : [];
  const changed = changedFields(organizationFields(current), organizationFields(u.organization));
  if (changed !== null) {
    await audit.record(tx, {
      action: "organization.update",
      target: organizationTarget(u.organization),
      before: changed[0],
      after: changed[1],
    });
  }
  return { organization: u.organization, events };
}
