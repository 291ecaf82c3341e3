import assert from "node:assert/strict";
import { EndpointClass } from "../../src/gen/tessera/v1/resources_pb.js";
import { createOrg } from "../helpers/seed.js";
import { useSetUpServer } from "../helpers/fixture.js";

describe("GET /metrics", () => {
  const f = useSetUpServer();

  const scrape = async () => {
    const r = await fetch(`http://127.0.0.1:${f.server.tessera.httpPort}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    return r.text();
  };
  const value = (text: string, series: string): number => {
    const line = text.split("\n").find((l) => l.startsWith(series + " "));
    assert.ok(line, `no series ${series}`);
    return Number(line.slice(series.length + 1));
  };

  it("counts Verify answers by status and cache use, in Prometheus text, without token values", async () => {
    const org = await createOrg(f.c, f.inst.operatorToken);
    // The organization's ENABLED events reach the cache a little after createOrg returns and
    // evict what it holds for their tokens: let the instance read them first (wake() resolves
    // after a read begun after the call), so that the cache hits counted below stay hits.
    await f.server.tessera.deps.hub.wake();
    const before = await scrape();
    const valid0 = value(before, 'tessera_verify_total{status="VALID"}');
    const notFound0 = value(before, 'tessera_verify_total{status="NOT_FOUND"}');
    for (let i = 0; i < 3; i++)
      await f.c.verify.verify({ credential: org.defaultTokenValue, endpoint: EndpointClass.INGEST }, f.inst.verifierToken);
    await f.c.verify.verify(
      { credential: org.defaultTokenValue, organization: "nowhere", endpoint: EndpointClass.INGEST },
      f.inst.verifierToken,
    );
    const after = await scrape();
    assert.equal(value(after, 'tessera_verify_total{status="VALID"}') - valid0, 3);
    assert.equal(value(after, 'tessera_verify_total{status="NOT_FOUND"}') - notFound0, 1);
    assert.ok(value(after, "tessera_verify_cache_hits_total") >= 2);
    assert.equal(value(after, "tessera_revocation_feed_fresh"), 1);
    assert.match(after, /# TYPE tessera_verify_total counter/);
    for (const secret of [org.defaultTokenValue, org.adminToken, f.inst.verifierToken, f.inst.operatorToken]) {
      assert.ok(!after.includes(secret), "a token value appeared in /metrics");
    }
  });
});
