/** Taking a deleted bucket out of a token's permissions only ever narrows them, or ends the token. */
import assert from "node:assert/strict";
import { withoutBucket } from "../../src/domain/without-bucket.js";

describe("withoutBucket", () => {
  it("removes the bucket from an ingestion token's list and keeps everything else", () => {
    const p = { signals: ["LOGS" as const], buckets: ["a", "b", "c"] };
    assert.deepEqual(withoutBucket(p, "b"), { signals: ["LOGS"], buckets: ["a", "c"] });
    assert.deepEqual(p.buckets, ["a", "b", "c"], "the input is left alone");
  });

  it("ends an ingestion token whose last bucket it was, since an empty list would mean every bucket", () => {
    assert.equal(withoutBucket({ buckets: ["a"] }, "a"), undefined);
    assert.equal(withoutBucket({ signals: ["TRACES"], buckets: ["a"] }, "a"), undefined);
  });

  it("removes a read-write token's grant for the bucket, and ends the token when it was the last", () => {
    const grants = [
      { bucket: "a", read: true, write: true },
      { bucket: "b", read: true, write: false },
    ];
    assert.deepEqual(withoutBucket({ bucketAccess: grants }, "a"), { bucketAccess: [grants[1]] });
    assert.equal(withoutBucket({ bucketAccess: [grants[0]!] }, "a"), undefined);
  });

  it("returns permissions that do not name the bucket unchanged, an unrestricted token's included", () => {
    for (const p of [{}, { buckets: ["x"] }, { bucketAccess: [{ bucket: "x", read: true, write: false }] }, { dashboards: ["a"] }]) {
      assert.deepEqual(withoutBucket(p, "a"), p);
    }
  });
});
