/**
 * GetCaller in memory: any token that authenticates, of any kind, learns who it is — its
 * organization, its own id, name and kind, its owner, its effective role right now, whether it is
 * an operator's, its expiry — and nothing about anyone else. No credentials, or credentials that
 * do not authenticate, answer UNAUTHENTICATED.
 */
import assert from "node:assert/strict";
import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { Role, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { generateToken } from "../../src/domain/token-format.js";
import { useInMemoryTessera } from "../helpers/in-memory.js";
import { addMember, issue } from "../helpers/seed.js";
import { basic, flipOne, json } from "../service/support.js";
import { adminDemotedTo, rejects, useTwoOrganizations } from "./support.js";

describe("GetCaller, in memory", () => {
  const f = useInMemoryTessera();
  const x = useTwoOrganizations(f);
  const whoami = async (token: string) => (await f.t.c.admin.getCaller({}, token)).caller!;

  it("describes an operator token: operator, ADMIN, its root owner and the setup organization", async () => {
    const c = await whoami(f.inst.operatorToken);
    assert.equal(c.operator, true);
    assert.equal(c.role, Role.ADMIN);
    assert.equal(c.tokenKind, TokenKind.OPERATOR);
    assert.equal(c.organizationId, f.inst.orgId);
    assert.equal(c.organizationIdentifier, f.inst.identifier);
    assert.equal(c.owner?.id, f.inst.operatorUserId);
    assert.equal(c.owner?.root, true);
    assert.equal(c.tokenName, "operator");
    assert.equal(c.expireTime, undefined);
  });

  it("describes an all-access token with its owner's current role, which follows the owner's membership", async () => {
    const a = await whoami(x.a.adminToken);
    assert.deepEqual(
      [a.organizationId, a.organizationIdentifier, a.tokenId, a.tokenName, a.tokenKind, a.owner?.id, a.role, a.operator],
      [x.a.orgId, x.a.identifier, x.a.adminTokenId, "admin-all", TokenKind.ALL_ACCESS, x.a.adminUserId, Role.ADMIN, false],
    );
    const demoted = await adminDemotedTo(f.t.c, x.a.adminToken, x.a.orgId, Role.VIEWER);
    assert.equal((await whoami(demoted.token)).role, Role.VIEWER, "demoted to VIEWER");
    await f.t.c.admin.setMembership({ userId: demoted.userId, role: Role.EDITOR }, x.a.adminToken);
    assert.equal((await whoami(demoted.token)).role, Role.EDITOR, "the very next call sees the new role");
  });

  it("answers any kind of token that authenticates, not only the admin API's callers", async () => {
    const ingestion = await whoami(x.a.defaultTokenValue);
    assert.deepEqual(
      [ingestion.tokenKind, ingestion.tokenId, ingestion.tokenName, ingestion.owner, ingestion.role, ingestion.operator],
      [TokenKind.INGESTION, x.a.defaultTokenId, "default", undefined, Role.UNSPECIFIED, false],
    );
    const verifier = await whoami(f.inst.verifierToken);
    assert.equal(verifier.tokenKind, TokenKind.VERIFIER);
    assert.equal(verifier.operator, false);
    const editor = await addMember(f.t.c, x.a.adminToken, x.a.orgId, Role.EDITOR);
    await f.t.c.admin.createBucket({ name: "whoami" }, x.a.adminToken);
    const rw = await issue(f.t.c, x.a.adminToken, {
      kind: TokenKind.READ_WRITE,
      userId: editor,
      permissions: { bucketAccess: [{ bucket: "whoami", read: true }] },
    });
    const r = await whoami(rw.value);
    assert.deepEqual([r.tokenKind, r.owner?.id, r.role], [TokenKind.READ_WRITE, editor, Role.EDITOR]);
    const at = Date.now() + 3_600_000;
    const shared = await issue(f.t.c, x.a.adminToken, {
      kind: TokenKind.SHARED,
      permissions: { dashboards: ["d"] },
      expireTime: timestampFromMs(at),
    });
    const s = await whoami(shared.value);
    assert.equal(s.tokenKind, TokenKind.SHARED);
    assert.equal(timestampDate(s.expireTime!).getTime(), at);
  });

  it("takes Basic credentials too, and names nothing of another organization", async () => {
    const r = await f.t.raw.admin.getCaller({}, basic(x.a.identifier, x.a.adminToken));
    assert.equal(r.caller!.tokenId, x.a.adminTokenId);
    const text = json(await f.t.c.admin.getCaller({}, x.a.adminToken));
    for (const s of [x.b.orgId, x.b.identifier, x.b.adminTokenId, x.b.adminUserId, x.child.orgId]) {
      assert.ok(!text.includes(s), `GetCaller names ${s}`);
    }
  });

  it("answers UNAUTHENTICATED without credentials, and for tokens that do not exist, are disabled, expired or orphaned", async () => {
    const err = await rejects(f.t.c.admin.getCaller({}), Code.Unauthenticated, "no credentials");
    assert.match(err.rawMessage, /authorization/);
    await rejects(f.t.raw.admin.getCaller({}, "Bearer"), Code.Unauthenticated, "a scheme with no token");
    await rejects(f.t.c.admin.getCaller({}, generateToken("ALL_ACCESS")), Code.Unauthenticated, "an unknown token");
    await rejects(f.t.c.admin.getCaller({}, flipOne(x.a.adminToken)), Code.Unauthenticated, "a mistyped token");
    await rejects(f.t.c.admin.getCaller({}, x.callers.disabled), Code.Unauthenticated, "a disabled token");
    await rejects(f.t.c.admin.getCaller({}, x.callers.ownerGone), Code.Unauthenticated, "a token whose owner left");
    await rejects(f.t.raw.admin.getCaller({}, basic(x.b.identifier, x.a.adminToken)), Code.Unauthenticated, "addressed to B");
    const expiring = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION });
    await f.t.c.admin.updateToken(
      { id: expiring.id, updateMask: { paths: ["expire_time"] }, expireTime: timestampFromMs(Date.now() + 1500) },
      x.a.adminToken,
    );
    await whoami(expiring.value);
    await new Promise((r) => setTimeout(r, 1600));
    await rejects(f.t.c.admin.getCaller({}, expiring.value), Code.Unauthenticated, "an expired token");
  });
});
