/** Disabling an organization ends every one of its tokens, announced token by token. */
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { EndpointClass, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { RevocationReason, VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { createOrg } from "../helpers/seed.js";
import { watch } from "../helpers/watch.js";
import { useSetUpServer } from "../helpers/fixture.js";

describe("SetOrganizationEnabled", () => {
  const f = useSetUpServer();

  it("refuses every token of a disabled organization and announces each as ORG_DISABLED, then ENABLED", async () => {
    const org = await createOrg(f.c, f.inst.operatorToken);
    const extra = await f.c.admin.createToken({ name: "edge", kind: TokenKind.INGESTION }, org.adminToken);
    const ask = (v: string, endpoint = EndpointClass.INGEST) =>
      f.c.verify.verify({ credential: v, organization: org.identifier, endpoint }, f.inst.verifierToken);
    assert.equal((await ask(extra.value)).status, VerifyStatus.VALID);
    const w = watch(() => f.c.verify.watchRevocations({}, f.inst.verifierToken) as never);
    await w.until(() => w.checkpoints > 0);

    await f.c.admin.setOrganizationEnabled({ id: org.orgId, enabled: false }, f.inst.operatorToken);
    for (const v of [extra.value, org.defaultTokenValue]) assert.equal((await ask(v)).status, VerifyStatus.ORGANIZATION_DISABLED);
    assert.equal((await ask(org.adminToken, EndpointClass.QUERY)).status, VerifyStatus.ORGANIZATION_DISABLED);
    const ids = [extra.token!.id, org.defaultTokenId, org.adminTokenId];
    await w.until(() => ids.every((id) => w.events.some((e) => e.tokenId === id && e.reason === RevocationReason.ORG_DISABLED)));
    // The organization's own admin token no longer works on the admin API either.
    await assert.rejects(
      f.c.admin.listTokens({}, org.adminToken),
      (e: unknown) => e instanceof ConnectError && e.code === Code.Unauthenticated,
    );

    const r = await f.c.admin.setOrganizationEnabled({ id: org.orgId, enabled: true }, f.inst.operatorToken);
    assert.equal(r.organization?.enabled, true);
    assert.equal((await ask(extra.value)).status, VerifyStatus.VALID);
    await w.until(() => w.events.some((e) => e.tokenId === extra.token!.id && e.reason === RevocationReason.ENABLED));
    w.stop();
  });

  it("announces nothing when the organization is already in the state asked for", async () => {
    const org = await createOrg(f.c, f.inst.operatorToken);
    const w = watch(() => f.c.verify.watchRevocations({}, f.inst.verifierToken) as never);
    try {
      await w.until(() => w.checkpoints > 0);
      // A marker before the calls: once it arrives, what creating the organization announced
      // (ENABLED for its new tokens) has arrived too, and is not counted below.
      const before = await f.c.admin.createToken({ name: "marker-before", kind: TokenKind.INGESTION }, f.inst.operatorToken);
      await w.until(() => w.events.some((e) => e.tokenId === before.token!.id));
      const seen = w.events.length;
      await f.c.admin.setOrganizationEnabled({ id: org.orgId, enabled: true }, f.inst.operatorToken);
      await f.c.admin.setOrganizationEnabled({ id: org.orgId, enabled: false }, f.inst.operatorToken);
      await f.c.admin.setOrganizationEnabled({ id: org.orgId, enabled: false }, f.inst.operatorToken);
      // A marker after the calls: once it arrives, every event they caused has arrived before it.
      const marker = await f.c.admin.createToken({ name: "marker", kind: TokenKind.INGESTION }, f.inst.operatorToken);
      await w.until(() => w.events.some((e) => e.tokenId === marker.token!.id));
      const mine = new Set([org.defaultTokenId, org.adminTokenId]);
      const reasons = w.events
        .slice(seen)
        .filter((e) => mine.has(e.tokenId))
        .map((e) => e.reason);
      assert.deepEqual(reasons, [RevocationReason.ORG_DISABLED, RevocationReason.ORG_DISABLED], "one ORG_DISABLED per token, once");
    } finally {
      w.stop();
    }
  });

  it("lets a parent organization's admin disable a sub-organization, but no organization disable itself", async () => {
    const parent = await createOrg(f.c, f.inst.operatorToken);
    const child = await f.c.admin.createOrganization(
      { identifier: `child-of-${parent.identifier}`, parentId: parent.orgId },
      parent.adminToken,
    );
    await assert.rejects(
      f.c.admin.setOrganizationEnabled({ id: parent.orgId, enabled: false }, parent.adminToken),
      (e: unknown) => e instanceof ConnectError && e.code === Code.FailedPrecondition,
    );
    const r = await f.c.admin.setOrganizationEnabled({ id: child.organization!.id, enabled: false }, parent.adminToken);
    assert.equal(r.organization?.enabled, false);
    const v = await f.c.verify.verify({ credential: child.defaultTokenValue, endpoint: EndpointClass.INGEST }, f.inst.verifierToken);
    assert.equal(v.status, VerifyStatus.ORGANIZATION_DISABLED);
    await assert.rejects(
      f.c.admin.setOrganizationEnabled({ id: "not-a-uuid", enabled: false }, f.inst.operatorToken),
      (e: unknown) => e instanceof ConnectError && e.code === Code.InvalidArgument,
    );
  });
});
