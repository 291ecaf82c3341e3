/**
 * The Node flags Tessera's server runs with. Every launcher the project ships passes exactly
 * these: the `tessera` command's shebang, `npm start` and the Docker image's entrypoint (a test
 * keeps them in step with this list), and cluster workers inherit them from the primary.
 *
 * --max-semi-space-size=32 (MB; V8's default is 16): the Verify cache holds up to a million
 * tokens by default, about 1 GB of long-lived heap. Each young-generation collection costs more
 * the bigger the old generation is, and a busy server allocates about 25 KB per call (mostly in
 * HTTP/2 and grpc-js), so with the default size a full cache spent 30-40 µs of every cached
 * Verify in collections, against 5-10 µs with a small cache. With 32 MB there are half as many
 * and the cost is back to that of a small cache in most runs (5-7 µs; 21 µs in one of six,
 * `npm run bench -- --only many`). 64 MB was tried too: 3.6-16 µs, and the server's RSS with a
 * full cache was 2.4-2.5 GB, above every run with 32 MB (1.5-2.3 GB), so not adopted. V8 grows
 * the young generation only when the allocation rate calls for it, so an idle server pays nothing.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=32"];
