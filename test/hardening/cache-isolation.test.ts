/**
 * Admin changes invalidate only the Verify answers they affect, and only once they commit
 * (issue 10, defect 6): no loop of changes in one organization, failing or succeeding, costs
 * another organization's cached Verify a database lookup.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { EndpointClass, Role, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { useSetUpServer } from "../helpers/fixture.js";
import { addMember, createOrg, issue, type IssuedToken, type SeededOrg } from "../helpers/seed.js";
import { rejects } from "../service/support.js";

describe("Verify cache isolation between organizations", function () {
  this.timeout(60_000);
  const f = useSetUpServer();

  /** Database round trips Verify has made so far, from the server's own metrics. */
  const lookups = async (): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${f.server.tessera.httpPort}/metrics`)).text();
    const m = /^tessera_verify_db_lookups_total (\d+)$/m.exec(text);
    assert.ok(m, "the metric is served");
    return Number(m[1]);
  };

  let victim: SeededOrg;
  let victimTokens: IssuedToken[];
  const verifyVictims = async () => {
    const answers = await Promise.all(
      victimTokens.map((t) =>
        f.c.verify.verify({ credential: t.value, organization: victim.identifier, endpoint: EndpointClass.INGEST }, f.inst.verifierToken),
      ),
    );
    assert.deepEqual(
      answers.map((a) => VerifyStatus[a.status]),
      victimTokens.map(() => "VALID"),
    );
  };

  before(async () => {
    victim = await createOrg(f.c, f.inst.operatorToken);
    victimTokens = await Promise.all(Array.from({ length: 20 }, () => issue(f.c, victim.adminToken, { kind: TokenKind.INGESTION })));
    await verifyVictims(); // now cached
  });

  it("keeps another organization's cached Verify at zero database lookups through a loop of failing and succeeding admin changes", async () => {
    const attacker = await createOrg(f.c, f.inst.operatorToken);
    const member = await addMember(f.c, attacker.adminToken, attacker.orgId, Role.ADMIN);
    const memberToken = await issue(f.c, f.inst.operatorToken, {
      organizationId: attacker.orgId,
      kind: TokenKind.ALL_ACCESS,
      userId: member,
    });
    const child = await f.c.admin.createOrganization(
      { identifier: `child-${attacker.identifier}`, parentId: attacker.orgId },
      attacker.adminToken,
    );
    const start = await lookups();
    for (let i = 0; i < 15; i++) {
      // Succeeding changes, each announcing tokens of the attacker's organization.
      await f.c.admin.setMembership({ userId: member, role: i % 2 ? Role.ADMIN : Role.VIEWER }, attacker.adminToken);
      await f.c.admin.setTokenEnabled({ id: memberToken.id, enabled: i % 2 === 1 }, attacker.adminToken);
      await f.c.admin.rotateToken({ id: attacker.defaultTokenId }, attacker.adminToken);
      await f.c.admin.setOrganizationEnabled({ id: child.organization!.id, enabled: i % 2 === 1 }, attacker.adminToken);
      const doomed = await issue(f.c, attacker.adminToken, { kind: TokenKind.INGESTION });
      await f.c.admin.deleteToken({ id: doomed.id }, attacker.adminToken);
      // Failing changes: each used to empty this instance's whole cache on its way out.
      await rejects(f.c.admin.setMembership({ userId: randomUUID(), role: Role.ADMIN }, attacker.adminToken), Code.NotFound);
      await rejects(f.c.admin.removeMembership({ userId: randomUUID() }, attacker.adminToken), Code.NotFound);
      await rejects(f.c.admin.setMembership({ userId: member, role: Role.UNSPECIFIED }, attacker.adminToken), Code.InvalidArgument);
      await rejects(f.c.admin.deleteUser({ id: randomUUID() }, f.inst.operatorToken), Code.NotFound);
      if (i % 5 === 4) await verifyVictims();
    }
    // And the operator removes a user of the attacker's organization for good.
    await f.c.admin.deleteUser({ id: member }, f.inst.operatorToken);
    await verifyVictims();
    assert.equal((await lookups()) - start, 0, "database lookups for the other organization's cached tokens");
  });

  it("still refuses the changed tokens at once on this instance", async () => {
    const org = await createOrg(f.c, f.inst.operatorToken);
    const user = await addMember(f.c, org.adminToken, org.orgId, Role.ADMIN);
    const t = await issue(f.c, f.inst.operatorToken, { organizationId: org.orgId, kind: TokenKind.ALL_ACCESS, userId: user });
    const ask = () =>
      f.c.verify.verify({ credential: t.value, organization: org.identifier, endpoint: EndpointClass.ADMIN }, f.inst.verifierToken);
    assert.equal((await ask()).status, VerifyStatus.VALID);
    await f.c.admin.removeMembership({ userId: user }, org.adminToken);
    assert.notEqual((await ask()).status, VerifyStatus.VALID, "a removed member's token, on the very next Verify");
    await f.c.admin.setMembership({ organizationId: org.orgId, userId: user, role: Role.ADMIN }, f.inst.operatorToken);
    assert.equal((await ask()).status, VerifyStatus.VALID, "a member brought back: its token, on the very next Verify");
    const other = await addMember(f.c, org.adminToken, org.orgId, Role.ADMIN);
    const t2 = await issue(f.c, f.inst.operatorToken, { organizationId: org.orgId, kind: TokenKind.ALL_ACCESS, userId: other });
    const ask2 = () =>
      f.c.verify.verify({ credential: t2.value, organization: org.identifier, endpoint: EndpointClass.ADMIN }, f.inst.verifierToken);
    assert.equal((await ask2()).status, VerifyStatus.VALID);
    await f.c.admin.deleteUser({ id: other }, f.inst.operatorToken);
    assert.notEqual((await ask2()).status, VerifyStatus.VALID, "a deleted user's token, on the very next Verify");
  });

  it("refuses a parent organization's token aimed at a sub-organization the moment the sub-organization is disabled", async () => {
    const parent = await createOrg(f.c, f.inst.operatorToken);
    const child = await f.c.admin.createOrganization({ identifier: `sub-${parent.identifier}`, parentId: parent.orgId }, parent.adminToken);
    const ask = () =>
      f.c.verify.verify(
        { credential: parent.defaultTokenValue, organization: child.organization!.identifier, endpoint: EndpointClass.INGEST },
        f.inst.verifierToken,
      );
    assert.equal((await ask()).status, VerifyStatus.VALID, "a parent's ingestion token reaches its sub-organization");
    assert.equal((await ask()).status, VerifyStatus.VALID); // cached
    await f.c.admin.setOrganizationEnabled({ id: child.organization!.id, enabled: false }, parent.adminToken);
    assert.equal((await ask()).status, VerifyStatus.ORGANIZATION_DISABLED);
    await f.c.admin.setOrganizationEnabled({ id: child.organization!.id, enabled: true }, parent.adminToken);
    assert.equal((await ask()).status, VerifyStatus.VALID);
  });
});
