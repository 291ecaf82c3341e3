/**
 * Rotation with an overlap, in memory: RotateToken's grace_period keeps the old value working
 * next to the new one until a deadline, Verify says so in its answers for the old value, each
 * value has its own last-used time, the deadline ends the old value (refused at once, before and
 * after the upkeep clears it, then announced ROTATED), disabling or deleting ends both, a second
 * rotation ends the first old value at once, and bad grace periods, other organizations' tokens
 * and callers without the role are refused.
 *
 * The services' clock is movable: deadlines pass without waiting.
 */
import assert from "node:assert/strict";
import { durationFromMs, timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { EndpointClass, Role, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { RevocationReason, VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { endOverlaps } from "../../src/store/queries/revocations.js";
import { superQuery } from "../helpers/db.js";
import { startInMemoryTessera, useInMemoryTessera } from "../helpers/in-memory.js";
import { createOrg, issue, setupInstance } from "../helpers/seed.js";
import { eventually } from "../helpers/wait.js";
import { assertNoSecret, json, maskOf } from "../service/support.js";
import { adminDemotedTo, assertNoHint, expectStatus, record, rejects, unknownId, useTwoOrganizations } from "./support.js";

const MINUTE = 60_000;
const DAY = 86_400_000;

describe("rotation with an overlap, in memory", () => {
  // The services' clock: moved forward (never back) to pass deadlines. Each move is a minute and a
  // second, so tokens of the shared fixture with an expiry (an hour away) outlive the file.
  let offset = 0;
  const f = useInMemoryTessera({ now: () => Date.now() + offset });
  const x = useTwoOrganizations(f);
  const clock = () => Date.now() + offset;
  const passMinute = () => {
    offset += MINUTE + 1000;
  };
  const verify = (credential: string, organization = "") =>
    f.t.c.verify.verify({ credential, organization, endpoint: EndpointClass.INGEST }, f.inst.verifierToken);
  const rotate = (id: string, graceMs: number, token = x.a.adminToken) =>
    f.t.c.admin.rotateToken({ id, ...(graceMs > 0 && { gracePeriod: durationFromMs(graceMs) }) }, token);
  const getToken = async (id: string) => (await f.t.c.admin.getToken({ id }, x.a.adminToken)).token!;
  const flushLastUsed = () => f.t.services.deps.lastUsed.flush();
  const ms = (t: Timestamp | undefined) => (t === undefined ? undefined : timestampDate(t).getTime());

  describe("RotateToken with a grace period", () => {
    it("returns a new value once and keeps the old one working until the deadline, shown as the previous value", async () => {
      const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION });
      const before = clock();
      const r = await rotate(t.id, 10 * MINUTE);
      const after = clock();
      assert.notEqual(r.value, t.value);
      assert.match(r.value, /^o2oi_/);
      assert.equal(r.token!.maskedValue, maskOf(r.value));
      const p = r.token!.previousValue;
      assert.ok(p, "the response shows the previous value");
      assert.equal(p.maskedValue, maskOf(t.value));
      const deadline = ms(p.expireTime)!;
      assert.ok(deadline >= before + 10 * MINUTE && deadline <= after + 10 * MINUTE, "the deadline is the grace period from now");

      const got = await getToken(t.id);
      assert.equal(got.previousValue?.maskedValue, maskOf(t.value), "GetToken shows it");
      assert.equal(ms(got.previousValue?.expireTime), deadline);
      const listed = (await f.t.c.admin.listTokens({ pageSize: 1000 }, x.a.adminToken)).tokens.find((y) => y.id === t.id);
      assert.equal(listed?.previousValue?.maskedValue, maskOf(t.value), "ListTokens shows it");
      for (const [where, text] of [
        ["GetToken", json(got)],
        ["the rotated token's metadata", json(r.token)],
      ] as const) {
        assertNoSecret(text, t.value, where);
        assertNoSecret(text, r.value, where);
      }
    });

    it("answers VALID for both values; the old value's answer carries its deadline and that a newer value exists, the new one's neither", async () => {
      const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION });
      const r = await rotate(t.id, 10 * MINUTE);
      const deadline = ms(r.token!.previousValue!.expireTime);
      for (const organization of ["", x.a.identifier]) {
        for (let i = 0; i < 2; i++) {
          // Twice: the first answer is decided, the second comes from the caches.
          const old = await verify(t.value, organization);
          expectStatus(old, VerifyStatus.VALID, `the old value (${i})`);
          assert.equal(old.principal?.tokenId, t.id);
          assert.equal(old.newerValueExists, true, "the old value's answer says a newer value exists");
          assert.equal(ms(old.valueExpireTime), deadline, "and when the old value stops");
          const fresh = await verify(r.value, organization);
          expectStatus(fresh, VerifyStatus.VALID, `the new value (${i})`);
          assert.equal(fresh.principal?.tokenId, t.id);
          assert.equal(fresh.newerValueExists, false);
          assert.equal(fresh.valueExpireTime, undefined);
        }
      }
      // Another organization's identifier: NOT_FOUND, and nothing about the value.
      const elsewhere = await verify(t.value, x.b.identifier);
      expectStatus(elsewhere, VerifyStatus.NOT_FOUND, "the old value addressed to another organization");
      assert.equal(elsewhere.newerValueExists, false);
      assert.equal(elsewhere.valueExpireTime, undefined);
      assert.equal(elsewhere.principal, undefined);
    });

    it("records last use separately for the old and the new value", async () => {
      const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION });
      expectStatus(await verify(t.value), VerifyStatus.VALID, "before the rotation");
      await flushLastUsed();
      const usedBefore = (await getToken(t.id)).lastUsedTime;
      assert.ok(usedBefore, "used before the rotation");

      const r = await rotate(t.id, 10 * MINUTE);
      assert.equal(r.token!.lastUsedTime, undefined, "the new value has not been used");
      assert.deepEqual(r.token!.previousValue?.lastUsedTime, usedBefore, "the old value keeps its history");

      expectStatus(await verify(t.value), VerifyStatus.VALID, "the old value, sent by a client not yet switched");
      await flushLastUsed();
      const t1 = await getToken(t.id);
      assert.equal(t1.lastUsedTime, undefined, "the new value is still unused");
      assert.deepEqual(t1.previousValue?.lastUsedTime, usedBefore, "within the precision, the old value's time stays");

      expectStatus(await verify(r.value), VerifyStatus.VALID, "the new value");
      await flushLastUsed();
      const t2 = await getToken(t.id);
      assert.ok(t2.lastUsedTime, "the new value's use shows");
      assert.deepEqual(t2.previousValue?.lastUsedTime, usedBefore, "the old value's time is its own");
    });

    it("shows a first use of the old value during the overlap on the previous value only", async () => {
      const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION });
      const r = await rotate(t.id, 10 * MINUTE);
      expectStatus(await verify(t.value), VerifyStatus.VALID, "the old value");
      await flushLastUsed();
      const got = await getToken(t.id);
      assert.ok(got.previousValue?.lastUsedTime, "the old value's use shows");
      assert.equal(got.lastUsedTime, undefined, "not on the new value");
      expectStatus(await verify(r.value), VerifyStatus.VALID, "the new value");
    });

    it("keeps a rotated admin token's old value authenticating admin calls until the deadline, then not", async () => {
      const admin = await adminDemotedTo(f.t.c, x.a.adminToken, x.a.orgId, Role.ADMIN);
      const r = await rotate(admin.tokenId, MINUTE);
      assert.equal((await f.t.c.admin.getOrganization({}, admin.token)).organization?.id, x.a.orgId, "the old value");
      assert.equal((await f.t.c.admin.getOrganization({}, r.value)).organization?.id, x.a.orgId, "the new value");
      passMinute();
      const err = await rejects(f.t.c.admin.getOrganization({}, admin.token), Code.Unauthenticated, "the old value after the deadline");
      assert.match(err.rawMessage, /no such token/);
      assert.equal((await f.t.c.admin.getOrganization({}, r.value)).organization?.id, x.a.orgId, "the new value after the deadline");
    });

    it("accepts exactly 7 days", async () => {
      const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION });
      const before = clock();
      const r = await f.t.c.admin.rotateToken({ id: t.id, gracePeriod: { seconds: 604_800n, nanos: 0 } }, x.a.adminToken);
      assert.ok(ms(r.token!.previousValue!.expireTime)! >= before + 7 * DAY);
      expectStatus(await verify(t.value), VerifyStatus.VALID, "the old value");
    });

    it("treats a zero grace period like none: the old value stops at once, with a ROTATED event", async () => {
      const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION });
      const w = record(f.t, `Bearer ${f.inst.verifierToken}`);
      try {
        await w.until((r) => r.items.length > 0, "the opening checkpoint");
        const r = await f.t.c.admin.rotateToken({ id: t.id, gracePeriod: { seconds: 0n, nanos: 0 } }, x.a.adminToken);
        assert.equal(r.token!.previousValue, undefined);
        expectStatus(await verify(t.value), VerifyStatus.NOT_FOUND, "the old value");
        expectStatus(await verify(r.value), VerifyStatus.VALID, "the new value");
        await w.until((r) => r.events().some((e) => e.tokenId === t.id && e.reason === RevocationReason.ROTATED), "ROTATED");
      } finally {
        w.stop();
      }
    });
  });

  describe("the deadline", () => {
    it("refuses the old value the moment the clock passes it, announces ROTATED, and leaves the new value alone", async () => {
      const w = record(f.t, `Bearer ${f.inst.verifierToken}`);
      try {
        await w.until((r) => r.items.length > 0, "the opening checkpoint");
        const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION });
        const r = await rotate(t.id, MINUTE);
        // Overlap start: caches drop their answers for the token (ENABLED), nothing ends (no ROTATED).
        await w.until((y) => y.events().filter((e) => e.tokenId === t.id).length >= 2, "ENABLED at the start");
        for (let i = 0; i < 2; i++) expectStatus(await verify(t.value), VerifyStatus.VALID, "the old value, cached");
        passMinute();
        const old = await verify(t.value);
        expectStatus(old, VerifyStatus.NOT_FOUND, "the old value past its deadline");
        assert.equal(old.principal, undefined, "a value past its deadline reveals nothing");
        expectStatus(await verify(r.value), VerifyStatus.VALID, "the new value");
        await w.until(
          (y) => y.events().some((e) => e.tokenId === t.id && e.reason === RevocationReason.ROTATED),
          "ROTATED at the deadline",
        );
        assert.deepEqual(
          w
            .events()
            .filter((e) => e.tokenId === t.id)
            .map((e) => e.reason),
          [RevocationReason.ENABLED, RevocationReason.ENABLED, RevocationReason.ROTATED],
          "its creation, then one event at the start of the overlap and one at the deadline",
        );
        await eventually(async () => (await getToken(t.id)).previousValue === undefined, undefined, "the previous value to be gone");
        expectStatus(await verify(t.value), VerifyStatus.NOT_FOUND, "the old value once the overlap was ended");
        expectStatus(await verify(r.value), VerifyStatus.VALID, "the new value after the event");
      } finally {
        w.stop();
      }
    });

    it("gives the same answer for the old value before the upkeep ends the overlap and after", async () => {
      // An instance of its own whose upkeep never runs by itself: the test runs it.
      let skew = 0;
      const own = await startInMemoryTessera({
        now: () => Date.now() + skew,
        configure: (c) => ({ ...c, feed: { ...c.feed, maintenanceMs: 3_600_000 } }),
      });
      try {
        const inst = await setupInstance(own.c);
        const org = await createOrg(own.c, inst.operatorToken);
        const ask = (credential: string) =>
          own.c.verify.verify({ credential, organization: org.identifier, endpoint: EndpointClass.INGEST }, inst.verifierToken);
        const t = await issue(own.c, org.adminToken, { kind: TokenKind.INGESTION });
        const r = await own.c.admin.rotateToken({ id: t.id, gracePeriod: durationFromMs(MINUTE) }, org.adminToken);
        expectStatus(await ask(t.value), VerifyStatus.VALID, "during the overlap");
        skew += MINUTE + 1000;
        const before = await ask(t.value);
        expectStatus(before, VerifyStatus.NOT_FOUND, "past the deadline, before the upkeep");
        assert.ok((await own.c.admin.getToken({ id: t.id }, org.adminToken)).token!.previousValue, "not ended yet");
        assert.equal(await endOverlaps(own.services.db.pool, new Date(Date.now() + skew)), 1, "the upkeep ends it");
        assert.equal(await endOverlaps(own.services.db.pool, new Date(Date.now() + skew)), 0, "once");
        const after = await ask(t.value);
        expectStatus(after, VerifyStatus.NOT_FOUND, "after the upkeep");
        assert.deepEqual([after.allowed, after.status, after.principal], [before.allowed, before.status, before.principal]);
        expectStatus(await ask(r.value), VerifyStatus.VALID, "the new value");
        assert.equal((await own.c.admin.getToken({ id: t.id }, org.adminToken)).token!.previousValue, undefined);
      } finally {
        await own.close();
      }
    });
  });

  describe("ending the overlap early", () => {
    it("disabling the token ends both values, and enabling it again brings back only the new one", async () => {
      const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION });
      const r = await rotate(t.id, 10 * MINUTE);
      expectStatus(await verify(t.value), VerifyStatus.VALID, "the old value, cached");
      const off = await f.t.c.admin.setTokenEnabled({ id: t.id, enabled: false }, x.a.adminToken);
      assert.equal(off.token!.previousValue, undefined, "the previous value is gone");
      // Disabling it again changes nothing, and announces nothing.
      await f.t.c.admin.setTokenEnabled({ id: t.id, enabled: false }, x.a.adminToken);
      const reasons = await superQuery<{ reason: string }>(f.t.db, "SELECT reason FROM revocation_events WHERE token_id = $1 ORDER BY id", [
        t.id,
      ]);
      assert.deepEqual(
        reasons.map((e) => e.reason),
        ["ENABLED", "ENABLED", "DISABLED"],
        "created, rotated with a grace period, disabled once",
      );
      expectStatus(await verify(t.value), VerifyStatus.NOT_FOUND, "the old value once disabled");
      expectStatus(await verify(r.value), VerifyStatus.DISABLED, "the new value once disabled");
      await f.t.c.admin.setTokenEnabled({ id: t.id, enabled: true }, x.a.adminToken);
      expectStatus(await verify(r.value), VerifyStatus.VALID, "the new value once enabled again");
      expectStatus(await verify(t.value), VerifyStatus.NOT_FOUND, "the old value does not come back");
      assert.equal((await getToken(t.id)).previousValue, undefined);
    });

    it("deleting the token ends both values with a DELETED event", async () => {
      const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION });
      const w = record(f.t, `Bearer ${f.inst.verifierToken}`);
      try {
        await w.until((y) => y.items.length > 0, "the opening checkpoint");
        const r = await rotate(t.id, 10 * MINUTE);
        expectStatus(await verify(t.value), VerifyStatus.VALID, "the old value, cached");
        expectStatus(await verify(r.value), VerifyStatus.VALID, "the new value, cached");
        await f.t.c.admin.deleteToken({ id: t.id }, x.a.adminToken);
        expectStatus(await verify(t.value), VerifyStatus.NOT_FOUND, "the old value once deleted");
        expectStatus(await verify(r.value), VerifyStatus.NOT_FOUND, "the new value once deleted");
        await w.until((y) => y.events().some((e) => e.tokenId === t.id && e.reason === RevocationReason.DELETED), "DELETED");
      } finally {
        w.stop();
      }
      const rows = await superQuery<{ n: string }>(f.t.db, "SELECT count(*)::text AS n FROM token_digests WHERE token_id = $1", [t.id]);
      assert.equal(rows[0]!.n, "0", "no digest of the deleted token is left");
    });

    it("a second rotation during the overlap ends the first old value at once with a ROTATED event: never more than two live values", async () => {
      const w = record(f.t, `Bearer ${f.inst.verifierToken}`);
      try {
        await w.until((y) => y.items.length > 0, "the opening checkpoint");
        const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION });
        const r1 = await rotate(t.id, 10 * MINUTE);
        expectStatus(await verify(t.value), VerifyStatus.VALID, "the first value, cached");
        const plain = await verify(r1.value);
        expectStatus(plain, VerifyStatus.VALID, "the second value, cached");
        assert.equal(plain.newerValueExists, false);
        const r2 = await rotate(t.id, 20 * MINUTE);
        assert.equal(r2.token!.previousValue?.maskedValue, maskOf(r1.value), "the previous value is now the second one");
        expectStatus(await verify(t.value), VerifyStatus.NOT_FOUND, "the first value, at once");
        const middle = await verify(r1.value);
        expectStatus(middle, VerifyStatus.VALID, "the second value, now the old one");
        assert.equal(middle.newerValueExists, true, "its answer now says a newer value exists");
        assert.equal(ms(middle.valueExpireTime), ms(r2.token!.previousValue!.expireTime));
        expectStatus(await verify(r2.value), VerifyStatus.VALID, "the third value");
        await w.until((y) => y.events().filter((e) => e.tokenId === t.id).length >= 4, "the events of both rotations");
        assert.deepEqual(
          w
            .events()
            .filter((e) => e.tokenId === t.id)
            .map((e) => e.reason),
          [RevocationReason.ENABLED, RevocationReason.ENABLED, RevocationReason.ROTATED, RevocationReason.ENABLED],
          "its creation; the first rotation keeps a value; the second ends one and keeps one",
        );
      } finally {
        w.stop();
      }
    });

    it("a rotation without a grace period during the overlap ends both old values", async () => {
      const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION });
      const r1 = await rotate(t.id, 10 * MINUTE);
      expectStatus(await verify(t.value), VerifyStatus.VALID, "the first value, cached");
      const r2 = await rotate(t.id, 0);
      assert.equal(r2.token!.previousValue, undefined);
      expectStatus(await verify(t.value), VerifyStatus.NOT_FOUND, "the first value");
      expectStatus(await verify(r1.value), VerifyStatus.NOT_FOUND, "the second value");
      expectStatus(await verify(r2.value), VerifyStatus.VALID, "the third value");
    });
  });

  describe("refusals", () => {
    it("answers INVALID_ARGUMENT naming grace_period for negative, too long, huge and malformed durations, and changes nothing", async () => {
      const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION });
      for (const [label, seconds, nanos] of [
        ["a negative duration", -1n, 0],
        ["negative nanos", 0n, -1],
        ["nanos whose sign is not the seconds'", 1n, -5],
        ["a second past 7 days", 604_801n, 0],
        ["a nanosecond past 7 days", 604_800n, 1],
        ["2^62 seconds", 2n ** 62n, 0],
        ["the largest int64", 2n ** 63n - 1n, 0],
        ["the smallest int64", -(2n ** 63n), 0],
        ["a billion nanos", 1n, 1_000_000_000],
        ["the largest int32 of nanos", 0n, 2_147_483_647],
      ] as const) {
        const err = await rejects(
          f.t.c.admin.rotateToken({ id: t.id, gracePeriod: { seconds, nanos } }, x.a.adminToken),
          Code.InvalidArgument,
          label,
        );
        assert.match(err.rawMessage, /^grace_period /, `${label}: the message names the field`);
        assert.match(err.rawMessage, /7 days/, `${label}: and the rule`);
      }
      expectStatus(await verify(t.value), VerifyStatus.VALID, "the value is untouched");
      assert.equal((await getToken(t.id)).previousValue, undefined);
    });

    it("answers FAILED_PRECONDITION for a grace period on a disabled token, which keeps its value", async () => {
      const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION });
      await f.t.c.admin.setTokenEnabled({ id: t.id, enabled: false }, x.a.adminToken);
      const err = await rejects(rotate(t.id, MINUTE), Code.FailedPrecondition, "a disabled token");
      assert.match(err.rawMessage, /disabled/);
      await f.t.c.admin.setTokenEnabled({ id: t.id, enabled: true }, x.a.adminToken);
      expectStatus(await verify(t.value), VerifyStatus.VALID, "the value was not rotated");
    });

    it("answers NOT_FOUND for another organization's token, the parent's from a child and an unknown one, which keep their one value", async () => {
      const bToken = await issue(f.t.c, x.b.adminToken, { kind: TokenKind.INGESTION });
      for (const [label, id, token] of [
        ["another organization's token", bToken.id, x.a.adminToken],
        ["another organization's default token", x.b.defaultTokenId, x.a.adminToken],
        ["the parent's token, from the child", x.a.defaultTokenId, x.child.adminToken],
        ["an unknown id", unknownId(), x.a.adminToken],
      ] as const) {
        const err = await rejects(rotate(id, 10 * MINUTE, token), Code.NotFound, label);
        assertNoHint(err, [x.b.orgId, x.b.identifier, bToken.id, x.b.defaultTokenId], label);
      }
      const b = await f.t.c.admin.getToken({ id: bToken.id }, x.b.adminToken);
      assert.equal(b.token!.previousValue, undefined, "B's token has no second value");
      expectStatus(await verify(bToken.value), VerifyStatus.VALID, "B's token");
    });

    it("answers PERMISSION_DENIED to an EDITOR or VIEWER asking for a grace period", async () => {
      const editor = await adminDemotedTo(f.t.c, x.a.adminToken, x.a.orgId, Role.EDITOR);
      const viewer = await adminDemotedTo(f.t.c, x.a.adminToken, x.a.orgId, Role.VIEWER);
      const t = await issue(f.t.c, x.a.adminToken, { kind: TokenKind.INGESTION });
      for (const [label, token] of [
        ["EDITOR", editor.token],
        ["VIEWER", viewer.token],
      ] as const) {
        await rejects(rotate(t.id, MINUTE, token), Code.PermissionDenied, label);
      }
      assert.equal((await getToken(t.id)).previousValue, undefined);
    });
  });
});
