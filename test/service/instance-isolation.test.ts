/**
 * Two Tessera instances in one process, on two databases, share nothing: each owns its cache
 * and its memoized Verify answers, so one's traffic and answers never show in the other's.
 */
import assert from "node:assert/strict";
import { EndpointClass, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { createKeyring, newKey } from "../../src/domain/digest.js";
import { grpcJsClients, type Clients } from "../helpers/clients.js";
import { issue, setupInstance, type Instance } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { eventually, sleep } from "../helpers/wait.js";

describe("two instances in one process", function () {
  this.timeout(60_000);
  // The same digest key for both, so that a value means the same digest to each.
  const keyring = createKeyring({ 1: newKey() }, 1);
  const side: Array<{ server: TestServer; c: Clients; inst: Instance }> = [];

  before(async () => {
    for (const identifier of ["left", "right"]) {
      const server = await startTestServer({ keyring });
      const c = grpcJsClients(server.tessera.grpcPort);
      side.push({ server, c, inst: await setupInstance(c, identifier) });
    }
  });
  after(async () => {
    for (const s of side) {
      s.c.close();
      await s.server.close();
    }
  });

  it("keep their caches and answers apart", async () => {
    const [a, b] = side as [(typeof side)[0], (typeof side)[0]];
    const tokens = await Promise.all(Array.from({ length: 10 }, () => issue(a.c, a.inst.operatorToken, { kind: TokenKind.INGESTION })));
    const ask = (s: typeof a, value: string) =>
      s.c.verify.verify({ credential: value, organization: a.inst.identifier, endpoint: EndpointClass.INGEST }, s.inst.verifierToken);
    for (const t of tokens) assert.equal((await ask(a, t.value)).status, VerifyStatus.VALID);
    // What the first instance is still filling in after its answers (on a loaded machine, a fill
    // can land just after the last answer) settles before its cache is measured.
    await eventually(async () => {
      const n = a.server.tessera.cache.size;
      await sleep(200);
      return a.server.tessera.cache.size === n;
    });
    const aSize = a.server.tessera.cache.size;
    const aHits = a.server.tessera.cache.hits;
    const aMisses = a.server.tessera.cache.misses;

    // The same values at the other instance: its database has no such tokens, and nothing of the
    // first instance's cache or memoized answers may leak into its answers.
    for (const t of tokens) {
      const r = await ask(b, t.value);
      assert.equal(r.status, VerifyStatus.NOT_FOUND);
      assert.equal(r.principal, undefined);
    }
    assert.equal(a.server.tessera.cache.size, aSize, "the first cache did not grow");
    assert.equal(a.server.tessera.cache.hits, aHits);
    assert.equal(a.server.tessera.cache.misses, aMisses);

    // And the first still answers from its own cache.
    for (const t of tokens) {
      const r = await ask(a, t.value);
      assert.equal(r.status, VerifyStatus.VALID);
    }
    assert.ok(a.server.tessera.cache.hits >= aHits + tokens.length);
  });
});
