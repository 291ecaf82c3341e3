/**
 * The Node flags Tessera's server runs with. Every launcher the project ships passes exactly
 * these: the `tessera` command's shebang, `npm start` and the Docker image's entrypoint (a test
 * keeps them in step with this list), and cluster workers inherit them from the primary.
 *
 * --max-semi-space-size=64 (MB; V8's default is 16): the Verify cache holds up to a million
 * tokens by default, about 1 GB of long-lived heap. Each young-generation collection has a cost
 * that grows with the old generation and not with the garbage it frees (a plain script holding a
 * million map entries shaped like the cache's: 4-15 ms per collection, against 0.1 ms with a
 * thousand, next to nothing surviving either way), and a busy server allocates about 25 KB per call (mostly in
 * HTTP/2 and grpc-js). So the fewer collections the better: with the default size a full cache
 * spent 30-40 µs of every cached Verify in them; with 32 MB, 5-22 µs depending on the run; with
 * 64 MB, 3.6-4.2 µs, the same as with a small cache, and the p99 of cached Verify at a million
 * tokens fell from 10-23 ms to 7-9 ms (`npm run bench -- --only many`). V8 grows the young
 * generation only when the allocation rate calls for it, so an idle server pays nothing; a busy
 * one holds up to 3 × 48 MB more than with the default.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=64"];
