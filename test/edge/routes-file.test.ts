/**
 * An instance's own ingestion routes (TESSERA_INGESTION_ROUTES_FILE): checked before the built-in
 * presets by both edges, and a file that is not a valid table stops the server from starting,
 * saying which rule is wrong.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { grpcJsClients, type Clients } from "../helpers/clients.js";
import { freshDatabase, type TestDatabase } from "../helpers/db.js";
import { createOrg, issue, setupInstance, type Instance } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { denial, extAuthzClient, nginxStyle, okHeaders } from "./support.js";

describe("an instance's own ingestion routes", function () {
  this.timeout(60_000);
  let dir: string;
  let server: TestServer | undefined;
  let c: Clients | undefined;
  let inst: Instance;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "tessera-routes-"));
  });
  after(async () => {
    c?.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("apply before the built-in presets at both edges, refusing rules included", async () => {
    const file = path.join(dir, "routes.json");
    await writeFile(
      file,
      JSON.stringify([
        { name: "vector", path: "/vector/{bucket}/ingest", signal: "logs" },
        { name: "no-root-bulk", path: "/_bulk", refuse: true },
      ]),
    );
    server = await startTestServer({ configure: (cfg) => ({ ...cfg, ingestionRoutesFile: file }) });
    c = grpcJsClients(server.tessera.grpcPort);
    inst = await setupInstance(c);
    const org = await createOrg(c, inst.operatorToken);
    await c.admin.createBucket({ name: "edge" }, org.adminToken);
    const t = await issue(c, org.adminToken, { kind: TokenKind.INGESTION, permissions: { buckets: ["edge"] } });
    const envoy = extAuthzClient(server.tessera.grpcPort, inst.verifierToken);
    try {
      const r = await envoy.check({ path: "/vector/edge/ingest", headers: { authorization: `Bearer ${t.value}` } });
      assert.equal(okHeaders(r).get("x-tessera-token-id"), t.id);
      assert.equal(r.dynamicMetadata?.["route"], "vector");
      assert.equal(
        denial(await envoy.check({ path: "/vector/other/ingest", headers: { authorization: `Bearer ${t.value}` } })).body.status,
        "FORBIDDEN",
      );
      const refused = denial(await envoy.check({ path: "/_bulk", headers: { authorization: `Bearer ${t.value}` } }));
      assert.deepEqual(
        [refused.http, refused.body.status, refused.body.message],
        [403, "NO_ROUTE", "route no-root-bulk refuses this request"],
      );
      okHeaders(await envoy.check({ path: "/edge/_bulk", headers: { authorization: `Bearer ${t.value}` } }));
    } finally {
      envoy.close();
    }
    const fa = await nginxStyle(server.tessera.httpPort, inst.verifierToken, "POST", "/vector/edge/ingest", [["x-api-key", t.value]]);
    assert.equal(fa.status, 200);
  });

  it("stop the server from starting when the file is not a valid table, naming the rule", async () => {
    const db: TestDatabase = await freshDatabase();
    try {
      const cases: Array<[string, RegExp]> = [
        ["{not json", /TESSERA_INGESTION_ROUTES_FILE .*bad\.json: .*JSON/],
        [JSON.stringify([{ path: "/ok" }, { path: "/x", signal: "profiles" }]), /route 2: "signal" must be one of logs, metrics, traces/],
      ];
      for (const [text, re] of cases) {
        const file = path.join(dir, "bad.json");
        await writeFile(file, text);
        await assert.rejects(startTestServer({ db, configure: (cfg) => ({ ...cfg, ingestionRoutesFile: file }) }), re);
      }
      await assert.rejects(
        startTestServer({ db, configure: (cfg) => ({ ...cfg, ingestionRoutesFile: path.join(dir, "missing.json") }) }),
        /TESSERA_INGESTION_ROUTES_FILE .*missing\.json: ENOENT/,
      );
    } finally {
      await db.drop();
    }
  });
});
