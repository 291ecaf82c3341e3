/**
 * Users and memberships in memory: CreateUser, DeleteUser, SetMembership and RemoveMembership,
 * each with its happy path and every error code it has. Users are global, so an organization's
 * admin reaches only its members: every other user id answers NOT_FOUND.
 */
import assert from "node:assert/strict";
import { Code } from "@connectrpc/connect";
import { EndpointClass, Role, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { useInMemoryTessera } from "../helpers/in-memory.js";
import { addMember, issue } from "../helpers/seed.js";
import {
  adminDemotedTo,
  assertNoHint,
  expectStatus,
  itRefusesBadCallers,
  rejects,
  tag,
  unknownId,
  useTwoOrganizations,
} from "./support.js";

describe("users and memberships, in memory", () => {
  const f = useInMemoryTessera();
  const x = useTwoOrganizations(f);
  /** A member of B only, that A's admin must not reach (no test makes it a member elsewhere). */
  let bMember: string;
  const get = x.get;
  const verify = (credential: string, endpoint = EndpointClass.QUERY) =>
    f.t.c.verify.verify({ credential, endpoint }, f.inst.verifierToken);

  before(async () => {
    bMember = await addMember(f.t.c, x.b.adminToken, x.b.orgId, Role.VIEWER);
  });

  describe("CreateUser", () => {
    it("lets an admin create a member of its organization with a role", async () => {
      const name = `viewer-${tag()}`;
      const r = await f.t.c.admin.createUser({ name, role: Role.VIEWER }, x.a.adminToken);
      assert.equal(r.user!.name, name);
      assert.equal(r.user!.root, false);
      assert.ok(r.user!.id && r.user!.createTime);
      assert.equal(r.membership!.organizationId, x.a.orgId);
      assert.equal(r.membership!.userId, r.user!.id);
      assert.equal(r.membership!.role, Role.VIEWER);
    });

    it("lets a parent's admin create a member of a sub-organization, and an operator a member of any organization", async () => {
      const sub = await f.t.c.admin.createUser({ name: `c-${tag()}`, organizationId: x.child.orgId, role: Role.EDITOR }, x.a.adminToken);
      assert.equal(sub.membership!.organizationId, x.child.orgId);
      const any = await f.t.c.admin.createUser({ name: `b-${tag()}`, organizationId: x.b.orgId, role: Role.ADMIN }, f.inst.operatorToken);
      assert.equal(any.membership!.organizationId, x.b.orgId);
      assert.equal(any.membership!.role, Role.ADMIN);
    });

    it("lets an operator create a user with no membership, and a root user", async () => {
      const lone = await f.t.c.admin.createUser({ name: `lone-${tag()}` }, f.inst.operatorToken);
      assert.equal(lone.membership, undefined);
      const root = await f.t.c.admin.createUser({ name: `root-${tag()}`, root: true }, f.inst.operatorToken);
      assert.equal(root.user!.root, true);
      // A root user may own an operator token; a plain user may not.
      const op = await issue(f.t.c, f.inst.operatorToken, { kind: TokenKind.OPERATOR, userId: root.user!.id });
      expectStatus(await verify(op.value, EndpointClass.ADMIN), VerifyStatus.VALID, "the root user's operator token");
    });

    it("answers INVALID_ARGUMENT for a missing or malformed name, a missing or unknown role, and a bad organization id", async () => {
      for (const [label, req] of [
        ["no name", { name: "", role: Role.VIEWER }],
        ["a space in the name", { name: "two words", role: Role.VIEWER }],
        ["a leading dot", { name: ".hidden", role: Role.VIEWER }],
        ["129 characters", { name: "u".repeat(129), role: Role.VIEWER }],
        ["a NUL in the name", { name: "a\u0000b", role: Role.VIEWER }],
        ["no role", { name: `r-${tag()}` }],
        ["an unknown role", { name: `r-${tag()}`, role: 42 as Role }],
        ["an organization id that is not a UUID", { name: `r-${tag()}`, role: Role.VIEWER, organizationId: "acme" }],
      ] as const) {
        await rejects(f.t.c.admin.createUser(req, x.a.adminToken), Code.InvalidArgument, label);
      }
      await rejects(
        f.t.c.admin.createUser({ name: `r-${tag()}`, organizationId: x.b.orgId }, f.inst.operatorToken),
        Code.InvalidArgument,
        "an operator naming an organization without a role",
      );
    });

    it("answers ALREADY_EXISTS for a name any user has, in any organization", async () => {
      const name = `dup-${tag()}`;
      await f.t.c.admin.createUser({ name, role: Role.VIEWER }, x.b.adminToken);
      const err = await rejects(
        f.t.c.admin.createUser({ name, role: Role.VIEWER }, x.b.adminToken),
        Code.AlreadyExists,
        "the same organization",
      );
      assert.match(err.rawMessage, /already exists/);
      await rejects(f.t.c.admin.createUser({ name, role: Role.VIEWER }, x.a.adminToken), Code.AlreadyExists, "another organization");
    });

    it("answers PERMISSION_DENIED to an admin creating a root user, and to an EDITOR or VIEWER creating anyone", async () => {
      await rejects(
        f.t.c.admin.createUser({ name: `root-${tag()}`, root: true, role: Role.ADMIN }, x.a.adminToken),
        Code.PermissionDenied,
        "root by an admin",
      );
      for (const role of [Role.EDITOR, Role.VIEWER]) {
        const demoted = await adminDemotedTo(f.t.c, x.a.adminToken, x.a.orgId, role);
        await rejects(f.t.c.admin.createUser({ name: `by-${tag()}`, role: Role.VIEWER }, demoted.token), Code.PermissionDenied, Role[role]);
      }
    });

    it("answers NOT_FOUND for another organization, the caller's parent and an unknown organization, creating nobody", async () => {
      const name = `evil-${tag()}`;
      for (const [label, organizationId, token] of [
        ["another organization", x.b.orgId, x.a.adminToken],
        ["the caller's parent", x.a.orgId, x.child.adminToken],
        ["an unknown organization, as an operator", unknownId(), f.inst.operatorToken],
      ] as const) {
        const err = await rejects(f.t.c.admin.createUser({ name, organizationId, role: Role.ADMIN }, token), Code.NotFound, label);
        assertNoHint(err, [organizationId], label);
      }
      // The name is still free: nothing was created.
      await f.t.c.admin.createUser({ name, role: Role.VIEWER }, x.a.adminToken);
    });

    itRefusesBadCallers("CreateUser", get, (c, token) => c.admin.createUser({ name: `u-${tag()}`, role: Role.VIEWER }, token));
  });

  describe("DeleteUser", () => {
    it("lets an operator delete a user, whose tokens stop working at once, everywhere", async () => {
      const userId = await addMember(f.t.c, x.a.adminToken, x.a.orgId, Role.ADMIN);
      const aa = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.ALL_ACCESS, userId });
      await f.t.c.admin.setMembership({ organizationId: x.b.orgId, userId, role: Role.ADMIN }, f.inst.operatorToken);
      const bb = await issue(f.t.c, f.inst.operatorToken, { organizationId: x.b.orgId, kind: TokenKind.ALL_ACCESS, userId });
      expectStatus(await verify(aa.value), VerifyStatus.VALID, "before, in A");
      assert.ok((await f.t.c.admin.listTokens({}, aa.value)).tokens.length > 0, "the token calls the admin API before");
      await f.t.c.admin.deleteUser({ id: userId }, f.inst.operatorToken);
      expectStatus(await verify(aa.value), VerifyStatus.OWNER_INACTIVE, "after, in A");
      expectStatus(await verify(bb.value), VerifyStatus.OWNER_INACTIVE, "after, in B");
      await rejects(f.t.c.admin.listTokens({}, aa.value), Code.Unauthenticated, "the token calls the admin API after");
      await rejects(f.t.c.admin.deleteUser({ id: userId }, f.inst.operatorToken), Code.NotFound, "deleting it again");
    });

    it("leaves organization-owned tokens the user created working", async () => {
      const userId = await addMember(f.t.c, x.a.adminToken, x.a.orgId, Role.ADMIN);
      const aa = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.ALL_ACCESS, userId });
      const ingest = await issue(f.t.c, aa.value, { kind: TokenKind.INGESTION });
      await f.t.c.admin.deleteUser({ id: userId }, f.inst.operatorToken);
      expectStatus(await verify(ingest.value, EndpointClass.INGEST), VerifyStatus.VALID, "the ingestion token it created");
    });

    it("answers INVALID_ARGUMENT for an id that is not a UUID", async () => {
      await rejects(f.t.c.admin.deleteUser({ id: "" }, f.inst.operatorToken), Code.InvalidArgument, "no id");
      await rejects(f.t.c.admin.deleteUser({ id: "root" }, f.inst.operatorToken), Code.InvalidArgument, "a name");
    });

    it("answers FAILED_PRECONDITION to an operator deleting the user its own token belongs to", async () => {
      await rejects(f.t.c.admin.deleteUser({ id: f.inst.operatorUserId }, f.inst.operatorToken), Code.FailedPrecondition);
      assert.ok((await f.t.c.admin.listOrganizations({}, f.inst.operatorToken)).organizations.length > 0, "the operator still works");
    });

    it("answers PERMISSION_DENIED to organization admins, for their own members and for anyone else", async () => {
      const member = await addMember(f.t.c, x.a.adminToken, x.a.orgId, Role.VIEWER);
      const err = await rejects(
        f.t.c.admin.deleteUser({ id: member }, x.a.adminToken),
        Code.PermissionDenied,
        "a member of its organization",
      );
      assert.match(err.rawMessage, /RemoveMembership/);
      const other = await rejects(
        f.t.c.admin.deleteUser({ id: bMember }, x.a.adminToken),
        Code.PermissionDenied,
        "a member of another organization",
      );
      assertNoHint(other, [bMember], "another organization's user");
      // Both users are still there: an operator can still give them roles.
      await f.t.c.admin.setMembership({ organizationId: x.b.orgId, userId: bMember, role: Role.VIEWER }, f.inst.operatorToken);
    });

    it("answers NOT_FOUND for an id no live user has", async () => {
      await rejects(f.t.c.admin.deleteUser({ id: unknownId() }, f.inst.operatorToken), Code.NotFound);
    });

    itRefusesBadCallers("DeleteUser", get, (c, token) => c.admin.deleteUser({ id: unknownId() }, token));
  });

  describe("SetMembership", () => {
    it("lets an admin change a member's role, which narrows the member's tokens on the very next Verify", async () => {
      const bucket = `rw-${tag()}`;
      await f.t.c.admin.createBucket({ name: bucket }, x.a.adminToken);
      const userId = await addMember(f.t.c, x.a.adminToken, x.a.orgId, Role.EDITOR);
      const rw = await issue(f.t.c, x.a.adminToken, {
        kind: TokenKind.READ_WRITE,
        userId,
        permissions: { bucketAccess: [{ bucket, read: true, write: true }] },
      });
      const write = () => f.t.c.verify.verify({ credential: rw.value, endpoint: EndpointClass.INGEST, bucket }, f.inst.verifierToken);
      expectStatus(await write(), VerifyStatus.VALID, "an EDITOR writes");
      const r = await f.t.c.admin.setMembership({ userId, role: Role.VIEWER }, x.a.adminToken);
      assert.equal(r.membership!.organizationId, x.a.orgId);
      assert.equal(r.membership!.userId, userId);
      assert.equal(r.membership!.role, Role.VIEWER);
      const after = await write();
      expectStatus(after, VerifyStatus.FORBIDDEN, "a VIEWER may not write");
      assert.equal(after.role, Role.VIEWER);
      await f.t.c.admin.setMembership({ userId, role: Role.EDITOR }, x.a.adminToken);
      expectStatus(await write(), VerifyStatus.VALID, "an EDITOR again");
    });

    it("lets an operator bring a user of another organization in, and a parent's admin change a child's member", async () => {
      const outsider = await addMember(f.t.c, x.b.adminToken, x.b.orgId, Role.VIEWER);
      const r = await f.t.c.admin.setMembership({ organizationId: x.a.orgId, userId: outsider, role: Role.VIEWER }, f.inst.operatorToken);
      assert.equal(r.membership!.organizationId, x.a.orgId);
      assert.equal(r.membership!.userId, outsider);
      const childMember = await addMember(f.t.c, x.child.adminToken, x.child.orgId, Role.VIEWER);
      const c = await f.t.c.admin.setMembership({ organizationId: x.child.orgId, userId: childMember, role: Role.EDITOR }, x.a.adminToken);
      assert.equal(c.membership!.role, Role.EDITOR);
    });

    it("answers INVALID_ARGUMENT for a malformed user id or organization id, and a missing or unknown role", async () => {
      const member = await addMember(f.t.c, x.a.adminToken, x.a.orgId, Role.VIEWER);
      for (const [label, req] of [
        ["no user id", { userId: "", role: Role.EDITOR }],
        ["a user id that is not a UUID", { userId: "alice", role: Role.EDITOR }],
        ["no role", { userId: member }],
        ["an unknown role", { userId: member, role: 7 as Role }],
        ["an organization id that is not a UUID", { userId: member, role: Role.EDITOR, organizationId: "acme" }],
      ] as const) {
        await rejects(f.t.c.admin.setMembership(req, x.a.adminToken), Code.InvalidArgument, label);
      }
    });

    it("answers NOT_FOUND to an admin bringing in a user from outside, naming another organization, or naming nobody", async () => {
      for (const [label, req, token] of [
        ["another organization's member, into the caller's", { userId: bMember, role: Role.ADMIN }, x.a.adminToken],
        ["itself, into another organization", { organizationId: x.b.orgId, userId: x.a.adminUserId, role: Role.ADMIN }, x.a.adminToken],
        ["another organization's member, in it", { organizationId: x.b.orgId, userId: bMember, role: Role.ADMIN }, x.a.adminToken],
        [
          "its parent's admin, in the parent",
          { organizationId: x.a.orgId, userId: x.a.adminUserId, role: Role.VIEWER },
          x.child.adminToken,
        ],
        ["an unknown user", { userId: unknownId(), role: Role.VIEWER }, x.a.adminToken],
        ["an unknown user, as an operator", { organizationId: x.a.orgId, userId: unknownId(), role: Role.VIEWER }, f.inst.operatorToken],
        [
          "an unknown organization, as an operator",
          { organizationId: unknownId(), userId: bMember, role: Role.VIEWER },
          f.inst.operatorToken,
        ],
      ] as const) {
        const err = await rejects(f.t.c.admin.setMembership(req, token), Code.NotFound, label);
        assertNoHint(err, [req.userId, ...("organizationId" in req ? [req.organizationId] : [])], label);
      }
      // A's admin is still ADMIN of A, and of nothing else.
      assert.ok((await f.t.c.admin.createBucket({ name: `still-${tag()}` }, x.a.adminToken)).bucket);
      await rejects(f.t.c.admin.listTokens({ organizationId: x.b.orgId }, x.a.adminToken), Code.NotFound, "A's admin in B");
    });

    it("answers PERMISSION_DENIED to an EDITOR or VIEWER, promoting itself included", async () => {
      for (const role of [Role.EDITOR, Role.VIEWER]) {
        const demoted = await adminDemotedTo(f.t.c, x.a.adminToken, x.a.orgId, role);
        await rejects(
          f.t.c.admin.setMembership({ userId: demoted.userId, role: Role.ADMIN }, demoted.token),
          Code.PermissionDenied,
          `${Role[role]} promoting itself`,
        );
      }
    });

    itRefusesBadCallers("SetMembership", get, (c, token) => c.admin.setMembership({ userId: x.a.adminUserId, role: Role.ADMIN }, token));
  });

  describe("RemoveMembership", () => {
    it("lets an admin remove a member, whose tokens there stop working at once while its other memberships stay", async () => {
      const userId = await addMember(f.t.c, x.a.adminToken, x.a.orgId, Role.ADMIN);
      const aa = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.ALL_ACCESS, userId });
      await f.t.c.admin.setMembership({ organizationId: x.b.orgId, userId, role: Role.ADMIN }, f.inst.operatorToken);
      const bb = await issue(f.t.c, f.inst.operatorToken, { organizationId: x.b.orgId, kind: TokenKind.ALL_ACCESS, userId });
      await f.t.c.admin.removeMembership({ userId }, x.a.adminToken);
      expectStatus(await verify(aa.value), VerifyStatus.OWNER_INACTIVE, "its token in A");
      expectStatus(await verify(bb.value), VerifyStatus.VALID, "its token in B");
      await rejects(f.t.c.admin.removeMembership({ userId }, x.a.adminToken), Code.NotFound, "removing it again");
    });

    it("lets a parent's admin and an operator remove a sub-organization's member", async () => {
      const one = await addMember(f.t.c, x.child.adminToken, x.child.orgId, Role.VIEWER);
      const two = await addMember(f.t.c, x.child.adminToken, x.child.orgId, Role.VIEWER);
      await f.t.c.admin.removeMembership({ organizationId: x.child.orgId, userId: one }, x.a.adminToken);
      await f.t.c.admin.removeMembership({ organizationId: x.child.orgId, userId: two }, f.inst.operatorToken);
      await rejects(f.t.c.admin.removeMembership({ userId: one }, x.child.adminToken), Code.NotFound, "gone");
      await rejects(f.t.c.admin.removeMembership({ userId: two }, x.child.adminToken), Code.NotFound, "gone too");
    });

    it("answers INVALID_ARGUMENT for a malformed user id or organization id", async () => {
      await rejects(f.t.c.admin.removeMembership({ userId: "" }, x.a.adminToken), Code.InvalidArgument, "no user id");
      await rejects(f.t.c.admin.removeMembership({ userId: "bob" }, x.a.adminToken), Code.InvalidArgument, "not a UUID");
      await rejects(
        f.t.c.admin.removeMembership({ userId: x.a.adminUserId, organizationId: "acme" }, x.a.adminToken),
        Code.InvalidArgument,
        "organization id",
      );
    });

    it("answers NOT_FOUND for another organization's member, another organization, and someone who is no member", async () => {
      const lone = (await f.t.c.admin.createUser({ name: `lone-${tag()}` }, f.inst.operatorToken)).user!.id;
      for (const [label, req, token] of [
        ["another organization's member, from the caller's", { userId: bMember }, x.a.adminToken],
        ["another organization's member, from it", { organizationId: x.b.orgId, userId: bMember }, x.a.adminToken],
        ["the parent's admin, from the parent", { organizationId: x.a.orgId, userId: x.a.adminUserId }, x.child.adminToken],
        ["a user with no membership", { userId: lone }, x.a.adminToken],
        ["an unknown user", { userId: unknownId() }, x.a.adminToken],
        ["an unknown organization, as an operator", { organizationId: unknownId(), userId: bMember }, f.inst.operatorToken],
      ] as const) {
        const err = await rejects(f.t.c.admin.removeMembership(req, token), Code.NotFound, label);
        assertNoHint(err, [req.userId], label);
      }
      // B's member is still B's member: B's admin can still change its role.
      await f.t.c.admin.setMembership({ userId: bMember, role: Role.VIEWER }, x.b.adminToken);
    });

    it("answers PERMISSION_DENIED to an EDITOR or VIEWER", async () => {
      const member = await addMember(f.t.c, x.a.adminToken, x.a.orgId, Role.VIEWER);
      for (const role of [Role.EDITOR, Role.VIEWER]) {
        const demoted = await adminDemotedTo(f.t.c, x.a.adminToken, x.a.orgId, role);
        await rejects(f.t.c.admin.removeMembership({ userId: member }, demoted.token), Code.PermissionDenied, Role[role]);
      }
      await f.t.c.admin.removeMembership({ userId: member }, x.a.adminToken);
    });

    itRefusesBadCallers("RemoveMembership", get, (c, token) => c.admin.removeMembership({ userId: unknownId() }, token));
  });
});
