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
  const f = useSetUpServer({ configure: (cfg) => ({ ...cfg, feed: { ...cfg.feed, ringSize: 20 } }) });

  it("is cut with RESOURCE_EXHAUSTED and catches up from its cursor", async () => {
    const w = watch(() => f.c.verify.watchRevocations({}, f.inst.verifierToken) as never);
    await w.until(() => w.checkpoints > 0);
    const start = w.cursor;
    // 500 events in one transaction: far more than the 20 the instance keeps in memory.
    const ids = Array.from({ length: 500 }, () => randomUUID());
    const db = new pg.Client({ connectionString: f.server.db.appUrl });
    await db.connect();
    try {
      await db.query("BEGIN");
      await db.query("SELECT set_config('tessera.org_id', $1, true)", [f.inst.orgId]);
      await db.query(
        "INSERT INTO revocation_events (org_id, token_id, reason) SELECT $1, unnest($2::uuid[]), 'DELETED'",
        [f.inst.orgId, ids],
      );
      await db.query("COMMIT");
    } finally {
      await db.end();
    }
    await w.until(() => w.ended, 10_000);
    assert.ok(w.error instanceof ConnectError, `expected an RPC error, got ${String(w.error)}`);
    assert.equal(w.error.code, Code.ResourceExhausted);
    assert.match(w.error.rawMessage, /resume from your last cursor/);

    const resumed = watch(() => f.c.verify.watchRevocations({ afterCursor: w.cursor || start }, f.inst.verifierToken) as never);
    await resumed.until(() => new Set([...w.events, ...resumed.events].map((e) => e.tokenId)).size >= 500, 10_000);
    resumed.stop();
    const seen = new Set([...w.events, ...resumed.events].map((e) => e.tokenId));
    assert.equal(ids.filter((id) => !seen.has(id)).length, 0);
    assert.equal(resumed.error, undefined);
  });
});
