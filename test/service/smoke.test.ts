import assert from "node:assert/strict";
import { EndpointClass } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { grpcJsClients, type Clients } from "../helpers/clients.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { createOrg, setupInstance, type Instance } from "../helpers/seed.js";

describe("a fresh instance", () => {
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

  it("verifies a new organization's default ingestion token on INGEST", async () => {
    const org = await createOrg(c, inst.operatorToken);
    const r = await c.verify.verify(
      { credential: org.defaultTokenValue, organization: org.identifier, endpoint: EndpointClass.INGEST },
      inst.verifierToken,
    );
    assert.equal(r.status, VerifyStatus.VALID);
    assert.equal(r.allowed, true);
    assert.equal(r.principal?.tokenId, org.defaultTokenId);
  });
});
