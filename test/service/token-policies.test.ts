/**
 * Organization token policies, through a real server: a maximum lifetime that creation may not
 * exceed (the `default` token gets the longest allowed), and an idle limit after which the server
 * disables a token with a DISABLED event and the reason visible in Get/List. Also: admin and
 * verifier tokens record their use as Verify's tokens do, so "never used" means never.
 */
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { DurationSchema, timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { EndpointClass, Role, Signal, TokenDisabledReason, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { RevocationReason, VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { allClients, type Clients } from "../helpers/clients.js";
import { createOrg, issue, setupInstance, type Instance, type SeededOrg } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { eventually } from "../helpers/wait.js";
import { watch } from "../helpers/watch.js";
import { rejects } from "./support.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const duration = (ms: number, nanos = 0) => create(DurationSchema, { seconds: BigInt(Math.trunc(ms / 1000)), nanos });

describe("token policies", () => {
  let server: TestServer;
  let all: Clients[];
  let c: Clients;
  let inst: Instance;
  let offset = 0;
  const now = () => Date.now() + offset;
  let n = 0;

  before(async () => {
    server = await startTestServer({ now, configure: (cfg) => ({ ...cfg, feed: { ...cfg.feed, maintenanceMs: 100, idleSweepMs: 100 } }) });
    all = allClients({ grpcPort: server.tessera.grpcPort, httpPort: server.tessera.httpPort });
    c = all[0]!;
    inst = await setupInstance(c);
  });
  after(async () => {
    for (const x of all ?? []) x.close();
    await server?.close();
  });

  /** An organization with policies, an ADMIN member and an ALL_ACCESS token of theirs that expires within them. */
  async function policyOrg(policy: { maxTokenLifetime?: number; tokenIdleLimit?: number }) {
    const identifier = `policy-${++n}`;
    const o = await c.admin.createOrganization(
      {
        identifier,
        ...(policy.maxTokenLifetime !== undefined && { maxTokenLifetime: duration(policy.maxTokenLifetime) }),
        ...(policy.tokenIdleLimit !== undefined && { tokenIdleLimit: duration(policy.tokenIdleLimit) }),
      },
      inst.operatorToken,
    );
    const orgId = o.organization!.id;
    const u = await c.admin.createUser({ name: `${identifier}-admin`, organizationId: orgId, role: Role.ADMIN }, inst.operatorToken);
    const expireTime = policy.maxTokenLifetime === undefined ? undefined : timestampFromMs(now() + policy.maxTokenLifetime / 2);
    const admin = await c.admin.createToken(
      { organizationId: orgId, name: "admin", kind: TokenKind.ALL_ACCESS, userId: u.user!.id, ...(expireTime && { expireTime }) },
      inst.operatorToken,
    );
    return { o, orgId, identifier, adminToken: admin.value, adminTokenId: admin.token!.id };
  }

  describe("maximum token lifetime", () => {
    it("is shown on the organization, and bounds the default token created with it", async () => {
      const before = now();
      const p = await policyOrg({ maxTokenLifetime: 30 * DAY });
      const org = (await c.admin.getOrganization({ id: p.orgId }, p.adminToken)).organization!;
      assert.equal(org.maxTokenLifetime?.seconds, BigInt(30 * 86_400));
      assert.equal(org.tokenIdleLimit, undefined, "no idle limit was set");
      const def = p.o.defaultToken!;
      assert.ok(def.expireTime !== undefined, "the default token expires");
      const exp = timestampMs(def.expireTime);
      assert.ok(exp >= before + 30 * DAY - 5000 && exp <= now() + 30 * DAY + 5000, `default token expires 30 days on (${exp - before} ms)`);
    });

    it("refuses tokens without an expiry or expiring beyond it, and accepts one within it", async () => {
      const p = await policyOrg({ maxTokenLifetime: 7 * DAY });
      const e1 = await rejects(issue(c, p.adminToken, { kind: TokenKind.INGESTION }), Code.InvalidArgument, "no expiry");
      assert.match(e1.rawMessage, /must expire within 7d.*expire_time/);
      const e2 = await rejects(
        issue(c, p.adminToken, { kind: TokenKind.INGESTION, expireTime: timestampFromMs(now() + 8 * DAY) }),
        Code.InvalidArgument,
        "beyond the lifetime",
      );
      assert.match(e2.rawMessage, /beyond this organization's maximum token lifetime \(7d\)/);
      const ok = await issue(c, p.adminToken, { kind: TokenKind.INGESTION, expireTime: timestampFromMs(now() + 6 * DAY) });
      const t = (await c.admin.getToken({ id: ok.id }, p.adminToken)).token!;
      assert.ok(t.expireTime !== undefined);
      const listed = (await c.admin.listTokens({}, p.adminToken)).tokens.map((x) => x.name);
      assert.equal(listed.length, 3, `only the default, admin and accepted tokens exist: ${listed.join(", ")}`);
    });

    it("applies only to its own organization, and an operator creating tokens there is bound too", async () => {
      const p = await policyOrg({ maxTokenLifetime: DAY });
      const other = await createOrg(c, inst.operatorToken);
      const free = await issue(c, other.adminToken, { kind: TokenKind.INGESTION });
      assert.equal((await c.admin.getToken({ id: free.id }, other.adminToken)).token!.expireTime, undefined, "other org: no expiry needed");
      await rejects(
        c.admin.createToken({ organizationId: p.orgId, name: "op-made", kind: TokenKind.INGESTION }, inst.operatorToken),
        Code.InvalidArgument,
        "operator in a policy organization",
      );
    });
  });

  describe("idle limit", () => {
    let p: Awaited<ReturnType<typeof policyOrg>>;
    let plain: SeededOrg;

    before(async () => {
      p = await policyOrg({ tokenIdleLimit: 2 * HOUR });
      plain = await createOrg(c, inst.operatorToken);
    });
    // Creation times are the database's clock, which this file cannot move: each test starts with
    // the server's clock back in step with it.
    beforeEach(() => {
      offset = 0;
    });

    const verify = (value: string, identifier: string) =>
      c.verify.verify(
        { credential: value, organization: identifier, endpoint: EndpointClass.INGEST, signal: Signal.LOGS },
        inst.verifierToken,
      );
    const token = async (id: string, caller: string) => (await c.admin.getToken({ id }, caller)).token!;

    it("disables tokens unused for longer than the limit, with a DISABLED event and the reason in Get and List", async () => {
      const used = await issue(c, p.adminToken, { kind: TokenKind.INGESTION });
      const unused = await issue(c, p.adminToken, { kind: TokenKind.INGESTION });
      const elsewhere = await issue(c, plain.adminToken, { kind: TokenKind.INGESTION });
      const w = watch(() => c.verify.watchRevocations({}, inst.verifierToken) as never);
      try {
        await w.until(() => w.checkpoints > 0);
        offset += 90 * MINUTE;
        assert.equal((await verify(used.value, p.identifier)).status, VerifyStatus.VALID);
        await c.admin.listTokens({}, p.adminToken); // the admin token is in use too
        await server.tessera.deps.lastUsed.flush();
        offset += 31 * MINUTE; // unused: 2 h 1 min idle; used: 31 min
        await w.until(() => w.events.some((e) => e.tokenId === unused.id && e.reason === RevocationReason.DISABLED));
        assert.equal((await verify(unused.value, p.identifier)).status, VerifyStatus.DISABLED);
        const t = await token(unused.id, p.adminToken);
        assert.equal(t.enabled, false);
        assert.equal(t.disabledReason, TokenDisabledReason.IDLE);
        const listed = (await c.admin.listTokens({}, p.adminToken)).tokens.find((x) => x.id === unused.id)!;
        assert.equal(listed.disabledReason, TokenDisabledReason.IDLE, "List shows the reason too");
        // On the organization's audit trail, by the server's upkeep.
        const trail = await c.admin.listAuditEvents({ targetId: unused.id, action: "token.disable" }, p.adminToken);
        assert.deepEqual(
          trail.events.map((e) => [e.actor?.system, e.after]),
          [["upkeep", { enabled: false, disabled_reason: "IDLE" }]],
        );

        assert.equal((await verify(used.value, p.identifier)).status, VerifyStatus.VALID, "a token in use stays enabled");
        assert.equal((await token(elsewhere.id, plain.adminToken)).enabled, true, "an organization without a limit keeps idle tokens");
        assert.equal((await token(p.adminTokenId, p.adminToken)).enabled, true, "the admin token in use (these calls) stays enabled");
      } finally {
        w.stop();
      }
    });

    it("counts a rotation as a fresh start, and either value's use as use", async () => {
      const op = inst.operatorToken;
      const rotated = await issue(c, p.adminToken, { kind: TokenKind.INGESTION });
      const overlap = await issue(c, p.adminToken, { kind: TokenKind.INGESTION });
      offset += 90 * MINUTE;
      await c.admin.rotateToken({ id: rotated.id }, op);
      await c.admin.rotateToken({ id: overlap.id, gracePeriod: duration(DAY) }, op);
      assert.equal((await verify(overlap.value, p.identifier)).status, VerifyStatus.VALID, "the old value, in its overlap");
      await server.tessera.deps.lastUsed.flush();
      offset += 40 * MINUTE; // 130 min since creation; 40 since the rotations and the old value's use
      await new Promise((r) => setTimeout(r, 400)); // several sweeps
      assert.equal((await token(rotated.id, op)).enabled, true, "rotated 40 minutes ago: not idle");
      const t = await token(overlap.id, op);
      assert.equal(t.enabled, true, "its old value was used 40 minutes ago: not idle");
      assert.ok(t.previousValue?.lastUsedTime !== undefined, "the old value's use is what counted");
    });

    it("gives a re-enabled token a whole idle period again, and a caller's disable says so", async () => {
      const t = await issue(c, p.adminToken, { kind: TokenKind.INGESTION });
      offset += 2 * HOUR + MINUTE;
      // From here on the operator acts: the organization's admin token is idle too by now.
      const op = inst.operatorToken;
      await eventually(async () => !(await token(t.id, op)).enabled, undefined, "the idle token is disabled");
      const re = (await c.admin.setTokenEnabled({ id: t.id, enabled: true }, op)).token!;
      assert.equal(re.enabled, true);
      assert.equal(re.disabledReason, TokenDisabledReason.UNSPECIFIED, "no reason while enabled");
      // Several sweeps run in this time (every 100 ms): none may disable it again.
      await new Promise((r) => setTimeout(r, 500));
      assert.equal((await verify(t.value, p.identifier)).status, VerifyStatus.VALID, "re-enabled and not swept again");
      const off = (await c.admin.setTokenEnabled({ id: t.id, enabled: false }, op)).token!;
      assert.equal(off.disabledReason, TokenDisabledReason.ADMIN);
    });
  });

  describe("changed later", () => {
    it("UpdateOrganization sets and removes policies; new tokens follow them, existing ones keep their expiry", async () => {
      const p = await policyOrg({});
      const early = await issue(c, p.adminToken, { kind: TokenKind.INGESTION });
      const set = await c.admin.updateOrganization(
        {
          organization: { id: p.orgId, maxTokenLifetime: duration(DAY), tokenIdleLimit: duration(3 * HOUR) },
          updateMask: { paths: ["max_token_lifetime", "token_idle_limit"] },
        },
        p.adminToken,
      );
      assert.equal(set.organization!.maxTokenLifetime?.seconds, 86_400n);
      assert.equal(set.organization!.tokenIdleLimit?.seconds, 3n * 3600n);
      await rejects(issue(c, p.adminToken, { kind: TokenKind.INGESTION }), Code.InvalidArgument, "no expiry under the new lifetime");
      assert.equal(
        (await c.admin.getToken({ id: early.id }, p.adminToken)).token!.expireTime,
        undefined,
        "an existing token keeps no expiry",
      );
      const cleared = await c.admin.updateOrganization(
        { organization: { id: p.orgId }, updateMask: { paths: ["max_token_lifetime"] } },
        p.adminToken,
      );
      assert.equal(cleared.organization!.maxTokenLifetime, undefined, "named in the mask and unset: removed");
      assert.equal(cleared.organization!.tokenIdleLimit?.seconds, 3n * 3600n, "the other policy stays");
      await issue(c, p.adminToken, { kind: TokenKind.INGESTION });
    });

    it("refuses a bad policy naming the field, and another organization's admin gets NOT_FOUND", async () => {
      const p = await policyOrg({});
      const e = await rejects(
        c.admin.updateOrganization(
          { organization: { id: p.orgId, tokenIdleLimit: duration(MINUTE) }, updateMask: { paths: ["token_idle_limit"] } },
          p.adminToken,
        ),
        Code.InvalidArgument,
        "an idle limit within the precision",
      );
      assert.match(e.rawMessage, /^organization\.token_idle_limit must be between 2h and 3650d$/);
      const other = await createOrg(c, inst.operatorToken);
      await rejects(
        c.admin.updateOrganization(
          { organization: { id: p.orgId, maxTokenLifetime: duration(DAY) }, updateMask: { paths: ["max_token_lifetime"] } },
          other.adminToken,
        ),
        Code.NotFound,
        "another organization's admin",
      );
      assert.equal((await c.admin.getOrganization({ id: p.orgId }, p.adminToken)).organization!.maxTokenLifetime, undefined, "unchanged");
    });

    it("UpdateToken may not stretch a token past its lifetime from creation, nor clear its expiry", async () => {
      const p = await policyOrg({ maxTokenLifetime: 7 * DAY });
      const t = await issue(c, p.adminToken, { kind: TokenKind.INGESTION, expireTime: timestampFromMs(now() + DAY) });
      const mask = { paths: ["expire_time"] };
      const e1 = await rejects(
        c.admin.updateToken({ id: t.id, expireTime: timestampFromMs(now() + 8 * DAY), updateMask: mask }, p.adminToken),
        Code.InvalidArgument,
        "beyond the lifetime",
      );
      assert.match(e1.rawMessage, /maximum token lifetime \(7d\)/);
      await rejects(c.admin.updateToken({ id: t.id, updateMask: mask }, p.adminToken), Code.InvalidArgument, "clearing the expiry");
      const ok = await c.admin.updateToken({ id: t.id, expireTime: timestampFromMs(now() + 6 * DAY), updateMask: mask }, p.adminToken);
      assert.ok(timestampMs(ok.token!.expireTime!) > now() + 5 * DAY, "within the lifetime: extended");
    });
  });

  describe("bad policies", () => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ["a zero lifetime", { maxTokenLifetime: duration(0) }, /max_token_lifetime must be between 1m and 3650d/],
      ["a negative lifetime", { maxTokenLifetime: duration(-DAY) }, /max_token_lifetime must be between/],
      ["a lifetime over ten years", { maxTokenLifetime: duration(3651 * DAY) }, /max_token_lifetime must be between/],
      ["fractional seconds", { maxTokenLifetime: duration(DAY, 5) }, /max_token_lifetime must be a whole number of seconds/],
      ["an idle limit within the last-used precision", { tokenIdleLimit: duration(HOUR) }, /token_idle_limit must be between 2h and 3650d/],
      [
        "a huge idle limit",
        { tokenIdleLimit: create(DurationSchema, { seconds: 9_000_000_000_000n }) },
        /token_idle_limit must be between/,
      ],
    ];
    for (const [what, fields, message] of cases) {
      it(`refuses ${what} with INVALID_ARGUMENT and creates nothing`, async () => {
        const identifier = `bad-policy-${++n}`;
        const e = await rejects(c.admin.createOrganization({ identifier, ...fields }, inst.operatorToken), Code.InvalidArgument, what);
        assert.match(e.rawMessage, message);
        const listed = (await c.admin.listOrganizations({ pageSize: 1000 }, inst.operatorToken)).organizations;
        assert.ok(!listed.some((o) => o.identifier === identifier), "no organization was created");
      });
    }
  });

  describe("last used, for admin and verifier tokens", () => {
    const lastUsed = async (id: string, caller: string) => {
      await server.tessera.deps.lastUsed.flush();
      const t = (await c.admin.getToken({ id }, caller)).token!;
      return t.lastUsedTime === undefined ? undefined : timestampMs(t.lastUsedTime);
    };

    it("records an admin token's accepted calls, and not a refused one's", async () => {
      const org = await createOrg(c, inst.operatorToken);
      const second = await issue(c, org.adminToken, { kind: TokenKind.ALL_ACCESS });
      assert.equal(await lastUsed(second.id, inst.operatorToken), undefined, "never used");
      await c.admin.setTokenEnabled({ id: second.id, enabled: false }, org.adminToken);
      await rejects(c.admin.listTokens({}, second.value), Code.Unauthenticated, "a disabled admin token");
      assert.equal(await lastUsed(second.id, inst.operatorToken), undefined, "a refused call is no use");
      await c.admin.setTokenEnabled({ id: second.id, enabled: true }, org.adminToken);
      const before = now();
      await c.admin.listTokens({}, second.value);
      const at = await lastUsed(second.id, inst.operatorToken);
      assert.ok(at !== undefined && at >= before - 1000, `set by an accepted admin call (${at})`);
    });

    it("records a verifier token's use, and again in a later period", async () => {
      const v = await c.admin.createToken({ name: `fleet-${++n}`, kind: TokenKind.VERIFIER }, inst.operatorToken);
      const id = v.token!.id;
      assert.equal(await lastUsed(id, inst.operatorToken), undefined, "never used");
      const ask = () => c.verify.verify({ credential: "nope", endpoint: EndpointClass.INGEST }, v.value);
      await ask();
      const first = await lastUsed(id, inst.operatorToken);
      assert.ok(first !== undefined, "the first call records a use");
      offset += 2 * HOUR;
      await ask();
      const later = await lastUsed(id, inst.operatorToken);
      assert.ok(later !== undefined && later >= first + 2 * HOUR - 1000, `a call in a later period moves it forward (${later! - first})`);
    });
  });
});
