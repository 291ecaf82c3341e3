/**
 * Rotation with an overlap through every client on both listeners: a grace period keeps the old
 * value verifying next to the new one, the old value's answers carry its deadline and "a newer
 * value exists" (memoized answers too, whose encoding is attached), the deadline refuses it at
 * once on the server's clock, bad grace periods and other organizations' tokens are refused, and
 * a second instance on the same database follows every step: the overlap's start, its early end
 * by disabling, and the deadline, with its cache warm.
 */
import assert from "node:assert/strict";
import { durationFromMs, timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { EndpointClass, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { grpcJsClients, type Clients } from "../helpers/clients.js";
import { useSetUpServer } from "../helpers/fixture.js";
import { createOrg, issue, type SeededOrg } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { eventually } from "../helpers/wait.js";
import { byName, maskOf, rejects, transportNames } from "./support.js";

const MINUTE = 60_000;
const ms = (t: Timestamp | undefined) => (t === undefined ? undefined : timestampDate(t).getTime());

describe("rotation with an overlap", () => {
  // The servers' clock: moved forward to pass deadlines without waiting.
  let clockOffset = 0;
  const now = () => Date.now() + clockOffset;
  const f = useSetUpServer({ now });

  for (const name of transportNames()) {
    describe(name, () => {
      let c: Clients;
      let org: SeededOrg;
      let other: SeededOrg;
      const verify = (credential: string) =>
        c.verify.verify({ credential, organization: org.identifier, endpoint: EndpointClass.INGEST }, f.inst.verifierToken);

      before(async () => {
        c = byName(f.clients, name);
        org = await createOrg(c, f.inst.operatorToken);
        other = await createOrg(c, f.inst.operatorToken);
      });

      it("keeps the old value verifying next to the new one, its answers saying until when and that a newer value exists", async () => {
        const t = await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
        const r = await c.admin.rotateToken({ id: t.id, gracePeriod: durationFromMs(10 * MINUTE) }, org.adminToken);
        const p = r.token!.previousValue!;
        assert.equal(p.maskedValue, maskOf(t.value));
        const deadline = ms(p.expireTime)!;
        assert.ok(Math.abs(deadline - (now() + 10 * MINUTE)) < 30_000, "the deadline is ten minutes away");
        assert.equal(ms((await c.admin.getToken({ id: t.id }, org.adminToken)).token!.previousValue?.expireTime), deadline);
        for (let i = 0; i < 3; i++) {
          // The first answer is decided, the later ones memoized (and sent as their attached encoding).
          const old = await verify(t.value);
          assert.equal(old.status, VerifyStatus.VALID, `the old value (${i})`);
          assert.equal(old.allowed, true);
          assert.equal(old.principal?.tokenId, t.id);
          assert.equal(old.newerValueExists, true, `the old value's answer (${i}) says a newer value exists`);
          assert.equal(ms(old.valueExpireTime), deadline, `and when the old value stops (${i})`);
          assert.ok(old.cacheTtl !== undefined && old.cursor !== "");
          const fresh = await verify(r.value);
          assert.equal(fresh.status, VerifyStatus.VALID, `the new value (${i})`);
          assert.equal(fresh.newerValueExists, false);
          assert.equal(fresh.valueExpireTime, undefined);
        }
      });

      it("refuses the old value once the server's clock passes the deadline, and keeps the new one", async () => {
        const t = await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
        const r = await c.admin.rotateToken({ id: t.id, gracePeriod: durationFromMs(MINUTE) }, org.adminToken);
        assert.equal((await verify(t.value)).status, VerifyStatus.VALID, "the old value, cached");
        clockOffset += MINUTE + 1000;
        const old = await verify(t.value);
        assert.equal(old.status, VerifyStatus.NOT_FOUND, "the old value past the deadline");
        assert.equal(old.principal, undefined);
        assert.equal(old.newerValueExists, false);
        assert.equal((await verify(r.value)).status, VerifyStatus.VALID, "the new value");
        await eventually(async () => (await c.admin.getToken({ id: t.id }, org.adminToken)).token!.previousValue === undefined);
      });

      it("answers INVALID_ARGUMENT naming grace_period for a negative, a too long and a malformed one", async () => {
        const t = await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
        for (const [label, seconds, nanos] of [
          ["-1 s", -1n, 0],
          ["8 days", 8n * 86_400n, 0],
          ["a billion nanos", 0n, 1_000_000_000],
        ] as const) {
          const err = await rejects(
            c.admin.rotateToken({ id: t.id, gracePeriod: { seconds, nanos } }, org.adminToken),
            Code.InvalidArgument,
            label,
          );
          assert.match(err.rawMessage, /grace_period/);
        }
        assert.equal((await verify(t.value)).status, VerifyStatus.VALID, "the value is untouched");
      });

      it("answers NOT_FOUND to another organization's admin, and the token keeps its one value", async () => {
        const t = await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
        await rejects(
          c.admin.rotateToken({ id: t.id, gracePeriod: durationFromMs(MINUTE) }, other.adminToken),
          Code.NotFound,
          "another organization's admin",
        );
        assert.equal((await c.admin.getToken({ id: t.id }, org.adminToken)).token!.previousValue, undefined);
        assert.equal((await verify(t.value)).status, VerifyStatus.VALID);
      });
    });
  }

  describe("a second instance on the same database", () => {
    let second: TestServer;
    let c2: Clients;
    let org: SeededOrg;
    const ask = (c: Clients, credential: string) =>
      c.verify.verify({ credential, organization: org.identifier, endpoint: EndpointClass.INGEST }, f.inst.verifierToken);

    before(async () => {
      second = await startTestServer({ db: f.server.db, keyring: f.server.keyring, now });
      c2 = grpcJsClients(second.tessera.grpcPort);
      org = await createOrg(f.c, f.inst.operatorToken);
    });
    after(async () => {
      c2?.close();
      await second?.close();
    });

    it("learns of the overlap with a warm cache, ends both values when the token is disabled, and refuses the old value at the deadline", async () => {
      const t = await issue(f.c, org.adminToken, { kind: TokenKind.INGESTION });
      for (let i = 0; i < 2; i++) assert.equal((await ask(c2, t.value)).newerValueExists, false, "cached on the second instance");

      const r = await f.c.admin.rotateToken({ id: t.id, gracePeriod: durationFromMs(MINUTE) }, org.adminToken);
      const deadline = ms(r.token!.previousValue!.expireTime);
      await eventually(async () => (await ask(c2, t.value)).newerValueExists, undefined, "the second instance to say a newer value exists");
      assert.equal(ms((await ask(c2, t.value)).valueExpireTime), deadline);
      assert.equal((await ask(c2, r.value)).status, VerifyStatus.VALID, "the new value on the second instance");

      // The deadline: refused at once by both instances, caches warm.
      clockOffset += MINUTE + 1000;
      assert.equal((await ask(c2, t.value)).status, VerifyStatus.NOT_FOUND, "the second instance past the deadline");
      assert.equal((await ask(f.c, t.value)).status, VerifyStatus.NOT_FOUND, "the first instance past the deadline");
      assert.equal((await ask(c2, r.value)).status, VerifyStatus.VALID);

      // Another overlap, ended early through the first instance.
      const u = await issue(f.c, org.adminToken, { kind: TokenKind.INGESTION });
      const ru = await f.c.admin.rotateToken({ id: u.id, gracePeriod: durationFromMs(10 * MINUTE) }, org.adminToken);
      await eventually(async () => (await ask(c2, u.value)).newerValueExists, undefined, "the second overlap on the second instance");
      assert.equal((await ask(c2, ru.value)).status, VerifyStatus.VALID);
      await f.c.admin.setTokenEnabled({ id: u.id, enabled: false }, org.adminToken);
      await eventually(
        async () =>
          (await ask(c2, u.value)).status === VerifyStatus.NOT_FOUND && (await ask(c2, ru.value)).status === VerifyStatus.DISABLED,
        undefined,
        "the second instance to refuse both values",
      );
    });
  });
});
