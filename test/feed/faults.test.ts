/**
 * The feed under faults: the listening connection killed mid-burst, and PostgreSQL itself
 * restarted. Nothing may be lost, no revoked token may be accepted, and Verify says UNAVAILABLE
 * (never UNKNOWN) while the database is away, recovering by itself.
 */
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { EndpointClass, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { RevocationReason } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { getCluster } from "../helpers/cluster.js";
import { superQuery } from "../helpers/db.js";
import { createOrg, type SeededOrg } from "../helpers/seed.js";
import { watch } from "../helpers/watch.js";
import { useSetUpServer } from "../helpers/fixture.js";

async function pool<T>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

describe("the revocation feed under faults", function () {
  this.timeout(120_000);
  const f = useSetUpServer();
  let org: SeededOrg;
  before(async () => {
    org = await createOrg(f.c, f.inst.operatorToken);
  });

  async function createTokens(n: number, prefix: string): Promise<Array<{ id: string; value: string }>> {
    const out: Array<{ id: string; value: string }> = [];
    await pool(
      Array.from({ length: n }, (_, i) => i),
      16,
      async (i) => {
        const r = await f.c.admin.createToken({ name: `${prefix}-${i}`, kind: TokenKind.INGESTION }, org.adminToken);
        out.push({ id: r.token!.id, value: r.value });
      },
    );
    return out;
  }

  const verify = (value: string) =>
    f.c.verify.verify({ credential: value, organization: org.identifier, endpoint: EndpointClass.INGEST }, f.inst.verifierToken);

  it("loses no event and accepts no revoked token when the listening connection is killed during 1,000 revocations", async () => {
    const tokens = await createTokens(1000, "burst");
    // Warm the server's cache with every token.
    await pool(tokens, 16, async (t) => assert.equal((await verify(t.value)).allowed, true));
    const watchers = [1, 2].map(() => watch(() => f.c.verify.watchRevocations({}, f.inst.verifierToken) as never));
    await Promise.all(watchers.map((w) => w.until(() => w.checkpoints > 0)));

    const revoked: Array<{ id: string; value: string }> = [];
    let allows = 0;
    let checks = 0;
    let stop = false;
    // Keeps asking about tokens whose revocation has been acknowledged.
    const checker = (async () => {
      while (!stop) {
        const sample = revoked.slice(-20);
        for (const t of sample) {
          checks++;
          if ((await verify(t.value)).allowed) allows++;
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    let killed = 0;
    await pool(tokens, 16, async (t, i) => {
      if (i === 300 || i === 700) {
        const rows = await superQuery<{ ok: boolean }>(
          f.server.db,
          `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
            WHERE application_name = 'tessera-revocation-listener' AND datname = current_database()`,
        );
        killed += rows.filter((r) => r.ok).length;
      }
      await f.c.admin.setTokenEnabled({ id: t.id, enabled: false }, org.adminToken);
      revoked.push(t);
    });
    stop = true;
    await checker;
    assert.ok(killed >= 2, `expected to kill the listener twice, killed ${killed}`);

    const ids = new Set(tokens.map((t) => t.id));
    const table = await superQuery<{ token_id: string }>(f.server.db, `SELECT token_id FROM revocation_events WHERE reason = 'DISABLED'`);
    const expected = new Set(table.map((r) => r.token_id).filter((id) => ids.has(id)));
    assert.equal(expected.size, 1000);
    for (const w of watchers) {
      await w.until(() => w.events.filter((e) => e.reason === RevocationReason.DISABLED && ids.has(e.tokenId)).length >= 1000, 30_000);
      const got = new Set(w.events.filter((e) => e.reason === RevocationReason.DISABLED).map((e) => e.tokenId));
      const missed = [...expected].filter((id) => !got.has(id));
      assert.equal(missed.length, 0, `watcher missed ${missed.length} events`);
      assert.equal(w.error, undefined);
      w.stop();
    }
    assert.ok(checks > 0);
    assert.equal(allows, 0, `${allows} of ${checks} checks accepted a revoked token`);
    // And every one is refused now.
    await pool(tokens, 16, async (t) => assert.equal((await verify(t.value)).allowed, false));
  });

  it("answers UNAVAILABLE while PostgreSQL restarts, then recovers by itself and loses no event", async () => {
    const [before, during, after] = await createTokens(3, "restart");
    assert.ok(before && during && after);
    for (const t of [before, during, after]) assert.equal((await verify(t.value)).allowed, true);
    const w = watch(() => f.c.verify.watchRevocations({}, f.inst.verifierToken) as never);
    await w.until(() => w.checkpoints > 0);
    await f.c.admin.setTokenEnabled({ id: before.id, enabled: false }, org.adminToken);

    const cluster = getCluster();
    await cluster.stop();
    try {
      // Cached or not, nothing is answered from a feed the instance can no longer follow.
      for (const t of [before, during, after]) {
        await assert.rejects(verify(t.value), (err: unknown) => {
          assert.ok(err instanceof ConnectError);
          assert.equal(err.code, Code.Unavailable, `got ${Code[err.code]}: ${err.rawMessage}`);
          assert.doesNotMatch(err.rawMessage, /ECONNREFUSED|127\.0\.0\.1|\s+at\s/);
          return true;
        });
      }
      await assert.rejects(f.c.admin.setTokenEnabled({ id: during.id, enabled: false }, org.adminToken), (err: unknown) => {
        assert.ok(err instanceof ConnectError);
        assert.equal(err.code, Code.Unavailable);
        return true;
      });
    } finally {
      await cluster.start();
    }
    // Recovers by itself: no restart of Tessera.
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        if ((await verify(after.value)).allowed) break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    await f.c.admin.setTokenEnabled({ id: after.id, enabled: false }, org.adminToken);
    await w.until(() => w.events.some((e) => e.tokenId === after.id) && w.events.some((e) => e.tokenId === before.id), 30_000);
    assert.equal((await verify(after.value)).allowed, false);
    assert.equal((await verify(before.value)).allowed, false);
    assert.equal((await verify(during.value)).allowed, true, "a change refused with UNAVAILABLE must not have happened");
    w.stop();
  });
});
