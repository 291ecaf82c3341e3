/**
 * Tokens in memory: CreateToken, GetToken, ListTokens, UpdateToken, SetTokenEnabled, RotateToken,
 * DeleteToken and GetPasscode, each with its happy path and every error code it has: bad fields,
 * roles and kinds, owners beyond their role, other organizations' tokens and users, name clashes
 * and the default token's protection.
 */
import assert from "node:assert/strict";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { EndpointClass, Role, Signal, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { useInMemoryTessera } from "../helpers/in-memory.js";
import { addMember, createOrg, issue } from "../helpers/seed.js";
import { assertNoSecret, json, maskOf } from "../service/support.js";
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

const HOUR = 3_600_000;

type CreateTokenInit = Parameters<ReturnType<typeof useInMemoryTessera>["t"]["c"]["admin"]["createToken"]>[0];

describe("tokens, in memory", () => {
  const f = useInMemoryTessera();
  const x = useTwoOrganizations(f);
  const bucket = "logs";
  let editor: string;
  let viewer: string;
  let viewerToken: string;
  let editorToken: string;
  /** A token of B's besides its default and admin tokens. */
  let bExtra: { id: string; value: string };
  const get = x.get;
  const verify = (credential: string, endpoint = EndpointClass.INGEST, extra: { bucket?: string; signal?: Signal } = {}) =>
    f.t.c.verify.verify({ credential, endpoint, ...extra }, f.inst.verifierToken);
  /** Every id and name of B's that must never show in an answer to A. */
  const bSecrets = () => [x.b.orgId, x.b.identifier, x.b.defaultTokenId, x.b.adminTokenId, bExtra.id];

  before(async () => {
    await f.t.c.admin.createBucket({ name: bucket }, x.a.adminToken);
    editor = await addMember(f.t.c, x.a.adminToken, x.a.orgId, Role.EDITOR);
    viewer = await addMember(f.t.c, x.a.adminToken, x.a.orgId, Role.VIEWER);
    viewerToken = (await adminDemotedTo(f.t.c, x.a.adminToken, x.a.orgId, Role.VIEWER)).token;
    editorToken = (await adminDemotedTo(f.t.c, x.a.adminToken, x.a.orgId, Role.EDITOR)).token;
    bExtra = await issue(f.t.c, x.b.adminToken, { kind: TokenKind.INGESTION });
  });

  describe("CreateToken", () => {
    it("lets an admin create ingestion, all-access, read-write and shared tokens, each value shown once with its kind's prefix", async () => {
      const ing = await f.t.c.admin.createToken(
        {
          name: `ing-${tag()}`,
          description: "edge",
          kind: TokenKind.INGESTION,
          permissions: { signals: [Signal.LOGS], buckets: [bucket] },
        },
        x.a.adminToken,
      );
      assert.match(ing.value, /^o2oi_/);
      assert.deepEqual(ing.token!.permissions!.signals, [Signal.LOGS]);
      assert.deepEqual(ing.token!.permissions!.buckets, [bucket]);
      assert.equal(ing.token!.ownerUserId, "", "an ingestion token belongs to the organization");
      assert.equal(ing.token!.createdBy, x.a.adminUserId);
      assert.equal(ing.token!.description, "edge");

      const self = await f.t.c.admin.createToken({ name: `aa-${tag()}`, kind: TokenKind.ALL_ACCESS }, x.a.adminToken);
      assert.match(self.value, /^tsaa_/);
      assert.equal(self.token!.ownerUserId, x.a.adminUserId, "an empty user_id means the caller's user");

      const rw = await f.t.c.admin.createToken(
        {
          name: `rw-${tag()}`,
          kind: TokenKind.READ_WRITE,
          userId: editor,
          permissions: { bucketAccess: [{ bucket, read: true, write: true }] },
        },
        x.a.adminToken,
      );
      assert.match(rw.value, /^tsrw_/);
      assert.equal(rw.token!.ownerUserId, editor);
      assert.equal(rw.token!.permissions!.bucketAccess[0]!.write, true);

      const expiry = Date.now() + HOUR;
      const sh = await f.t.c.admin.createToken(
        {
          name: `sh-${tag()}`,
          kind: TokenKind.SHARED,
          permissions: { dashboards: ["latency"], filters: { service: "checkout" } },
          expireTime: timestampFromMs(expiry),
        },
        x.a.adminToken,
      );
      assert.match(sh.value, /^tssh_/);
      assert.equal(Number(sh.token!.expireTime!.seconds), Math.floor(expiry / 1000));
      assert.deepEqual(sh.token!.permissions!.filters, { service: "checkout" });

      for (const r of [ing, self, rw, sh]) {
        assert.equal(r.token!.organizationId, x.a.orgId);
        assert.equal(r.token!.enabled, true);
        assert.equal(r.token!.maskedValue, maskOf(r.value));
        assertNoSecret(json(r.token), r.value, `${TokenKind[r.token!.kind]} metadata`);
        assertNoSecret(json(await f.t.c.admin.getToken({ id: r.token!.id }, x.a.adminToken)), r.value, "GetToken");
      }
      expectStatus(
        await verify(ing.value, EndpointClass.INGEST, { bucket, signal: Signal.LOGS }),
        VerifyStatus.VALID,
        "the ingestion token",
      );
      expectStatus(await verify(rw.value, EndpointClass.QUERY, { bucket }), VerifyStatus.VALID, "the read-write token");
      expectStatus(await verify(sh.value, EndpointClass.SHARED_VIEW), VerifyStatus.VALID, "the shared token");
    });

    it("lets an operator create verifier and operator tokens, and tokens in any organization", async () => {
      const v = await f.t.c.admin.createToken({ name: `vf-${tag()}`, kind: TokenKind.VERIFIER }, f.inst.operatorToken);
      assert.match(v.value, /^tsvf_/);
      assert.equal(v.token!.ownerUserId, "");
      const op = await f.t.c.admin.createToken({ name: `op-${tag()}`, kind: TokenKind.OPERATOR }, f.inst.operatorToken);
      assert.match(op.value, /^tsop_/);
      assert.equal(op.token!.ownerUserId, f.inst.operatorUserId);
      const inB = await f.t.c.admin.createToken(
        { organizationId: x.b.orgId, name: `in-b-${tag()}`, kind: TokenKind.INGESTION },
        f.inst.operatorToken,
      );
      assert.equal(inB.token!.organizationId, x.b.orgId);
      const aaInB = await f.t.c.admin.createToken(
        { organizationId: x.b.orgId, name: `aa-b-${tag()}`, kind: TokenKind.ALL_ACCESS, userId: x.b.adminUserId },
        f.inst.operatorToken,
      );
      assert.equal(aaInB.token!.ownerUserId, x.b.adminUserId);
      // The new verifier may call Verify; the operator token may call the admin API.
      expectStatus(
        await f.t.c.verify.verify({ credential: inB.value, endpoint: EndpointClass.INGEST }, v.value),
        VerifyStatus.VALID,
        "with the new verifier",
      );
      assert.ok((await f.t.c.admin.listOrganizations({}, op.value)).organizations.length > 0);
    });

    it("lets a parent's admin create a token in a sub-organization", async () => {
      const r = await f.t.c.admin.createToken(
        { organizationId: x.child.orgId, name: `from-parent-${tag()}`, kind: TokenKind.INGESTION },
        x.a.adminToken,
      );
      assert.equal(r.token!.organizationId, x.child.orgId);
      assert.equal(r.token!.createdBy, x.a.adminUserId);
      assert.ok((await f.t.c.admin.listTokens({}, x.child.adminToken)).tokens.some((t) => t.id === r.token!.id));
    });

    it("answers INVALID_ARGUMENT for every malformed field, naming it", async () => {
      const past = timestampFromMs(Date.now() - HOUR);
      const later = timestampFromMs(Date.now() + HOUR);
      const cases: Array<[string, CreateTokenInit, RegExp]> = [
        ["no name", { name: "", kind: TokenKind.INGESTION }, /name/],
        ["a space in the name", { name: "two words", kind: TokenKind.INGESTION }, /name/],
        ["257 characters of name", { name: "n".repeat(257), kind: TokenKind.INGESTION }, /name/],
        ["a NUL in the name", { name: "a\u0000b", kind: TokenKind.INGESTION }, /name/],
        ["a newline in the description", { name: `d-${tag()}`, description: "a\nb", kind: TokenKind.INGESTION }, /description/],
        ["no kind", { name: `k-${tag()}` }, /kind/],
        ["an unknown kind", { name: `k-${tag()}`, kind: 42 as TokenKind }, /kind/],
        [
          "bucket access on an ingestion token",
          { name: `p-${tag()}`, kind: TokenKind.INGESTION, permissions: { bucketAccess: [{ bucket, read: true }] } },
          /bucket_access/,
        ],
        [
          "signals on a read-write token",
          {
            name: `p-${tag()}`,
            kind: TokenKind.READ_WRITE,
            userId: editor,
            permissions: { signals: [Signal.LOGS], bucketAccess: [{ bucket, read: true }] },
          },
          /signals/,
        ],
        [
          "dashboards on an all-access token",
          { name: `p-${tag()}`, kind: TokenKind.ALL_ACCESS, permissions: { dashboards: ["d"] } },
          /dashboards/,
        ],
        [
          "an unspecified signal",
          { name: `p-${tag()}`, kind: TokenKind.INGESTION, permissions: { signals: [Signal.UNSPECIFIED] } },
          /signals/,
        ],
        ["a malformed bucket name", { name: `p-${tag()}`, kind: TokenKind.INGESTION, permissions: { buckets: ["Not Valid"] } }, /bucket/],
        [
          "a bucket the organization lacks, on an ingestion token",
          { name: `p-${tag()}`, kind: TokenKind.INGESTION, permissions: { buckets: ["nowhere"] } },
          /does not exist/,
        ],
        ["a read-write token with no buckets", { name: `p-${tag()}`, kind: TokenKind.READ_WRITE, userId: editor }, /bucket_access/],
        [
          "a bucket named twice",
          {
            name: `p-${tag()}`,
            kind: TokenKind.READ_WRITE,
            userId: editor,
            permissions: {
              bucketAccess: [
                { bucket, read: true },
                { bucket, write: true },
              ],
            },
          },
          /twice/,
        ],
        [
          "a grant of neither read nor write",
          { name: `p-${tag()}`, kind: TokenKind.READ_WRITE, userId: editor, permissions: { bucketAccess: [{ bucket }] } },
          /neither/,
        ],
        [
          "a bucket the organization lacks, on a read-write token",
          {
            name: `p-${tag()}`,
            kind: TokenKind.READ_WRITE,
            userId: editor,
            permissions: { bucketAccess: [{ bucket: "nowhere", read: true }] },
          },
          /does not exist/,
        ],
        [
          "a shared token without an expiry",
          { name: `p-${tag()}`, kind: TokenKind.SHARED, permissions: { dashboards: ["d"] } },
          /expire_time/,
        ],
        ["a shared token without dashboards", { name: `p-${tag()}`, kind: TokenKind.SHARED, expireTime: later }, /dashboards/],
        [
          "an empty dashboard",
          { name: `p-${tag()}`, kind: TokenKind.SHARED, permissions: { dashboards: [""] }, expireTime: later },
          /dashboards/,
        ],
        [
          "a filter with a control character",
          { name: `p-${tag()}`, kind: TokenKind.SHARED, permissions: { dashboards: ["d"], filters: { a: "b\tc" } }, expireTime: later },
          /filters/,
        ],
        ["an expiry in the past", { name: `p-${tag()}`, kind: TokenKind.INGESTION, expireTime: past }, /expire_time must be in the future/],
        [
          "an expiry beyond any date",
          { name: `p-${tag()}`, kind: TokenKind.INGESTION, expireTime: { seconds: 10_000_000_000_000n, nanos: 0 } },
          /expire_time is out of range/,
        ],
        ["a user id on an ingestion token", { name: `p-${tag()}`, kind: TokenKind.INGESTION, userId: editor }, /user_id/],
        ["a user id that is not a UUID", { name: `p-${tag()}`, kind: TokenKind.ALL_ACCESS, userId: "alice" }, /user_id/],
        [
          "an organization id that is not a UUID",
          { name: `p-${tag()}`, kind: TokenKind.INGESTION, organizationId: "acme" },
          /organization_id/,
        ],
      ];
      for (const [label, req, names] of cases) {
        const err = await rejects(f.t.c.admin.createToken(req, x.a.adminToken), Code.InvalidArgument, label);
        assert.match(err.rawMessage, names, `${label}: the message names the field`);
      }
      const list = await f.t.c.admin.listTokens({}, x.a.adminToken);
      assert.ok(!list.tokens.some((t) => t.name.startsWith("p-")), "nothing was created");
    });

    it("answers ALREADY_EXISTS for a name the organization's tokens already have, but not for another organization's", async () => {
      const name = `dup-${tag()}`;
      await f.t.c.admin.createToken({ name, kind: TokenKind.INGESTION }, x.a.adminToken);
      const err = await rejects(
        f.t.c.admin.createToken(
          { name, kind: TokenKind.SHARED, permissions: { dashboards: ["d"] }, expireTime: timestampFromMs(Date.now() + HOUR) },
          x.a.adminToken,
        ),
        Code.AlreadyExists,
        "another kind",
      );
      assert.match(err.rawMessage, /already exists/);
      await rejects(
        f.t.c.admin.createToken({ name: "default", kind: TokenKind.INGESTION }, x.a.adminToken),
        Code.AlreadyExists,
        "the default token's name",
      );
      assert.ok((await f.t.c.admin.createToken({ name, kind: TokenKind.INGESTION }, x.b.adminToken)).value, "the same name in B");
    });

    it("answers PERMISSION_DENIED to an EDITOR or VIEWER, to an admin making operator or verifier tokens, and to owners beyond their role", async () => {
      for (const [label, token] of [
        ["EDITOR", editorToken],
        ["VIEWER", viewerToken],
      ] as const) {
        await rejects(f.t.c.admin.createToken({ name: `by-${tag()}`, kind: TokenKind.INGESTION }, token), Code.PermissionDenied, label);
      }
      await rejects(
        f.t.c.admin.createToken({ name: `op-${tag()}`, kind: TokenKind.OPERATOR }, x.a.adminToken),
        Code.PermissionDenied,
        "an OPERATOR token by an admin",
      );
      await rejects(
        f.t.c.admin.createToken({ name: `vf-${tag()}`, kind: TokenKind.VERIFIER }, x.a.adminToken),
        Code.PermissionDenied,
        "a VERIFIER token by an admin",
      );
      await rejects(
        f.t.c.admin.createToken(
          { organizationId: x.a.orgId, name: `op-${tag()}`, kind: TokenKind.OPERATOR, userId: x.a.adminUserId },
          f.inst.operatorToken,
        ),
        Code.PermissionDenied,
        "an OPERATOR token for a user who is not root",
      );
      await rejects(
        f.t.c.admin.createToken({ name: `aa-${tag()}`, kind: TokenKind.ALL_ACCESS, userId: editor }, x.a.adminToken),
        Code.PermissionDenied,
        "ALL_ACCESS for an EDITOR",
      );
      await rejects(
        f.t.c.admin.createToken(
          { name: `rw-${tag()}`, kind: TokenKind.READ_WRITE, userId: viewer, permissions: { bucketAccess: [{ bucket, write: true }] } },
          x.a.adminToken,
        ),
        Code.PermissionDenied,
        "write access for a VIEWER",
      );
      const read = await issue(f.t.c, x.a.adminToken, {
        kind: TokenKind.READ_WRITE,
        userId: viewer,
        permissions: { bucketAccess: [{ bucket, read: true }] },
      });
      expectStatus(await verify(read.value, EndpointClass.QUERY, { bucket }), VerifyStatus.VALID, "read access for a VIEWER is allowed");
    });

    it("answers NOT_FOUND for another organization, the caller's parent, a closed child, an unknown organization, and owners outside the organization", async () => {
      const cases: Array<[string, CreateTokenInit, string]> = [
        ["another organization", { organizationId: x.b.orgId, kind: TokenKind.INGESTION }, x.a.adminToken],
        ["the caller's parent", { organizationId: x.a.orgId, kind: TokenKind.INGESTION }, x.child.adminToken],
        ["a child denying parent access", { organizationId: x.closedChild.orgId, kind: TokenKind.INGESTION }, x.a.adminToken],
        ["an unknown organization, as an operator", { organizationId: unknownId(), kind: TokenKind.INGESTION }, f.inst.operatorToken],
        ["ALL_ACCESS for another organization's admin", { kind: TokenKind.ALL_ACCESS, userId: x.b.adminUserId }, x.a.adminToken],
        [
          "READ_WRITE for an unknown user",
          { kind: TokenKind.READ_WRITE, userId: unknownId(), permissions: { bucketAccess: [{ bucket, read: true }] } },
          x.a.adminToken,
        ],
        ["OPERATOR for an unknown user", { kind: TokenKind.OPERATOR, userId: unknownId() }, f.inst.operatorToken],
        [
          "ALL_ACCESS for the operator itself, in B where it is no member",
          { organizationId: x.b.orgId, kind: TokenKind.ALL_ACCESS },
          f.inst.operatorToken,
        ],
      ];
      for (const [label, req, token] of cases) {
        const err = await rejects(f.t.c.admin.createToken({ name: `evil-${tag()}`, ...req }, token), Code.NotFound, label);
        assertNoHint(err, bSecrets(), label);
      }
      for (const o of [x.a, x.b, x.closedChild]) {
        const list = await f.t.c.admin.listTokens({ organizationId: o.orgId }, f.inst.operatorToken);
        assert.ok(!list.tokens.some((t) => t.name.startsWith("evil-")), `nothing was created in ${o.identifier}`);
      }
    });

    itRefusesBadCallers("CreateToken", get, (c, token) => c.admin.createToken({ name: `t-${tag()}`, kind: TokenKind.INGESTION }, token));
  });

  describe("GetToken", () => {
    it("returns a token's metadata with its value masked, to any member, an operator and a parent's admin", async () => {
      const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION, description: "read me" });
      for (const [label, token] of [
        ["admin", x.a.adminToken],
        ["VIEWER", viewerToken],
        ["operator", f.inst.operatorToken],
      ] as const) {
        const r = await f.t.c.admin.getToken({ id: t.id }, token);
        assert.equal(r.token!.id, t.id, label);
        assert.equal(r.token!.description, "read me");
        assert.equal(r.token!.maskedValue, maskOf(t.value));
        assertNoSecret(json(r), t.value, label);
      }
      assert.equal((await f.t.c.admin.getToken({ id: t.id.toUpperCase() }, x.a.adminToken)).token!.id, t.id, "ids are case-insensitive");
      assert.equal(
        (await f.t.c.admin.getToken({ id: x.child.defaultTokenId }, x.a.adminToken)).token!.organizationId,
        x.child.orgId,
        "a child's token, by the parent",
      );
    });

    it("answers INVALID_ARGUMENT for an id that is not a UUID", async () => {
      for (const id of ["", "default", "o2oi_x"])
        await rejects(f.t.c.admin.getToken({ id }, x.a.adminToken), Code.InvalidArgument, JSON.stringify(id));
    });

    it("answers NOT_FOUND for another organization's token, the parent's, a closed child's, a deleted and an unknown one", async () => {
      const gone = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION });
      await f.t.c.admin.deleteToken({ id: gone.id }, x.a.adminToken);
      for (const [label, id, token] of [
        ["another organization's default token", x.b.defaultTokenId, x.a.adminToken],
        ["another organization's admin token", x.b.adminTokenId, x.a.adminToken],
        ["the parent's token, from the child", x.a.defaultTokenId, x.child.adminToken],
        ["a closed child's token, from the parent", x.closedChild.defaultTokenId, x.a.adminToken],
        ["a deleted token", gone.id, x.a.adminToken],
        ["an unknown id, as an operator", unknownId(), f.inst.operatorToken],
      ] as const) {
        const err = await rejects(f.t.c.admin.getToken({ id }, token), Code.NotFound, label);
        assertNoHint(err, bSecrets(), label);
      }
    });

    itRefusesBadCallers("GetToken", get, (c, token) => c.admin.getToken({ id: x.a.defaultTokenId }, token));
  });

  describe("ListTokens", () => {
    it("lists the default token first, then by creation, masked, and never another organization's tokens", async () => {
      const o = await createOrg(f.t.c, f.inst.operatorToken);
      const made = [];
      for (let i = 0; i < 3; i++) made.push(await issue(f.t.c, o.adminToken, { kind: TokenKind.INGESTION }));
      const r = await f.t.c.admin.listTokens({}, o.adminToken);
      assert.deepEqual(
        r.tokens.map((t) => t.id),
        [o.defaultTokenId, o.adminTokenId, ...made.map((m) => m.id)],
      );
      assert.equal(r.nextPageToken, "");
      for (const m of made) assertNoSecret(json(r), m.value, "ListTokens");
      const a = await f.t.c.admin.listTokens({}, x.a.adminToken);
      assert.ok(a.tokens.every((t) => t.organizationId === x.a.orgId));
      for (const s of bSecrets()) assert.ok(!json(a).includes(s), `A's listing names ${s}`);
    });

    it("filters by kind and by owner", async () => {
      const rw = await issue(f.t.c, x.a.adminToken, {
        kind: TokenKind.READ_WRITE,
        userId: editor,
        permissions: { bucketAccess: [{ bucket, read: true }] },
      });
      const byKind = await f.t.c.admin.listTokens({ kind: TokenKind.READ_WRITE }, x.a.adminToken);
      assert.ok(byKind.tokens.length > 0 && byKind.tokens.every((t) => t.kind === TokenKind.READ_WRITE));
      assert.ok(byKind.tokens.some((t) => t.id === rw.id));
      const byOwner = await f.t.c.admin.listTokens({ ownerUserId: editor }, x.a.adminToken);
      assert.ok(byOwner.tokens.length > 0 && byOwner.tokens.every((t) => t.ownerUserId === editor));
      const foreignOwner = await f.t.c.admin.listTokens({ ownerUserId: x.b.adminUserId }, x.a.adminToken);
      assert.deepEqual(foreignOwner.tokens, [], "another organization's user owns nothing here");
    });

    it("pages two at a time through every token without repeats, for any member, an operator and a parent's admin", async () => {
      for (let i = 0; i < 3; i++) await issue(f.t.c, x.child.adminToken, { kind: TokenKind.INGESTION });
      const all = (await f.t.c.admin.listTokens({}, x.child.adminToken)).tokens.map((t) => t.id);
      assert.ok(all.length >= 5);
      for (const [label, token, organizationId] of [
        ["the child's admin", x.child.adminToken, ""],
        ["the parent's admin", x.a.adminToken, x.child.orgId],
        ["an operator", f.inst.operatorToken, x.child.orgId],
      ] as const) {
        const seen: string[] = [];
        let pageToken = "";
        do {
          const r = await f.t.c.admin.listTokens({ organizationId, pageSize: 2, pageToken }, token);
          assert.ok(r.tokens.length <= 2);
          seen.push(...r.tokens.map((t) => t.id));
          pageToken = r.nextPageToken;
        } while (pageToken !== "");
        assert.deepEqual(seen, all, label);
      }
      assert.ok((await f.t.c.admin.listTokens({}, viewerToken)).tokens.length > 0, "a VIEWER");
    });

    it("answers INVALID_ARGUMENT for a negative page size, a foreign or forged page token, an unknown kind and malformed ids", async () => {
      const orgs = await f.t.c.admin.listOrganizations({ pageSize: 1 }, f.inst.operatorToken);
      assert.notEqual(orgs.nextPageToken, "");
      const forge = (p: string) => Buffer.from(JSON.stringify({ k: "t", p })).toString("base64url");
      for (const [label, req] of [
        ["a negative page size", { pageSize: -5 }],
        ["garbage for a page token", { pageToken: "%%%" }],
        ["a ListOrganizations page token", { pageToken: orgs.nextPageToken }],
        ["a page token with a forged position", { pageToken: forge("x:1") }],
        ["a page token past the largest position", { pageToken: forge("1:9223372036854775808") }],
        ["an unknown kind", { kind: 42 as TokenKind }],
        ["an owner id that is not a UUID", { ownerUserId: "alice" }],
        ["an organization id that is not a UUID", { organizationId: "acme" }],
      ] as const) {
        await rejects(f.t.c.admin.listTokens(req, x.a.adminToken), Code.InvalidArgument, label);
      }
    });

    it("answers NOT_FOUND for another organization, the caller's parent, a closed child and an unknown organization", async () => {
      for (const [label, organizationId, token] of [
        ["another organization", x.b.orgId, x.a.adminToken],
        ["the caller's parent", x.a.orgId, x.child.adminToken],
        ["a child denying parent access", x.closedChild.orgId, x.a.adminToken],
        ["an unknown organization, as an operator", unknownId(), f.inst.operatorToken],
      ] as const) {
        const err = await rejects(f.t.c.admin.listTokens({ organizationId }, token), Code.NotFound, label);
        assertNoHint(err, bSecrets(), label);
      }
    });

    itRefusesBadCallers("ListTokens", get, (c, token) => c.admin.listTokens({}, token));
  });

  describe("UpdateToken", () => {
    it("changes the description and nothing else; the token keeps working", async () => {
      const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION, description: "before" });
      const before = (await f.t.c.admin.getToken({ id: t.id }, x.a.adminToken)).token!;
      const r = await f.t.c.admin.updateToken({ id: t.id, description: "after" }, x.a.adminToken);
      assert.equal(r.token!.description, "after");
      const { description: _a, updateTime: _b, $typeName: _c, ...rest } = r.token!;
      const { description: _d, updateTime: _e, $typeName: _f, ...was } = before;
      assert.deepEqual(json(rest), json(was), "only the description (and update time) changed");
      expectStatus(await verify(t.value), VerifyStatus.VALID, "still valid");
      const cleared = await f.t.c.admin.updateToken({ id: t.id, description: "" }, x.a.adminToken);
      assert.equal(cleared.token!.description, "", "an empty description is allowed");
      const fromParent = await f.t.c.admin.updateToken({ id: x.child.defaultTokenId, description: "set by the parent" }, x.a.adminToken);
      assert.equal(fromParent.token!.description, "set by the parent");
    });

    it("answers INVALID_ARGUMENT for a bad description or an id that is not a UUID", async () => {
      await rejects(
        f.t.c.admin.updateToken({ id: x.a.defaultTokenId, description: "x".repeat(1025) }, x.a.adminToken),
        Code.InvalidArgument,
        "too long",
      );
      await rejects(
        f.t.c.admin.updateToken({ id: x.a.defaultTokenId, description: "a\rb" }, x.a.adminToken),
        Code.InvalidArgument,
        "a carriage return",
      );
      await rejects(f.t.c.admin.updateToken({ id: "default", description: "x" }, x.a.adminToken), Code.InvalidArgument, "not a UUID");
    });

    it("answers NOT_FOUND for another organization's token, the parent's and an unknown one, changing nothing", async () => {
      for (const [label, id, token] of [
        ["another organization's token", bExtra.id, x.a.adminToken],
        ["the parent's token, from the child", x.a.defaultTokenId, x.child.adminToken],
        ["an unknown id", unknownId(), x.a.adminToken],
      ] as const) {
        const err = await rejects(f.t.c.admin.updateToken({ id, description: "pwned" }, token), Code.NotFound, label);
        assertNoHint(err, bSecrets(), label);
      }
      assert.notEqual((await f.t.c.admin.getToken({ id: bExtra.id }, x.b.adminToken)).token!.description, "pwned");
      assert.notEqual((await f.t.c.admin.getToken({ id: x.a.defaultTokenId }, x.a.adminToken)).token!.description, "pwned");
    });

    it("answers PERMISSION_DENIED to an EDITOR or VIEWER", async () => {
      for (const [label, token] of [
        ["EDITOR", editorToken],
        ["VIEWER", viewerToken],
      ] as const) {
        await rejects(f.t.c.admin.updateToken({ id: x.a.defaultTokenId, description: label }, token), Code.PermissionDenied, label);
      }
    });

    itRefusesBadCallers("UpdateToken", get, (c, token) => c.admin.updateToken({ id: x.a.defaultTokenId, description: "x" }, token));
  });

  describe("SetTokenEnabled", () => {
    it("disables a token for the very next Verify and enables it again, twice over without error", async () => {
      const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION });
      expectStatus(await verify(t.value), VerifyStatus.VALID, "before");
      const off = await f.t.c.admin.setTokenEnabled({ id: t.id, enabled: false }, x.a.adminToken);
      assert.equal(off.token!.enabled, false);
      expectStatus(await verify(t.value), VerifyStatus.DISABLED, "disabled");
      assert.equal((await f.t.c.admin.setTokenEnabled({ id: t.id, enabled: false }, x.a.adminToken)).token!.enabled, false, "again");
      const on = await f.t.c.admin.setTokenEnabled({ id: t.id, enabled: true }, x.a.adminToken);
      assert.equal(on.token!.enabled, true);
      expectStatus(await verify(t.value), VerifyStatus.VALID, "enabled");
    });

    it("lets a parent's admin and an operator switch a sub-organization's token", async () => {
      const t = await issue(f.t.c, x.child.adminToken, { kind: TokenKind.INGESTION });
      await f.t.c.admin.setTokenEnabled({ id: t.id, enabled: false }, x.a.adminToken);
      expectStatus(await verify(t.value), VerifyStatus.DISABLED, "by the parent");
      await f.t.c.admin.setTokenEnabled({ id: t.id, enabled: true }, f.inst.operatorToken);
      expectStatus(await verify(t.value), VerifyStatus.VALID, "by an operator");
    });

    it("answers INVALID_ARGUMENT for an id that is not a UUID", async () => {
      await rejects(f.t.c.admin.setTokenEnabled({ id: "x", enabled: false }, x.a.adminToken), Code.InvalidArgument);
    });

    it("answers NOT_FOUND for another organization's token, the parent's and an unknown one, which stay enabled", async () => {
      for (const [label, id, token] of [
        ["another organization's token", bExtra.id, x.a.adminToken],
        ["the parent's token, from the child", x.a.defaultTokenId, x.child.adminToken],
        ["an unknown id", unknownId(), x.a.adminToken],
      ] as const) {
        const err = await rejects(f.t.c.admin.setTokenEnabled({ id, enabled: false }, token), Code.NotFound, label);
        assertNoHint(err, bSecrets(), label);
      }
      expectStatus(await verify(bExtra.value), VerifyStatus.VALID, "B's token");
      expectStatus(await verify(x.a.defaultTokenValue), VerifyStatus.VALID, "the parent's token");
    });

    it("answers PERMISSION_DENIED to an EDITOR or VIEWER, and the token stays enabled", async () => {
      for (const [label, token] of [
        ["EDITOR", editorToken],
        ["VIEWER", viewerToken],
      ] as const) {
        await rejects(f.t.c.admin.setTokenEnabled({ id: x.a.defaultTokenId, enabled: false }, token), Code.PermissionDenied, label);
      }
      expectStatus(await verify(x.a.defaultTokenValue), VerifyStatus.VALID, "A's default token");
    });

    itRefusesBadCallers("SetTokenEnabled", get, (c, token) => c.admin.setTokenEnabled({ id: x.a.defaultTokenId, enabled: true }, token));
  });

  describe("RotateToken", () => {
    it("returns a new value once, retires the old one at once, and keeps the token's identity", async () => {
      const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION });
      const r = await f.t.c.admin.rotateToken({ id: t.id }, x.a.adminToken);
      assert.notEqual(r.value, t.value);
      assert.match(r.value, /^o2oi_/);
      assert.equal(r.token!.id, t.id);
      assert.equal(r.token!.maskedValue, maskOf(r.value));
      expectStatus(await verify(t.value), VerifyStatus.NOT_FOUND, "the old value");
      expectStatus(await verify(r.value), VerifyStatus.VALID, "the new value");
      assertNoSecret(json(await f.t.c.admin.getToken({ id: t.id }, x.a.adminToken)), r.value, "GetToken after rotation");
    });

    it("rotates the default token, whose passcode then shows the new mask", async () => {
      const o = await createOrg(f.t.c, f.inst.operatorToken);
      const r = await f.t.c.admin.rotateToken({ id: o.defaultTokenId }, o.adminToken);
      assert.equal((await f.t.c.admin.getPasscode({}, o.adminToken)).token!.maskedValue, maskOf(r.value));
      expectStatus(await verify(o.defaultTokenValue), VerifyStatus.NOT_FOUND, "the old default value");
    });

    it("answers INVALID_ARGUMENT for an id that is not a UUID", async () => {
      await rejects(f.t.c.admin.rotateToken({ id: "" }, x.a.adminToken), Code.InvalidArgument);
    });

    it("answers NOT_FOUND for another organization's token, the parent's and an unknown one, whose values keep working", async () => {
      for (const [label, id, token] of [
        ["another organization's token", bExtra.id, x.a.adminToken],
        ["another organization's default token", x.b.defaultTokenId, x.a.adminToken],
        ["the parent's token, from the child", x.a.defaultTokenId, x.child.adminToken],
        ["an unknown id", unknownId(), x.a.adminToken],
      ] as const) {
        const err = await rejects(f.t.c.admin.rotateToken({ id }, token), Code.NotFound, label);
        assertNoHint(err, bSecrets(), label);
      }
      expectStatus(await verify(bExtra.value), VerifyStatus.VALID, "B's token");
      expectStatus(await verify(x.b.defaultTokenValue), VerifyStatus.VALID, "B's default token");
      expectStatus(await verify(x.a.defaultTokenValue), VerifyStatus.VALID, "the parent's token");
    });

    it("answers PERMISSION_DENIED to an EDITOR or VIEWER", async () => {
      for (const [label, token] of [
        ["EDITOR", editorToken],
        ["VIEWER", viewerToken],
      ] as const) {
        await rejects(f.t.c.admin.rotateToken({ id: x.a.defaultTokenId }, token), Code.PermissionDenied, label);
      }
      expectStatus(await verify(x.a.defaultTokenValue), VerifyStatus.VALID, "A's default value");
    });

    itRefusesBadCallers("RotateToken", get, (c, token) => c.admin.rotateToken({ id: bExtra.id }, token));
  });

  describe("DeleteToken", () => {
    it("deletes a token: its value is NOT_FOUND at once, reads of it are NOT_FOUND, and its name is free again", async () => {
      const name = `bye-${tag()}`;
      const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION, name });
      assert.deepEqual(
        json(await f.t.c.admin.deleteToken({ id: t.id }, x.a.adminToken)),
        json({ $typeName: "tessera.v1.DeleteTokenResponse" }),
      );
      expectStatus(await verify(t.value), VerifyStatus.NOT_FOUND, "the deleted value");
      await rejects(f.t.c.admin.getToken({ id: t.id }, x.a.adminToken), Code.NotFound, "GetToken");
      await rejects(f.t.c.admin.deleteToken({ id: t.id }, x.a.adminToken), Code.NotFound, "deleting it again");
      const again = await f.t.c.admin.createToken({ name, kind: TokenKind.INGESTION }, x.a.adminToken);
      assert.notEqual(again.token!.id, t.id);
    });

    it("lets a parent's admin delete a sub-organization's token", async () => {
      const t = await issue(f.t.c, x.child.adminToken, { kind: TokenKind.INGESTION });
      await f.t.c.admin.deleteToken({ id: t.id }, x.a.adminToken);
      expectStatus(await verify(t.value), VerifyStatus.NOT_FOUND, "deleted by the parent");
    });

    it("answers FAILED_PRECONDITION for the default ingestion token, whoever asks", async () => {
      for (const [label, id, token] of [
        ["the organization's admin", x.a.defaultTokenId, x.a.adminToken],
        ["a parent's admin, the child's", x.child.defaultTokenId, x.a.adminToken],
        ["an operator", x.b.defaultTokenId, f.inst.operatorToken],
      ] as const) {
        const err = await rejects(f.t.c.admin.deleteToken({ id }, token), Code.FailedPrecondition, label);
        assert.match(err.rawMessage, /default/);
      }
      expectStatus(await verify(x.a.defaultTokenValue), VerifyStatus.VALID, "A's default token");
      expectStatus(await verify(x.b.defaultTokenValue), VerifyStatus.VALID, "B's default token");
    });

    it("answers INVALID_ARGUMENT for an id that is not a UUID", async () => {
      await rejects(f.t.c.admin.deleteToken({ id: "default" }, x.a.adminToken), Code.InvalidArgument);
    });

    it("answers NOT_FOUND for another organization's token, the parent's and an unknown one, deleting nothing", async () => {
      const parentToken = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION });
      for (const [label, id, token] of [
        ["another organization's token", bExtra.id, x.a.adminToken],
        ["another organization's admin token", x.b.adminTokenId, x.a.adminToken],
        ["the parent's token, from the child", parentToken.id, x.child.adminToken],
        ["an unknown id", unknownId(), x.a.adminToken],
      ] as const) {
        const err = await rejects(f.t.c.admin.deleteToken({ id }, token), Code.NotFound, label);
        assertNoHint(err, bSecrets(), label);
      }
      expectStatus(await verify(bExtra.value), VerifyStatus.VALID, "B's token");
      expectStatus(await verify(parentToken.value), VerifyStatus.VALID, "the parent's token");
      assert.ok((await f.t.c.admin.listTokens({}, x.b.adminToken)).tokens.length > 0, "B's admin token");
    });

    it("answers PERMISSION_DENIED to an EDITOR or VIEWER", async () => {
      const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION });
      for (const [label, token] of [
        ["EDITOR", editorToken],
        ["VIEWER", viewerToken],
      ] as const) {
        await rejects(f.t.c.admin.deleteToken({ id: t.id }, token), Code.PermissionDenied, label);
      }
      expectStatus(await verify(t.value), VerifyStatus.VALID, "still there");
    });

    itRefusesBadCallers("DeleteToken", get, (c, token) => c.admin.deleteToken({ id: unknownId() }, token));
  });

  describe("GetPasscode", () => {
    it("returns the default token's metadata, masked, and the identifier, to any member, an operator and a parent's admin", async () => {
      for (const [label, token, organizationId, org] of [
        ["the admin", x.a.adminToken, "", x.a],
        ["a VIEWER", viewerToken, "", x.a],
        ["an operator, for B", f.inst.operatorToken, x.b.orgId, x.b],
        ["a parent's admin, for the child", x.a.adminToken, x.child.orgId, x.child],
      ] as const) {
        const r = await f.t.c.admin.getPasscode({ organizationId }, token);
        assert.equal(r.token!.id, org.defaultTokenId, label);
        assert.equal(r.token!.name, "default");
        assert.equal(r.organizationIdentifier, org.identifier);
        assert.equal(r.token!.maskedValue, maskOf(org.defaultTokenValue));
        assertNoSecret(json(r), org.defaultTokenValue, label);
      }
    });

    it("answers INVALID_ARGUMENT for an organization id that is not a UUID", async () => {
      await rejects(f.t.c.admin.getPasscode({ organizationId: "acme" }, x.a.adminToken), Code.InvalidArgument);
    });

    it("answers NOT_FOUND for another organization, the caller's parent, a closed child and an unknown organization", async () => {
      for (const [label, organizationId, token] of [
        ["another organization", x.b.orgId, x.a.adminToken],
        ["the caller's parent", x.a.orgId, x.child.adminToken],
        ["a child denying parent access", x.closedChild.orgId, x.a.adminToken],
        ["an unknown organization, as an operator", unknownId(), f.inst.operatorToken],
      ] as const) {
        const err = await rejects(f.t.c.admin.getPasscode({ organizationId }, token), Code.NotFound, label);
        assertNoHint(err, bSecrets(), label);
      }
    });

    itRefusesBadCallers("GetPasscode", get, (c, token) => c.admin.getPasscode({}, token));
  });
});
