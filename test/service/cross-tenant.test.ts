/**
 * The cross-tenant matrix (issue 2): an organization's admin calls every admin RPC with another
 * organization's ids. Each call answers NOT_FOUND or PERMISSION_DENIED, the error names nothing
 * of the other organization, lists never contain its rows, and its rows are unchanged afterwards.
 * Attackers: an unrelated organization's admin, and a sub-organization's admin reaching for its
 * parent. Through every client.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { EndpointClass, Role, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { TokenAdminService } from "../../src/gen/tessera/v1/token_admin_service_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { allClients, type Clients } from "../helpers/clients.js";
import { superQuery } from "../helpers/db.js";
import { addMember, createOrg, issue, setupInstance, type Instance, type SeededOrg } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { byName, json, rejects, transportNames } from "./support.js";

interface Victim {
  org: SeededOrg;
  subOrgId: string;
  subIdentifier: string;
  subDefaultTokenId: string;
  extraTokenId: string;
  viewerUserId: string;
  viewerName: string;
  bucketId: string;
  bucketName: string;
  /** Every id and name of the victim that must never show up in an attacker's response. */
  secrets: string[];
}

interface Attacker {
  label: string;
  /** Victim ids this attacker's own records may carry (a sub-organization's parent_id). */
  knows: string[];
  token: string;
  orgId: string;
  userId: string;
}

type Call = (c: Clients, token: string, v: Victim, a: Attacker, n: number) => Promise<unknown>;

