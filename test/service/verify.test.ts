/**
 * Verify's rules (DESIGN §3 and §4), through every client: what each kind of token may do on
 * each endpoint class, owner-bound tokens that die with their owner's membership and never
 * exceed its current role, shared tokens and expiry (with a movable clock), sub-organizations,
 * other organizations' tokens, credential forms, who may call Verify, Setup, and roles.
 */
import assert from "node:assert/strict";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { EndpointClass, Role, Signal, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus, type VerifyResponse } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { generateToken } from "../../src/domain/token-format.js";
import { grpcJsClients, httpClients, type Clients } from "../helpers/clients.js";
import { superQuery } from "../helpers/db.js";
import { addMember, createOrg, issue, type SeededOrg } from "../helpers/seed.js";
import { basic, byName, rejects, transportNames } from "./support.js";
import pg from "pg";
import { useSetUpServer } from "../helpers/fixture.js";
import { startTestServer } from "../helpers/server.js";

function expectStatus(r: VerifyResponse, status: VerifyStatus, what: string): void {
  assert.equal(r.status, status, `${what} — wanted ${VerifyStatus[status]}, got ${VerifyStatus[r.status]}`);
  assert.equal(r.allowed, status === VerifyStatus.VALID, `${what}: allowed must match the status`);
}

