/**
 * Verify in memory: every status (VALID, MALFORMED, NOT_FOUND, DISABLED, EXPIRED, WRONG_ENDPOINT,
 * FORBIDDEN, OWNER_INACTIVE, ORGANIZATION_DISABLED) as data, never as an RPC error; another
 * organization's token answers NOT_FOUND with no principal whatever its state; and the RPC
 * errors Verify does have, which are about its caller (UNAUTHENTICATED, PERMISSION_DENIED).
 * The service's clock is movable, so expiry needs no waiting.
 */
import assert from "node:assert/strict";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { EndpointClass, Role, Signal, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus, type VerifyResponse } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import pg from "pg";
import { generateToken } from "../../src/domain/token-format.js";
import { useInMemoryTessera } from "../helpers/in-memory.js";
import { addMember, createOrg, issue, type SeededOrg } from "../helpers/seed.js";
import { basic, flipOne } from "../service/support.js";
import { adminDemotedTo, createSubOrg, expectStatus, rejects, seedCallers, tag, type Callers } from "./support.js";

const ENDPOINTS = [EndpointClass.INGEST, EndpointClass.QUERY, EndpointClass.ADMIN, EndpointClass.SHARED_VIEW];

describe("Verify, in memory", () => {
  // The services' clock: moved forward (never back) to pass expiries.
  let offset = 0;
  const now = () => Date.now() + offset;
  const f = useInMemoryTessera({ now });
  let a: SeededOrg;
  let b: SeededOrg;
  let child: SeededOrg;
  let closedChild: SeededOrg;
  let callers: Callers;
  let editor: string;
  const bucket = "logs";

  const verify = (credential: string, endpoint: EndpointClass, extra: { organization?: string; bucket?: string; signal?: Signal } = {}) =>
    f.t.c.verify.verify({ credential, endpoint, ...extra }, f.inst.verifierToken);
  const refusedAnonymously = (r: VerifyResponse, status: VerifyStatus, what: string) => {
    expectStatus(r, status, what);
    assert.equal(r.principal, undefined, `${what}: no principal`);
    assert.equal(r.permissions, undefined, `${what}: no permissions`);
    assert.equal(r.expireTime, undefined, `${what}: no expiry`);
    assert.equal(r.cacheTtl, undefined, `${what}: no cache hint`);
  };

  before(async () => {
    a = await createOrg(f.t.c, f.inst.operatorToken);
    b = await createOrg(f.t.c, f.inst.operatorToken);
    child = await createSubOrg(f.t.c, f.inst.operatorToken, a);
    closedChild = await createSubOrg(f.t.c, f.inst.operatorToken, a, { denyParentAccess: true });
    await f.t.c.admin.createBucket({ name: bucket }, a.adminToken);
    await f.t.c.admin.createBucket({ name: "other" }, a.adminToken);
    editor = await addMember(f.t.c, a.adminToken, a.orgId, Role.EDITOR);
    callers = await seedCallers(f.t.c, f.inst.operatorToken, a);
  });

  describe("VALID", () => {
    it("accepts an ingestion token on INGEST, naming its principal and permissions, with a cursor and a cache hint", async () => {
      const t = await f.t.c.admin.createToken(
        { name: `edge-${tag()}`, kind: TokenKind.INGESTION, permissions: { signals: [Signal.LOGS], buckets: [bucket] } },
        a.adminToken,
      );
      const r = await verify(t.value, EndpointClass.INGEST, { organization: a.identifier, bucket, signal: Signal.LOGS });
      expectStatus(r, VerifyStatus.VALID, "ingestion on INGEST");
      assert.equal(r.principal!.tokenId, t.token!.id);
      assert.equal(r.principal!.tokenName, t.token!.name);
      assert.equal(r.principal!.kind, TokenKind.INGESTION);
      assert.equal(r.principal!.organizationId, a.orgId);
      assert.equal(r.principal!.organizationIdentifier, a.identifier);
      assert.equal(r.principal!.ownerUserId, "");
      assert.deepEqual(r.permissions!.signals, [Signal.LOGS]);
      assert.deepEqual(r.permissions!.buckets, [bucket]);
      assert.equal(r.role, Role.UNSPECIFIED, "no role for an organization's token");
      assert.equal(r.cursor.split(".")[0], f.t.services.hub.feedId, "the cursor is this database's");
      assert.ok(r.cacheTtl && r.cacheTtl.seconds > 0n, "a cache hint");
    });

    it("accepts the credential bare, as Bearer, as Token and as Basic with or without an organization", async () => {
      for (const [label, credential] of [
        ["bare", a.defaultTokenValue],
        ["Bearer", `Bearer ${a.defaultTokenValue}`],
        ["lower-case bearer", `bearer ${a.defaultTokenValue}`],
        ["Token", `Token ${a.defaultTokenValue}`],
        ["Basic with the organization", basic(a.identifier, a.defaultTokenValue)],
        ["Basic without an organization", basic("", a.defaultTokenValue)],
      ] as const) {
        const r = await verify(credential, EndpointClass.INGEST);
        expectStatus(r, VerifyStatus.VALID, label);
        assert.equal(r.principal!.tokenId, a.defaultTokenId, label);
      }
    });

    it("accepts an ADMIN's all-access token on every endpoint class with its role, and an operator token everywhere, every organization included", async () => {
      for (const e of ENDPOINTS) {
        const r = await verify(a.adminToken, e, { organization: a.identifier });
        expectStatus(r, VerifyStatus.VALID, `ALL_ACCESS on ${EndpointClass[e]}`);
        assert.equal(r.role, Role.ADMIN);
        assert.equal(r.principal!.ownerUserId, a.adminUserId);
        for (const organization of ["", a.identifier, b.identifier]) {
          const op = await verify(f.inst.operatorToken, e, { organization });
          expectStatus(op, VerifyStatus.VALID, `OPERATOR on ${EndpointClass[e]} for "${organization}"`);
          assert.equal(op.role, Role.ADMIN);
        }
      }
    });

    it("accepts a read-write token for reads and writes it was granted, bounded by its owner's role", async () => {
      const rw = await issue(f.t.c, a.adminToken, {
        kind: TokenKind.READ_WRITE,
        userId: editor,
        permissions: { bucketAccess: [{ bucket, read: true, write: true }] },
      });
      const read = await verify(rw.value, EndpointClass.QUERY, { bucket });
      expectStatus(read, VerifyStatus.VALID, "a read");
      assert.equal(read.role, Role.EDITOR);
      assert.deepEqual(
        read.permissions!.bucketAccess.map((g) => [g.bucket, g.read, g.write]),
        [[bucket, true, true]],
      );
      expectStatus(await verify(rw.value, EndpointClass.INGEST, { bucket }), VerifyStatus.VALID, "a write");
    });

    it("accepts a shared token on SHARED_VIEW with its dashboards, filters and expiry", async () => {
      const expiry = now() + 3_600_000;
      const s = await issue(f.t.c, a.adminToken, {
        kind: TokenKind.SHARED,
        permissions: { dashboards: ["latency"], filters: { env: "prod" } },
        expireTime: timestampFromMs(expiry),
      });
      const r = await verify(s.value, EndpointClass.SHARED_VIEW);
      expectStatus(r, VerifyStatus.VALID, "shared on SHARED_VIEW");
      assert.deepEqual(r.permissions!.dashboards, ["latency"]);
      assert.deepEqual(r.permissions!.filters, { env: "prod" });
      assert.equal(Number(r.expireTime!.seconds), Math.floor(expiry / 1000));
    });

    it("accepts a parent's tokens addressed to a sub-organization that keeps parent access", async () => {
      for (const [label, token, endpoint] of [
        ["the parent's ingestion token", a.defaultTokenValue, EndpointClass.INGEST],
        ["the parent's all-access token", a.adminToken, EndpointClass.QUERY],
      ] as const) {
        const r = await verify(token, endpoint, { organization: child.identifier });
        expectStatus(r, VerifyStatus.VALID, label);
        assert.equal(r.principal!.organizationId, a.orgId, `${label}: the principal is still the parent's`);
      }
    });
  });

  describe("MALFORMED", () => {
    it("answers MALFORMED, with nothing else, for credentials that are not well-formed and endpoints that are not classes", async () => {
      const good = a.defaultTokenValue;
      for (const [label, credential, endpoint] of [
        ["an empty credential", "", EndpointClass.INGEST],
        ["a scheme alone", "Bearer", EndpointClass.INGEST],
        ["an unknown scheme", `Digest ${good}`, EndpointClass.INGEST],
        ["two words", `Bearer ${good} extra`, EndpointClass.INGEST],
        ["Basic that is not base64", "Basic !!!", EndpointClass.INGEST],
        ["Basic without a colon", `Basic ${Buffer.from(good).toString("base64")}`, EndpointClass.INGEST],
        // (42 characters or an unknown prefix would be an imported value's shape: NOT_FOUND, see values.test.ts.)
        ["a token too short to be an imported value", good.slice(0, 31), EndpointClass.INGEST],
        ["a value too long to be an imported value", `xxxx_${good.slice(5)}`.padEnd(513, "Q"), EndpointClass.INGEST],
        ["a wrong checksum", flipOne(good), EndpointClass.INGEST],
        ["a newline inside", `${good.slice(0, 10)}\n${good.slice(10)}`, EndpointClass.INGEST],
        ["a NUL inside", `Bearer ${good}\u0000`, EndpointClass.INGEST],
        ["5,000 characters", "a".repeat(5000), EndpointClass.INGEST],
        ["an unspecified endpoint", good, EndpointClass.UNSPECIFIED],
        ["an unknown endpoint", good, 99 as EndpointClass],
      ] as const) {
        refusedAnonymously(await verify(credential, endpoint), VerifyStatus.MALFORMED, label);
      }
    });
  });

  describe("NOT_FOUND", () => {
    it("answers NOT_FOUND for a well-formed token nobody has, a deleted one and a rotated-away value", async () => {
      const gone = await issue(f.t.c, a.adminToken, { kind: TokenKind.INGESTION });
      await f.t.c.admin.deleteToken({ id: gone.id }, a.adminToken);
      const rotated = await issue(f.t.c, a.adminToken, { kind: TokenKind.INGESTION });
      await f.t.c.admin.rotateToken({ id: rotated.id }, a.adminToken);
      for (const [label, credential] of [
        ["an unknown token", generateToken("INGESTION")],
        ["a deleted token", gone.value],
        ["a rotated-away value", rotated.value],
      ] as const) {
        refusedAnonymously(await verify(credential, EndpointClass.INGEST), VerifyStatus.NOT_FOUND, label);
      }
    });

    it("answers NOT_FOUND with no principal for another organization's token, whatever state the token is in", async () => {
      const disabled = await issue(f.t.c, b.adminToken, { kind: TokenKind.INGESTION });
      await f.t.c.admin.setTokenEnabled({ id: disabled.id, enabled: false }, b.adminToken);
      const expiring = await issue(f.t.c, b.adminToken, { kind: TokenKind.INGESTION, expireTime: timestampFromMs(now() + 60_000) });
      const wrongEndpoint = await issue(f.t.c, b.adminToken, {
        kind: TokenKind.SHARED,
        permissions: { dashboards: ["d"] },
        expireTime: timestampFromMs(now() + 3_600_000),
      });
      const cases: Array<[string, string, EndpointClass]> = [
        ["B's valid default token", b.defaultTokenValue, EndpointClass.INGEST],
        ["B's admin token", b.adminToken, EndpointClass.QUERY],
        ["B's disabled token", disabled.value, EndpointClass.INGEST],
        ["B's shared token on the wrong endpoint", wrongEndpoint.value, EndpointClass.INGEST],
      ];
      for (const [label, credential, endpoint] of cases) {
        refusedAnonymously(
          await verify(credential, endpoint, { organization: a.identifier }),
          VerifyStatus.NOT_FOUND,
          `${label}, addressed to A`,
        );
        refusedAnonymously(await verify(basic(a.identifier, credential), endpoint), VerifyStatus.NOT_FOUND, `${label}, as Basic naming A`);
      }
      offset += 61_000;
      refusedAnonymously(
        await verify(expiring.value, EndpointClass.INGEST, { organization: a.identifier }),
        VerifyStatus.NOT_FOUND,
        "B's expired token, addressed to A",
      );
      expectStatus(
        await verify(expiring.value, EndpointClass.INGEST, { organization: b.identifier }),
        VerifyStatus.EXPIRED,
        "the same token, addressed to B",
      );
    });

    it("answers NOT_FOUND across the organization tree where access does not reach", async () => {
      for (const [label, credential, organization] of [
        ["a child's token, addressed to its parent", child.defaultTokenValue, a.identifier],
        ["a parent's token, addressed to a child denying parent access", a.defaultTokenValue, closedChild.identifier],
        ["a child's token, addressed to its sibling", child.defaultTokenValue, closedChild.identifier],
        ["a token, addressed to an organization nobody has", a.defaultTokenValue, `nobody-${tag()}`],
        ["a token, addressed to an identifier no organization can have", a.defaultTokenValue, "Not An Identifier"],
      ] as const) {
        refusedAnonymously(await verify(credential, EndpointClass.INGEST, { organization }), VerifyStatus.NOT_FOUND, label);
      }
    });

    it("answers NOT_FOUND when a Basic credential and the organization field name different organizations", async () => {
      refusedAnonymously(
        await verify(basic(a.identifier, a.defaultTokenValue), EndpointClass.INGEST, { organization: b.identifier }),
        VerifyStatus.NOT_FOUND,
        "A in Basic, B in the field",
      );
      refusedAnonymously(
        await verify(basic(b.identifier, a.defaultTokenValue), EndpointClass.INGEST, { organization: a.identifier }),
        VerifyStatus.NOT_FOUND,
        "B in Basic, A in the field",
      );
    });
  });

  describe("DISABLED", () => {
    it("answers DISABLED for a disabled token, with its principal, on the very next call", async () => {
      const t = await issue(f.t.c, a.adminToken, { kind: TokenKind.INGESTION });
      expectStatus(await verify(t.value, EndpointClass.INGEST), VerifyStatus.VALID, "before");
      await f.t.c.admin.setTokenEnabled({ id: t.id, enabled: false }, a.adminToken);
      const r = await verify(t.value, EndpointClass.INGEST, { organization: a.identifier });
      expectStatus(r, VerifyStatus.DISABLED, "after");
      assert.equal(r.principal!.tokenId, t.id, "its own organization learns which token it was");
      assert.equal(r.permissions, undefined, "no permissions on a refusal");
    });
  });

  describe("EXPIRED", () => {
    it("answers EXPIRED once the services' clock passes a token's expiry, with the expiry", async () => {
      const at = now() + 60_000;
      const s = await issue(f.t.c, a.adminToken, {
        kind: TokenKind.SHARED,
        permissions: { dashboards: ["d"] },
        expireTime: timestampFromMs(at),
      });
      const i = await issue(f.t.c, a.adminToken, { kind: TokenKind.INGESTION, expireTime: timestampFromMs(at) });
      expectStatus(await verify(s.value, EndpointClass.SHARED_VIEW), VerifyStatus.VALID, "shared, before");
      expectStatus(await verify(i.value, EndpointClass.INGEST), VerifyStatus.VALID, "ingestion, before");
      offset += 61_000;
      for (const [label, value, e] of [
        ["shared", s.value, EndpointClass.SHARED_VIEW],
        ["ingestion", i.value, EndpointClass.INGEST],
      ] as const) {
        const r = await verify(value, e);
        expectStatus(r, VerifyStatus.EXPIRED, `${label}, after`);
        assert.equal(Number(r.expireTime!.seconds), Math.floor(at / 1000), `${label}: the expiry`);
      }
    });
  });

  describe("WRONG_ENDPOINT", () => {
    it("answers WRONG_ENDPOINT for each kind on the endpoint classes it is not valid on", async () => {
      const rw = await issue(f.t.c, a.adminToken, {
        kind: TokenKind.READ_WRITE,
        userId: editor,
        permissions: { bucketAccess: [{ bucket, read: true, write: true }] },
      });
      const cases: Array<[string, string, EndpointClass[]]> = [
        ["an ingestion token", a.defaultTokenValue, [EndpointClass.QUERY, EndpointClass.ADMIN, EndpointClass.SHARED_VIEW]],
        ["a read-write token", rw.value, [EndpointClass.ADMIN, EndpointClass.SHARED_VIEW]],
        ["a shared token", callers.shared, [EndpointClass.INGEST, EndpointClass.QUERY, EndpointClass.ADMIN]],
        ["a verifier token", callers.verifier, ENDPOINTS],
      ];
      for (const [label, value, endpoints] of cases) {
        for (const e of endpoints) {
          const r = await verify(value, e, { bucket });
          expectStatus(r, VerifyStatus.WRONG_ENDPOINT, `${label} on ${EndpointClass[e]}`);
          assert.ok(r.principal, `${label}: the principal is named to its own organization`);
        }
      }
    });
  });

  describe("FORBIDDEN", () => {
    it("answers FORBIDDEN for an ingestion token outside its signals or buckets", async () => {
      const t = await issue(f.t.c, a.adminToken, {
        kind: TokenKind.INGESTION,
        permissions: { signals: [Signal.METRICS], buckets: [bucket] },
      });
      expectStatus(await verify(t.value, EndpointClass.INGEST, { bucket, signal: Signal.METRICS }), VerifyStatus.VALID, "inside");
      for (const [label, extra] of [
        ["another signal", { bucket, signal: Signal.LOGS }],
        ["no signal", { bucket }],
        ["another bucket", { bucket: "other", signal: Signal.METRICS }],
        ["no bucket", { signal: Signal.METRICS }],
      ] as const) {
        expectStatus(await verify(t.value, EndpointClass.INGEST, extra), VerifyStatus.FORBIDDEN, label);
      }
    });

    it("answers FORBIDDEN for a read-write token outside its grants or beyond its owner's current role", async () => {
      const readOnly = await issue(f.t.c, a.adminToken, {
        kind: TokenKind.READ_WRITE,
        userId: editor,
        permissions: { bucketAccess: [{ bucket, read: true }] },
      });
      expectStatus(await verify(readOnly.value, EndpointClass.INGEST, { bucket }), VerifyStatus.FORBIDDEN, "a write on a read grant");
      expectStatus(await verify(readOnly.value, EndpointClass.QUERY, { bucket: "other" }), VerifyStatus.FORBIDDEN, "another bucket");
      const user = await addMember(f.t.c, a.adminToken, a.orgId, Role.EDITOR);
      const rw = await issue(f.t.c, a.adminToken, {
        kind: TokenKind.READ_WRITE,
        userId: user,
        permissions: { bucketAccess: [{ bucket, read: true, write: true }] },
      });
      await f.t.c.admin.setMembership({ userId: user, role: Role.VIEWER }, a.adminToken);
      const write = await verify(rw.value, EndpointClass.INGEST, { bucket });
      expectStatus(write, VerifyStatus.FORBIDDEN, "a write by a VIEWER's token");
      assert.equal(write.role, Role.VIEWER);
      const read = await verify(rw.value, EndpointClass.QUERY, { bucket });
      expectStatus(read, VerifyStatus.VALID, "a read by a VIEWER's token");
      assert.deepEqual(
        read.permissions!.bucketAccess.map((g) => [g.bucket, g.read, g.write]),
        [[bucket, true, false]],
        "effective permissions lose the write",
      );
    });

    it("answers FORBIDDEN for an all-access token of a VIEWER on INGEST", async () => {
      const viewer = await adminDemotedTo(f.t.c, a.adminToken, a.orgId, Role.VIEWER);
      expectStatus(await verify(viewer.token, EndpointClass.INGEST), VerifyStatus.FORBIDDEN, "INGEST");
      expectStatus(await verify(viewer.token, EndpointClass.QUERY), VerifyStatus.VALID, "QUERY");
    });
  });

  describe("OWNER_INACTIVE", () => {
    it("answers OWNER_INACTIVE once a token's owner leaves the organization or is deleted, and for an operator token whose root user is gone", async () => {
      const leaver = await adminDemotedTo(f.t.c, a.adminToken, a.orgId, Role.ADMIN);
      const deleted = await adminDemotedTo(f.t.c, a.adminToken, a.orgId, Role.ADMIN);
      const root = await f.t.c.admin.createUser({ name: `root-${tag()}`, root: true }, f.inst.operatorToken);
      const op = await issue(f.t.c, f.inst.operatorToken, { kind: TokenKind.OPERATOR, userId: root.user!.id });
      for (const [label, value] of [
        ["leaver", leaver.token],
        ["deleted", deleted.token],
        ["operator", op.value],
      ] as const) {
        expectStatus(await verify(value, EndpointClass.QUERY), VerifyStatus.VALID, `${label}, before`);
      }
      await f.t.c.admin.removeMembership({ userId: leaver.userId }, a.adminToken);
      await f.t.c.admin.deleteUser({ id: deleted.userId }, f.inst.operatorToken);
      await f.t.c.admin.deleteUser({ id: root.user!.id }, f.inst.operatorToken);
      for (const [label, value] of [
        ["leaver", leaver.token],
        ["deleted", deleted.token],
        ["operator", op.value],
      ] as const) {
        const r = await verify(value, EndpointClass.QUERY);
        expectStatus(r, VerifyStatus.OWNER_INACTIVE, `${label}, after`);
        assert.ok(r.principal, `${label}: the principal is named`);
      }
    });
  });

  describe("ORGANIZATION_DISABLED", () => {
    it("answers ORGANIZATION_DISABLED for every token of a disabled organization, and for a parent's token addressed to a disabled child", async () => {
      const o = await createOrg(f.t.c, f.inst.operatorToken);
      const sub = await createSubOrg(f.t.c, f.inst.operatorToken, o);
      await f.t.c.admin.setOrganizationEnabled({ id: sub.orgId, enabled: false }, o.adminToken);
      expectStatus(await verify(sub.defaultTokenValue, EndpointClass.INGEST), VerifyStatus.ORGANIZATION_DISABLED, "the child's own token");
      expectStatus(
        await verify(o.defaultTokenValue, EndpointClass.INGEST, { organization: sub.identifier }),
        VerifyStatus.ORGANIZATION_DISABLED,
        "the parent's token, addressed to the child",
      );
      expectStatus(
        await verify(o.defaultTokenValue, EndpointClass.INGEST),
        VerifyStatus.VALID,
        "the parent's token, addressed to the parent",
      );
      await f.t.c.admin.setOrganizationEnabled({ id: o.orgId, enabled: false }, f.inst.operatorToken);
      for (const [label, value, e] of [
        ["default", o.defaultTokenValue, EndpointClass.INGEST],
        ["all-access", o.adminToken, EndpointClass.QUERY],
      ] as const) {
        expectStatus(await verify(value, e), VerifyStatus.ORGANIZATION_DISABLED, label);
      }
      await f.t.c.admin.setOrganizationEnabled({ id: o.orgId, enabled: true }, f.inst.operatorToken);
      expectStatus(await verify(o.defaultTokenValue, EndpointClass.INGEST), VerifyStatus.VALID, "enabled again");
    });

    it("checks the organization before the token: a disabled token of a disabled organization is ORGANIZATION_DISABLED", async () => {
      const o = await createOrg(f.t.c, f.inst.operatorToken);
      await f.t.c.admin.setTokenEnabled({ id: o.defaultTokenId, enabled: false }, o.adminToken);
      await f.t.c.admin.setOrganizationEnabled({ id: o.orgId, enabled: false }, f.inst.operatorToken);
      expectStatus(await verify(o.defaultTokenValue, EndpointClass.INGEST), VerifyStatus.ORGANIZATION_DISABLED, "both disabled");
    });
  });

  describe("while another transaction holds the revocation feed back", () => {
    // An open write transaction anywhere keeps the feed from delivering later events, so these
    // answers can only come from the change's own eviction on this instance, before it returned.
    let hold: pg.Client;
    let o: SeededOrg;
    before(async () => {
      o = await createOrg(f.t.c, f.inst.operatorToken);
      await f.t.c.admin.createBucket({ name: bucket }, o.adminToken);
      hold = new pg.Client({ connectionString: f.t.db.superuserUrl });
      await hold.connect();
      await hold.query("BEGIN");
      await hold.query("SELECT pg_current_xact_id()");
    });
    after(async () => {
      await hold?.query("ROLLBACK").catch(() => undefined);
      await hold?.end();
    });

    it("answers DISABLED, VALID, NOT_FOUND and NOT_FOUND right after a token is disabled, enabled, rotated and deleted", async () => {
      const t = await issue(f.t.c, o.adminToken, { kind: TokenKind.INGESTION });
      expectStatus(await verify(t.value, EndpointClass.INGEST), VerifyStatus.VALID, "before");
      await f.t.c.admin.setTokenEnabled({ id: t.id, enabled: false }, o.adminToken);
      expectStatus(await verify(t.value, EndpointClass.INGEST), VerifyStatus.DISABLED, "right after disabling");
      await f.t.c.admin.setTokenEnabled({ id: t.id, enabled: true }, o.adminToken);
      expectStatus(await verify(t.value, EndpointClass.INGEST), VerifyStatus.VALID, "right after enabling");
      const r = await f.t.c.admin.rotateToken({ id: t.id }, o.adminToken);
      expectStatus(await verify(t.value, EndpointClass.INGEST), VerifyStatus.NOT_FOUND, "the old value right after rotation");
      expectStatus(await verify(r.value, EndpointClass.INGEST), VerifyStatus.VALID, "the new value right after rotation");
      await f.t.c.admin.deleteToken({ id: t.id }, o.adminToken);
      expectStatus(await verify(r.value, EndpointClass.INGEST), VerifyStatus.NOT_FOUND, "right after deletion");
    });

    it("answers FORBIDDEN and OWNER_INACTIVE right after an owner is demoted, removed or deleted, and refuses it as a caller", async () => {
      const demoted = await addMember(f.t.c, o.adminToken, o.orgId, Role.EDITOR);
      const rw = await issue(f.t.c, o.adminToken, {
        kind: TokenKind.READ_WRITE,
        userId: demoted,
        permissions: { bucketAccess: [{ bucket, read: true, write: true }] },
      });
      const removed = await adminDemotedTo(f.t.c, o.adminToken, o.orgId, Role.ADMIN);
      const deleted = await adminDemotedTo(f.t.c, o.adminToken, o.orgId, Role.ADMIN);
      expectStatus(await verify(rw.value, EndpointClass.INGEST, { bucket }), VerifyStatus.VALID, "the EDITOR's write, before");
      for (const x of [removed, deleted]) assert.ok((await f.t.c.admin.listTokens({}, x.token)).tokens.length > 0, "an admin call, before");
      await f.t.c.admin.setMembership({ userId: demoted, role: Role.VIEWER }, o.adminToken);
      await f.t.c.admin.removeMembership({ userId: removed.userId }, o.adminToken);
      await f.t.c.admin.deleteUser({ id: deleted.userId }, f.inst.operatorToken);
      expectStatus(await verify(rw.value, EndpointClass.INGEST, { bucket }), VerifyStatus.FORBIDDEN, "right after the demotion");
      for (const [label, x] of [
        ["removed", removed],
        ["deleted", deleted],
      ] as const) {
        expectStatus(await verify(x.token, EndpointClass.QUERY), VerifyStatus.OWNER_INACTIVE, `right after the owner was ${label}`);
        await rejects(f.t.c.admin.listTokens({}, x.token), Code.Unauthenticated, `an admin call right after the owner was ${label}`);
      }
    });

    it("answers ORGANIZATION_DISABLED and VALID right after an organization is disabled and enabled", async () => {
      const sub = await createSubOrg(f.t.c, f.inst.operatorToken, o);
      expectStatus(await verify(sub.defaultTokenValue, EndpointClass.INGEST), VerifyStatus.VALID, "before");
      expectStatus(
        await verify(o.defaultTokenValue, EndpointClass.INGEST, { organization: sub.identifier }),
        VerifyStatus.VALID,
        "the parent's token for the child, before",
      );
      await f.t.c.admin.setOrganizationEnabled({ id: sub.orgId, enabled: false }, o.adminToken);
      expectStatus(await verify(sub.defaultTokenValue, EndpointClass.INGEST), VerifyStatus.ORGANIZATION_DISABLED, "right after disabling");
      expectStatus(
        await verify(o.defaultTokenValue, EndpointClass.INGEST, { organization: sub.identifier }),
        VerifyStatus.ORGANIZATION_DISABLED,
        "the parent's token for the child, right after",
      );
      await f.t.c.admin.setOrganizationEnabled({ id: sub.orgId, enabled: true }, o.adminToken);
      expectStatus(await verify(sub.defaultTokenValue, EndpointClass.INGEST), VerifyStatus.VALID, "right after enabling");
    });
  });

  describe("its caller", () => {
    const req = () => ({ credential: a.defaultTokenValue, endpoint: EndpointClass.INGEST });

    it("may be a VERIFIER or an OPERATOR token", async () => {
      expectStatus(await f.t.c.verify.verify(req(), f.inst.verifierToken), VerifyStatus.VALID, "VERIFIER");
      expectStatus(await f.t.c.verify.verify(req(), f.inst.operatorToken), VerifyStatus.VALID, "OPERATOR");
    });

    it("answers UNAUTHENTICATED without credentials, and with malformed, unknown, disabled or rotated-away verifier tokens", async () => {
      const err = await rejects(f.t.c.verify.verify(req()), Code.Unauthenticated, "no credentials");
      assert.match(err.rawMessage, /verifier/);
      await rejects(f.t.raw.verify.verify(req(), "Bearer"), Code.Unauthenticated, "a scheme alone");
      await rejects(f.t.c.verify.verify(req(), flipOne(f.inst.verifierToken)), Code.Unauthenticated, "a mistyped verifier token");
      await rejects(f.t.c.verify.verify(req(), generateToken("VERIFIER")), Code.Unauthenticated, "an unknown verifier token");
      const v = await issue(f.t.c, f.inst.operatorToken, { kind: TokenKind.VERIFIER });
      expectStatus(await f.t.c.verify.verify(req(), v.value), VerifyStatus.VALID, "a second verifier");
      await f.t.c.admin.setTokenEnabled({ id: v.id, enabled: false }, f.inst.operatorToken);
      await rejects(f.t.c.verify.verify(req(), v.value), Code.Unauthenticated, "the verifier, disabled");
      await f.t.c.admin.setTokenEnabled({ id: v.id, enabled: true }, f.inst.operatorToken);
      const r = await f.t.c.admin.rotateToken({ id: v.id }, f.inst.operatorToken);
      await rejects(f.t.c.verify.verify(req(), v.value), Code.Unauthenticated, "the verifier's old value");
      expectStatus(await f.t.c.verify.verify(req(), r.value), VerifyStatus.VALID, "the verifier's new value");
    });

    it("answers PERMISSION_DENIED to all-access, ingestion, read-write and shared tokens", async () => {
      for (const [label, token] of [
        ["all-access", a.adminToken],
        ["ingestion", callers.ingestion],
        ["read-write", callers.readWrite],
        ["shared", callers.shared],
      ] as const) {
        const err = await rejects(f.t.c.verify.verify(req(), token), Code.PermissionDenied, label);
        assert.match(err.rawMessage, /VERIFIER/);
      }
    });
  });
});
