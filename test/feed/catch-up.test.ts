/**
 * A subscriber resuming from a cursor older than the instance (a worker client reconnecting to a
 * restarted instance) is caught up from the database, not from the in-memory ring. Whatever the
 * instance reads from the feed while that catch-up read is in the database must still reach the
 * subscriber: it lies beyond what the catch-up read covered.
 */
import assert from "node:assert/strict";
import { compareCursors } from "../../src/client/cursor.js";
import { TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { RevocationReason } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { grpcJsClients, type Clients } from "../helpers/clients.js";
import { freshDatabase, superQuery, type TestDatabase } from "../helpers/db.js";
import { setupInstance } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { watch } from "../helpers/watch.js";

describe("a revocation consumer resuming from before the instance started", function () {
  this.timeout(30_000);
  let db: TestDatabase;
  let servers: TestServer[] = [];
  const clients: Clients[] = [];
  before(async () => {
    db = await freshDatabase();
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const s of servers) await s.close();
    await db.drop();
  });

  it("is sent an event the instance read while the consumer's catch-up read was in the database", async () => {
    const first = await startTestServer({ db });
    servers.push(first);
    const c1 = grpcJsClients(first.tessera.grpcPort);
    clients.push(c1);
    const inst = await setupInstance(c1);
    const t = await c1.admin.createToken({ name: "revoked-during-catch-up", kind: TokenKind.INGESTION }, inst.operatorToken);
    // The consumer's cursor: everything so far, as the first instance last told it.
    await first.tessera.deps.hub.wake();
    const cursor = first.tessera.deps.hub.cursor;
    c1.close();
    await first.close(); // keeps the database: it was passed in
    servers = [];
    // A transaction (with no event) between the two instances, so the second one starts at a
    // later position than the cursor and resuming from it reads the database.
    await superQuery(db, "SELECT pg_current_xact_id()");

    const second = await startTestServer({ db, keyring: first.keyring });
    servers.push(second);
    const hub = second.tessera.deps.hub;
    assert.equal(compareCursors(cursor, hub.cursor), -1, "the cursor is older than the second instance's start");
    const c2 = grpcJsClients(second.tessera.grpcPort);
    clients.push(c2);

    // Hold the consumer's catch-up read (the only feed read that goes through the pool) until
    // the instance has read the revocation below from the feed.
    const pool = second.tessera.db.pool;
    const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
    let reached!: () => void;
    const atGate = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    (pool as { query: unknown }).query = (...args: unknown[]) => {
      const sent = query(...args);
      if ((args[0] as { name?: string } | undefined)?.name !== "tessera_read_feed") return sent;
      reached();
      return gate.then(() => sent);
    };
    try {
      const w = watch(() => c2.verify.watchRevocations({ afterCursor: cursor }, inst.verifierToken) as never);
      await atGate;
      await c2.admin.setTokenEnabled({ id: t.token!.id, enabled: false }, inst.operatorToken);
      await hub.wake(); // a read that began after the change committed: the event is in the ring
      release();
      // Either the event comes, or (the defect) the stream moves past it: a checkpoint beyond
      // the event's position with no event before it.
      const disabled = () => w.events.some((e) => e.tokenId === t.token!.id && e.reason === RevocationReason.DISABLED);
      await w.until(() => disabled() || w.checkpoints >= 2 || w.ended);
      w.stop();
      assert.equal(w.error, undefined);
      assert.ok(
        disabled(),
        `the DISABLED event never came (events: ${w.events.length}, checkpoints: ${w.checkpoints}, cursor ${w.cursor})`,
      );
    } finally {
      (pool as { query: unknown }).query = query;
      release();
    }
  });
});