describe("Verify", () => {
  // The server's clock: tests move it to pass expiries without sleeping.
  let clockOffset = 0;
  const f = useSetUpServer({ now: () => Date.now() + clockOffset });

  for (const name of transportNames()) {
    describe(name, () => {
      let c: Clients;
      let org: SeededOrg;
      let bucket: string;
      const verify = (
        credential: string,
        endpoint: EndpointClass,
        extra: { organization?: string; bucket?: string; signal?: Signal } = {},
      ) => c.verify.verify({ credential, organization: org.identifier, endpoint, ...extra }, f.inst.verifierToken);

      before(async () => {
        c = byName(f.clients, name);
        org = await createOrg(c, f.inst.operatorToken);
        bucket = (await c.admin.createBucket({ name: "logs" }, org.adminToken)).bucket!.name;
        await c.admin.createBucket({ name: "other" }, org.adminToken);
      });

      describe("ingestion tokens", () => {
        it("are valid on INGEST and refused with WRONG_ENDPOINT on QUERY, ADMIN and SHARED_VIEW", async () => {
          const t = await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
          const ok = await verify(t.value, EndpointClass.INGEST);
          expectStatus(ok, VerifyStatus.VALID, "INGEST");
          assert.equal(ok.principal?.kind, TokenKind.INGESTION);
          assert.equal(ok.principal?.organizationId, org.orgId);
          assert.equal(ok.principal?.organizationIdentifier, org.identifier);
          for (const e of [EndpointClass.QUERY, EndpointClass.ADMIN, EndpointClass.SHARED_VIEW]) {
            expectStatus(await verify(t.value, e), VerifyStatus.WRONG_ENDPOINT, EndpointClass[e]);
          }
          expectStatus(await verify(org.defaultTokenValue, EndpointClass.QUERY), VerifyStatus.WRONG_ENDPOINT, "default token on QUERY");
        });

        it("narrowed to signals and buckets answer FORBIDDEN outside them", async () => {
          const t = await issue(c, org.adminToken, {
            kind: TokenKind.INGESTION,
            permissions: { signals: [Signal.LOGS, Signal.TRACES], buckets: [bucket] },
          });
          expectStatus(await verify(t.value, EndpointClass.INGEST, { bucket, signal: Signal.LOGS }), VerifyStatus.VALID, "logs to logs");
          expectStatus(
            await verify(t.value, EndpointClass.INGEST, { bucket, signal: Signal.TRACES }),
            VerifyStatus.VALID,
            "traces to logs",
          );
          expectStatus(await verify(t.value, EndpointClass.INGEST, { bucket, signal: Signal.METRICS }), VerifyStatus.FORBIDDEN, "metrics");
          expectStatus(
            await verify(t.value, EndpointClass.INGEST, { bucket: "other", signal: Signal.LOGS }),
            VerifyStatus.FORBIDDEN,
            "other bucket",
          );
          expectStatus(await verify(t.value, EndpointClass.INGEST, { signal: Signal.LOGS }), VerifyStatus.FORBIDDEN, "no bucket named");
          const signalsOnly = await issue(c, org.adminToken, { kind: TokenKind.INGESTION, permissions: { signals: [Signal.METRICS] } });
          expectStatus(
            await verify(signalsOnly.value, EndpointClass.INGEST, { bucket: "other", signal: Signal.METRICS }),
            VerifyStatus.VALID,
            "any bucket",
          );
          expectStatus(
            await verify(signalsOnly.value, EndpointClass.INGEST, { bucket: "other", signal: Signal.LOGS }),
            VerifyStatus.FORBIDDEN,
            "logs",
          );
        });

        it("survive the deletion of the user who created them", async () => {
          const creatorId = await addMember(c, org.adminToken, org.orgId, Role.ADMIN);
          const creatorToken = await issue(c, f.inst.operatorToken, {
            organizationId: org.orgId,
            kind: TokenKind.ALL_ACCESS,
            userId: creatorId,
          });
          const t = await issue(c, creatorToken.value, { kind: TokenKind.INGESTION });
          assert.equal((await c.admin.getToken({ id: t.id }, org.adminToken)).token!.createdBy, creatorId);
          await c.admin.deleteUser({ id: creatorId }, f.inst.operatorToken);
          expectStatus(await verify(t.value, EndpointClass.INGEST), VerifyStatus.VALID, "ingestion token of a deleted creator");
          expectStatus(await verify(creatorToken.value, EndpointClass.QUERY), VerifyStatus.OWNER_INACTIVE, "the creator's own token");
        });
      });

      describe("user-bound tokens", () => {
        it("answer OWNER_INACTIVE once their user is deleted", async () => {
          const userId = await addMember(c, org.adminToken, org.orgId, Role.ADMIN);
          const all = await issue(c, org.adminToken, { kind: TokenKind.ALL_ACCESS, userId });
          const rw = await issue(c, org.adminToken, {
            kind: TokenKind.READ_WRITE,
            userId,
            permissions: { bucketAccess: [{ bucket, read: true, write: true }] },
          });
          expectStatus(await verify(all.value, EndpointClass.QUERY), VerifyStatus.VALID, "before");
          expectStatus(await verify(rw.value, EndpointClass.INGEST, { bucket }), VerifyStatus.VALID, "before");
          await c.admin.deleteUser({ id: userId }, f.inst.operatorToken);
          for (const e of [EndpointClass.INGEST, EndpointClass.QUERY, EndpointClass.ADMIN]) {
            expectStatus(await verify(all.value, e), VerifyStatus.OWNER_INACTIVE, `ALL_ACCESS on ${EndpointClass[e]}`);
          }
          expectStatus(await verify(rw.value, EndpointClass.INGEST, { bucket }), VerifyStatus.OWNER_INACTIVE, "READ_WRITE write");
          expectStatus(await verify(rw.value, EndpointClass.QUERY, { bucket }), VerifyStatus.OWNER_INACTIVE, "READ_WRITE read");
          await rejects(c.admin.listTokens({}, all.value), Code.Unauthenticated, "an admin call with the dead token");
        });

        it("answer OWNER_INACTIVE once their user leaves the organization", async () => {
          const userId = await addMember(c, org.adminToken, org.orgId, Role.ADMIN);
          const all = await issue(c, org.adminToken, { kind: TokenKind.ALL_ACCESS, userId });
          const rw = await issue(c, org.adminToken, {
            kind: TokenKind.READ_WRITE,
            userId,
            permissions: { bucketAccess: [{ bucket, read: true, write: false }] },
          });
          expectStatus(await verify(rw.value, EndpointClass.QUERY, { bucket }), VerifyStatus.VALID, "before");
          await c.admin.removeMembership({ userId }, org.adminToken);
          expectStatus(await verify(all.value, EndpointClass.QUERY), VerifyStatus.OWNER_INACTIVE, "ALL_ACCESS");
          expectStatus(await verify(rw.value, EndpointClass.QUERY, { bucket }), VerifyStatus.OWNER_INACTIVE, "READ_WRITE");
          await rejects(c.admin.getPasscode({}, all.value), Code.Unauthenticated, "an admin call with the dead token");
        });

        it("are narrowed by a role downgrade: a READ_WRITE token of a VIEWER may read but not write", async () => {
          const userId = await addMember(c, org.adminToken, org.orgId, Role.EDITOR);
          const rw = await issue(c, org.adminToken, {
            kind: TokenKind.READ_WRITE,
            userId,
            permissions: { bucketAccess: [{ bucket, read: true, write: true }] },
          });
          const w0 = await verify(rw.value, EndpointClass.INGEST, { bucket });
          expectStatus(w0, VerifyStatus.VALID, "write as EDITOR");
          assert.equal(w0.role, Role.EDITOR);
          expectStatus(
            await verify(rw.value, EndpointClass.INGEST, { bucket: "other" }),
            VerifyStatus.FORBIDDEN,
            "write to an ungranted bucket",
          );
          expectStatus(await verify(rw.value, EndpointClass.ADMIN), VerifyStatus.WRONG_ENDPOINT, "READ_WRITE on ADMIN");
          expectStatus(await verify(rw.value, EndpointClass.SHARED_VIEW), VerifyStatus.WRONG_ENDPOINT, "READ_WRITE on SHARED_VIEW");

          const m = await c.admin.setMembership({ userId, role: Role.VIEWER }, org.adminToken);
          assert.equal(m.membership!.role, Role.VIEWER);
          expectStatus(await verify(rw.value, EndpointClass.INGEST, { bucket }), VerifyStatus.FORBIDDEN, "write as VIEWER");
          const r = await verify(rw.value, EndpointClass.QUERY, { bucket });
          expectStatus(r, VerifyStatus.VALID, "read as VIEWER");
          assert.equal(r.role, Role.VIEWER);
          // The token's own permissions never change: the grant stored is still read+write.
          const stored = (await c.admin.getToken({ id: rw.id }, org.adminToken)).token!;
          assert.deepEqual(
            stored.permissions!.bucketAccess.map((g) => [g.bucket, g.read, g.write]),
            [[bucket, true, true]],
          );

          await c.admin.setMembership({ userId, role: Role.EDITOR }, org.adminToken);
          expectStatus(await verify(rw.value, EndpointClass.INGEST, { bucket }), VerifyStatus.VALID, "write as EDITOR again");
        });

        it("report effective permissions narrowed by the owner's current role", async () => {
          const userId = await addMember(c, org.adminToken, org.orgId, Role.EDITOR);
          const rw = await issue(c, org.adminToken, {
            kind: TokenKind.READ_WRITE,
            userId,
            permissions: { bucketAccess: [{ bucket, read: true, write: true }] },
          });
          await c.admin.setMembership({ userId, role: Role.VIEWER }, org.adminToken);
          const r = await verify(rw.value, EndpointClass.QUERY, { bucket });
          expectStatus(r, VerifyStatus.VALID, "read as VIEWER");
          const grant = r.permissions?.bucketAccess.find((g) => g.bucket === bucket);
          assert.ok(grant?.read, "read stays");
          assert.equal(
            grant?.write,
            false,
            "a VIEWER's token must not be reported as able to write (VerifyResponse.permissions is the effective set)",
          );
        });

        it("an ALL_ACCESS token of an owner downgraded to VIEWER may not ingest", async () => {
          const userId = await addMember(c, org.adminToken, org.orgId, Role.ADMIN);
          const all = await issue(c, org.adminToken, { kind: TokenKind.ALL_ACCESS, userId });
          expectStatus(await verify(all.value, EndpointClass.INGEST, { bucket }), VerifyStatus.VALID, "as ADMIN");
          await c.admin.setMembership({ userId, role: Role.VIEWER }, org.adminToken);
          expectStatus(await verify(all.value, EndpointClass.INGEST, { bucket }), VerifyStatus.FORBIDDEN, "as VIEWER");
          const q = await verify(all.value, EndpointClass.QUERY, { bucket });
          expectStatus(q, VerifyStatus.VALID, "query as VIEWER");
          assert.equal(q.role, Role.VIEWER);
        });

        it("cannot be created with more than the user's role allows (PERMISSION_DENIED)", async () => {
          const editor = await addMember(c, org.adminToken, org.orgId, Role.EDITOR);
          const viewer = await addMember(c, org.adminToken, org.orgId, Role.VIEWER);
          await rejects(
            c.admin.createToken({ name: "too-much-1", kind: TokenKind.ALL_ACCESS, userId: editor }, org.adminToken),
            Code.PermissionDenied,
            "ALL_ACCESS for an EDITOR",
          );
          await rejects(
            c.admin.createToken({ name: "too-much-2", kind: TokenKind.ALL_ACCESS, userId: viewer }, org.adminToken),
            Code.PermissionDenied,
            "ALL_ACCESS for a VIEWER",
          );
          await rejects(
            c.admin.createToken(
              {
                name: "too-much-3",
                kind: TokenKind.READ_WRITE,
                userId: viewer,
                permissions: { bucketAccess: [{ bucket, read: true, write: true }] },
              },
              org.adminToken,
            ),
            Code.PermissionDenied,
            "write for a VIEWER",
          );
          await rejects(
            c.admin.createToken({ name: "too-much-4", kind: TokenKind.OPERATOR }, org.adminToken),
            Code.PermissionDenied,
            "OPERATOR by an org admin",
          );
          await rejects(
            c.admin.createToken({ name: "too-much-5", kind: TokenKind.VERIFIER }, org.adminToken),
            Code.PermissionDenied,
            "VERIFIER by an org admin",
          );
          const names = (await c.admin.listTokens({}, org.adminToken)).tokens.map((t) => t.name);
          assert.ok(!names.some((n) => n.startsWith("too-much")), "nothing was created");
          // Within the role it works.
          const ro = await issue(c, org.adminToken, {
            kind: TokenKind.READ_WRITE,
            userId: viewer,
            permissions: { bucketAccess: [{ bucket, read: true, write: false }] },
          });
          expectStatus(await verify(ro.value, EndpointClass.QUERY, { bucket }), VerifyStatus.VALID, "read-only token of a VIEWER");
        });
        it("operator tokens verify everywhere and die with their root user", async () => {
          const root = await c.admin.createUser(
            { name: `root-${Math.random().toString(36).slice(2, 10)}`, root: true },
            f.inst.operatorToken,
          );
          assert.equal(root.user!.root, true);
          assert.equal(root.membership, undefined, "a standalone user");
          const op = await issue(c, f.inst.operatorToken, { kind: TokenKind.OPERATOR, userId: root.user!.id });
          for (const e of [EndpointClass.INGEST, EndpointClass.QUERY, EndpointClass.ADMIN, EndpointClass.SHARED_VIEW]) {
            expectStatus(await verify(op.value, e), VerifyStatus.VALID, `OPERATOR on ${EndpointClass[e]} of another organization`);
          }
          assert.ok(
            (await c.admin.listTokens({ organizationId: org.orgId }, op.value)).tokens.length > 0,
            "the new operator administers every organization",
          );
          await c.admin.deleteUser({ id: root.user!.id }, f.inst.operatorToken);
          expectStatus(await verify(op.value, EndpointClass.ADMIN), VerifyStatus.OWNER_INACTIVE, "after its root user is deleted");
          await rejects(c.admin.listTokens({}, op.value), Code.Unauthenticated, "an admin call after its root user is deleted");
          // Only operators mint root users and operator tokens.
          await rejects(
            c.admin.createUser({ name: `root-${Math.random().toString(36).slice(2, 10)}`, root: true }, org.adminToken),
            Code.PermissionDenied,
            "a root user by an org admin",
          );
          const plain = await addMember(c, org.adminToken, org.orgId, Role.ADMIN);
          await rejects(
            c.admin.createToken({ name: `op-${plain.slice(0, 8)}`, kind: TokenKind.OPERATOR, userId: plain }, f.inst.operatorToken),
            Code.PermissionDenied,
            "an OPERATOR token for a non-root user",
          );
        });

        it("verifier tokens are valid on no endpoint class", async () => {
          for (const e of [EndpointClass.INGEST, EndpointClass.QUERY, EndpointClass.ADMIN, EndpointClass.SHARED_VIEW]) {
            const r = await c.verify.verify({ credential: f.inst.verifierToken, endpoint: e }, f.inst.verifierToken);
            expectStatus(r, VerifyStatus.WRONG_ENDPOINT, `VERIFIER on ${EndpointClass[e]}`);
          }
        });
      });

      describe("shared tokens", () => {
        it("require an expiry (INVALID_ARGUMENT without one)", async () => {
          await rejects(
            c.admin.createToken(
              { name: "shared-no-expiry", kind: TokenKind.SHARED, permissions: { dashboards: ["overview"] } },
              org.adminToken,
            ),
            Code.InvalidArgument,
            "SHARED without expire_time",
          );
          await rejects(
            c.admin.createToken(
              {
                name: "shared-past",
                kind: TokenKind.SHARED,
                permissions: { dashboards: ["overview"] },
                expireTime: timestampFromMs(Date.now() + clockOffset - 1000),
              },
              org.adminToken,
            ),
            Code.InvalidArgument,
            "SHARED with an expiry in the past",
          );
        });

        it("are valid only on SHARED_VIEW", async () => {
          const s = await issue(c, org.adminToken, {
            kind: TokenKind.SHARED,
            permissions: { dashboards: ["overview"], filters: { service: "checkout" } },
            expireTime: timestampFromMs(Date.now() + clockOffset + 3_600_000),
          });
          const ok = await verify(s.value, EndpointClass.SHARED_VIEW);
          expectStatus(ok, VerifyStatus.VALID, "SHARED_VIEW");
          assert.ok(ok.expireTime, "the expiry is reported");
          assert.deepEqual(ok.permissions?.dashboards, ["overview"]);
          assert.deepEqual(ok.permissions?.filters, { service: "checkout" });
          for (const e of [EndpointClass.INGEST, EndpointClass.QUERY, EndpointClass.ADMIN]) {
            expectStatus(await verify(s.value, e), VerifyStatus.WRONG_ENDPOINT, EndpointClass[e]);
          }
        });
      });

      it("honours expiry: a token answers EXPIRED once the server's clock passes it", async () => {
        const at = Date.now() + clockOffset + 60_000;
        const s = await issue(c, org.adminToken, {
          kind: TokenKind.SHARED,
          permissions: { dashboards: ["d"] },
          expireTime: timestampFromMs(at),
        });
        const i = await issue(c, org.adminToken, { kind: TokenKind.INGESTION, expireTime: timestampFromMs(at) });
        expectStatus(await verify(s.value, EndpointClass.SHARED_VIEW), VerifyStatus.VALID, "shared before");
        expectStatus(await verify(i.value, EndpointClass.INGEST), VerifyStatus.VALID, "ingestion before");
        const saved = clockOffset;
        try {
          clockOffset += 61_000;
          expectStatus(await verify(s.value, EndpointClass.SHARED_VIEW), VerifyStatus.EXPIRED, "shared after");
          expectStatus(await verify(i.value, EndpointClass.INGEST), VerifyStatus.EXPIRED, "ingestion after");
        } finally {
          clockOffset = saved;
        }
      });

      describe("sub-organizations", () => {
        let child: { id: string; identifier: string };
        let closed: { id: string; identifier: string };
        let grandchild: { id: string; identifier: string };
        let underClosed: { id: string; identifier: string };
        const sub = async (parentId: string, deny: boolean, token: string) => {
          const identifier = `${org.identifier}-sub-${Math.random().toString(36).slice(2, 8)}`;
          const r = await c.admin.createOrganization({ identifier, parentId, denyParentAccess: deny }, token);
          assert.equal(r.organization!.parentId, parentId);
          assert.equal(r.organization!.parentAccess, !deny);
          return { id: r.organization!.id, identifier, defaultTokenValue: r.defaultTokenValue };
        };
        before(async () => {
          child = await sub(org.orgId, false, org.adminToken);
          closed = await sub(org.orgId, true, org.adminToken);
          grandchild = await sub(child.id, false, org.adminToken);
          underClosed = await sub(closed.id, false, f.inst.operatorToken);
        });

        it("a parent's ingestion and ALL_ACCESS tokens verify against a child's identifier", async () => {
          for (const target of [child, grandchild]) {
            const i = await verify(org.defaultTokenValue, EndpointClass.INGEST, { organization: target.identifier });
            expectStatus(i, VerifyStatus.VALID, `parent ingestion on ${target.identifier}`);
            assert.equal(i.principal?.organizationId, org.orgId);
            expectStatus(
              await verify(org.adminToken, EndpointClass.QUERY, { organization: target.identifier }),
              VerifyStatus.VALID,
              "parent ALL_ACCESS",
            );
            expectStatus(
              await c.verify.verify(
                { credential: basic(target.identifier, org.defaultTokenValue), endpoint: EndpointClass.INGEST },
                f.inst.verifierToken,
              ),
              VerifyStatus.VALID,
              "Basic child:parent-token",
            );
          }
        });

        it("a child created with deny_parent_access is not reachable by the parent's tokens", async () => {
          for (const target of [closed, underClosed]) {
            for (const [token, e] of [
              [org.defaultTokenValue, EndpointClass.INGEST],
              [org.adminToken, EndpointClass.QUERY],
            ] as const) {
              const r = await verify(token, e, { organization: target.identifier });
              expectStatus(r, VerifyStatus.NOT_FOUND, `parent token on ${target.identifier}`);
              assert.equal(r.principal, undefined);
            }
          }
        });

        it("a child's token does not reach its parent", async () => {
          const childToken = (await c.admin.getPasscode({ organizationId: child.id }, org.adminToken)).token!;
          assert.equal(childToken.organizationId, child.id);
          const childOrg = await c.admin.getOrganization({ id: child.id }, org.adminToken);
          assert.equal(childOrg.organization!.identifier, child.identifier);
          // The child's default value was returned at creation only; rotate to get one.
          const v = (await c.admin.rotateToken({ id: childToken.id }, org.adminToken)).value;
          expectStatus(
            await verify(v, EndpointClass.INGEST, { organization: child.identifier }),
            VerifyStatus.VALID,
            "child token on child",
          );
          const up = await verify(v, EndpointClass.INGEST, { organization: org.identifier });
          expectStatus(up, VerifyStatus.NOT_FOUND, "child token on parent");
          assert.equal(up.principal, undefined);
        });
      });

      describe("another organization's token", () => {
        it("answers NOT_FOUND with no principal, whatever state the token is in", async () => {
          const other = await createOrg(c, f.inst.operatorToken);
          const disabled = await issue(c, other.adminToken, { kind: TokenKind.INGESTION });
          await c.admin.setTokenEnabled({ id: disabled.id, enabled: false }, other.adminToken);
          // A minute ahead, not a second: creating it must not take longer than its lifetime.
          const expiring = await issue(c, other.adminToken, {
            kind: TokenKind.INGESTION,
            expireTime: timestampFromMs(Date.now() + clockOffset + 60_000),
          });
          const saved = clockOffset;
          try {
            clockOffset += 61_000;
            for (const [label, value, e] of [
              ["default", other.defaultTokenValue, EndpointClass.INGEST],
              ["all-access", other.adminToken, EndpointClass.QUERY],
              ["disabled", disabled.value, EndpointClass.INGEST],
              ["expired", expiring.value, EndpointClass.INGEST],
              ["wrong endpoint", other.defaultTokenValue, EndpointClass.QUERY],
            ] as const) {
              for (const r of [
                await verify(value, e),
                await c.verify.verify({ credential: basic(org.identifier, value), endpoint: e }, f.inst.verifierToken),
              ]) {
                expectStatus(r, VerifyStatus.NOT_FOUND, label);
                assert.equal(r.principal, undefined, `${label}: no principal`);
                assert.equal(r.permissions, undefined, `${label}: no permissions`);
                assert.equal(r.expireTime, undefined, `${label}: no expiry`);
                assert.equal(r.role, Role.UNSPECIFIED, `${label}: no role`);
              }
            }
          } finally {
            clockOffset = saved;
          }
          // And the same answers as a token that never existed.
          const ghost = await verify(generateToken("INGESTION"), EndpointClass.INGEST);
          expectStatus(ghost, VerifyStatus.NOT_FOUND, "a well-formed unknown token");
          assert.equal(ghost.principal, undefined);
        });

        it("a Basic credential naming one organization and an organization field naming another match nothing", async () => {
          const other = await createOrg(c, f.inst.operatorToken);
          const r = await c.verify.verify(
            { credential: basic(other.identifier, other.defaultTokenValue), organization: org.identifier, endpoint: EndpointClass.INGEST },
            f.inst.verifierToken,
          );
          expectStatus(r, VerifyStatus.NOT_FOUND, "mismatched identifiers");
          assert.equal(r.principal, undefined);
        });
      });

      it("accepts Basic base64(org:token), Bearer, Token and bare credentials", async () => {
        const forms = [
          basic(org.identifier, org.defaultTokenValue),
          `Bearer ${org.defaultTokenValue}`,
          `bearer ${org.defaultTokenValue}`,
          `Token ${org.defaultTokenValue}`,
          org.defaultTokenValue,
        ];
        for (const credential of forms) {
          const r = await c.verify.verify(
            { credential, organization: org.identifier, endpoint: EndpointClass.INGEST },
            f.inst.verifierToken,
          );
          expectStatus(r, VerifyStatus.VALID, credential.split(" ")[0]!);
          assert.equal(r.principal?.tokenId, org.defaultTokenId);
        }
        // Basic alone names the organization.
        const b = await c.verify.verify(
          { credential: basic(org.identifier, org.defaultTokenValue), endpoint: EndpointClass.INGEST },
          f.inst.verifierToken,
        );
        expectStatus(b, VerifyStatus.VALID, "Basic without organization field");
        assert.ok(b.cacheTtl, "a valid answer carries a cache hint");
      });

      it("may be called with a VERIFIER or OPERATOR token only", async () => {
        const req = { credential: org.defaultTokenValue, organization: org.identifier, endpoint: EndpointClass.INGEST };
        expectStatus(await c.verify.verify(req, f.inst.verifierToken), VerifyStatus.VALID, "VERIFIER caller");
        expectStatus(await c.verify.verify(req, f.inst.operatorToken), VerifyStatus.VALID, "OPERATOR caller");
        await rejects(c.verify.verify(req, org.defaultTokenValue), Code.PermissionDenied, "ingestion token as caller");
        await rejects(c.verify.verify(req, org.adminToken), Code.PermissionDenied, "ALL_ACCESS token as caller");
        await rejects(c.verify.verify(req), Code.Unauthenticated, "no credentials");
        await rejects(c.verify.verify(req, generateToken("VERIFIER")), Code.Unauthenticated, "an unknown verifier token");
        const v = await issue(c, f.inst.operatorToken, { kind: TokenKind.VERIFIER });
        expectStatus(await c.verify.verify(req, v.value), VerifyStatus.VALID, "a second verifier");
        await c.admin.setTokenEnabled({ id: v.id, enabled: false }, f.inst.operatorToken);
        await rejects(c.verify.verify(req, v.value), Code.Unauthenticated, "a disabled verifier");
      });

      describe("roles", () => {
        it("a VIEWER's ALL_ACCESS token lists tokens but may not create, change or delete them", async () => {
          const userId = await addMember(c, org.adminToken, org.orgId, Role.ADMIN);
          const t = await issue(c, org.adminToken, { kind: TokenKind.ALL_ACCESS, userId });
          await c.admin.setMembership({ userId, role: Role.VIEWER }, org.adminToken);
          const list = await c.admin.listTokens({}, t.value);
          assert.equal(list.tokens[0]!.id, org.defaultTokenId);
          assert.ok((await c.admin.listBuckets({}, t.value)).buckets.length >= 2);
          assert.equal((await c.admin.getPasscode({}, t.value)).token!.id, org.defaultTokenId);
          await rejects(
            c.admin.createToken({ name: "by-viewer", kind: TokenKind.INGESTION }, t.value),
            Code.PermissionDenied,
            "CreateToken as VIEWER",
          );
          await rejects(
            c.admin.setTokenEnabled({ id: org.defaultTokenId, enabled: false }, t.value),
            Code.PermissionDenied,
            "SetTokenEnabled as VIEWER",
          );
          await rejects(c.admin.rotateToken({ id: org.defaultTokenId }, t.value), Code.PermissionDenied, "RotateToken as VIEWER");
          await rejects(c.admin.deleteToken({ id: t.id }, t.value), Code.PermissionDenied, "DeleteToken as VIEWER");
          await rejects(c.admin.updateToken({ id: t.id, description: "x" }, t.value), Code.PermissionDenied, "UpdateToken as VIEWER");
          await rejects(c.admin.createBucket({ name: "viewer-bucket" }, t.value), Code.PermissionDenied, "CreateBucket as VIEWER");
          await rejects(c.admin.setMembership({ userId, role: Role.ADMIN }, t.value), Code.PermissionDenied, "promoting oneself");
          expectStatus(await verify(org.defaultTokenValue, EndpointClass.INGEST), VerifyStatus.VALID, "default token untouched");
        });

        it("an EDITOR's token may not administer tokens either", async () => {
          const userId = await addMember(c, org.adminToken, org.orgId, Role.ADMIN);
          const t = await issue(c, org.adminToken, { kind: TokenKind.ALL_ACCESS, userId });
          await c.admin.setMembership({ userId, role: Role.EDITOR }, org.adminToken);
          assert.ok((await c.admin.listTokens({}, t.value)).tokens.length > 0);
          await rejects(
            c.admin.createToken({ name: "by-editor", kind: TokenKind.INGESTION }, t.value),
            Code.PermissionDenied,
            "CreateToken as EDITOR",
          );
          await rejects(
            c.admin.setTokenEnabled({ id: org.defaultTokenId, enabled: false }, t.value),
            Code.PermissionDenied,
            "SetTokenEnabled as EDITOR",
          );
        });

        it("ingestion, read-write and verifier tokens cannot call the admin API", async () => {
          const rwUser = await addMember(c, org.adminToken, org.orgId, Role.EDITOR);
          const rw = await issue(c, org.adminToken, {
            kind: TokenKind.READ_WRITE,
            userId: rwUser,
            permissions: { bucketAccess: [{ bucket, read: true, write: true }] },
          });
          for (const [label, token] of [
            ["ingestion", org.defaultTokenValue],
            ["read-write", rw.value],
            ["verifier", f.inst.verifierToken],
          ] as const) {
            await rejects(c.admin.listTokens({}, token), Code.PermissionDenied, `ListTokens with a ${label} token`);
          }
          await rejects(c.admin.listTokens({}), Code.Unauthenticated, "ListTokens without credentials");
        });
      });
    });
  }

  describe("while another write transaction is open", () => {
    // Any write in flight elsewhere (another request, a migration, a batch job) holds the
    // revocation feed's horizon back; the very next Verify must still see the change.
    let hold: pg.Client;
    let c: Clients;
    let org: SeededOrg;
    before(async () => {
      c = f.clients[0]!;
      org = await createOrg(c, f.inst.operatorToken);
      await c.admin.createBucket({ name: "logs" }, org.adminToken);
      hold = new pg.Client({ connectionString: f.server.db.superuserUrl });
      await hold.connect();
      await hold.query("BEGIN");
      await hold.query("SELECT pg_current_xact_id()");
    });
    after(async () => {
      await hold?.query("ROLLBACK").catch(() => undefined);
      await hold?.end();
    });
    const verify = (credential: string, endpoint: EndpointClass, bucket = "logs") =>
      c.verify.verify({ credential, organization: org.identifier, endpoint, bucket }, f.inst.verifierToken);

    it("deleting a user ends its tokens on the very next Verify", async () => {
      const userId = await addMember(c, org.adminToken, org.orgId, Role.ADMIN);
      const t = await issue(c, org.adminToken, { kind: TokenKind.ALL_ACCESS, userId });
      expectStatus(await verify(t.value, EndpointClass.QUERY), VerifyStatus.VALID, "before");
      assert.ok((await c.admin.listTokens({}, t.value)).tokens.length > 0, "an admin call with the token before");
      await c.admin.deleteUser({ id: userId }, f.inst.operatorToken);
      await rejects(c.admin.listTokens({}, t.value), Code.Unauthenticated, "an admin call with the token right after DeleteUser");
      expectStatus(await verify(t.value, EndpointClass.QUERY), VerifyStatus.OWNER_INACTIVE, "right after DeleteUser");
    });

    it("removing a membership ends the user's tokens on the very next Verify", async () => {
      const userId = await addMember(c, org.adminToken, org.orgId, Role.ADMIN);
      const t = await issue(c, org.adminToken, { kind: TokenKind.ALL_ACCESS, userId });
      expectStatus(await verify(t.value, EndpointClass.QUERY), VerifyStatus.VALID, "before");
      await c.admin.removeMembership({ userId }, org.adminToken);
      expectStatus(await verify(t.value, EndpointClass.QUERY), VerifyStatus.OWNER_INACTIVE, "right after RemoveMembership");
    });

    it("a role downgrade narrows the user's tokens on the very next Verify", async () => {
      const userId = await addMember(c, org.adminToken, org.orgId, Role.EDITOR);
      const t = await issue(c, org.adminToken, {
        kind: TokenKind.READ_WRITE,
        userId,
        permissions: { bucketAccess: [{ bucket: "logs", read: true, write: true }] },
      });
      expectStatus(await verify(t.value, EndpointClass.INGEST), VerifyStatus.VALID, "before");
      await c.admin.setMembership({ userId, role: Role.VIEWER }, org.adminToken);
      expectStatus(await verify(t.value, EndpointClass.INGEST), VerifyStatus.FORBIDDEN, "right after SetMembership");
    });

    it("disabling and re-enabling a token take effect on the very next Verify", async () => {
      const t = await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
      expectStatus(await verify(t.value, EndpointClass.INGEST), VerifyStatus.VALID, "before");
      await c.admin.setTokenEnabled({ id: t.id, enabled: false }, org.adminToken);
      expectStatus(await verify(t.value, EndpointClass.INGEST), VerifyStatus.DISABLED, "right after disabling");
      await c.admin.setTokenEnabled({ id: t.id, enabled: true }, org.adminToken);
      expectStatus(await verify(t.value, EndpointClass.INGEST), VerifyStatus.VALID, "right after enabling");
      const r = await c.admin.rotateToken({ id: t.id }, org.adminToken);
      expectStatus(await verify(t.value, EndpointClass.INGEST), VerifyStatus.NOT_FOUND, "old value right after rotation");
      expectStatus(await verify(r.value, EndpointClass.INGEST), VerifyStatus.VALID, "new value right after rotation");
      await c.admin.deleteToken({ id: t.id }, org.adminToken);
      expectStatus(await verify(r.value, EndpointClass.INGEST), VerifyStatus.NOT_FOUND, "right after deletion");
    });
  });

  describe("Setup", () => {
    it("works exactly once, with a caller-supplied operator token, even when called concurrently", async () => {
      const s = await startTestServer();
      // HTTP/1.1 f.clients only beside grpc-js: an idle HTTP/2 session would hold up the server's close.
      const cs = [grpcJsClients(s.tessera.grpcPort), ...httpClients(s.tessera.httpPort).filter((h) => h.name.includes("HTTP/1.1"))];
      try {
        const values = Array.from({ length: 6 }, () => generateToken("OPERATOR"));
        const results = await Promise.allSettled(
          values.map((tokenValue, i) =>
            cs[i % cs.length]!.admin.setup({ userName: `root${i}`, organizationIdentifier: `first-${i}`, bucketName: "main", tokenValue }),
          ),
        );
        const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [{ i, res: r.value }] : []));
        assert.equal(won.length, 1, "exactly one Setup succeeds");
        for (const r of results) {
          if (r.status === "rejected") {
            assert.equal((r.reason as { code?: Code }).code, Code.FailedPrecondition, String(r.reason));
          }
        }
        const { i, res } = won[0]!;
        assert.equal(res.tokenValue, values[i], "the operator token is the value the caller supplied");
        assert.equal(res.token!.kind, TokenKind.OPERATOR);
        assert.equal(res.user!.root, true);
        assert.equal(res.organization!.identifier, `first-${i}`);
        assert.equal(res.bucket!.name, "main");

        const c = cs[0]!;
        const orgs = await c.admin.listOrganizations({}, values[i]!);
        assert.deepEqual(
          orgs.organizations.map((o) => o.identifier),
          [`first-${i}`],
        );
        for (const [j, v] of values.entries()) {
          if (j !== i) await rejects(c.admin.listOrganizations({}, v), Code.Unauthenticated, "a losing Setup's token");
        }
        const rows = await superQuery<{ n: string }>(s.db, "SELECT count(*) AS n FROM users");
        assert.equal(rows[0]!.n, "1", "one root user");
        const passcode = await c.admin.getPasscode({}, values[i]!);
        assert.equal(passcode.token!.name, "default", "Setup's organization has its default ingestion token");

        for (const cl of cs) {
          await rejects(
            cl.admin.setup({ userName: "again", organizationIdentifier: "again", bucketName: "main" }),
            Code.FailedPrecondition,
            `a later Setup through ${cl.name}`,
          );
        }
        assert.equal((await superQuery<{ n: string }>(s.db, "SELECT count(*) AS n FROM organizations"))[0]!.n, "1");
      } finally {
        for (const cl of cs) cl.close();
        await s.close();
      }
    });

    it("generates an operator token when none is supplied and refuses a malformed one", async () => {
      const s = await startTestServer();
      const c = grpcJsClients(s.tessera.grpcPort);
      try {
        await rejects(
          c.admin.setup({ userName: "root", organizationIdentifier: "acme", bucketName: "main", tokenValue: "tsop_short" }),
          Code.InvalidArgument,
          "a malformed supplied token",
        );
        await rejects(
          c.admin.setup({ userName: "root", organizationIdentifier: "acme", bucketName: "main", tokenValue: generateToken("INGESTION") }),
          Code.InvalidArgument,
          "a supplied token of another kind",
        );
        const r = await c.admin.setup({ userName: "root", organizationIdentifier: "acme", bucketName: "main" });
        assert.match(r.tokenValue, /^tsop_[0-9A-Za-z]{38}$/);
        const orgs = await c.admin.listOrganizations({}, r.tokenValue);
        assert.equal(orgs.organizations[0]!.identifier, "acme");
        await rejects(
          c.admin.setup({ userName: "root2", organizationIdentifier: "acme2", bucketName: "main" }),
          Code.FailedPrecondition,
          "a second Setup",
        );
      } finally {
        c.close();
        await s.close();
      }
    });
  });
});
