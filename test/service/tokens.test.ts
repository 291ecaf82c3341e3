/**
 * Token administration (issue 2), through every client on both listeners: values shown once and
 * masked afterwards, the default token first, pagination, description-only updates,
 * enable/disable on the very next Verify, rotate, delete, name uniqueness and GetPasscode.
 */
import assert from "node:assert/strict";
import { Code } from "@connectrpc/connect";
import { EndpointClass, Signal, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import type { Clients } from "../helpers/clients.js";
import { createOrg, issue, type SeededOrg } from "../helpers/seed.js";
import { assertNoSecret, byName, json, maskOf, rejects, transportNames } from "./support.js";
import { useSetUpServer } from "../helpers/fixture.js";

describe("token administration", () => {
  const f = useSetUpServer();

  for (const name of transportNames()) {
    describe(name, () => {
      let c: Clients;
      let org: SeededOrg;
      const verify = (credential: string, endpoint = EndpointClass.INGEST) =>
        c.verify.verify({ credential, organization: org.identifier, endpoint }, f.inst.verifierToken);

      before(async () => {
        c = byName(f.clients, name);
        org = await createOrg(c, f.inst.operatorToken);
      });

      it("creates an ingestion token whose o2oi_ value is returned once and masked in every later read", async () => {
        const r = await c.admin.createToken({ name: "ingest-once", description: "collector", kind: TokenKind.INGESTION }, org.adminToken);
        assert.match(r.value, /^o2oi_[0-9A-Za-z]{38}$/);
        const t = r.token!;
        assert.equal(t.kind, TokenKind.INGESTION);
        assert.equal(t.name, "ingest-once");
        assert.equal(t.description, "collector");
        assert.equal(t.organizationId, org.orgId);
        assert.equal(t.enabled, true);
        assert.equal(t.createdBy, org.adminUserId, "created-by is the admin whose token made the call");
        assert.equal(t.ownerUserId, "", "ingestion tokens belong to the organization, not a user");
        assert.ok(t.createTime && t.updateTime, "created and updated times are set");
        assert.equal(t.maskedValue, maskOf(r.value));
        assertNoSecret(json(t), r.value, "the token metadata of the create response");

        const got = await c.admin.getToken({ id: t.id }, org.adminToken);
        assert.equal(got.token!.maskedValue, maskOf(r.value));
        assertNoSecret(json(got), r.value, "GetToken");
        const list = await c.admin.listTokens({}, org.adminToken);
        assert.ok(list.tokens.some((x) => x.id === t.id));
        assertNoSecret(json(list), r.value, "ListTokens");
        assertNoSecret(json(list), org.defaultTokenValue, "ListTokens");
        assertNoSecret(json(list), org.adminToken, "ListTokens");
        const pass = await c.admin.getPasscode({}, org.adminToken);
        assertNoSecret(json(pass), org.defaultTokenValue, "GetPasscode");

        const v = await verify(r.value);
        assert.equal(v.status, VerifyStatus.VALID);
        assert.equal(v.principal?.tokenId, t.id);
      });

      it("lists the default ingestion token first", async () => {
        await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
        const list = await c.admin.listTokens({}, org.adminToken);
        assert.ok(list.tokens.length >= 3);
        const first = list.tokens[0]!;
        assert.equal(first.id, org.defaultTokenId);
        assert.equal(first.name, "default");
        assert.equal(first.kind, TokenKind.INGESTION);
        assert.equal(first.enabled, true);
        assert.equal(first.maskedValue, maskOf(org.defaultTokenValue));
        assert.equal(list.tokens.filter((x) => x.name === "default").length, 1);
      });

      it("pages through five tokens two at a time without duplicates or misses", async () => {
        const fresh = await createOrg(c, f.inst.operatorToken); // default + admin-all
        for (let i = 0; i < 3; i++) await issue(c, fresh.adminToken, { kind: TokenKind.INGESTION, name: `page-${i}` });
        const all = await c.admin.listTokens({}, fresh.adminToken);
        assert.equal(all.tokens.length, 5);
        assert.equal(all.nextPageToken, "");

        const seen: string[] = [];
        const sizes: number[] = [];
        let pageToken = "";
        for (let n = 0; n < 10; n++) {
          const page = await c.admin.listTokens({ pageSize: 2, pageToken }, fresh.adminToken);
          sizes.push(page.tokens.length);
          seen.push(...page.tokens.map((t) => t.id));
          pageToken = page.nextPageToken;
          if (pageToken === "") break;
        }
        assert.deepEqual(sizes, [2, 2, 1]);
        assert.equal(new Set(seen).size, 5, "no duplicates");
        assert.deepEqual(
          seen,
          all.tokens.map((t) => t.id),
          "same order and same rows as one page",
        );
        assert.equal(seen[0], fresh.defaultTokenId);
      });

      it("refuses a page token that does not come from this listing with INVALID_ARGUMENT", async () => {
        const foreign = Buffer.from(JSON.stringify({ k: "o", p: "zzz" })).toString("base64url");
        const badPos = Buffer.from(JSON.stringify({ k: "t", p: "7:abc" })).toString("base64url");
        for (const pageToken of ["not a token!", "e30", foreign, badPos, "A".repeat(2000)]) {
          await rejects(
            c.admin.listTokens({ pageSize: 2, pageToken }, org.adminToken),
            Code.InvalidArgument,
            `page_token ${pageToken.slice(0, 20)}`,
          );
        }
        await rejects(c.admin.listTokens({ pageSize: -1 }, org.adminToken), Code.InvalidArgument, "negative page_size");
      });

      it("UpdateToken changes the description and nothing else", async () => {
        const t = await c.admin.createToken(
          { name: "describe-me", description: "before", kind: TokenKind.INGESTION, permissions: { signals: [Signal.LOGS] } },
          org.adminToken,
        );
        const before = t.token!;
        const u = await c.admin.updateToken({ id: before.id, description: "after" }, org.adminToken);
        const after = u.token!;
        assert.equal(after.description, "after");
        assert.equal(after.id, before.id);
        assert.equal(after.name, before.name);
        assert.equal(after.kind, before.kind);
        assert.equal(after.enabled, before.enabled);
        assert.equal(after.maskedValue, before.maskedValue);
        assert.equal(after.createdBy, before.createdBy);
        assert.deepEqual(after.permissions?.signals, [Signal.LOGS]);
        assert.deepEqual(after.createTime, before.createTime);
        assert.ok(after.updateTime!.seconds >= before.updateTime!.seconds);
        const got = await c.admin.getToken({ id: before.id }, org.adminToken);
        assert.equal(got.token!.description, "after");
        const v = await c.verify.verify(
          { credential: t.value, organization: org.identifier, endpoint: EndpointClass.INGEST, signal: Signal.LOGS },
          f.inst.verifierToken,
        );
        assert.equal(v.status, VerifyStatus.VALID, "the value still works");
      });

      it("SetTokenEnabled takes effect on the very next Verify, both ways", async () => {
        const t = await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
        assert.equal((await verify(t.value)).status, VerifyStatus.VALID);
        const off = await c.admin.setTokenEnabled({ id: t.id, enabled: false }, org.adminToken);
        assert.equal(off.token!.enabled, false);
        const v1 = await verify(t.value);
        assert.equal(v1.status, VerifyStatus.DISABLED);
        assert.equal(v1.allowed, false);
        assert.equal((await c.admin.getToken({ id: t.id }, org.adminToken)).token!.enabled, false);
        const on = await c.admin.setTokenEnabled({ id: t.id, enabled: true }, org.adminToken);
        assert.equal(on.token!.enabled, true);
        const v2 = await verify(t.value);
        assert.equal(v2.status, VerifyStatus.VALID);
        assert.equal(v2.allowed, true);
      });

      it("RotateToken retires the old value at once and returns a new one, once", async () => {
        const t = await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
        const r = await c.admin.rotateToken({ id: t.id }, org.adminToken);
        assert.match(r.value, /^o2oi_[0-9A-Za-z]{38}$/);
        assert.notEqual(r.value, t.value);
        assert.equal(r.token!.id, t.id);
        assert.equal(r.token!.maskedValue, maskOf(r.value));
        assertNoSecret(json(r.token), r.value, "the rotated token's metadata");
        const old = await verify(t.value);
        assert.equal(old.status, VerifyStatus.NOT_FOUND);
        assert.equal(old.principal, undefined);
        const now = await verify(r.value);
        assert.equal(now.status, VerifyStatus.VALID);
        assert.equal(now.principal?.tokenId, t.id);
        assertNoSecret(json(await c.admin.getToken({ id: t.id }, org.adminToken)), r.value, "GetToken after rotation");
        // Rotation changes the value only: a narrowed token stays narrowed.
        const narrow = await c.admin.createToken(
          { name: "narrow-rotate", kind: TokenKind.INGESTION, permissions: { signals: [Signal.TRACES] } },
          org.adminToken,
        );
        const rn = await c.admin.rotateToken({ id: narrow.token!.id }, org.adminToken);
        assert.deepEqual(rn.token!.permissions?.signals, [Signal.TRACES]);
        assert.equal(rn.token!.name, "narrow-rotate");
        const vn = await c.verify.verify(
          { credential: rn.value, organization: org.identifier, endpoint: EndpointClass.INGEST, signal: Signal.LOGS },
          f.inst.verifierToken,
        );
        assert.equal(vn.status, VerifyStatus.FORBIDDEN, "still only traces");
      });

      it("DeleteToken makes the value NOT_FOUND and frees the name", async () => {
        const t = await c.admin.createToken({ name: "short-lived", kind: TokenKind.INGESTION }, org.adminToken);
        await c.admin.deleteToken({ id: t.token!.id }, org.adminToken);
        assert.equal((await verify(t.value)).status, VerifyStatus.NOT_FOUND);
        await rejects(c.admin.getToken({ id: t.token!.id }, org.adminToken), Code.NotFound, "GetToken of a deleted token");
        await rejects(c.admin.deleteToken({ id: t.token!.id }, org.adminToken), Code.NotFound, "a second DeleteToken");
        const list = await c.admin.listTokens({}, org.adminToken);
        assert.ok(!list.tokens.some((x) => x.id === t.token!.id));
        const again = await c.admin.createToken({ name: "short-lived", kind: TokenKind.INGESTION }, org.adminToken);
        assert.notEqual(again.token!.id, t.token!.id);
        assert.equal((await verify(again.value)).status, VerifyStatus.VALID);
      });

      it("refuses to delete the default ingestion token", async () => {
        await rejects(
          c.admin.deleteToken({ id: org.defaultTokenId }, org.adminToken),
          Code.FailedPrecondition,
          "deleting the default token",
        );
        assert.equal((await verify(org.defaultTokenValue)).status, VerifyStatus.VALID);
        assert.equal((await c.admin.listTokens({}, org.adminToken)).tokens[0]!.id, org.defaultTokenId);
      });

      it("answers ALREADY_EXISTS for a second live token with the same name", async () => {
        await c.admin.createToken({ name: "dup-name", kind: TokenKind.INGESTION }, org.adminToken);
        const err = await rejects(
          c.admin.createToken({ name: "dup-name", kind: TokenKind.INGESTION }, org.adminToken),
          Code.AlreadyExists,
          "a duplicate name",
        );
        assert.match(err.rawMessage, /dup-name/);
        // "default" is taken in every organization from its creation on.
        await rejects(
          c.admin.createToken({ name: "default", kind: TokenKind.INGESTION }, org.adminToken),
          Code.AlreadyExists,
          "the name default",
        );
        const list = await c.admin.listTokens({}, org.adminToken);
        assert.equal(list.tokens.filter((t) => t.name === "dup-name").length, 1);
      });

      it("GetPasscode returns the default token's metadata and the organization identifier", async () => {
        const p = await c.admin.getPasscode({}, org.adminToken);
        assert.equal(p.organizationIdentifier, org.identifier);
        assert.equal(p.token!.id, org.defaultTokenId);
        assert.equal(p.token!.name, "default");
        assert.equal(p.token!.kind, TokenKind.INGESTION);
        assert.equal(p.token!.maskedValue, maskOf(org.defaultTokenValue));
        assert.equal(p.token!.createdBy, f.inst.operatorUserId, "the operator created the organization");
        // The operator may ask for it by organization id.
        const byOp = await c.admin.getPasscode({ organizationId: org.orgId }, f.inst.operatorToken);
        assert.equal(byOp.token!.id, org.defaultTokenId);
      });
    });
  }
});
