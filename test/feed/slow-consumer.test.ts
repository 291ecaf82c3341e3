/**
 * A subscriber that falls further behind than the instance keeps in memory is cut with
 * RESOURCE_EXHAUSTED, and resuming from its last cursor gives it every event it had not seen.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import pg from "pg";
import { watch } from "../helpers/watch.js";
import { useSetUpServer } from "../helpers/fixture.js";

describe("a revocation consumer that falls behind", function () {
  this.timeout(30_000);
  // Checkpoints every 100 ms: the test waits for the second one (see below).
  const f = useSetUpServer({ configure: (cfg) => ({ ...cfg, feed: { ...cfg.feed, ringSize: 20, checkpointMs: 100 } }) });

  it("is cut with RESOURCE_EXHAUSTED and catches up from its cursor", async () => {
    const w = watch(() => f.c.verify.watchRevocations({}, f.inst.verifierToken) as never);
    // The first checkpoint is sent as the stream opens, before it has caught up to the instance
    // (it may still be owed the ENABLED events of Setup's tokens, which the instance reads from
    // the feed a little after Setup returns). The second comes only once the stream is live, and
    // only a live consumer is cut; one still catching up reads past the ring from the database.
    await w.until(() => w.checkpoints >= 2);
    const start = w.cursor;
    // 500 events in one transaction: far more than the 20 the instance keeps in memory.
    const ids = Array.from({ length: 500 }, () => randomUUID());
    const db = new pg.Client({ connectionString: f.server.db.appUrl });
    await db.connect();
    try {
      await db.query("BEGIN");
      await db.query("SELECT set_config('tessera.org_id', $1, true)", [f.inst.orgId]);
      await db.query("INSERT INTO revocation_events (org_id, token_id, reason) SELECT $1, unnest($2::uuid[]), 'DELETED'", [
        f.inst.orgId,
        ids,
      ]);
      await db.query("COMMIT");
    } finally {
      await db.end();
    }
    await w.until(() => w.ended, 10_000);
    assert.ok(w.error instanceof ConnectError, `expected an RPC error, got ${String(w.error)}`);
    assert.equal(w.error.code, Code.ResourceExhausted);
    assert.match(w.error.rawMessage, /resume from your last cursor/);

    const resumed = watch(() => f.c.verify.watchRevocations({ afterCursor: w.cursor || start }, f.inst.verifierToken) as never);
    // Count only this test's 500 events: the streams may also carry other events (Setup's
    // ENABLED ones), which must not stand in for one of the 500 still on its way.
    const ours = new Set<string>(ids);
    const seen = () => new Set([...w.events, ...resumed.events].map((e) => e.tokenId).filter((id) => ours.has(id)));
    await resumed.until(() => seen().size === ids.length || resumed.ended, 10_000);
    resumed.stop();
    assert.equal(resumed.error, undefined);
    assert.equal(ids.filter((id) => !seen().has(id)).length, 0);
    // Resuming repeats nothing the consumer had seen before it was cut.
    const before = new Set(w.events.map((e) => e.cursor));
    assert.equal(resumed.events.filter((e) => before.has(e.cursor)).length, 0);
  });
});
