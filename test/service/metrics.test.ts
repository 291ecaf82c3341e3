import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { generateToken } from "../../src/domain/token-format.js";
import { EndpointClass } from "../../src/gen/tessera/v1/resources_pb.js";
import { parseSamples, sampleValue } from "../helpers/prometheus-text.js";
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

  const VERIFY = { grpc_service: "tessera.v1.TokenVerifyService", grpc_method: "Verify", grpc_type: "unary" };
  const GET_ORG = { grpc_service: "tessera.v1.TokenAdminService", grpc_method: "GetOrganization", grpc_type: "unary" };

  it("counts and times every RPC on both listeners by service, method, type and status name", async () => {
    const org = await createOrg(f.c, f.inst.operatorToken);
    for (const c of f.clients) {
      const before = parseSamples(await scrape());
      const handled = (labels: Record<string, string>, code: string) =>
        sampleValue(parseSamples(after), "grpc_server_handled_total", { ...labels, grpc_code: code }) -
        sampleValue(before, "grpc_server_handled_total", { ...labels, grpc_code: code });
      await c.verify.verify({ credential: org.defaultTokenValue, endpoint: EndpointClass.INGEST }, f.inst.verifierToken);
      await c.verify.verify({ credential: org.defaultTokenValue, endpoint: EndpointClass.INGEST }, f.inst.verifierToken);
      await assert.rejects(c.admin.getOrganization({ id: randomUUID() }, org.adminToken));
      await assert.rejects(c.admin.getOrganization({ id: "" }, "not-a-token"));
      const after = await scrape();
      const samples = parseSamples(after);
      assert.equal(handled(VERIFY, "OK"), 2, c.name);
      assert.equal(handled(GET_ORG, "UNAUTHENTICATED"), 1, c.name);
      // Another organization's id is not found for this admin (no hint that it exists).
      assert.equal(handled(GET_ORG, "NOT_FOUND") + handled(GET_ORG, "PERMISSION_DENIED"), 1, c.name);
      assert.equal(
        sampleValue(samples, "grpc_server_started_total", VERIFY) - sampleValue(before, "grpc_server_started_total", VERIFY),
        2,
        c.name,
      );
      const count = sampleValue(samples, "grpc_server_handling_seconds_count", VERIFY);
      assert.equal(count - sampleValue(before, "grpc_server_handling_seconds_count", VERIFY), 2, c.name);
      assert.equal(sampleValue(samples, "grpc_server_handling_seconds_bucket", { ...VERIFY, le: "+Inf" }), count);
      assert.ok(sampleValue(samples, "grpc_server_handling_seconds_bucket", { ...VERIFY, le: "0.0001" }) <= count);
      const sum = sampleValue(samples, "grpc_server_handling_seconds_sum", VERIFY);
      assert.ok(sum > 0 && sum < 60, `a plausible total time: ${sum}`);
    }
    const text = await scrape();
    assert.match(text, /# TYPE grpc_server_handled_total counter/);
    assert.match(text, /# TYPE grpc_server_handling_seconds histogram/);
  });

  it("counts a refused server stream as one, with its type and code", async () => {
    const WATCH = { grpc_service: "tessera.v1.TokenVerifyService", grpc_method: "WatchRevocations", grpc_type: "server_stream" };
    for (const c of f.clients) {
      const before = parseSamples(await scrape());
      await assert.rejects(async () => {
        for await (const _ of c.verify.watchRevocations({}, "not-a-token") as AsyncIterable<unknown>) break;
      });
      const after = parseSamples(await scrape());
      const code = { ...WATCH, grpc_code: "UNAUTHENTICATED" };
      assert.equal(
        sampleValue(after, "grpc_server_handled_total", code) - sampleValue(before, "grpc_server_handled_total", code),
        1,
        c.name,
      );
      assert.equal(
        sampleValue(after, "grpc_server_started_total", WATCH) - sampleValue(before, "grpc_server_started_total", WATCH),
        1,
        c.name,
      );
    }
  });

  it("serves process, GC and event-loop metrics, and the database pool's use", async () => {
    const samples = parseSamples(await scrape());
    const names = new Set(samples.map((s) => s.name));
    for (const name of [
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
      "nodejs_heap_size_used_bytes",
      "nodejs_eventloop_lag_seconds",
      "tessera_db_pool_connections_in_use",
      "tessera_db_pool_connections_idle",
      "tessera_db_pool_waiting",
      "tessera_caller_db_lookups_total",
      "tessera_token_lookup_queries_total",
    ]) {
      assert.ok(names.has(name), `no ${name}`);
    }
    assert.ok(sampleValue(samples, "process_resident_memory_bytes") > 1e6);
    // The setup's calls opened connections: some are open, none is waiting on an idle server.
    assert.ok(sampleValue(samples, "tessera_db_pool_connections_idle") + sampleValue(samples, "tessera_db_pool_connections_in_use") >= 1);
    assert.equal(sampleValue(samples, "tessera_db_pool_waiting"), 0);
  });

  it("counts Verify's database lookups apart from callers' authentication", async () => {
    const org = await createOrg(f.c, f.inst.operatorToken);
    await f.server.tessera.deps.hub.wake();
    const before = parseSamples(await scrape());
    const delta = (after: ReturnType<typeof parseSamples>, name: string) => sampleValue(after, name) - sampleValue(before, name);
    // Never seen values: each is a cache miss that goes to the database.
    const unknown = () => generateToken("ALL_ACCESS");
    await f.c.verify.verify({ credential: org.defaultTokenValue, endpoint: EndpointClass.INGEST }, f.inst.verifierToken);
    await assert.rejects(f.c.admin.getOrganization({ id: "" }, unknown()));
    await assert.rejects(f.c.admin.getOrganization({ id: "" }, unknown()));
    const after = parseSamples(await scrape());
    assert.ok(delta(after, "tessera_caller_db_lookups_total") >= 2);
    assert.ok(delta(after, "tessera_verify_db_lookups_total") <= 1, "the unknown admin credentials are not counted as Verify's");
  });
});
