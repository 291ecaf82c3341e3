/** Bucket queries, always inside withOrg. */
import type { Bucket } from "../../domain/model.js";
import type { Tx } from "../with-org.js";
import { uniqueAs } from "../pg-errors.js";

interface BucketRow {
  id: string;
  org_id: string;
  name: string;
  description: string;
  created_at: Date;
}

const toBucket = (r: BucketRow): Bucket => ({
  id: r.id,
  orgId: r.org_id,
  name: r.name,
  description: r.description,
  createdAt: r.created_at,
});

export async function insertBucket(tx: Tx, b: { id: string; name: string; description: string }): Promise<Bucket> {
  const r = await uniqueAs(`a bucket named "${b.name}" already exists in this organization`, () =>
    tx.query<BucketRow>(`INSERT INTO buckets (id, org_id, name, description) VALUES ($1, tessera_current_org(), $2, $3) RETURNING *`, [
      b.id,
      b.name,
      b.description,
    ]),
  );
  return toBucket(r.rows[0]!);
}

export async function listBuckets(tx: Tx): Promise<Bucket[]> {
  const r = await tx.query<BucketRow>(`SELECT * FROM buckets ORDER BY name`);
  return r.rows.map(toBucket);
}

/** Changes the description of the context organization's bucket `id` (ApplyManifest); undefined if there is none. */
export async function updateBucketDescription(tx: Tx, id: string, description: string): Promise<Bucket | undefined> {
  const r = await tx.query<BucketRow>(`UPDATE buckets SET description = $2 WHERE id = $1 RETURNING *`, [id, description]);
  return r.rows[0] ? toBucket(r.rows[0]) : undefined;
}

/**
 * Which of `names` exist in the context organization (token permissions must name real buckets).
 * The rows stay key-share locked until the transaction ends: a DeleteBucket running meanwhile
 * waits for the new token to commit and then finds it, instead of missing it and leaving a token
 * that names a bucket which no longer exists (and would name its namesake, were one created).
 */
export async function existingBucketNames(tx: Tx, names: string[]): Promise<Set<string>> {
  const r = await tx.query<{ name: string }>(`SELECT name FROM buckets WHERE name = ANY ($1) FOR KEY SHARE`, [names]);
  return new Set(r.rows.map((x) => x.name));
}

/**
 * Deletes the context organization's bucket `name`; undefined if there is none. Runs first in
 * DeleteBucket's transaction: the row lock waits for token creations that checked the bucket
 * (existingBucketNames), so the tokens read after it include theirs.
 */
export async function deleteBucket(tx: Tx, name: string): Promise<Bucket | undefined> {
  const r = await tx.query<BucketRow>(`DELETE FROM buckets WHERE name = $1 RETURNING *`, [name]);
  return r.rows[0] ? toBucket(r.rows[0]) : undefined;
}
