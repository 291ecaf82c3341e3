/**
 * The Node flags Tessera's server runs with. Every launcher the project ships passes exactly
 * these: the `tessera` command's shebang, `npm start` and the Docker image's entrypoint (a test
 * keeps them in step with this list), and cluster workers inherit them from the primary.
 *
 * --max-semi-space-size=32 (MB; V8's default is 16): a full Verify cache makes the old generation
 * large, and each young collection costs more the larger it is; doubling the young generation
 * halves the collections, keeping a full cache's GC cost near a small one's. V8 grows it only when
 * the allocation rate calls for it, so an idle server pays nothing. The measurements, and why not
 * 64 MB: benchmarks/README.md.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=32"];
