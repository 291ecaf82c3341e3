import assert from "node:assert/strict";
import type { DescMethod } from "@bufbuild/protobuf";
import { createRegistry } from "../../src/services/metrics.js";
import { createRpcMetrics } from "../../src/transport/rpc-metrics.js";
import { parseSamples, sampleValue } from "../helpers/prometheus-text.js";

describe("RPC metrics", () => {
  // No label of Tessera's takes caller input; a method name is the one free text a label gets,
  // so this is where a quote, a backslash or a newline would reach the exposition format.
  const odd = (name: string) => ({ name, methodKind: "unary", parent: { typeName: "test.v1.Odd" } }) as unknown as DescMethod;

  it('escapes ", \\ and newlines in label values instead of mangling them', async () => {
    const registry = createRegistry();
    const rpc = createRpcMetrics(registry);
    const name = 'say "hi"\\now\nplease';
    const r = rpc(odd(name));
    r.end(r.start(), 5);
    const text = await registry.metrics();
    assert.ok(text.includes('grpc_method="say \\"hi\\"\\\\now\\nplease"'), text);
    const samples = parseSamples(text);
    assert.equal(sampleValue(samples, "grpc_server_handled_total", { grpc_method: name, grpc_code: "NOT_FOUND" }), 1);
    assert.equal(sampleValue(samples, "grpc_server_started_total", { grpc_method: name }), 1);
  });

  it("keeps one recorder per method and names unknown codes UNKNOWN", async () => {
    const registry = createRegistry();
    const rpc = createRpcMetrics(registry);
    const m = odd("Same");
    assert.equal(rpc(m), rpc(m));
    rpc(m).end(rpc(m).start(), 0);
    rpc(m).end(rpc(m).start(), 99);
    const samples = parseSamples(await registry.metrics());
    assert.equal(sampleValue(samples, "grpc_server_handled_total", { grpc_method: "Same", grpc_code: "OK" }), 1);
    assert.equal(sampleValue(samples, "grpc_server_handled_total", { grpc_method: "Same", grpc_code: "UNKNOWN" }), 1);
    assert.equal(sampleValue(samples, "grpc_server_handling_seconds_count", { grpc_method: "Same" }), 2);
  });

  it("keeps each registry's series apart", async () => {
    const a = createRegistry();
    const b = createRegistry();
    const m = odd("Apart");
    createRpcMetrics(a)(m).end(0, 0);
    createRpcMetrics(b);
    const inB = parseSamples(await b.metrics());
    assert.equal(sampleValue(inB, "grpc_server_handled_total", { grpc_method: "Apart" }), 0);
    assert.equal(sampleValue(parseSamples(await a.metrics()), "grpc_server_handled_total", { grpc_method: "Apart" }), 1);
  });
});
