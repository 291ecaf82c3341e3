import assert from "node:assert/strict";
import { EndpointClass } from "../../src/gen/tessera/v1/resources_pb.js";
import { RevocationReason, VerifyStatus, type WatchRevocationsResponse } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { grpcJsClients, type Clients } from "../helpers/clients.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { createOrg, setupInstance, type Instance } from "../helpers/seed.js";

describe("WatchRevocations on one instance", () => {
  let server: TestServer;
  let c: Clients;
  let inst: Instance;
  before(async () => {
    server = await startTestServer();
    c = grpcJsClients(server.tessera.grpcPort);
    inst = await setupInstance(c);
  });
  after(async () => {
    c.close();
    await server.close();
  });

  it("streams a DISABLED event for a token disabled after the stream started", async () => {
    const org = await createOrg(c, inst.operatorToken);
    const ac = new AbortController();
    const stream = c.verify.watchRevocations({ afterCursor: "" }, inst.verifierToken) as AsyncIterable<WatchRevocationsResponse>;
    const it = stream[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.value.item.case, "checkpoint");
    await c.admin.setTokenEnabled({ id: org.defaultTokenId, enabled: false }, org.adminToken);
    let got!: WatchRevocationsResponse;
    for (;;) {
      const n = await it.next();
      if (n.value.item.case === "event") {
        got = n.value;
        break;
      }
    }
    ac.abort();
    await it.return?.();
    assert.equal(got.item.case, "event");
    if (got.item.case === "event") {
      assert.equal(got.item.value.tokenId, org.defaultTokenId);
      assert.equal(got.item.value.reason, RevocationReason.DISABLED);
    }
    const v = await c.verify.verify({ credential: org.defaultTokenValue, endpoint: EndpointClass.INGEST }, inst.verifierToken);
    assert.equal(v.status, VerifyStatus.DISABLED);
  });
});
