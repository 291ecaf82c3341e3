/**
 * Both edges while PostgreSQL is down: Tessera cannot decide (the cache answers only while the
 * revocation feed is followed), so Envoy's Check fails with UNAVAILABLE, which Envoy turns into a
 * denial unless failure_mode_allow, and forward-auth answers 503; neither ever allows from a
 * cache it can no longer trust, and both recover by themselves.
 */
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { getCluster } from "../helpers/cluster.js";
import { useSetUpServer } from "../helpers/fixture.js";
import { createOrg, issue } from "../helpers/seed.js";
import { eventually } from "../helpers/wait.js";
import { bodyOf, extAuthzClient, nginxStyle, okHeaders } from "./support.js";

describe("the ingestion edge while the database is down", function () {
  this.timeout(120_000);
  const f = useSetUpServer({ options: { unavailableLogIntervalMs: 1000 } });

  it("answers UNAVAILABLE (Check) and 503 (forward-auth), cached or not, then recovers by itself", async () => {
    const envoy = extAuthzClient(f.server.tessera.grpcPort, f.inst.verifierToken);
    try {
      const org = await createOrg(f.c, f.inst.operatorToken);
      const cached = await issue(f.c, org.adminToken, { kind: TokenKind.INGESTION });
      const fresh = await issue(f.c, org.adminToken, { kind: TokenKind.INGESTION });
      const check = (value: string) => envoy.check({ path: "/v1/logs", headers: { authorization: `Bearer ${value}` } });
      const forward = (value: string) =>
        nginxStyle(f.server.tessera.httpPort, f.inst.verifierToken, "POST", "/v1/logs", [["authorization", `Bearer ${value}`]]);
      okHeaders(await check(cached.value));
      assert.equal((await forward(cached.value)).status, 200);

      const cluster = getCluster();
      await cluster.stop();
      try {
        for (const t of [cached, fresh]) {
          await assert.rejects(check(t.value), (err: unknown) => {
            assert.ok(err instanceof ConnectError);
            assert.equal(err.code, Code.Unavailable, `got ${Code[err.code]}: ${err.rawMessage}`);
            assert.doesNotMatch(err.rawMessage, /ECONNREFUSED|127\.0\.0\.1|\s+at\s/);
            return true;
          });
          const r = await forward(t.value);
          assert.equal(r.status, 503, r.body);
          assert.equal(bodyOf(r).status, "UNAVAILABLE");
          assert.doesNotMatch(r.body, /ECONNREFUSED|127\.0\.0\.1|\s+at\s/);
        }
      } finally {
        await cluster.start();
      }
      await eventually(
        async () => {
          try {
            return (await check(fresh.value)).status?.code === 0;
          } catch {
            return false;
          }
        },
        30_000,
        "Check to answer again",
      );
      await eventually(async () => (await forward(fresh.value)).status === 200, 30_000, "forward-auth to answer again");
      const lines = f.server.logs.filter((l) => l.includes('"event":"rpc_unavailable_started"'));
      assert.ok(lines.length >= 1, "the outage is in the log, counted rather than logged per call");
    } finally {
      envoy.close();
    }
  });
});
