/** Buckets: the resources that read/write permissions name. */
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import {
  CreateBucketResponseSchema,
  DeleteBucketResponseSchema,
  ListBucketsResponseSchema,
  type CreateBucketRequest,
  type CreateBucketResponse,
  type DeleteBucketRequest,
  type DeleteBucketResponse,
  type ListBucketsRequest,
  type ListBucketsResponse,
} from "../../gen/tessera/v1/token_admin_service_pb.js";
import { failedPrecondition, invalidArgument, notFound } from "../../domain/errors.js";
import { validateBucketName, validateDescription } from "../../domain/names.js";
import { withoutBucket } from "../../domain/without-bucket.js";
import { deleteBucket as deleteBucketRow, insertBucket, listBuckets as listBucketRows } from "../../store/queries/buckets.js";
import type { TokenEvent } from "../../store/queries/revocations.js";
import { deleteToken, narrowPermissions, tokensNamingBucket } from "../../store/queries/tokens.js";
import { requireRole, targetOrg } from "../access.js";
import type { Caller } from "../caller.js";
import { bucketToPb } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import type { AuditChange, AuditScope } from "../audit/scope.js";
import { bucketFields, bucketTarget, tokenFields, tokenTarget } from "../../domain/audit/audit-fields.js";

export async function createBucket(
  deps: ServiceDeps,
  caller: Caller,
  req: CreateBucketRequest,
  audit: AuditScope,
): Promise<CreateBucketResponse> {
  if (req.name === "") throw invalidArgument("name is required");
  validateBucketName(req.name);
  validateDescription(req.description);
  const orgId = await targetOrg(deps.db, caller, req.organizationId);
  requireRole(caller, "ADMIN", "creating buckets");
  const bucket = await deps.db.withOrg(orgId, async (tx) => {
    const b = await insertBucket(tx, { id: randomUUID(), name: req.name, description: req.description });
    await audit.record(tx, { action: "bucket.create", target: bucketTarget(b), after: bucketFields(b) });
    return b;
  });
  deps.log("bucket_created", { bucketId: bucket.id, orgId, by: caller.tokenId });
  return create(CreateBucketResponseSchema, { bucket: bucketToPb(bucket) });
}

export async function listBuckets(deps: ServiceDeps, caller: Caller, req: ListBucketsRequest): Promise<ListBucketsResponse> {
  const orgId = await targetOrg(deps.db, caller, req.organizationId);
  requireRole(caller, "VIEWER", "listing buckets");
  const buckets = await deps.db.withOrg(orgId, (tx) => listBucketRows(tx));
  return create(ListBucketsResponseSchema, { buckets: buckets.map(bucketToPb) });
}

/**
 * DeleteBucket. Tokens name buckets in their permissions, which otherwise never change; without
 * `force` a bucket some token names stays (FAILED_PRECONDITION, saying how many). With it, each
 * such token loses the bucket (UPDATED), and one that named no other bucket is deleted (DELETED):
 * narrowing it to no bucket would widen it to every bucket. Either way the token is refused for
 * the bucket on the very next Verify, here at once and elsewhere through the feed.
 */
export async function deleteBucket(
  deps: ServiceDeps,
  caller: Caller,
  req: DeleteBucketRequest,
  audit: AuditScope,
): Promise<DeleteBucketResponse> {
  if (req.name === "") throw invalidArgument("name is required");
  validateBucketName(req.name);
  const orgId = await targetOrg(deps.db, caller, req.organizationId);
  requireRole(caller, "ADMIN", "deleting buckets");
  const r = await deps.db.withOrg(orgId, async (tx) => {
    // First: the row lock waits for any token creation that checked this bucket, so the tokens
    // read next include its token.
    const bucket = await deleteBucketRow(tx, req.name);
    if (bucket === undefined) throw notFound("bucket");
    const naming = await tokensNamingBucket(tx, req.name);
    if (naming.length > 0 && !req.force) {
      const n = naming.length === 1 ? "1 token names" : `${naming.length} tokens name`;
      throw failedPrecondition(
        `${n} bucket "${req.name}" in its permissions; change or delete those tokens first, or pass force to take the bucket out of their permissions (a token left with no bucket is deleted)`,
      );
    }
    const events: TokenEvent[] = [];
    const narrowed: string[] = [];
    const deleted: string[] = [];
    const changes: AuditChange[] = [{ action: "bucket.delete", target: bucketTarget(bucket), before: bucketFields(bucket) }];
    for (const t of naming) {
      const rest = withoutBucket(t.permissions, req.name);
      if (rest === undefined) {
        await deleteToken(tx, t.id);
        deleted.push(t.id);
        events.push({ orgId, tokenId: t.id, reason: "DELETED" });
        changes.push({ action: "token.delete", target: tokenTarget(t), before: tokenFields(t) });
      } else {
        await narrowPermissions(tx, t.id, rest);
        narrowed.push(t.id);
        events.push({ orgId, tokenId: t.id, reason: "UPDATED" });
        changes.push({
          action: "token.update",
          target: tokenTarget(t),
          before: { permissions: tokenFields(t).permissions! },
          after: { permissions: tokenFields({ ...t, permissions: rest }).permissions! },
        });
      }
    }
    await audit.record(tx, ...changes);
    return { events, narrowed, deleted };
  });
  if (r.events.length > 0) deps.hub.applyLocal(r.events);
  deps.log("bucket_deleted", { orgId, narrowed: r.narrowed.length, deleted: r.deleted.length, by: caller.tokenId });
  return create(DeleteBucketResponseSchema, { narrowedTokenIds: r.narrowed, deletedTokenIds: r.deleted });
}
