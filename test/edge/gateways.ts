/**
 * The scenarios every gateway in front of a test upstream must pass (gateway-processes.ts starts
 * them: nginx, Caddy), written once.
 */
import assert from "node:assert/strict";
import { Signal, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import type { Clients } from "../helpers/clients.js";
import { createOrg, issue, type Instance } from "../helpers/seed.js";
import type { Gateway, Upstream } from "./gateway-processes.js";
import { httpRequest } from "./support.js";

/** What the scenarios need, read inside the tests (after the hooks have run). */
export interface GatewayContext {
  gateway: Gateway;
  upstream: Upstream;
  c: Clients;
  inst: Instance;
}

/**
 * The issue's end-to-end scenarios, for any gateway: a valid ingestion token gets through and the
 * upstream sees the identity headers and no credential; a disabled token is refused on the very
 * next request; a wrong-signal request is refused with 403.
 */
export function gatewayScenarios(ctx: () => GatewayContext): void {
  const send = (path: string, headers: Array<[string, string]>, method = "POST", body?: string) =>
    httpRequest(ctx().gateway.port, path, headers, method, body);

  it("lets a valid ingestion token through: the upstream sees the identity headers, the body and no credential, whatever the client claimed", async () => {
    const { c, inst, upstream } = ctx();
    const org = await createOrg(c, inst.operatorToken);
    const t = await issue(c, org.adminToken, { kind: TokenKind.INGESTION, permissions: { signals: [Signal.LOGS] } });
    const before = upstream.seen.length;
    const r = await send(
      "/v1/logs?source=edge",
      [
        ["authorization", `Bearer ${t.value}`],
        ["x-api-key", t.value],
        ["x-tessera-organization", "someone-else"],
        ["x-tessera-role", "ADMIN"],
        ["content-type", "application/json"],
      ],
      "POST",
      '{"resourceLogs":[]}',
    );
    assert.equal(r.status, 200, `${r.body}\n${await ctx().gateway.log()}`);
    assert.equal(r.body, "ok");
    assert.equal(upstream.seen.length, before + 1);
    const seen = upstream.seen.at(-1)!;
    assert.equal(seen.url, "/v1/logs?source=edge", "the upstream gets the request as the client sent it");
    assert.equal(seen.body, '{"resourceLogs":[]}', "and its body, which the sub-request did not consume");
    const h = seen.headers;
    assert.equal(h["x-tessera-organization-id"], org.orgId);
    assert.equal(h["x-tessera-organization"], org.identifier);
    assert.equal(h["x-tessera-token-id"], t.id);
    assert.equal(h["x-tessera-token-kind"], "INGESTION");
    assert.equal(h["x-tessera-role"], undefined, "an organization token has no role, and the client's claim is gone");
    assert.equal(h.authorization, undefined, "the upstream never sees the credential");
    assert.equal(h["x-api-key"], undefined);
    assert.equal(h["x-tessera-verifier"], undefined, "nor the gateway's verifier");
  });

  it("refuses a disabled token on the very next request, with 401 and Tessera's challenge", async () => {
    const { c, inst, upstream } = ctx();
    const org = await createOrg(c, inst.operatorToken);
    const t = await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
    const ask = () => send("/loki/api/v1/push", [["authorization", `Bearer ${t.value}`]]);
    assert.equal((await ask()).status, 200);
    assert.equal((await ask()).status, 200);
    await c.admin.setTokenEnabled({ id: t.id, enabled: false }, org.adminToken);
    const before = upstream.seen.length;
    const r = await ask();
    assert.equal(r.status, 401);
    assert.equal(r.headers["www-authenticate"], 'Bearer realm="tessera"');
    assert.equal(upstream.seen.length, before, "nothing reached the upstream");
  });

  it("refuses a request for a signal the token does not grant with 403, and one no route matches", async () => {
    const { c, inst, upstream } = ctx();
    const org = await createOrg(c, inst.operatorToken);
    const t = await issue(c, org.adminToken, { kind: TokenKind.INGESTION, permissions: { signals: [Signal.METRICS] } });
    const before = upstream.seen.length;
    assert.equal((await send("/v1/traces", [["authorization", `Bearer ${t.value}`]])).status, 403);
    assert.equal((await send("/v1/../admin", [["authorization", `Bearer ${t.value}`]])).status, 403);
    assert.equal((await send("/v1/logs", [["authorization", `Bearer ${t.value}`]], "GET")).status, 403);
    assert.equal(upstream.seen.length, before);
    assert.equal((await send("/api/v1/write", [["authorization", `Bearer ${t.value}`]])).status, 200);
  });
}
