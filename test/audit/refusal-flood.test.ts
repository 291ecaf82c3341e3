/**
 * A flood of refused calls (issue 13's bad input): refusals are recorded off the answer's path
 * through a bounded queue; past its bound they are counted, and the count is recorded. Against
 * the real database and the real writer.
 */
import assert from "node:assert/strict";
import { INSTANCE_TRAIL } from "../../src/domain/audit/entry.js";
import { createKeyring, newKey } from "../../src/domain/digest.js";
import { createRefusalRecorder } from "../../src/services/audit/refusals.js";
import { AuditScope } from "../../src/services/audit/scope.js";
import { createAuditTrail } from "../../src/services/audit/trail.js";
import { createDatabase, type Database } from "../../src/store/database.js";
import { silentLog } from "../../src/log.js";
import { freshDatabase, superQuery, type TestDatabase } from "../helpers/db.js";

describe("refused calls under a flood", () => {
  let tdb: TestDatabase;
  let db: Database;

  before(async () => {
    tdb = await freshDatabase({ migrated: true });
    db = createDatabase({ url: tdb.appUrl, poolSize: 4 });
  });
  after(async () => {
    await db?.close();
    await tdb?.drop();
  });

  it("records up to the queue's bound, counts the rest, and records the count", async () => {
    const trail = createAuditTrail(createKeyring({ 1: newKey() }, 1));
    const refusals = createRefusalRecorder(db, trail, silentLog, 10);
    const scope = new AuditScope(
      trail,
      {},
      { requestId: "r", peer: "192.0.2.1:1", userAgent: "flood", rpc: "/tessera.v1.TokenAdminService/ListTokens" },
    );
    for (let i = 0; i < 50; i++) {
      refusals.record(
        undefined,
        scope,
        { action: "auth.refused", target: { type: "call", id: scope.info.rpc } },
        "UNAUTHENTICATED",
        "invalid token",
      );
    }
    await refusals.flush();
    const rows = await superQuery<{ action: string; after: { count?: number } | null; outcome: string }>(
      tdb,
      `SELECT action, after, outcome FROM audit_events WHERE org_id = $1 ORDER BY pos`,
      [INSTANCE_TRAIL],
    );
    assert.equal(rows.filter((r) => r.action === "auth.refused" && r.outcome === "UNAUTHENTICATED").length, 10);
    const dropped = rows.filter((r) => r.action === "audit.refusals_dropped");
    assert.deepEqual(
      dropped.map((r) => r.after?.count),
      [40],
    );
    // And it keeps recording once the flood is over.
    refusals.record(undefined, scope, { action: "auth.refused", target: { type: "call", id: scope.info.rpc } }, "UNAUTHENTICATED", "again");
    await refusals.flush();
    const [n] = await superQuery<{ n: string }>(tdb, `SELECT count(*)::text AS n FROM audit_events WHERE reason = 'again'`);
    assert.equal(n!.n, "1");
  });

  it("writes nothing when the trail is switched off", async () => {
    const trail = createAuditTrail(createKeyring({ 1: newKey() }, 1), false);
    const refusals = createRefusalRecorder(db, trail, silentLog, 10);
    const scope = new AuditScope(trail, {}, { requestId: "off", peer: "", userAgent: "", rpc: "" });
    refusals.record(undefined, scope, { action: "auth.refused", target: { type: "call", id: "x" } }, "UNAUTHENTICATED", "off");
    await refusals.flush();
    const [n] = await superQuery<{ n: string }>(tdb, `SELECT count(*)::text AS n FROM audit_events WHERE request_id = 'off'`);
    assert.equal(n!.n, "0");
  });
});
