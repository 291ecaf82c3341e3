/**
 * Retention: removes entries older than the configured age, trail by trail, and records each run
 * as an `audit.prune` entry in the same transaction, naming the last entry removed: verification
 * expects the oldest kept entry to link to it, so removal by retention is told apart from removal
 * by anyone else. The database refuses to remove entries younger than a day, or a trail's newest.
 */
import type { Database } from "../../store/database.js";
import { prunableAuditTrails, pruneAudit } from "../../store/queries/audit.js";
import { AuditScope, NO_REQUEST, systemActor } from "./scope.js";
import type { AuditTrail } from "./trail.js";
import { PRUNE_ACTION } from "./verify-trail.js";

const PER_RUN = 10_000;

/** Returns how many trails were pruned. */
export async function pruneAuditTrails(db: Database, trail: AuditTrail, before: Date): Promise<number> {
  if (!trail.enabled) return 0;
  const scope = new AuditScope(trail, systemActor("upkeep"), NO_REQUEST);
  let n = 0;
  for (const orgId of await prunableAuditTrails(db.pool, before)) {
    await db.withOrg(orgId, async (tx) => {
      const last = await pruneAudit(tx, before, PER_RUN);
      if (last === undefined) return;
      n++;
      await scope.record(tx, {
        action: PRUNE_ACTION,
        target: { type: "audit_log", id: orgId },
        after: { before_time: before.toISOString(), through_sequence: last.seq.toString(), through_hash: last.hash.toString("hex") },
      });
    });
  }
  return n;
}
