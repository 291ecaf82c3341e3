/**
 * What a token may still do once a bucket its permissions name is deleted (DeleteBucket with
 * force). Permissions otherwise never change, and this may only ever narrow them: an ingestion
 * token's bucket list or a read-write token's grants lose the bucket. Where nothing would be
 * left, narrowing is impossible — an empty bucket list means every bucket, and a read-write token
 * with no grant is not one — so the token must end instead.
 */
import type { Permissions } from "./model.js";

/** `p` without `bucket`; `undefined` when the token would be left with no bucket and must end. */
export function withoutBucket(p: Permissions, bucket: string): Permissions | undefined {
  const out: Permissions = { ...p };
  if (p.buckets?.includes(bucket)) {
    const rest = p.buckets.filter((b) => b !== bucket);
    if (rest.length === 0) return undefined;
    out.buckets = rest;
  }
  if (p.bucketAccess?.some((g) => g.bucket === bucket)) {
    const rest = p.bucketAccess.filter((g) => g.bucket !== bucket);
    if (rest.length === 0) return undefined;
    out.bucketAccess = rest;
  }
  return out;
}
