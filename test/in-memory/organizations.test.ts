/**
 * Organizations in memory: CreateOrganization, GetOrganization, ListOrganizations and
 * SetOrganizationEnabled, each with its happy path and every error code it has, other
 * organizations' ids and sub-organizations included.
 */
import assert from "node:assert/strict";
import { Code } from "@connectrpc/connect";
import { EndpointClass, Role, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { useInMemoryTessera } from "../helpers/in-memory.js";
import { createOrg } from "../helpers/seed.js";
import { maskOf } from "../service/support.js";
import {
  adminDemotedTo,
  assertNoHint,
  createSubOrg,
  expectStatus,
  itRefusesBadCallers,
  rejects,
  tag,
  unknownId,
  useTwoOrganizations,
} from "./support.js";

describe("organizations, in memory", () => {
  const f = useInMemoryTessera();
  const x = useTwoOrganizations(f);
  const get = x.get;
  const verify = (credential: string, organization = "") =>
    f.t.c.verify.verify({ credential, organization, endpoint: EndpointClass.INGEST }, f.inst.verifierToken);

  describe("CreateOrganization", () => {
    it("lets an operator create a top-level organization with a default ingestion token shown once", async () => {
      const identifier = `top-${tag()}`;
      const r = await f.t.c.admin.createOrganization({ identifier }, f.inst.operatorToken);
      const o = r.organization!;
      assert.equal(o.identifier, identifier);
      assert.equal(o.name, identifier, "the name defaults to the identifier");
      assert.equal(o.parentId, "");
      assert.equal(o.parentAccess, true);
      assert.equal(o.enabled, true);
      assert.ok(o.createTime);
      const d = r.defaultToken!;
      assert.equal(d.name, "default");
      assert.equal(d.kind, TokenKind.INGESTION);
      assert.equal(d.organizationId, o.id);
      assert.match(r.defaultTokenValue, /^o2oi_[0-9A-Za-z]{38}$/);
      assert.equal(d.maskedValue, maskOf(r.defaultTokenValue));
      const v = await verify(r.defaultTokenValue, identifier);
      expectStatus(v, VerifyStatus.VALID, "the new default token");
      assert.equal(v.principal?.organizationId, o.id);
    });

    it("lets an organization's admin create a sub-organization, with or without parent access", async () => {
      const open = await f.t.c.admin.createOrganization(
        { identifier: `sub-${tag()}`, name: "Open child", parentId: x.a.orgId },
        x.a.adminToken,
      );
      assert.equal(open.organization!.parentId, x.a.orgId);
      assert.equal(open.organization!.name, "Open child");
      assert.equal(open.organization!.parentAccess, true);
      const closed = await f.t.c.admin.createOrganization(
        { identifier: `sub-${tag()}`, parentId: x.a.orgId, denyParentAccess: true },
        x.a.adminToken,
      );
      assert.equal(closed.organization!.parentAccess, false);
      assert.equal(closed.defaultToken!.createdBy, x.a.adminUserId, "the default token records who made the organization");
    });

    it("answers INVALID_ARGUMENT for a missing or malformed identifier, a bad name or parent id, and a NUL anywhere", async () => {
      const op = f.inst.operatorToken;
      for (const [label, req] of [
        ["no identifier", { identifier: "" }],
        ["upper case", { identifier: "Shop" }],
        ["a space", { identifier: "my shop" }],
        ["64 characters", { identifier: "a".repeat(64) }],
        ["a leading dash", { identifier: "-shop" }],
        ["a newline in the name", { identifier: `n-${tag()}`, name: "two\nlines" }],
        ["a bidi override in the name", { identifier: `n-${tag()}`, name: "abc\u202edef" }],
        ["a parent id that is not a UUID", { identifier: `n-${tag()}`, parentId: "acme" }],
        ["a NUL in the name", { identifier: `n-${tag()}`, name: "a\u0000b" }],
      ] as const) {
        await rejects(f.t.c.admin.createOrganization(req, op), Code.InvalidArgument, label);
      }
      const err = await rejects(f.t.c.admin.createOrganization({ identifier: "" }, op), Code.InvalidArgument);
      assert.match(err.rawMessage, /identifier/);
    });

    it("answers ALREADY_EXISTS for an identifier any organization has, whoever asks", async () => {
      await rejects(f.t.c.admin.createOrganization({ identifier: x.b.identifier }, f.inst.operatorToken), Code.AlreadyExists, "top level");
      await rejects(
        f.t.c.admin.createOrganization({ identifier: x.child.identifier, parentId: x.a.orgId }, x.a.adminToken),
        Code.AlreadyExists,
        "as a sibling",
      );
    });

    it("answers PERMISSION_DENIED to an admin creating a top-level organization, and to a non-ADMIN creating a sub-organization", async () => {
      const err = await rejects(
        f.t.c.admin.createOrganization({ identifier: `top-${tag()}` }, x.a.adminToken),
        Code.PermissionDenied,
        "top level by an admin",
      );
      assert.match(err.rawMessage, /operator/);
      for (const role of [Role.EDITOR, Role.VIEWER]) {
        const demoted = await adminDemotedTo(f.t.c, x.a.adminToken, x.a.orgId, role);
        await rejects(
          f.t.c.admin.createOrganization({ identifier: `sub-${tag()}`, parentId: x.a.orgId }, demoted.token),
          Code.PermissionDenied,
          `sub-organization by ${Role[role]}`,
        );
      }
    });

    it("answers NOT_FOUND for a parent in another organization, above the caller, closed to it, or nowhere", async () => {
      for (const [label, parentId, token, secrets] of [
        ["another organization", x.b.orgId, x.a.adminToken, [x.b.orgId, x.b.identifier]],
        ["the caller's parent", x.a.orgId, x.child.adminToken, [x.a.orgId, x.a.identifier]],
        ["a child denying parent access", x.closedChild.orgId, x.a.adminToken, [x.closedChild.orgId]],
        ["an id no organization has, as an operator", unknownId(), f.inst.operatorToken, []],
      ] as const) {
        const err = await rejects(f.t.c.admin.createOrganization({ identifier: `evil-${tag()}`, parentId }, token), Code.NotFound, label);
        assertNoHint(err, [...secrets], label);
      }
      const list = await f.t.c.admin.listOrganizations({}, f.inst.operatorToken);
      assert.ok(!list.organizations.some((o) => o.identifier.startsWith("evil-")), "nothing was created");
    });

    itRefusesBadCallers("CreateOrganization", get, (c, token) =>
      c.admin.createOrganization({ identifier: `sub-${tag()}`, parentId: x.a.orgId }, token),
    );
  });

  describe("GetOrganization", () => {
    it("returns the caller's own organization for an empty id, and any reachable one by id", async () => {
      const own = await f.t.c.admin.getOrganization({}, x.a.adminToken);
      assert.equal(own.organization!.id, x.a.orgId);
      assert.equal(own.organization!.identifier, x.a.identifier);
      const sub = await f.t.c.admin.getOrganization({ id: x.child.orgId }, x.a.adminToken);
      assert.equal(sub.organization!.parentId, x.a.orgId);
      const upper = await f.t.c.admin.getOrganization({ id: x.child.orgId.toUpperCase() }, x.a.adminToken);
      assert.equal(upper.organization!.id, x.child.orgId, "ids are case-insensitive");
      const any = await f.t.c.admin.getOrganization({ id: x.b.orgId }, f.inst.operatorToken);
      assert.equal(any.organization!.identifier, x.b.identifier);
      const viewer = await adminDemotedTo(f.t.c, x.a.adminToken, x.a.orgId, Role.VIEWER);
      assert.equal((await f.t.c.admin.getOrganization({}, viewer.token)).organization!.id, x.a.orgId, "any member may read it");
    });

    it("answers INVALID_ARGUMENT for an id that is not a UUID", async () => {
      for (const id of ["acme", "3f1c", `${x.b.orgId}x`, "a\u0000"]) {
        await rejects(f.t.c.admin.getOrganization({ id }, x.a.adminToken), Code.InvalidArgument, JSON.stringify(id));
      }
    });

    it("answers NOT_FOUND for another organization, the caller's parent, a closed child and an unknown id, naming none of them", async () => {
      for (const [label, id, token] of [
        ["another organization", x.b.orgId, x.a.adminToken],
        ["the caller's parent", x.a.orgId, x.child.adminToken],
        ["a sibling's child", x.child.orgId, x.b.adminToken],
        ["a child denying parent access", x.closedChild.orgId, x.a.adminToken],
        ["an unknown id", unknownId(), x.a.adminToken],
        ["an unknown id, as an operator", unknownId(), f.inst.operatorToken],
      ] as const) {
        const err = await rejects(f.t.c.admin.getOrganization({ id }, token), Code.NotFound, label);
        assertNoHint(err, [id], label);
      }
    });

    itRefusesBadCallers("GetOrganization", get, (c, token) => c.admin.getOrganization({}, token));
  });

  describe("ListOrganizations", () => {
    it("shows an operator every organization, ordered by identifier", async () => {
      const r = await f.t.c.admin.listOrganizations({}, f.inst.operatorToken);
      const ids = r.organizations.map((o) => o.identifier);
      assert.deepEqual(ids, [...ids].sort(), "ordered by identifier");
      for (const o of [x.a, x.b, x.child, x.closedChild]) assert.ok(ids.includes(o.identifier), o.identifier);
      assert.equal(r.nextPageToken, "");
    });

    it("shows an admin its organization and reachable descendants only, never another organization or a closed child", async () => {
      const a = (await f.t.c.admin.listOrganizations({}, x.a.adminToken)).organizations.map((o) => o.id);
      assert.ok(a.includes(x.a.orgId) && a.includes(x.child.orgId));
      assert.ok(!a.includes(x.b.orgId), "another organization");
      assert.ok(!a.includes(x.closedChild.orgId), "a child denying parent access");
      assert.ok(!a.includes(f.inst.orgId), "the operator's organization");
      const c = (await f.t.c.admin.listOrganizations({}, x.child.adminToken)).organizations.map((o) => o.id);
      assert.deepEqual(c, [x.child.orgId], "a child sees itself, not its parent");
    });

    it("pages through every organization one at a time without repeats", async () => {
      const all = (await f.t.c.admin.listOrganizations({}, f.inst.operatorToken)).organizations.map((o) => o.id);
      const seen: string[] = [];
      let pageToken = "";
      do {
        const r = await f.t.c.admin.listOrganizations({ pageSize: 1, pageToken }, f.inst.operatorToken);
        assert.ok(r.organizations.length <= 1);
        seen.push(...r.organizations.map((o) => o.id));
        pageToken = r.nextPageToken;
      } while (pageToken !== "");
      assert.deepEqual(seen, all);
    });

    it("answers INVALID_ARGUMENT for a negative page size and a page token that is not this listing's", async () => {
      await rejects(f.t.c.admin.listOrganizations({ pageSize: -1 }, x.a.adminToken), Code.InvalidArgument, "negative page size");
      const tokens = await f.t.c.admin.listTokens({ pageSize: 1 }, x.a.adminToken);
      assert.notEqual(tokens.nextPageToken, "");
      for (const [label, pageToken] of [
        ["garbage", "not a token"],
        ["base64 of nothing useful", Buffer.from("{}").toString("base64url")],
        ["a ListTokens page token", tokens.nextPageToken],
      ] as const) {
        await rejects(f.t.c.admin.listOrganizations({ pageToken }, x.a.adminToken), Code.InvalidArgument, label);
      }
    });

    itRefusesBadCallers("ListOrganizations", get, (c, token) => c.admin.listOrganizations({}, token));
  });

  describe("SetOrganizationEnabled", () => {
    it("lets an operator disable an organization, refusing its tokens at once, and enable it again", async () => {
      const o = await createOrg(f.t.c, f.inst.operatorToken);
      const off = await f.t.c.admin.setOrganizationEnabled({ id: o.orgId, enabled: false }, f.inst.operatorToken);
      assert.equal(off.organization!.enabled, false);
      expectStatus(await verify(o.defaultTokenValue), VerifyStatus.ORGANIZATION_DISABLED, "its default token");
      await rejects(f.t.c.admin.listTokens({}, o.adminToken), Code.Unauthenticated, "its admin");
      const again = await f.t.c.admin.setOrganizationEnabled({ id: o.orgId, enabled: false }, f.inst.operatorToken);
      assert.equal(again.organization!.enabled, false, "disabling twice is no error");
      const on = await f.t.c.admin.setOrganizationEnabled({ id: o.orgId, enabled: true }, f.inst.operatorToken);
      assert.equal(on.organization!.enabled, true);
      expectStatus(await verify(o.defaultTokenValue), VerifyStatus.VALID, "its default token again");
      assert.ok((await f.t.c.admin.listTokens({}, o.adminToken)).tokens.length > 0, "its admin again");
    });

    it("lets a parent organization's admin disable a sub-organization", async () => {
      const sub = await createSubOrg(f.t.c, f.inst.operatorToken, x.a);
      const r = await f.t.c.admin.setOrganizationEnabled({ id: sub.orgId, enabled: false }, x.a.adminToken);
      assert.equal(r.organization!.enabled, false);
      expectStatus(await verify(sub.defaultTokenValue), VerifyStatus.ORGANIZATION_DISABLED, "the child's token");
      expectStatus(await verify(x.a.defaultTokenValue), VerifyStatus.VALID, "the parent's own token");
    });

    it("answers FAILED_PRECONDITION to an organization disabling itself, operators' included", async () => {
      for (const [label, id, token] of [
        ["an admin, its own organization", x.a.orgId, x.a.adminToken],
        ["an admin, its own organization in upper case", x.a.orgId.toUpperCase(), x.a.adminToken],
        ["an operator, its own organization", f.inst.orgId, f.inst.operatorToken],
      ] as const) {
        await rejects(f.t.c.admin.setOrganizationEnabled({ id, enabled: false }, token), Code.FailedPrecondition, label);
      }
      expectStatus(await verify(x.a.defaultTokenValue), VerifyStatus.VALID, "still enabled");
    });

    it("answers INVALID_ARGUMENT for a missing or malformed id", async () => {
      await rejects(f.t.c.admin.setOrganizationEnabled({ id: "", enabled: false }, x.a.adminToken), Code.InvalidArgument, "no id");
      await rejects(f.t.c.admin.setOrganizationEnabled({ id: "acme", enabled: false }, x.a.adminToken), Code.InvalidArgument, "not a UUID");
    });

    it("answers NOT_FOUND for another organization, the caller's parent, a closed child and an unknown id", async () => {
      for (const [label, id, token] of [
        ["another organization", x.b.orgId, x.a.adminToken],
        ["the caller's parent", x.a.orgId, x.child.adminToken],
        ["a child denying parent access", x.closedChild.orgId, x.a.adminToken],
        ["an unknown id, as an operator", unknownId(), f.inst.operatorToken],
      ] as const) {
        const err = await rejects(f.t.c.admin.setOrganizationEnabled({ id, enabled: false }, token), Code.NotFound, label);
        assertNoHint(err, [id], label);
      }
      expectStatus(await verify(x.b.defaultTokenValue), VerifyStatus.VALID, "the other organization is untouched");
      expectStatus(await verify(x.a.defaultTokenValue), VerifyStatus.VALID, "the parent is untouched");
      expectStatus(await verify(x.closedChild.defaultTokenValue), VerifyStatus.VALID, "the closed child is untouched");
    });

    it("answers PERMISSION_DENIED to a parent's EDITOR or VIEWER", async () => {
      for (const role of [Role.EDITOR, Role.VIEWER]) {
        const demoted = await adminDemotedTo(f.t.c, x.a.adminToken, x.a.orgId, role);
        await rejects(
          f.t.c.admin.setOrganizationEnabled({ id: x.child.orgId, enabled: false }, demoted.token),
          Code.PermissionDenied,
          Role[role],
        );
      }
      expectStatus(await verify(x.child.defaultTokenValue), VerifyStatus.VALID, "the child is untouched");
    });

    itRefusesBadCallers("SetOrganizationEnabled", get, (c, token) =>
      c.admin.setOrganizationEnabled({ id: x.child.orgId, enabled: true }, token),
    );
  });
});
