/**
 * Two Tessera instances on one database: a token disabled through one is refused at the other's
 * edges (Check and forward-auth, each with a warm cache) as soon as the revocation feed reaches
 * it, because both edges decide through Verify's decider and its feed-invalidated cache.
 */
import assert from "node:assert/strict";
import { createKeyring, newKey } from "../../src/domain/digest.js";
import { TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { grpcJsClients, type Clients } from "../helpers/clients.js";
import { freshDatabase, type TestDatabase } from "../helpers/db.js";
import { createOrg, issue, setupInstance, type Instance } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { eventually } from "../helpers/wait.js";
import { denial, extAuthzClient, nginxStyle, okHeaders, type ExtAuthz } from "./support.js";

describe("the ingestion edge on two instances sharing a database", function () {
  this.timeout(60_000);
  const keyring = createKeyring({ 1: newKey() }, 1);
  let db: TestDatabase;
  let servers: TestServer[] = [];
  let c: Clients;
  let inst: Instance;
  let envoyB: ExtAuthz;

  before(async () => {
    db = await freshDatabase();
    servers = [await startTestServer({ db, keyring }), await startTestServer({ db, keyring })];
    c = grpcJsClients(servers[0]!.tessera.grpcPort);
    inst = await setupInstance(c);
    envoyB = extAuthzClient(servers[1]!.tessera.grpcPort, inst.verifierToken);
  });
  after(async () => {
    envoyB?.close();
    c?.close();
    for (const s of servers) await s.close();
    await db?.drop();
  });

  it("refuses at instance 2's Check and forward-auth a token disabled through instance 1", async () => {
    const org = await createOrg(c, inst.operatorToken);
    for (let k = 0; k < 5; k++) {
      const t = await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
      const check = () => envoyB.check({ path: "/v1/metrics", headers: { "x-api-key": t.value } });
      const forward = () => nginxStyle(servers[1]!.tessera.httpPort, inst.verifierToken, "POST", "/v1/metrics", [["x-api-key", t.value]]);
      // Warm instance 2's cache through both edges.
      for (let i = 0; i < 2; i++) {
        okHeaders(await check());
        assert.equal((await forward()).status, 200);
      }
      await c.admin.setTokenEnabled({ id: t.id, enabled: false }, org.adminToken);
      await eventually(async () => (await check()).status?.code !== 0, undefined, "instance 2's Check to refuse");
      assert.equal(denial(await check()).body.status, "DISABLED");
      const r = await forward();
      assert.equal(r.status, 401);
      assert.equal((JSON.parse(r.body) as { status: string }).status, "DISABLED");
    }
  });
});
