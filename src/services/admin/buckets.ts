/** Buckets: the resources that read/write permissions name. */
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import {
  CreateBucketResponseSchema,
  ListBucketsResponseSchema,
  type CreateBucketRequest,
  type CreateBucketResponse,
  type ListBucketsRequest,
  type ListBucketsResponse,
} from "../../gen/tessera/v1/token_admin_service_pb.js";
import { invalidArgument } from "../../domain/errors.js";
import { validateBucketName, validateDescription } from "../../domain/names.js";
import { insertBucket, listBuckets as listBucketRows } from "../../store/queries/buckets.js";
import { requireRole, targetOrg } from "../access.js";
import type { Caller } from "../caller.js";
import { bucketToPb } from "../convert.js";
import type { ServiceDeps } from "../deps.js";

export async function createBucket(deps: ServiceDeps, caller: Caller, req: CreateBucketRequest): Promise<CreateBucketResponse> {
  if (req.name === "") throw invalidArgument("name is required");
  validateBucketName(req.name);
  validateDescription(req.description);
  const orgId = await targetOrg(deps.db, caller, req.organizationId);
  requireRole(caller, "ADMIN", "creating buckets");
  const bucket = await deps.db.withOrg(orgId, (tx) => insertBucket(tx, { id: randomUUID(), name: req.name, description: req.description }));
  return create(CreateBucketResponseSchema, { bucket: bucketToPb(bucket) });
}

export async function listBuckets(deps: ServiceDeps, caller: Caller, req: ListBucketsRequest): Promise<ListBucketsResponse> {
  const orgId = await targetOrg(deps.db, caller, req.organizationId);
  requireRole(caller, "VIEWER", "listing buckets");
  const buckets = await deps.db.withOrg(orgId, (tx) => listBucketRows(tx));
  return create(ListBucketsResponseSchema, { buckets: buckets.map(bucketToPb) });
}
