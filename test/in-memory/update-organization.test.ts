/**
 * UpdateOrganization in memory: names, update masks (AIP-134), and parent access — a
 * sub-organization's protection against the organizations above it. Turning it off refuses every
 * parent (and grandparent) token addressed to it on the very next Verify, warm caches included,
 * and announces each such token; turning it on again lets them back in.
 */
import assert from "node:assert/strict";
import { Code } from "@connectrpc/connect";
import { EndpointClass, Role, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { RevocationReason, VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { useInMemoryTessera } from "../helpers/in-memory.js";
import { createOrg, issue, type SeededOrg } from "../helpers/seed.js";
import {
  adminDemotedTo,
  assertNoHint,
  createSubOrg,
  expectStatus,
  itRefusesBadCallers,
  record,
  rejects,
  tag,
  unknownId,
  useTwoOrganizations,
} from "./support.js";

describe("UpdateOrganization, in memory", () => {
  const f = useInMemoryTessera();
  const x = useTwoOrganizations(f);
  const get = x.get;
  const verify = (credential: string, organization = "") =>
    f.t.c.verify.verify({ credential, organization, endpoint: EndpointClass.INGEST }, f.inst.verifierToken);
  /** Twice: the second answer comes from the warm cache, which the change must not outlive. */
  const verifyWarm = async (credential: string, organization: string, status: VerifyStatus, what: string) => {
    for (let i = 0; i < 2; i++) expectStatus(await verify(credential, organization), status, what);
  };
  const update = (token: string, organization: { id?: string; name?: string; parentAccess?: boolean }, paths?: string[]) =>
    f.t.c.admin.updateOrganization({ organization, ...(paths && { updateMask: { paths } }) }, token);

  describe("names", () => {
    it("lets an admin rename its own organization (empty id), reading only the fields the mask names", async () => {
      const o = await createOrg(f.t.c, f.inst.operatorToken);
      const r = await update(o.adminToken, { name: "Renamed Shop", parentAccess: false }, ["name"]);
      assert.equal(r.organization!.id, o.orgId);
      assert.equal(r.organization!.name, "Renamed Shop");
      assert.equal(r.organization!.parentAccess, true, "parent_access was not in the mask");
      assert.equal((await f.t.c.admin.getOrganization({}, o.adminToken)).organization!.name, "Renamed Shop");
    });

    it("treats an empty mask as every updatable field that is set, so a fetched organization can be sent back renamed", async () => {
      const o = await createOrg(f.t.c, f.inst.operatorToken);
      const fetched = (await f.t.c.admin.getOrganization({}, o.adminToken)).organization!;
      // A top-level organization's parent_access is true and unchanged: no error for sending it back.
      const r = await f.t.c.admin.updateOrganization({ organization: { ...fetched, name: "From a fetched copy" } }, o.adminToken);
      assert.equal(r.organization!.name, "From a fetched copy");
      const sub = await createSubOrg(f.t.c, f.inst.operatorToken, o);
      const unset = await update(sub.adminToken, { name: "Only the name" });
      assert.equal(unset.organization!.parentAccess, true, "parent_access false is unset: an empty mask leaves it alone");
    });

    it("lets a parent's admin rename a sub-organization and an operator any organization", async () => {
      const sub = await createSubOrg(f.t.c, f.inst.operatorToken, x.a);
      assert.equal(
        (await update(x.a.adminToken, { id: sub.orgId, name: "Named by the parent" }, ["name"])).organization!.name,
        "Named by the parent",
      );
      const o = await createOrg(f.t.c, f.inst.operatorToken);
      assert.equal(
        (await update(f.inst.operatorToken, { id: o.orgId.toUpperCase(), name: "Named by an operator" }, ["name"])).organization!.name,
        "Named by an operator",
      );
    });
  });

  describe("bad input", () => {
    it("answers INVALID_ARGUMENT for unknown, fixed, malformed and wildcard paths, naming the path and what can change", async () => {
      for (const [label, paths, pattern] of [
        ["an unknown path", ["colour"], /"colour" is not a field of Organization; update_mask may name name, parent_access/],
        ["the identifier", ["identifier"], /"identifier" cannot be changed \(credentials name it\)/],
        ["enabled", ["enabled"], /"enabled" cannot be changed \(use SetOrganizationEnabled\)/],
        ["the parent", ["parent_id"], /"parent_id" cannot be changed/],
        ["the id", ["id"], /"id" cannot be changed/],
        ["a camelCase path", ["parentAccess"], /malformed path/],
        ["the wildcard", ["*"], /"\*" \(replace everything\) is not supported/],
        ["a good path and a bad one", ["name", "colour"], /"colour"/],
        ["65 paths", Array.from({ length: 65 }, () => "name"), /at most 64 paths/],
      ] as const) {
        const err = await rejects(update(x.a.adminToken, { name: "x" }, [...paths]), Code.InvalidArgument, label);
        assert.match(err.rawMessage, pattern, label);
      }
      const hostile = "x'); DROP TABLE organizations; --";
      const err = await rejects(update(x.a.adminToken, { name: "x" }, [hostile]), Code.InvalidArgument, "an injection attempt");
      assert.ok(!err.rawMessage.includes("DROP"), "a path that is no field path is not echoed");
    });

    it("answers INVALID_ARGUMENT for nothing to update, a bad name and a malformed id, changing nothing", async () => {
      const before = (await f.t.c.admin.getOrganization({}, x.b.adminToken)).organization!.name;
      for (const [label, organization, paths] of [
        ["an empty mask and nothing set", {}, undefined],
        ["no organization at all", undefined, undefined],
        ["an empty name in the mask", { name: "" }, ["name"]],
        ["a newline in the name", { name: "two\nlines" }, ["name"]],
        ["257 characters", { name: "n".repeat(257) }, ["name"]],
        ["an id that is not a UUID", { id: "acme", name: "x" }, ["name"]],
      ] as const) {
        await rejects(
          f.t.c.admin.updateOrganization(
            { ...(organization && { organization }), ...(paths && { updateMask: { paths: [...paths] } }) },
            x.b.adminToken,
          ),
          Code.InvalidArgument,
          label,
        );
      }
      assert.equal((await f.t.c.admin.getOrganization({}, x.b.adminToken)).organization!.name, before);
    });

    it("answers FAILED_PRECONDITION for turning a top-level organization's parent access off", async () => {
      const err = await rejects(update(x.b.adminToken, { parentAccess: false }, ["parent_access"]), Code.FailedPrecondition, "top level");
      assert.match(err.rawMessage, /only to sub-organizations/);
      await rejects(
        update(f.inst.operatorToken, { id: x.b.orgId, parentAccess: false }, ["parent_access"]),
        Code.FailedPrecondition,
        "top level, as an operator",
      );
    });
  });

  describe("who may", () => {
    it("answers NOT_FOUND for another organization, the caller's parent, a closed child and an unknown id, naming none of them", async () => {
      const bName = (await f.t.c.admin.getOrganization({}, x.b.adminToken)).organization!.name;
      for (const [label, id, token, secrets] of [
        ["another organization", x.b.orgId, x.a.adminToken, [x.b.orgId, x.b.identifier]],
        ["the caller's parent", x.a.orgId, x.child.adminToken, [x.a.identifier]],
        ["a child denying parent access", x.closedChild.orgId, x.a.adminToken, [x.closedChild.identifier]],
        ["an unknown id", unknownId(), x.a.adminToken, []],
        ["an unknown id, as an operator", unknownId(), f.inst.operatorToken, []],
      ] as const) {
        const err = await rejects(update(token, { id, name: "pwned" }, ["name"]), Code.NotFound, label);
        assertNoHint(err, [...secrets], label);
      }
      assert.equal((await f.t.c.admin.getOrganization({}, x.b.adminToken)).organization!.name, bName, "B unchanged");
    });

    it("answers PERMISSION_DENIED to an EDITOR or VIEWER, of the organization and of its parent", async () => {
      for (const role of [Role.EDITOR, Role.VIEWER]) {
        const own = await adminDemotedTo(f.t.c, x.a.adminToken, x.a.orgId, role);
        await rejects(update(own.token, { name: "pwned" }, ["name"]), Code.PermissionDenied, `the organization's ${Role[role]}`);
        await rejects(
          update(own.token, { id: x.child.orgId, parentAccess: false }, ["parent_access"]),
          Code.PermissionDenied,
          `the parent's ${Role[role]} on parent access`,
        );
      }
      expectStatus(await verify(x.a.defaultTokenValue, x.child.identifier), VerifyStatus.VALID, "the child still lets its parent in");
    });

    itRefusesBadCallers("UpdateOrganization", get, (c, token) =>
      c.admin.updateOrganization({ organization: { name: `n-${tag()}` }, updateMask: { paths: ["name"] } }, token),
    );
  });

  describe("parent access", () => {
    /** A sub-organization of A with a sub-organization of its own, all keeping parent access. */
    let child: SeededOrg;
    let grandchild: SeededOrg;
    beforeEach(async () => {
      child = await createSubOrg(f.t.c, f.inst.operatorToken, x.a);
      grandchild = await createSubOrg(f.t.c, f.inst.operatorToken, child);
    });

    it("turned off by the child's own admin, refuses every parent and grandparent token there on the very next Verify, and announces each", async () => {
      const rec = record(f.t, `Bearer ${f.inst.verifierToken}`);
      await rec.until((r) => r.items.some((i) => i.kind === "checkpoint"), "the first checkpoint");
      for (const [credential, org] of [
        [x.a.defaultTokenValue, child.identifier],
        [x.a.defaultTokenValue, grandchild.identifier],
        [child.defaultTokenValue, grandchild.identifier],
      ] as const) {
        await verifyWarm(credential, org, VerifyStatus.VALID, `before: a token of ${org}'s parent line`);
      }
      assert.ok((await f.t.c.admin.listTokens({ organizationId: child.orgId }, x.a.adminToken)).tokens.length > 0);

      const r = await update(child.adminToken, { parentAccess: false }, ["parent_access"]);
      assert.equal(r.organization!.parentAccess, false);

      await verifyWarm(x.a.defaultTokenValue, child.identifier, VerifyStatus.NOT_FOUND, "the parent's token, in the child");
      await verifyWarm(x.a.defaultTokenValue, grandchild.identifier, VerifyStatus.NOT_FOUND, "the parent's token, in the grandchild");
      await verifyWarm(child.defaultTokenValue, grandchild.identifier, VerifyStatus.VALID, "the child still reaches its own child");
      await verifyWarm(x.a.defaultTokenValue, x.a.identifier, VerifyStatus.VALID, "the parent's token at home");
      await rejects(f.t.c.admin.listTokens({ organizationId: child.orgId }, x.a.adminToken), Code.NotFound, "the parent's admin");
      const err = await rejects(f.t.c.admin.getOrganization({ id: grandchild.orgId }, x.a.adminToken), Code.NotFound, "below it");
      assertNoHint(err, [grandchild.identifier], "below it");

      // Every token of A (the organization above), none of the child's own or of another organization.
      await rec.until(
        (rr) =>
          [x.a.defaultTokenId, x.a.adminTokenId].every((id) =>
            rr
              .events()
              .some((e) => e.tokenId === id && e.reason === RevocationReason.PARENT_ACCESS_REVOKED && e.organizationId === x.a.orgId),
          ),
        "PARENT_ACCESS_REVOKED for A's tokens",
      );
      const revoked = rec.events().filter((e) => e.reason === RevocationReason.PARENT_ACCESS_REVOKED);
      assert.ok(
        revoked.every((e) => e.organizationId === x.a.orgId),
        "only the organization above it is announced",
      );
      rec.stop();
    });

    it("turned on again by the child's own admin, lets the parent's tokens back in at once (cached refusals drop)", async () => {
      await update(child.adminToken, { parentAccess: false }, ["parent_access"]);
      await verifyWarm(x.a.defaultTokenValue, child.identifier, VerifyStatus.NOT_FOUND, "refused");
      const rec = record(f.t, `Bearer ${f.inst.verifierToken}`);
      await rec.until((r) => r.items.some((i) => i.kind === "checkpoint"), "the first checkpoint");
      const r = await update(child.adminToken, { parentAccess: true }, ["parent_access"]);
      assert.equal(r.organization!.parentAccess, true);
      await verifyWarm(x.a.defaultTokenValue, child.identifier, VerifyStatus.VALID, "the parent's token, back in");
      await verifyWarm(x.a.defaultTokenValue, grandchild.identifier, VerifyStatus.VALID, "and below");
      assert.ok((await f.t.c.admin.listTokens({ organizationId: grandchild.orgId }, x.a.adminToken)).tokens.length > 0);
      await rec.until(
        (rr) => rr.events().some((e) => e.tokenId === x.a.defaultTokenId && e.reason === RevocationReason.ENABLED),
        "ENABLED for A's default token",
      );
      rec.stop();
    });

    it("may be turned off by the parent's admin, who cannot turn it back on; an operator can", async () => {
      const off = await update(x.a.adminToken, { id: child.orgId, parentAccess: false }, ["parent_access"]);
      assert.equal(off.organization!.parentAccess, false);
      expectStatus(await verify(x.a.defaultTokenValue, child.identifier), VerifyStatus.NOT_FOUND, "the parent gave its access up");
      const err = await rejects(
        update(x.a.adminToken, { id: child.orgId, parentAccess: true }, ["parent_access"]),
        Code.NotFound,
        "the parent turning it back on",
      );
      assertNoHint(err, [child.identifier], "the parent turning it back on");
      await rejects(
        update(x.a.adminToken, { id: grandchild.orgId, parentAccess: true }, ["parent_access"]),
        Code.NotFound,
        "the parent, through the grandchild",
      );
      expectStatus(await verify(x.a.defaultTokenValue, child.identifier), VerifyStatus.NOT_FOUND, "still out");
      const on = await update(f.inst.operatorToken, { id: child.orgId, parentAccess: true }, ["parent_access"]);
      assert.equal(on.organization!.parentAccess, true);
      expectStatus(await verify(x.a.defaultTokenValue, child.identifier), VerifyStatus.VALID, "an operator let it back in");
    });

    it("changes nothing and announces nothing when set to what it already is", async () => {
      const rec = record(f.t, `Bearer ${f.inst.verifierToken}`);
      // Unrelated events before and after the no-op: what the stream holds between them is its.
      const marker = async () => {
        const m = await issue(f.t.c, x.b.adminToken, { kind: TokenKind.INGESTION });
        await f.t.c.admin.setTokenEnabled({ id: m.id, enabled: false }, x.b.adminToken);
        await rec.until((rr) => rr.events().some((e) => e.tokenId === m.id && e.reason === RevocationReason.DISABLED), "a marker event");
        return rec.events().findIndex((e) => e.tokenId === m.id && e.reason === RevocationReason.DISABLED);
      };
      const from = await marker();
      const r = await update(child.adminToken, { parentAccess: true }, ["parent_access"]);
      assert.equal(r.organization!.parentAccess, true);
      const to = await marker();
      const between = rec.events().slice(from + 1, to);
      assert.ok(
        between.every((e) => e.organizationId === x.b.orgId),
        `only the second marker's own events: ${JSON.stringify(between)}`,
      );
      rec.stop();
    });
  });
});
