/**
 * Last-used times: set by the first accepted Verify, moved forward at most once per precision
 * period (so busy tokens cost no write per use), never by a refused Verify, and never on another
 * organization's token.
 */
import assert from "node:assert/strict";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { EndpointClass, Signal, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { allClients, type Clients } from "../helpers/clients.js";
import { createOrg, issue, setupInstance, type Instance, type SeededOrg } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

describe("last-used times", () => {
  const HOUR = 3_600_000;
  let server: TestServer;
  let c: Clients;
  let all: Clients[];
  let inst: Instance;
  let org: SeededOrg;
  let other: SeededOrg;
  let offset = 0;
  const now = () => Date.now() + offset;

  before(async () => {
    server = await startTestServer({ now });
    all = allClients({ grpcPort: server.tessera.grpcPort, httpPort: server.tessera.httpPort });
    c = all[0]!;
    inst = await setupInstance(c);
    org = await createOrg(c, inst.operatorToken);
    other = await createOrg(c, inst.operatorToken);
  });
  after(async () => {
    for (const x of all ?? []) x.close();
    await server?.close();
  });

  const verify = (credential: string, endpoint = EndpointClass.INGEST) =>
    c.verify.verify({ credential, organization: org.identifier, endpoint, signal: Signal.LOGS }, inst.verifierToken);
  const lastUsed = async (s: SeededOrg, id: string): Promise<number | undefined> => {
    await server.tessera.deps.lastUsed.flush();
    const t = (await c.admin.getToken({ id }, s.adminToken)).token!;
    return t.lastUsedTime === undefined ? undefined : timestampMs(t.lastUsedTime);
  };

  it("is unset until the first accepted Verify, then set to its time", async () => {
    const t = await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
    assert.equal(await lastUsed(org, t.id), undefined, "never used");
    const before = now();
    assert.equal((await verify(t.value)).status, VerifyStatus.VALID);
    const first = await lastUsed(org, t.id);
    assert.ok(first !== undefined && first >= before - 1000 && first <= now() + 1000, `set to the time of use (${first})`);
  });

  it("moves forward once per precision period however often the token is used, and again after a period", async () => {
    const t = await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
    await verify(t.value);
    const first = (await lastUsed(org, t.id))!;
    offset += 10 * 60_000;
    try {
      for (let i = 0; i < 5; i++) await verify(t.value);
      assert.equal(await lastUsed(org, t.id), first, "ten minutes later: still the first use (within the precision)");
      offset += HOUR;
      await verify(t.value);
      const later = (await lastUsed(org, t.id))!;
      assert.ok(later >= first + HOUR, `moved forward after the precision period (${later - first} ms later)`);
    } finally {
      offset -= 10 * 60_000 + HOUR;
    }
  });

  it("is not sent for writing again while the stored time is recent, even by a lookup read afresh", async () => {
    const t = await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
    await verify(t.value);
    const first = (await lastUsed(org, t.id))!;
    const recorder = server.tessera.deps.lastUsed;
    // The lookup carries the stored time, in whole minutes.
    server.tessera.cache.clear();
    const read = await server.tessera.deps.lookup.lookup(t.value, org.identifier);
    assert.ok("found" in read && read.found !== undefined);
    assert.equal(read.found.lastUsedMinute, Math.floor(first / 60_000));
    offset += 10 * 60_000;
    try {
      // Every cache dropped: this Verify decides from a fresh read, which says the time is recent.
      server.tessera.cache.clear();
      assert.equal((await verify(t.value)).status, VerifyStatus.VALID);
      assert.equal(recorder.pendingCount, 0, "nothing to write: the stored time is ten minutes old");
      offset += HOUR;
      server.tessera.cache.clear();
      assert.equal((await verify(t.value)).status, VerifyStatus.VALID);
      const later = (await lastUsed(org, t.id))!;
      assert.ok(later >= first + HOUR, `moved forward (${later - first} ms later)`);
    } finally {
      offset -= 10 * 60_000 + HOUR;
    }
  });

  it("is not set by refused answers: a disabled token, or one asked about on an endpoint it may not use", async () => {
    const disabled = await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
    await c.admin.setTokenEnabled({ id: disabled.id, enabled: false }, org.adminToken);
    assert.equal((await verify(disabled.value)).status, VerifyStatus.DISABLED);
    assert.equal(await lastUsed(org, disabled.id), undefined);
    const ingest = await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
    assert.equal((await verify(ingest.value, EndpointClass.QUERY)).status, VerifyStatus.WRONG_ENDPOINT);
    assert.equal(await lastUsed(org, ingest.id), undefined);
  });

  it("is not set by presenting another organization's token, and that token's own time stays unset", async () => {
    const theirs = await issue(c, other.adminToken, { kind: TokenKind.INGESTION });
    assert.equal((await verify(theirs.value)).status, VerifyStatus.NOT_FOUND, "asked about in the wrong organization");
    assert.equal(await lastUsed(other, theirs.id), undefined);
  });
});