/** Every admin RPC except Setup, each with the victim's ids in every field that takes one. */
const MATRIX: Array<[method: keyof Clients["admin"], label: string, call: Call]> = [
  [
    "createOrganization",
    "a sub-organization under the victim",
    (c, t, v, _a, n) => c.admin.createOrganization({ identifier: `evil-sub-${n}`, parentId: v.org.orgId }, t),
  ],
  [
    "createOrganization",
    "a sub-organization under the victim's child",
    (c, t, v, _a, n) => c.admin.createOrganization({ identifier: `evil-sub2-${n}`, parentId: v.subOrgId }, t),
  ],
  ["getOrganization", "the victim organization", (c, t, v) => c.admin.getOrganization({ id: v.org.orgId }, t)],
  ["getOrganization", "the victim's child", (c, t, v) => c.admin.getOrganization({ id: v.subOrgId }, t)],
  ["listOrganizations", "every reachable organization", (c, t) => c.admin.listOrganizations({}, t)],
  [
    "setOrganizationEnabled",
    "the victim organization disabled",
    (c, t, v) => c.admin.setOrganizationEnabled({ id: v.org.orgId, enabled: false }, t),
  ],
  [
    "setOrganizationEnabled",
    "the victim's child disabled",
    (c, t, v) => c.admin.setOrganizationEnabled({ id: v.subOrgId, enabled: false }, t),
  ],
  [
    "createUser",
    "a user in the victim organization",
    (c, t, v, _a, n) => c.admin.createUser({ name: `evil-user-${n}`, organizationId: v.org.orgId, role: Role.ADMIN }, t),
  ],
  ["deleteUser", "the victim's admin", (c, t, v) => c.admin.deleteUser({ id: v.org.adminUserId }, t)],
  ["deleteUser", "the victim's viewer", (c, t, v) => c.admin.deleteUser({ id: v.viewerUserId }, t)],
  [
    "setMembership",
    "itself as ADMIN of the victim",
    (c, t, v, a) => c.admin.setMembership({ organizationId: v.org.orgId, userId: a.userId, role: Role.ADMIN }, t),
  ],
  [
    "setMembership",
    "the victim's admin downgraded",
    (c, t, v) => c.admin.setMembership({ organizationId: v.org.orgId, userId: v.org.adminUserId, role: Role.VIEWER }, t),
  ],
  [
    "setMembership",
    "the victim's admin pulled into its own organization",
    (c, t, v) => c.admin.setMembership({ userId: v.org.adminUserId, role: Role.ADMIN }, t),
  ],
  [
    "setMembership",
    "the victim's viewer pulled into its own organization",
    (c, t, v) => c.admin.setMembership({ userId: v.viewerUserId, role: Role.VIEWER }, t),
  ],
  [
    "removeMembership",
    "the victim's admin from the victim",
    (c, t, v) => c.admin.removeMembership({ organizationId: v.org.orgId, userId: v.org.adminUserId }, t),
  ],
  [
    "removeMembership",
    "the victim's viewer from its own organization",
    (c, t, v) => c.admin.removeMembership({ userId: v.viewerUserId }, t),
  ],
  [
    "createBucket",
    "a bucket in the victim",
    (c, t, v, _a, n) => c.admin.createBucket({ organizationId: v.org.orgId, name: `evil-${n}` }, t),
  ],
  ["listBuckets", "the victim's buckets", (c, t, v) => c.admin.listBuckets({ organizationId: v.org.orgId }, t)],
  [
    "createToken",
    "an ingestion token in the victim",
    (c, t, v, _a, n) => c.admin.createToken({ organizationId: v.org.orgId, name: `evil-${n}`, kind: TokenKind.INGESTION }, t),
  ],
  [
    "createToken",
    "an ingestion token in the victim's child",
    (c, t, v, _a, n) => c.admin.createToken({ organizationId: v.subOrgId, name: `evil-${n}`, kind: TokenKind.INGESTION }, t),
  ],
  [
    "createToken",
    "an ALL_ACCESS token for the victim's admin",
    (c, t, v, _a, n) => c.admin.createToken({ name: `evil-aa-${n}`, kind: TokenKind.ALL_ACCESS, userId: v.org.adminUserId }, t),
  ],
  [
    "createToken",
    "an ALL_ACCESS token for the victim's admin, in the victim",
    (c, t, v, _a, n) =>
      c.admin.createToken({ organizationId: v.org.orgId, name: `evil-aa2-${n}`, kind: TokenKind.ALL_ACCESS, userId: v.org.adminUserId }, t),
  ],
  [
    "createToken",
    "a READ_WRITE token for the victim's viewer",
    (c, t, v, _a, n) =>
      c.admin.createToken(
        {
          name: `evil-rw-${n}`,
          kind: TokenKind.READ_WRITE,
          userId: v.viewerUserId,
          permissions: { bucketAccess: [{ bucket: v.bucketName, read: true }] },
        },
        t,
      ),
  ],
  ["getToken", "the victim's default token", (c, t, v) => c.admin.getToken({ id: v.org.defaultTokenId }, t)],
  ["getToken", "the victim's admin token", (c, t, v) => c.admin.getToken({ id: v.org.adminTokenId }, t)],
  ["getToken", "the victim child's default token", (c, t, v) => c.admin.getToken({ id: v.subDefaultTokenId }, t)],
  ["listTokens", "the victim's tokens", (c, t, v) => c.admin.listTokens({ organizationId: v.org.orgId }, t)],
  ["listTokens", "the victim child's tokens", (c, t, v) => c.admin.listTokens({ organizationId: v.subOrgId }, t)],
  ["updateToken", "the victim's extra token", (c, t, v) => c.admin.updateToken({ id: v.extraTokenId, description: "pwned" }, t)],
  ["updateToken", "the victim's default token", (c, t, v) => c.admin.updateToken({ id: v.org.defaultTokenId, description: "pwned" }, t)],
  [
    "setTokenEnabled",
    "the victim's default token off",
    (c, t, v) => c.admin.setTokenEnabled({ id: v.org.defaultTokenId, enabled: false }, t),
  ],
  ["setTokenEnabled", "the victim's admin token off", (c, t, v) => c.admin.setTokenEnabled({ id: v.org.adminTokenId, enabled: false }, t)],
  ["rotateToken", "the victim's default token", (c, t, v) => c.admin.rotateToken({ id: v.org.defaultTokenId }, t)],
  ["rotateToken", "the victim's admin token", (c, t, v) => c.admin.rotateToken({ id: v.org.adminTokenId }, t)],
  ["deleteToken", "the victim's extra token", (c, t, v) => c.admin.deleteToken({ id: v.extraTokenId }, t)],
  ["deleteToken", "the victim's default token", (c, t, v) => c.admin.deleteToken({ id: v.org.defaultTokenId }, t)],
  ["getPasscode", "the victim's passcode", (c, t, v) => c.admin.getPasscode({ organizationId: v.org.orgId }, t)],
  ["getPasscode", "the victim child's passcode", (c, t, v) => c.admin.getPasscode({ organizationId: v.subOrgId }, t)],
  [
    "updateOrganization",
    "the victim organization renamed",
    (c, t, v) => c.admin.updateOrganization({ organization: { id: v.org.orgId, name: "pwned" }, updateMask: { paths: ["name"] } }, t),
  ],
  [
    "updateOrganization",
    "the victim's child cut off from its parent",
    (c, t, v) =>
      c.admin.updateOrganization({ organization: { id: v.subOrgId, parentAccess: false }, updateMask: { paths: ["parent_access"] } }, t),
  ],
  ["listUsers", "the victim's users", (c, t, v) => c.admin.listUsers({ organizationId: v.org.orgId }, t)],
  ["listUsers", "the victim child's users", (c, t, v) => c.admin.listUsers({ organizationId: v.subOrgId }, t)],
  ["getUser", "the victim's admin", (c, t, v) => c.admin.getUser({ id: v.org.adminUserId }, t)],
  ["getUser", "the victim's viewer", (c, t, v) => c.admin.getUser({ id: v.viewerUserId }, t)],
  ["listMemberships", "the victim's members", (c, t, v) => c.admin.listMemberships({ organizationId: v.org.orgId }, t)],
  ["listMemberships", "the victim child's members", (c, t, v) => c.admin.listMemberships({ organizationId: v.subOrgId }, t)],
  [
    "deleteBucket",
    "the victim's bucket, forced",
    (c, t, v) => c.admin.deleteBucket({ organizationId: v.org.orgId, name: v.bucketName, force: true }, t),
  ],
  ["getCaller", "who the attacker is", (c, t) => c.admin.getCaller({}, t)],
  ["listAuditEvents", "the victim's audit trail", (c, t, v) => c.admin.listAuditEvents({ organizationId: v.org.orgId }, t)],
  ["listAuditEvents", "the victim's child's audit trail", (c, t, v) => c.admin.listAuditEvents({ organizationId: v.subOrgId }, t)],
  [
    "listAuditEvents",
    "the instance's audit trail",
    (c, t) => c.admin.listAuditEvents({ organizationId: "00000000-0000-0000-0000-000000000000" }, t),
  ],
  ["verifyAuditLog", "the victim's audit trail", (c, t, v) => c.admin.verifyAuditLog({ organizationId: v.org.orgId }, t)],
  [
    "watchAuditEvents",
    "the victim's audit trail from its start",
    async (c, t, v) => {
      for await (const _ of c.admin.watchAuditEvents({ organizationId: v.org.orgId, afterSequence: 0n }, t)) break;
    },
  ],
  [
    "applyManifest",
    "a manifest giving the victim a bucket",
    (c, t, v, _a, n) =>
      c.admin.applyManifest(
        {
          organizations: [
            {
              path: "organizations[0]",
              identifier: v.org.identifier,
              buckets: [{ path: "organizations[0].buckets[0]", name: `evil-${n}` }],
            },
          ],
        },
        t,
      ),
  ],
  [
    "applyManifest",
    "a manifest naming the victim and its child",
    (c, t, v) =>
      c.admin.applyManifest(
        {
          organizations: [
            { path: "organizations[0]", identifier: v.org.identifier },
            { path: "organizations[0].organizations[0]", identifier: v.subIdentifier, parent: v.org.identifier },
          ],
        },
        t,
      ),
  ],
  [
    "updateToken",
    "the victim's extra token given an expiry",
    (c, t, v) =>
      c.admin.updateToken(
        { id: v.extraTokenId, updateMask: { paths: ["expire_time"] }, expireTime: { seconds: 4_102_444_800n, nanos: 0 } },
        t,
      ),
  ],
  [
    "listTokens",
    "the victim's tokens by name prefix",
    (c, t, v) => c.admin.listTokens({ organizationId: v.org.orgId, namePrefix: "victim", enabled: true }, t),
  ],
];

