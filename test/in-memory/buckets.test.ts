/** Buckets in memory: CreateBucket and ListBuckets, happy paths and every error code, other organizations included. */
import assert from "node:assert/strict";
import { Code } from "@connectrpc/connect";
import { Role } from "../../src/gen/tessera/v1/resources_pb.js";
import { useInMemoryTessera } from "../helpers/in-memory.js";
import { adminDemotedTo, assertNoHint, itRefusesBadCallers, rejects, tag, unknownId, useTwoOrganizations } from "./support.js";

describe("buckets, in memory", () => {
  const f = useInMemoryTessera();
  const x = useTwoOrganizations(f);
  const get = x.get;
  const names = async (token: string, organizationId = "") =>
    (await f.t.c.admin.listBuckets({ organizationId }, token)).buckets.map((b) => b.name);

  describe("CreateBucket", () => {
    it("lets an admin create a bucket in its organization", async () => {
      const name = `logs-${tag()}`;
      const r = await f.t.c.admin.createBucket({ name, description: "application logs" }, x.a.adminToken);
      const b = r.bucket!;
      assert.equal(b.name, name);
      assert.equal(b.description, "application logs");
      assert.equal(b.organizationId, x.a.orgId);
      assert.ok(b.id && b.createTime);
      assert.ok((await names(x.a.adminToken)).includes(name));
    });

    it("lets an operator create one in any organization and a parent's admin one in a sub-organization", async () => {
      const inB = await f.t.c.admin.createBucket({ organizationId: x.b.orgId, name: `op-${tag()}` }, f.inst.operatorToken);
      assert.equal(inB.bucket!.organizationId, x.b.orgId);
      const inChild = await f.t.c.admin.createBucket({ organizationId: x.child.orgId, name: `parent-${tag()}` }, x.a.adminToken);
      assert.equal(inChild.bucket!.organizationId, x.child.orgId);
      assert.ok((await names(x.child.adminToken)).includes(inChild.bucket!.name));
    });

    it("keeps names per organization: two organizations may have a bucket of the same name", async () => {
      const name = `same-${tag()}`;
      const a = await f.t.c.admin.createBucket({ name }, x.a.adminToken);
      const b = await f.t.c.admin.createBucket({ name }, x.b.adminToken);
      assert.notEqual(a.bucket!.id, b.bucket!.id);
    });

    it("answers INVALID_ARGUMENT for a missing or malformed name, a bad description and a malformed organization id", async () => {
      for (const [label, req] of [
        ["no name", { name: "" }],
        ["upper case", { name: "Logs" }],
        ["a slash", { name: "a/b" }],
        ["64 characters", { name: "b".repeat(64) }],
        ["a NUL in the name", { name: "a\u0000" }],
        ["a newline in the description", { name: `d-${tag()}`, description: "one\ntwo" }],
        ["a description of 1,025 characters", { name: `d-${tag()}`, description: "x".repeat(1025) }],
        ["an organization id that is not a UUID", { name: `d-${tag()}`, organizationId: "acme" }],
      ] as const) {
        await rejects(f.t.c.admin.createBucket(req, x.a.adminToken), Code.InvalidArgument, label);
      }
      const ok = await f.t.c.admin.createBucket({ name: `d-${tag()}`, description: "é".repeat(1024) }, x.a.adminToken);
      assert.equal(ok.bucket!.description.length, 1024, "1,024 characters are allowed");
    });

    it("answers ALREADY_EXISTS for a name the organization already has", async () => {
      const name = `dup-${tag()}`;
      await f.t.c.admin.createBucket({ name }, x.a.adminToken);
      const err = await rejects(f.t.c.admin.createBucket({ name }, x.a.adminToken), Code.AlreadyExists);
      assert.match(err.rawMessage, /already exists/);
      await rejects(
        f.t.c.admin.createBucket({ organizationId: x.a.orgId, name }, f.inst.operatorToken),
        Code.AlreadyExists,
        "by an operator",
      );
    });

    it("answers PERMISSION_DENIED to an EDITOR or VIEWER", async () => {
      for (const role of [Role.EDITOR, Role.VIEWER]) {
        const demoted = await adminDemotedTo(f.t.c, x.a.adminToken, x.a.orgId, role);
        const name = `by-${tag()}`;
        await rejects(f.t.c.admin.createBucket({ name }, demoted.token), Code.PermissionDenied, Role[role]);
        assert.ok(!(await names(x.a.adminToken)).includes(name), "nothing was created");
      }
    });

    it("answers NOT_FOUND for another organization, the caller's parent, a closed child and an unknown organization, creating nothing", async () => {
      const name = `evil-${tag()}`;
      for (const [label, organizationId, token] of [
        ["another organization", x.b.orgId, x.a.adminToken],
        ["the caller's parent", x.a.orgId, x.child.adminToken],
        ["a child denying parent access", x.closedChild.orgId, x.a.adminToken],
        ["an unknown organization, as an operator", unknownId(), f.inst.operatorToken],
      ] as const) {
        const err = await rejects(f.t.c.admin.createBucket({ organizationId, name }, token), Code.NotFound, label);
        assertNoHint(err, [organizationId], label);
      }
      for (const o of [x.a, x.b, x.closedChild]) assert.ok(!(await names(o.adminToken)).includes(name), o.identifier);
    });

    itRefusesBadCallers("CreateBucket", get, (c, token) => c.admin.createBucket({ name: `b-${tag()}` }, token));
  });

  describe("ListBuckets", () => {
    it("lists an organization's buckets by name, and never another organization's", async () => {
      const mine = [`m-${tag()}`, `k-${tag()}`, `z-${tag()}`];
      for (const name of mine) await f.t.c.admin.createBucket({ name }, x.b.adminToken);
      const theirs = `t-${tag()}`;
      await f.t.c.admin.createBucket({ name: theirs }, x.a.adminToken);
      const r = await f.t.c.admin.listBuckets({}, x.b.adminToken);
      const got = r.buckets.map((b) => b.name);
      assert.deepEqual(got, [...got].sort(), "ordered by name");
      for (const name of mine) assert.ok(got.includes(name), name);
      assert.ok(!got.includes(theirs), "another organization's bucket");
      assert.ok(r.buckets.every((b) => b.organizationId === x.b.orgId));
    });

    it("lets any member, an operator and a parent's admin list them", async () => {
      const name = `seen-${tag()}`;
      await f.t.c.admin.createBucket({ name }, x.child.adminToken);
      const viewer = await adminDemotedTo(f.t.c, x.child.adminToken, x.child.orgId, Role.VIEWER);
      assert.ok((await names(viewer.token)).includes(name), "a VIEWER");
      assert.ok((await names(f.inst.operatorToken, x.child.orgId)).includes(name), "an operator");
      assert.ok((await names(x.a.adminToken, x.child.orgId)).includes(name), "the parent's admin");
    });

    it("answers INVALID_ARGUMENT for a malformed organization id", async () => {
      await rejects(f.t.c.admin.listBuckets({ organizationId: "acme" }, x.a.adminToken), Code.InvalidArgument);
    });

    it("answers NOT_FOUND for another organization, the caller's parent, a closed child and an unknown organization", async () => {
      for (const [label, organizationId, token] of [
        ["another organization", x.b.orgId, x.a.adminToken],
        ["the caller's parent", x.a.orgId, x.child.adminToken],
        ["a child denying parent access", x.closedChild.orgId, x.a.adminToken],
        ["an unknown organization", unknownId(), x.a.adminToken],
        ["an unknown organization, as an operator", unknownId(), f.inst.operatorToken],
      ] as const) {
        const err = await rejects(f.t.c.admin.listBuckets({ organizationId }, token), Code.NotFound, label);
        assertNoHint(err, [organizationId], label);
      }
    });

    itRefusesBadCallers("ListBuckets", get, (c, token) => c.admin.listBuckets({}, token));
  });
});
