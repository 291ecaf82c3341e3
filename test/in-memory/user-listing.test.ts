/**
 * Reading users in memory: ListUsers, GetUser and ListMemberships. Users are global, so what a
 * caller sees is bounded by the organizations it reaches: its own and the sub-organizations that
 * keep parent access (everything, for an operator). A user it may not see answers NOT_FOUND,
 * exactly like one that does not exist, and no listing ever names one.
 */
import assert from "node:assert/strict";
import { Code } from "@connectrpc/connect";
import { Role } from "../../src/gen/tessera/v1/resources_pb.js";
import { useInMemoryTessera } from "../helpers/in-memory.js";
import { addMember } from "../helpers/seed.js";
import { json } from "../service/support.js";
import { adminDemotedTo, assertNoHint, itRefusesBadCallers, rejects, tag, unknownId, useTwoOrganizations } from "./support.js";

describe("ListUsers, GetUser and ListMemberships, in memory", () => {
  const f = useInMemoryTessera();
  const x = useTwoOrganizations(f);
  const get = x.get;
  /** Members created here: of A, of A's child, of B, of the closed child, and of A and B both. */
  let aViewer: string;
  let childEditor: string;
  let bMember: string;
  let closedMember: string;
  let inAandB: string;
  let loner: string;
  let viewerToken: string;
  const bSecrets = () => [x.b.orgId, x.b.identifier, bMember, x.b.adminUserId, `${x.b.identifier}-admin`];

  before(async () => {
    aViewer = await addMember(f.t.c, x.a.adminToken, x.a.orgId, Role.VIEWER, `a-viewer-${tag()}`);
    childEditor = await addMember(f.t.c, x.a.adminToken, x.child.orgId, Role.EDITOR, `child-editor-${tag()}`);
    bMember = await addMember(f.t.c, x.b.adminToken, x.b.orgId, Role.VIEWER, `b-member-${tag()}`);
    closedMember = await addMember(f.t.c, x.closedChild.adminToken, x.closedChild.orgId, Role.ADMIN, `closed-${tag()}`);
    inAandB = await addMember(f.t.c, x.a.adminToken, x.a.orgId, Role.EDITOR, `both-${tag()}`);
    await f.t.c.admin.setMembership({ organizationId: x.b.orgId, userId: inAandB, role: Role.ADMIN }, f.inst.operatorToken);
    loner = (await f.t.c.admin.createUser({ name: `loner-${tag()}` }, f.inst.operatorToken)).user!.id;
    viewerToken = (await adminDemotedTo(f.t.c, x.a.adminToken, x.a.orgId, Role.VIEWER)).token;
  });

  /** Every page of ListUsers, `pageSize` at a time. */
  const allUsers = async (token: string, req: { organizationId?: string; pageSize?: number } = {}) => {
    const out: Array<{ id: string; name: string }> = [];
    let pageToken = "";
    do {
      const r = await f.t.c.admin.listUsers({ ...req, pageToken }, token);
      if (req.pageSize) assert.ok(r.users.length <= req.pageSize);
      out.push(...r.users.map((u) => ({ id: u.id, name: u.name })));
      pageToken = r.nextPageToken;
    } while (pageToken !== "");
    return out;
  };

  describe("ListUsers", () => {
    it("shows an admin the members of its organization and of the sub-organizations it reaches, each once, by name", async () => {
      const users = await allUsers(x.a.adminToken);
      const ids = users.map((u) => u.id);
      for (const id of [x.a.adminUserId, aViewer, inAandB, childEditor, x.child.adminUserId]) assert.ok(ids.includes(id), id);
      for (const id of [bMember, closedMember, x.closedChild.adminUserId, loner, f.inst.operatorUserId]) {
        assert.ok(!ids.includes(id), `A's admin sees ${id}`);
      }
      assert.equal(new Set(ids).size, ids.length, "no user twice");
      const names = users.map((u) => u.name);
      assert.deepEqual(names, [...names].sort(), "ordered by name");
      for (const s of [x.b.orgId, bMember]) assert.ok(!json(users).includes(s));
    });

    it("filters by organization, showing only that organization's members", async () => {
      const child = (await allUsers(x.a.adminToken, { organizationId: x.child.orgId })).map((u) => u.id).sort();
      assert.deepEqual(child, [x.child.adminUserId, childEditor].sort());
      const b = (await allUsers(f.inst.operatorToken, { organizationId: x.b.orgId })).map((u) => u.id);
      assert.ok(b.includes(bMember) && b.includes(inAandB) && !b.includes(aViewer));
    });

    it("shows an operator every live user, members or not, and no deleted one", async () => {
      const gone = await addMember(f.t.c, x.a.adminToken, x.a.orgId, Role.VIEWER);
      await f.t.c.admin.deleteUser({ id: gone }, f.inst.operatorToken);
      const ids = (await allUsers(f.inst.operatorToken)).map((u) => u.id);
      for (const id of [loner, bMember, closedMember, f.inst.operatorUserId, x.a.adminUserId]) assert.ok(ids.includes(id), id);
      assert.ok(!ids.includes(gone), "a deleted user");
      assert.ok(!(await allUsers(x.a.adminToken)).some((u) => u.id === gone));
    });

    it("pages one at a time through the same users a single page holds, for an admin, a VIEWER and an operator", async () => {
      for (const [label, token, organizationId] of [
        ["A's admin", x.a.adminToken, ""],
        ["A's VIEWER", viewerToken, ""],
        ["an operator, in A's child", f.inst.operatorToken, x.child.orgId],
      ] as const) {
        const whole = await allUsers(token, { organizationId });
        assert.deepEqual(await allUsers(token, { organizationId, pageSize: 1 }), whole, label);
      }
      const capped = await f.t.c.admin.listUsers({ pageSize: 2_147_483_647 }, f.inst.operatorToken);
      assert.ok(capped.users.length > 0 && capped.users.length <= 1000, "a huge page size is capped");
    });

    it("answers INVALID_ARGUMENT for a negative page size, a bad organization id, and a page token of another listing, filter or caller", async () => {
      const first = await f.t.c.admin.listUsers({ pageSize: 1 }, x.a.adminToken);
      const ofChild = await f.t.c.admin.listUsers({ pageSize: 1, organizationId: x.child.orgId }, x.a.adminToken);
      const tokens = await f.t.c.admin.listTokens({ pageSize: 1 }, x.a.adminToken);
      for (const t of [first, ofChild, tokens]) assert.notEqual(t.nextPageToken, "");
      for (const [label, req, token, pattern] of [
        ["a negative page size", { pageSize: -1 }, x.a.adminToken, /page_size/],
        ["an organization id that is not a UUID", { organizationId: "acme" }, x.a.adminToken, /organization_id/],
        ["garbage", { pageToken: "%%%" }, x.a.adminToken, /not valid/],
        ["a ListTokens page token", { pageToken: tokens.nextPageToken }, x.a.adminToken, /not valid/],
        [
          "the unfiltered token, with a filter",
          { pageToken: first.nextPageToken, organizationId: x.child.orgId },
          x.a.adminToken,
          /filters/,
        ],
        ["the child's token, without the filter", { pageToken: ofChild.nextPageToken }, x.a.adminToken, /filters/],
        ["A's token, by another caller", { pageToken: first.nextPageToken }, x.child.adminToken, /does not match the request's filters/],
      ] as const) {
        const err = await rejects(f.t.c.admin.listUsers(req, token), Code.InvalidArgument, label);
        assert.match(err.rawMessage, pattern, label);
      }
    });

    it("answers NOT_FOUND for another organization, the caller's parent, a closed child and an unknown one", async () => {
      for (const [label, organizationId, token] of [
        ["another organization", x.b.orgId, x.a.adminToken],
        ["the caller's parent", x.a.orgId, x.child.adminToken],
        ["a child denying parent access", x.closedChild.orgId, x.a.adminToken],
        ["an unknown organization, as an operator", unknownId(), f.inst.operatorToken],
      ] as const) {
        const err = await rejects(f.t.c.admin.listUsers({ organizationId }, token), Code.NotFound, label);
        assertNoHint(err, bSecrets(), label);
      }
    });

    itRefusesBadCallers("ListUsers", get, (c, token) => c.admin.listUsers({}, token));
  });

  describe("GetUser", () => {
    it("returns a user the caller may see with only the memberships it may see", async () => {
      const both = await f.t.c.admin.getUser({ id: inAandB }, x.a.adminToken);
      assert.equal(both.user!.id, inAandB);
      assert.deepEqual(
        both.memberships.map((m) => [m.organizationId, m.role]),
        [[x.a.orgId, Role.EDITOR]],
        "not its membership in B",
      );
      assert.ok(!json(both).includes(x.b.orgId), "GetUser names B");
      const child = await f.t.c.admin.getUser({ id: childEditor.toUpperCase() }, x.a.adminToken);
      assert.deepEqual(
        child.memberships.map((m) => m.organizationId),
        [x.child.orgId],
      );
      const byViewer = await f.t.c.admin.getUser({ id: aViewer }, viewerToken);
      assert.equal(byViewer.user!.id, aViewer, "any member may read it");
    });

    it("shows an operator any live user and all its memberships, a user with none included", async () => {
      const all = await f.t.c.admin.getUser({ id: inAandB }, f.inst.operatorToken);
      assert.deepEqual(all.memberships.map((m) => m.organizationId).sort(), [x.a.orgId, x.b.orgId].sort());
      const lone = await f.t.c.admin.getUser({ id: loner }, f.inst.operatorToken);
      assert.equal(lone.user!.id, loner);
      assert.deepEqual(lone.memberships, []);
    });

    it("answers INVALID_ARGUMENT for an id that is not a UUID", async () => {
      for (const id of ["", "alice", `${aViewer}x`]) {
        await rejects(f.t.c.admin.getUser({ id }, x.a.adminToken), Code.InvalidArgument, JSON.stringify(id));
      }
    });

    it("answers NOT_FOUND, naming nothing, for users of other organizations, the caller's parent, a closed child, a deleted and an unknown user", async () => {
      const gone = await addMember(f.t.c, x.a.adminToken, x.a.orgId, Role.VIEWER);
      await f.t.c.admin.deleteUser({ id: gone }, f.inst.operatorToken);
      for (const [label, id, token] of [
        ["B's member", bMember, x.a.adminToken],
        ["B's admin", x.b.adminUserId, x.a.adminToken],
        ["a user with no membership", loner, x.a.adminToken],
        ["the operator", f.inst.operatorUserId, x.a.adminToken],
        ["the parent's admin, from the child", x.a.adminUserId, x.child.adminToken],
        ["a closed child's member", closedMember, x.a.adminToken],
        ["a deleted user", gone, x.a.adminToken],
        ["a deleted user, as an operator", gone, f.inst.operatorToken],
        ["an unknown id", unknownId(), x.a.adminToken],
        ["an unknown id, as an operator", unknownId(), f.inst.operatorToken],
      ] as const) {
        const err = await rejects(f.t.c.admin.getUser({ id }, token), Code.NotFound, label);
        assert.equal(err.rawMessage, "user not found", label);
      }
    });

    itRefusesBadCallers("GetUser", get, (c, token) => c.admin.getUser({ id: x.a.adminUserId }, token));
  });

  describe("ListMemberships", () => {
    it("lists an organization's members with their roles and users, by name", async () => {
      const r = await f.t.c.admin.listMemberships({}, x.a.adminToken);
      const byUser = new Map(r.members.map((m) => [m.user!.id, m]));
      assert.equal(byUser.get(aViewer)?.membership?.role, Role.VIEWER);
      assert.equal(byUser.get(inAandB)?.membership?.role, Role.EDITOR);
      assert.equal(byUser.get(x.a.adminUserId)?.membership?.role, Role.ADMIN);
      assert.ok(r.members.every((m) => m.membership!.organizationId === x.a.orgId && m.membership!.userId === m.user!.id));
      assert.ok(!byUser.has(childEditor) && !byUser.has(bMember), "only A's own members");
      const names = r.members.map((m) => m.user!.name);
      assert.deepEqual(names, [...names].sort());
      assert.equal(r.nextPageToken, "");
    });

    it("lets any member, a parent's admin and an operator list them, and pages one at a time", async () => {
      const all = (await f.t.c.admin.listMemberships({}, x.a.adminToken)).members.map((m) => m.user!.id);
      assert.deepEqual(
        (await f.t.c.admin.listMemberships({}, viewerToken)).members.map((m) => m.user!.id),
        all,
        "a VIEWER",
      );
      const child = await f.t.c.admin.listMemberships({ organizationId: x.child.orgId }, x.a.adminToken);
      assert.deepEqual(child.members.map((m) => m.user!.id).sort(), [x.child.adminUserId, childEditor].sort());
      const b = await f.t.c.admin.listMemberships({ organizationId: x.b.orgId }, f.inst.operatorToken);
      assert.ok(b.members.some((m) => m.user!.id === bMember && m.membership!.role === Role.VIEWER));
      const seen: string[] = [];
      let pageToken = "";
      do {
        const r = await f.t.c.admin.listMemberships({ pageSize: 1, pageToken }, x.a.adminToken);
        assert.ok(r.members.length <= 1);
        seen.push(...r.members.map((m) => m.user!.id));
        pageToken = r.nextPageToken;
      } while (pageToken !== "");
      assert.deepEqual(seen, all);
    });

    it("answers INVALID_ARGUMENT for a malformed organization id, a negative page size and a page token of another organization or listing", async () => {
      const ofA = await f.t.c.admin.listMemberships({ pageSize: 1 }, x.a.adminToken);
      const users = await f.t.c.admin.listUsers({ pageSize: 1 }, x.a.adminToken);
      for (const [label, req, pattern] of [
        ["an organization id that is not a UUID", { organizationId: "acme" }, /organization_id/],
        ["a negative page size", { pageSize: -3 }, /page_size/],
        ["a ListUsers page token", { pageToken: users.nextPageToken }, /not valid/],
        ["A's page token, for the child", { organizationId: x.child.orgId, pageToken: ofA.nextPageToken }, /filters and organization/],
      ] as const) {
        const err = await rejects(f.t.c.admin.listMemberships(req, x.a.adminToken), Code.InvalidArgument, label);
        assert.match(err.rawMessage, pattern, label);
      }
    });

    it("answers NOT_FOUND for another organization, the caller's parent, a closed child and an unknown one, naming none", async () => {
      for (const [label, organizationId, token] of [
        ["another organization", x.b.orgId, x.a.adminToken],
        ["the caller's parent", x.a.orgId, x.child.adminToken],
        ["a child denying parent access", x.closedChild.orgId, x.a.adminToken],
        ["an unknown organization, as an operator", unknownId(), f.inst.operatorToken],
      ] as const) {
        const err = await rejects(f.t.c.admin.listMemberships({ organizationId }, token), Code.NotFound, label);
        assertNoHint(err, bSecrets(), label);
      }
    });

    itRefusesBadCallers("ListMemberships", get, (c, token) => c.admin.listMemberships({}, token));
  });
});
