import assert from "node:assert/strict";
import type { DescMethod } from "@bufbuild/protobuf";
import { createLog } from "../../src/log.js";
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

  it("gives Verify and Check a call log only at debug, admin methods one at info", () => {
    const method = (service: string, name: string) =>
      ({ name, methodKind: "unary", parent: { typeName: service } }) as unknown as DescMethod;
    const verify = method("tessera.v1.TokenVerifyService", "Verify");
    const check = method("envoy.service.auth.v3.Authorization", "Check");
    const admin = method("tessera.v1.TokenAdminService", "ListTokens");
    const at = (level: "info" | "debug") =>
      createRpcMetrics(createRegistry(), createLog({ level, destination: { write: () => undefined } }));
    const info = at("info");
    assert.equal(info(verify).log, undefined, "nothing per Verify call above debug");
    assert.equal(info(check).log, undefined);
    assert.notEqual(info(admin).log, undefined);
    const debug = at("debug");
    assert.notEqual(debug(verify).log, undefined);
    assert.notEqual(debug(check).log, undefined);
    assert.equal(createRpcMetrics(createRegistry())(admin).log, undefined, "no logger, no call log");
    // A plain function cannot say its level: it gets admin lines, never one per Verify.
    const plain = createRpcMetrics(createRegistry(), () => undefined);
    assert.equal(plain(verify).log, undefined);
    assert.notEqual(plain(admin).log, undefined);
  });

  it("keeps a well-formed request id and replaces any other, writing the new one back", () => {
    const lines: string[] = [];
    const rpc = createRpcMetrics(createRegistry(), createLog({ level: "info", destination: { write: (l: string) => void lines.push(l) } }));
    const log = rpc({
      name: "GetOrganization",
      methodKind: "unary",
      parent: { typeName: "tessera.v1.TokenAdminService" },
    } as unknown as DescMethod).log!;
    const headers = new Map<string, string>([["x-request-id", "abc-1"]]);
    const get = (n: string) => headers.get(n);
    const set = (n: string, v: string) => void headers.set(n, v);
    assert.equal(log.begin(get, set), "abc-1");
    for (const bad of ["", "a b", "x".repeat(65), 'quote"', "line\nbreak"]) {
      headers.set("x-request-id", bad);
      const id = log.begin(get, set);
      assert.match(id, /^[0-9a-f-]{36}$/);
      assert.equal(headers.get("x-request-id"), id);
    }
    headers.delete("x-request-id");
    const id = log.begin(get, set);
    assert.equal(headers.get("x-request-id"), id);
    log.end(id, performance.now() - 5, 5, undefined);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(line["event"], "rpc_refused");
    assert.equal(line["code"], "NOT_FOUND");
    assert.equal(line["requestId"], id);
    assert.equal(line["rpc"], "/tessera.v1.TokenAdminService/GetOrganization");
    assert.ok((line["durationMs"] as number) >= 5);
  });

  it("answers the call even when the log sink throws", () => {
    const broken = () => {
      throw new Error("disk full");
    };
    const log = createRpcMetrics(
      createRegistry(),
      broken,
    )({
      name: "ListTokens",
      methodKind: "unary",
      parent: { typeName: "tessera.v1.TokenAdminService" },
    } as unknown as DescMethod).log!;
    assert.doesNotThrow(() => log.end("id-1", performance.now(), 0, undefined));
  });
});
