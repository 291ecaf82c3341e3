/** Resuming WatchRevocations: from a cursor, foreign and expired cursors, and expiry events. */
import assert from "node:assert/strict";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { EndpointClass, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { RevocationReason, VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { superQuery } from "../helpers/db.js";
import { createOrg, type SeededOrg } from "../helpers/seed.js";
import { watch } from "../helpers/watch.js";
import { useSetUpServer } from "../helpers/fixture.js";

describe("WatchRevocations cursors and expiry", function () {
  this.timeout(30_000);
  let clock = Date.now();
  const f = useSetUpServer({ now: () => clock });
  let org: SeededOrg;
  before(async () => {
    org = await createOrg(f.c, f.inst.operatorToken);
  });

  const first = async (afterCursor: string) => {
    for await (const m of f.c.verify.watchRevocations({ afterCursor }, f.inst.verifierToken) as AsyncIterable<unknown>) return m;
    return undefined;
  };

  it("resumes from a cursor with every event after it, including ones made while disconnected", async () => {
    const w = watch(() => f.c.verify.watchRevocations({}, f.inst.verifierToken) as never);
    await w.until(() => w.checkpoints > 0);
    const a = await f.c.admin.createToken({ name: "resume-a", kind: TokenKind.INGESTION }, org.adminToken);
    await f.c.admin.setTokenEnabled({ id: a.token!.id, enabled: false }, org.adminToken);
    await w.until(() => w.events.some((e) => e.tokenId === a.token!.id && e.reason === RevocationReason.DISABLED));
    const cursor = w.events.find((e) => e.tokenId === a.token!.id && e.reason === RevocationReason.DISABLED)!.cursor;
    w.stop();
    // While nobody listens:
    await f.c.admin.rotateToken({ id: a.token!.id }, org.adminToken);
    await f.c.admin.deleteToken({ id: a.token!.id }, org.adminToken);
    const r = watch(() => f.c.verify.watchRevocations({ afterCursor: cursor }, f.inst.verifierToken) as never);
    await r.until(() => r.events.filter((e) => e.tokenId === a.token!.id).length >= 2);
    r.stop();
    const reasons = r.events.filter((e) => e.tokenId === a.token!.id).map((e) => e.reason);
    assert.deepEqual(reasons, [RevocationReason.ROTATED, RevocationReason.DELETED]);
  });

  it("answers INVALID_ARGUMENT for a malformed or foreign cursor", async () => {
    for (const bad of ["garbage", "deadbeef.1.2", "12345678.x.1", "a".repeat(5000)]) {
      await assert.rejects(first(bad), (err: unknown) => {
        assert.ok(err instanceof ConnectError);
        assert.equal(err.code, Code.InvalidArgument, bad.slice(0, 20));
        return true;
      });
    }
  });

  it("answers INVALID_ARGUMENT for a cursor of this feed that is ahead of it, and accepts the cursor it came from", async () => {
    const w = watch(() => f.c.verify.watchRevocations({}, f.inst.verifierToken) as never);
    await w.until(() => w.checkpoints > 0);
    const real = w.cursor;
    w.stop();
    const [feed, xid, id] = real.split(".");
    const ahead = `${feed}.${BigInt(xid!) + 1_000_000n}.${id}`;
    await assert.rejects(first(ahead), (err: unknown) => {
      assert.ok(err instanceof ConnectError);
      assert.equal(err.code, Code.InvalidArgument);
      assert.match(err.rawMessage, /ahead of this revocation feed/);
      assert.ok(!err.rawMessage.includes(ahead), "the cursor is not echoed");
      return true;
    });
    const m = (await first(real)) as { item: { case: string; value: { cursor: string } } };
    assert.equal(m.item.case, "checkpoint", "a cursor this feed issued resumes");
    assert.equal(m.item.value.cursor, real);
  });

  it("answers OUT_OF_RANGE for a cursor older than retention", async () => {
    const w = watch(() => f.c.verify.watchRevocations({}, f.inst.verifierToken) as never);
    await w.until(() => w.checkpoints > 0);
    const old = w.cursor;
    w.stop();
    const t = await f.c.admin.createToken({ name: "pruned", kind: TokenKind.INGESTION }, org.adminToken);
    await f.c.admin.setTokenEnabled({ id: t.token!.id, enabled: false }, org.adminToken);
    // Prune everything, as retention would after its period.
    await superQuery(f.server.db, `SELECT tessera_prune_revocations(now() + interval '1 hour')`);
    await assert.rejects(first(old), (err: unknown) => {
      assert.ok(err instanceof ConnectError);
      assert.equal(err.code, Code.OutOfRange);
      return true;
    });
  });

  it("refuses an expiring token at its expiry and announces an EXPIRED event", async () => {
    const w = watch(() => f.c.verify.watchRevocations({}, f.inst.verifierToken) as never);
    await w.until(() => w.checkpoints > 0);
    const t = await f.c.admin.createToken(
      { name: "expiring", kind: TokenKind.INGESTION, expireTime: timestampFromMs(clock + 60_000) },
      org.adminToken,
    );
    const ask = () => f.c.verify.verify({ credential: t.value, endpoint: EndpointClass.INGEST }, f.inst.verifierToken);
    assert.equal((await ask()).status, VerifyStatus.VALID);
    clock += 60_000;
    assert.equal((await ask()).status, VerifyStatus.EXPIRED);
    await w.until(() => w.events.some((e) => e.tokenId === t.token!.id && e.reason === RevocationReason.EXPIRED), 10_000);
    w.stop();
  });

  it("refuses a stream to callers without a verifier token", async () => {
    await assert.rejects(
      (async () => {
        for await (const m of f.c.verify.watchRevocations({}, org.defaultTokenValue) as AsyncIterable<unknown>) return m;
        return undefined;
      })(),
      (err: unknown) => err instanceof ConnectError && err.code === Code.PermissionDenied,
    );
  });
});
