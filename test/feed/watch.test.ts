import assert from "node:assert/strict";
import { EndpointClass } from "../../src/gen/tessera/v1/resources_pb.js";
import { RevocationReason, VerifyStatus, type WatchRevocationsResponse } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { createOrg } from "../helpers/seed.js";
import { useSetUpServer } from "../helpers/fixture.js";

describe("WatchRevocations on one instance", () => {
  const f = useSetUpServer();

  it("streams a DISABLED event for a token disabled after the stream started", async () => {
    const org = await createOrg(f.c, f.inst.operatorToken);
    // A stream from "now" starts at the position up to which the instance has read the feed,
    // which may lag the organization's creation by a few milliseconds; its tokens' ENABLED
    // events would then come first. Let the instance read past them (wake() resolves after a
    // read begun after the call), so that the first event is the one this test makes.
    await f.server.tessera.deps.hub.wake();
    const ac = new AbortController();
    const stream = f.c.verify.watchRevocations({ afterCursor: "" }, f.inst.verifierToken) as AsyncIterable<WatchRevocationsResponse>;
    const it = stream[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.value.item.case, "checkpoint");
    await f.c.admin.setTokenEnabled({ id: org.defaultTokenId, enabled: false }, org.adminToken);
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
    const v = await f.c.verify.verify({ credential: org.defaultTokenValue, endpoint: EndpointClass.INGEST }, f.inst.verifierToken);
    assert.equal(v.status, VerifyStatus.DISABLED);
  });
});