describe("the cross-tenant matrix", () => {
  let server: TestServer;
  let clients: Clients[];
  let inst: Instance;
  let victim: Victim;
  let attackers: Attacker[];
  let n = 0;

  /** The victim's rows as stored, for comparison after the attacks (last-used times excluded). */
  const snapshot = async () => {
    const orgs = [victim.org.orgId, victim.subOrgId];
    const users = [victim.org.adminUserId, victim.viewerUserId];
    return json({
      organizations: await superQuery(server.db, "SELECT * FROM organizations WHERE id = ANY($1) ORDER BY id", [orgs]),
      tokens: await superQuery(
        server.db,
        `SELECT id, org_id, name, description, kind, is_default, encode(digest, 'hex') AS digest, key_id, mask, enabled,
                owner_user_id, created_by, permissions, expires_at, created_at, updated_at
           FROM tokens WHERE org_id = ANY($1) ORDER BY id`,
        [orgs],
      ),
      memberships: await superQuery(
        server.db,
        "SELECT * FROM memberships WHERE org_id = ANY($1) OR user_id = ANY($2) ORDER BY org_id, user_id",
        [orgs, users],
      ),
      buckets: await superQuery(server.db, "SELECT * FROM buckets WHERE org_id = ANY($1) ORDER BY id", [orgs]),
      users: await superQuery(server.db, "SELECT * FROM users WHERE id = ANY($1) ORDER BY id", [users]),
    });
  };
  let before0: string;

  before(async () => {
    server = await startTestServer();
    clients = allClients({ grpcPort: server.tessera.grpcPort, httpPort: server.tessera.httpPort });
    const c = clients[0]!;
    inst = await setupInstance(c);
    const stamp = randomBytes(3).toString("hex"); // distinctive in every response searched below
    const org = await createOrg(c, inst.operatorToken, `victim-${stamp}`);
    const sub = await c.admin.createOrganization({ identifier: `victim-${stamp}-child`, parentId: org.orgId }, org.adminToken);
    const extra = await issue(c, org.adminToken, { kind: TokenKind.INGESTION, name: `victim-extra-${stamp}`, description: "victim's" });
    const viewerName = `victim-viewer-${stamp}`;
    const viewerUserId = await addMember(c, org.adminToken, org.orgId, Role.VIEWER, viewerName);
    const bucket = (await c.admin.createBucket({ name: `victim-bucket-${stamp}` }, org.adminToken)).bucket!;
    victim = {
      org,
      subOrgId: sub.organization!.id,
      subIdentifier: sub.organization!.identifier,
      subDefaultTokenId: sub.defaultToken!.id,
      extraTokenId: extra.id,
      viewerUserId,
      viewerName,
      bucketId: bucket.id,
      bucketName: bucket.name,
      secrets: [],
    };
    victim.secrets = [
      org.orgId,
      org.identifier,
      org.adminUserId,
      org.adminTokenId,
      org.defaultTokenId,
      `${org.identifier}-admin`,
      victim.subOrgId,
      victim.subIdentifier,
      victim.subDefaultTokenId,
      extra.id,
      `victim-extra-${stamp}`,
      viewerUserId,
      viewerName,
      bucket.id,
      bucket.name,
    ];

    // An unrelated organization's admin.
    const other = await createOrg(c, inst.operatorToken, `attacker-${stamp}`);
    await c.admin.createBucket({ name: "attacker-bucket" }, other.adminToken);
    // A sub-organization of the victim, whose admin reaches for its parent (and its sibling).
    const kid = await c.admin.createOrganization({ identifier: `kid-${stamp}`, parentId: org.orgId }, inst.operatorToken);
    const kidAdmin = await addMember(c, inst.operatorToken, kid.organization!.id, Role.ADMIN);
    const kidToken = await issue(c, inst.operatorToken, {
      organizationId: kid.organization!.id,
      kind: TokenKind.ALL_ACCESS,
      userId: kidAdmin,
    });
    attackers = [
      { label: "an unrelated organization's admin", knows: [], token: other.adminToken, orgId: other.orgId, userId: other.adminUserId },
      { label: "a sub-organization's admin", knows: [org.orgId], token: kidToken.value, orgId: kid.organization!.id, userId: kidAdmin },
    ];
    before0 = await snapshot();
  });
  after(async () => {
    for (const c of clients ?? []) c.close();
    await server?.close();
  });

  it("covers every admin RPC but Setup", () => {
    const covered = new Set(MATRIX.map(([m]) => m));
    const all = TokenAdminService.methods.map((m) => m.localName).filter((m) => m !== "setup");
    assert.deepEqual(
      [...all].filter((m) => !covered.has(m as keyof Clients["admin"])),
      [],
    );
  });

  /** `allowed`: what this attacker may legitimately know (a sub-organization knows its parent's id). */
  const assertNoLeak = (text: string, what: string, allowed: string[] = []) => {
    for (const s of victim.secrets) {
      if (!allowed.includes(s)) assert.ok(!text.includes(s), `${what} leaks "${s}": ${text.slice(0, 300)}`);
    }
  };

  for (const name of transportNames()) {
    describe(name, () => {
      for (const [attackerIndex, attackerLabel] of ["an unrelated organization's admin", "a sub-organization's admin"].entries()) {
        it(`${attackerLabel} gets NOT_FOUND or PERMISSION_DENIED from every admin RPC on the victim's ids, and no hint of them`, async () => {
          const c = byName(clients, name);
          const a = attackers[attackerIndex]!;
          for (const [method, label, call] of MATRIX) {
            const what = `${method}: ${label} (${a.label})`;
            if (method === "listOrganizations") {
              // A list call cannot fail on ids; what matters is that the victim never appears.
              const r = await c.admin.listOrganizations({}, a.token);
              assert.ok(r.organizations.length >= 1, what);
              assertNoLeak(json(r), what, a.knows);
              continue;
            }
            if (method === "getCaller") {
              // It takes no ids: it answers, about the attacker alone.
              const r = await c.admin.getCaller({}, a.token);
              assert.equal(r.caller!.organizationId, a.orgId, what);
              assertNoLeak(json(r), what);
              continue;
            }
            const err = await rejects(call(c, a.token, victim, a, ++n), [Code.NotFound, Code.PermissionDenied], what);
            assertNoLeak(err.rawMessage + json(err.metadata), what);
          }
        });

        it(`${attackerLabel}'s lists never contain the victim's rows`, async () => {
          const c = byName(clients, name);
          const a = attackers[attackerIndex]!;
          const orgs = await c.admin.listOrganizations({}, a.token);
          assert.ok(
            orgs.organizations.every((o) => o.id === a.orgId || o.parentId === a.orgId),
            "only itself and its descendants",
          );
          assertNoLeak(json(orgs), "ListOrganizations", a.knows);
          for (const pageSize of [0, 1]) {
            let pageToken = "";
            do {
              const page = await c.admin.listTokens({ pageSize, pageToken }, a.token);
              assert.ok(page.tokens.every((t) => t.organizationId === a.orgId));
              assertNoLeak(json(page), "ListTokens");
              pageToken = page.nextPageToken;
            } while (pageToken !== "");
          }
          const owned = await c.admin.listTokens({ ownerUserId: victim.org.adminUserId }, a.token);
          assert.deepEqual(owned.tokens, [], "ListTokens filtered by the victim admin's id");
          const ingestion = await c.admin.listTokens({ kind: TokenKind.INGESTION }, a.token);
          assert.ok(ingestion.tokens.every((t) => t.organizationId === a.orgId));
          assertNoLeak(json(ingestion), "ListTokens by kind");
          const buckets = await c.admin.listBuckets({}, a.token);
          assert.ok(buckets.buckets.every((b) => b.organizationId === a.orgId));
          assertNoLeak(json(buckets), "ListBuckets");
          const own = await c.admin.getOrganization({}, a.token);
          assert.equal(own.organization!.id, a.orgId);
          assertNoLeak(json(own), "GetOrganization", a.knows);
          for (const pageSize of [0, 1]) {
            let pageToken = "";
            do {
              const page = await c.admin.listUsers({ pageSize, pageToken }, a.token);
              assert.ok(page.users.length >= 1, "at least the attacker's own admin");
              assertNoLeak(json(page), "ListUsers");
              pageToken = page.nextPageToken;
            } while (pageToken !== "");
          }
          const members = await c.admin.listMemberships({}, a.token);
          assert.ok(members.members.every((m) => m.membership!.organizationId === a.orgId));
          assertNoLeak(json(members), "ListMemberships");
          const prefixed = await c.admin.listTokens({ namePrefix: "victim" }, a.token);
          assert.deepEqual(prefixed.tokens, [], "ListTokens by the victim's name prefix");
          const trail = await c.admin.listAuditEvents({ pageSize: 1000 }, a.token);
          assert.ok(trail.events.length >= 1, "the attacker's own trail has entries");
          assert.ok(trail.events.every((e) => e.organizationId === a.orgId));
          assertNoLeak(json(trail), "ListAuditEvents", a.knows);
          const pass = await c.admin.getPasscode({}, a.token);
          assert.equal(pass.token!.organizationId, a.orgId);
          assertNoLeak(json(pass), "GetPasscode");
        });
      }
    });
  }

  describe("afterwards", () => {
    it("leaves every one of the victim's rows as it was", async () => {
      assert.equal(await snapshot(), before0);
      const c = clients[0]!;
      const v = await c.verify.verify(
        { credential: victim.org.defaultTokenValue, organization: victim.org.identifier, endpoint: EndpointClass.INGEST },
        inst.verifierToken,
      );
      assert.equal(v.status, VerifyStatus.VALID);
      const list = await c.admin.listTokens({}, victim.org.adminToken);
      assert.ok(!list.tokens.some((t) => t.name.startsWith("evil")), "nothing was created in the victim");
      assert.deepEqual(
        (await c.admin.listBuckets({}, victim.org.adminToken)).buckets.map((b) => b.name),
        [victim.bucketName],
      );
      const orgs = await c.admin.listOrganizations({}, inst.operatorToken);
      assert.ok(!orgs.organizations.some((o) => o.identifier.startsWith("evil")), "no organization was created under the victim");
    });
  });
});
