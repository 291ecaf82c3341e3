/**
 * The ordering hazard of every "id > cursor" feed: a transaction that takes its event id first
 * but commits last. The watcher must still receive it, after having seen the later one's commit.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { watch } from "../helpers/watch.js";
import { useSetUpServer } from "../helpers/fixture.js";

async function openTx(url: string, orgId: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query("BEGIN");
  await c.query("SELECT set_config('tessera.org_id', $1, true)", [orgId]);
  return c;
}

describe("the revocation feed under out-of-order commits", () => {
  const f = useSetUpServer();

  it("delivers an event whose transaction took its position first but committed last", async () => {
    const w = watch(() => f.c.verify.watchRevocations({}, f.inst.verifierToken) as never);
    await w.until(() => w.checkpoints > 0);
    const early = randomUUID();
    const late = randomUUID();
    const t1 = await openTx(f.server.db.appUrl, f.inst.orgId);
    const t2 = await openTx(f.server.db.appUrl, f.inst.orgId);
    try {
      // T1 takes the lower xid and the lower event id, then stays open.
      await t1.query("INSERT INTO revocation_events (org_id, token_id, reason) VALUES ($1, $2, 'DISABLED')", [f.inst.orgId, early]);
      await t2.query("INSERT INTO revocation_events (org_id, token_id, reason) VALUES ($1, $2, 'DISABLED')", [f.inst.orgId, late]);
      await t2.query("COMMIT");
      // Let the instance read the feed after T2's commit (wake() resolves after a read begun
      // after the call): the read in which an "id > cursor" feed would deliver T2's event and
      // move past T1's lower id for good.
      await f.server.tessera.deps.hub.wake();
      await t1.query("COMMIT");
      await w.until(() => w.events.some((e) => e.tokenId === early) && w.events.some((e) => e.tokenId === late));
    } finally {
      await t1.end();
      await t2.end();
      w.stop();
    }
    const ids = w.events.map((e) => e.tokenId);
    assert.ok(ids.includes(early), "the early-position, late-commit event was skipped");
    assert.ok(ids.includes(late));
    // Delivery follows positions: the transaction that started first is delivered first.
    assert.ok(ids.indexOf(early) < ids.indexOf(late));
    // A watcher resuming from the cursor before both sees both again, in the same order.
    const first = w.events.find((e) => e.tokenId === early)!;
    assert.ok(first.cursor.length > 0);
  });

  it("delivers every event of many interleaved writers exactly as the events table holds them", async () => {
    const w = watch(() => f.c.verify.watchRevocations({}, f.inst.verifierToken) as never);
    await w.until(() => w.checkpoints > 0);
    const clients = await Promise.all(Array.from({ length: 6 }, () => openTx(f.server.db.appUrl, f.inst.orgId)));
    const written: string[] = [];
    try {
      for (let round = 0; round < 5; round++) {
        for (const t of clients) {
          const id = randomUUID();
          written.push(id);
          await t.query("INSERT INTO revocation_events (org_id, token_id, reason) VALUES ($1, $2, 'DELETED')", [f.inst.orgId, id]);
        }
      }
      // Commit in reverse order of first write.
      for (const t of [...clients].reverse()) await t.query("COMMIT");
      await w.until(() => written.every((id) => w.events.some((e) => e.tokenId === id)));
    } finally {
      await Promise.all(clients.map((t) => t.end()));
      w.stop();
    }
    const got = new Set(w.events.map((e) => e.tokenId));
    assert.equal(written.filter((id) => !got.has(id)).length, 0);
  });
});
