/** Organizations: create (with the `default` ingestion token), get, list. */
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import {
  CreateOrganizationResponseSchema,
  GetOrganizationResponseSchema,
  ListOrganizationsResponseSchema,
  SetOrganizationEnabledResponseSchema,
  type SetOrganizationEnabledRequest,
  type SetOrganizationEnabledResponse,
  type CreateOrganizationRequest,
  type CreateOrganizationResponse,
  type GetOrganizationRequest,
  type GetOrganizationResponse,
  type ListOrganizationsRequest,
  type ListOrganizationsResponse,
} from "../../gen/tessera/v1/token_admin_service_pb.js";
import { failedPrecondition, invalidArgument, notFound } from "../../domain/errors.js";
import { validateDisplayName, validateOrgIdentifier } from "../../domain/names.js";
import { boundedExpiry, parsePolicies } from "../../domain/token-policy.js";
import {
  getCurrentOrganization,
  insertOrganization,
  listOrganizations,
  setOrganizationEnabled as setOrgEnabledRow,
} from "../../store/queries/organizations.js";
import { requireOperator, requireRole, targetOrg } from "../access.js";
import type { Caller } from "../caller.js";
import { organizationToPb, tokenToPb } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import { decodePageToken, encodePageToken, pageSize } from "../paging.js";
import { defaultIngestionSpec, issueToken } from "../token-issue.js";

export async function createOrganization(
  deps: ServiceDeps,
  caller: Caller,
  req: CreateOrganizationRequest,
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
  return deps.db.withOrg(id, async (tx) => {
    const organization = await insertOrganization(tx, {
      id,
      identifier: req.identifier,
      name,
      parentId,
      parentAccess: !req.denyParentAccess,
      ...policies,
    });
    const spec = defaultIngestionSpec(caller.userId ?? null);
    spec.expiresAt = boundedExpiry(policies, spec.expiresAt, deps.now(), true);
    const def = await issueToken(tx, deps.keyring, spec);
    return create(CreateOrganizationResponseSchema, {
      organization: organizationToPb(organization),
      defaultToken: tokenToPb(def.token),
      defaultTokenValue: def.value,
    });
  });
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
): Promise<SetOrganizationEnabledResponse> {
  if (req.id === "") throw invalidArgument("id is required");
  const orgId = await targetOrg(deps.db, caller, req.id, "id");
  // An organization cannot switch itself off: that would lock out the very caller doing it.
  if (orgId === caller.orgId)
    throw failedPrecondition("an organization cannot disable itself; ask an operator or a parent organization's admin");
  requireRole(caller, "ADMIN", "enabling or disabling organizations");
  const r = await deps.db.withOrg(orgId, (tx) => setOrgEnabledRow(tx, req.enabled));
  if (r === undefined) throw notFound("organization");
  if (r.changed) {
    // Every token of the organization changes at once: this instance evicts them before returning.
    deps.hub.applyLocal(r.events);
    deps.log(req.enabled ? "organization_enabled" : "organization_disabled", { orgId, by: caller.tokenId });
  }
  return create(SetOrganizationEnabledResponseSchema, { organization: organizationToPb(r.organization) });
}
