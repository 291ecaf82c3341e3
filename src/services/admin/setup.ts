/** Setup: the first root user, organization, bucket and operator token — exactly once. */
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { SetupResponseSchema, type SetupRequest, type SetupResponse } from "../../gen/tessera/v1/token_admin_service_pb.js";
import { failedPrecondition, invalidArgument } from "../../domain/errors.js";
import { validateBucketName, validateDisplayName, validateOrgIdentifier, validateUserName } from "../../domain/names.js";
import { tokenFromUserSupplied } from "../../domain/token-format.js";
import { insertBucket } from "../../store/queries/buckets.js";
import { claimSetup, insertOrganization, isSetupDone } from "../../store/queries/organizations.js";
import { insertUser, upsertMembership } from "../../store/queries/users.js";
import { bucketToPb, organizationToPb, tokenToPb, userToPb } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import type { AuditScope } from "../audit/scope.js";
import {
  bucketFields,
  bucketTarget,
  membershipFields,
  membershipTarget,
  organizationFields,
  organizationTarget,
  tokenFields,
  tokenTarget,
  userFields,
  userTarget,
} from "../../domain/audit/audit-fields.js";
import { defaultIngestionSpec, issueToken } from "../token-issue.js";

export async function setup(deps: ServiceDeps, req: SetupRequest, audit: AuditScope): Promise<SetupResponse> {
  if (req.userName === "") throw invalidArgument("user_name is required");
  if (req.organizationIdentifier === "") throw invalidArgument("organization_identifier is required");
  if (req.bucketName === "") throw invalidArgument("bucket_name is required");
  validateUserName(req.userName);
  validateOrgIdentifier(req.organizationIdentifier);
  validateBucketName(req.bucketName);
  const orgName = req.organizationName === "" ? req.organizationIdentifier : validateDisplayName(req.organizationName, "organization_name");
  const supplied = req.tokenValue === "" ? undefined : tokenFromUserSupplied(req.tokenValue);
  // Cheap early answer; the claim inside the transaction is what makes it exactly once.
  if (await isSetupDone(deps.db.pool)) throw failedPrecondition("this instance is already set up");

  const orgId = randomUUID();
  const out = await deps.db.withOrg(orgId, async (tx) => {
    if (!(await claimSetup(tx))) throw failedPrecondition("this instance is already set up");
    const user = await insertUser(tx, { id: randomUUID(), name: req.userName, root: true });
    const organization = await insertOrganization(tx, {
      id: orgId,
      identifier: req.organizationIdentifier,
      name: orgName,
      parentId: null,
      parentAccess: true,
      maxTokenLifetimeS: null,
      tokenIdleLimitS: null,
    });
    await upsertMembership(tx, user.id, "ADMIN");
    const bucket = await insertBucket(tx, { id: randomUUID(), name: req.bucketName, description: "" });
    const def = await issueToken(tx, deps.keyring, defaultIngestionSpec(user.id));
    const op = await issueToken(tx, deps.keyring, {
      name: "operator",
      description: `Operator token for ${req.userName}, created by setup`,
      kind: "OPERATOR",
      ownerUserId: user.id,
      createdBy: user.id,
      permissions: {},
      expiresAt: null,
      ...(supplied === undefined ? {} : { value: supplied }),
    });
    await audit.record(
      tx,
      { action: "organization.create", target: organizationTarget(organization), after: organizationFields(organization) },
      { action: "user.create", target: userTarget(user), after: userFields(user) },
      { action: "membership.set", target: membershipTarget(user.id, user.name), after: membershipFields({ role: "ADMIN" }) },
      { action: "bucket.create", target: bucketTarget(bucket), after: bucketFields(bucket) },
      { action: "token.create", target: tokenTarget(def.token), after: tokenFields(def.token) },
      { action: "token.create", target: tokenTarget(op.token), after: tokenFields(op.token) },
    );
    return create(SetupResponseSchema, {
      user: userToPb(user),
      organization: organizationToPb(organization),
      bucket: bucketToPb(bucket),
      token: tokenToPb(op.token),
      tokenValue: op.value,
    });
  });
  // Ids only: the response carries the operator token's value, which never reaches a log.
  deps.log("setup_completed", {
    orgId,
    userId: out.user?.id,
    bucketId: out.bucket?.id,
    tokenId: out.token?.id,
    valueOrigin: supplied === undefined ? "generated" : "supplied",
  });
  return out;
}
