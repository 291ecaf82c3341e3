/**
 * Records refused admin calls (bad credentials, PERMISSION_DENIED). Nothing else is written for
 * them, so they go in transactions of their own, off the refused call's path: the answer does not
 * wait for the trail, and a flood of bad credentials costs a bounded queue and one transaction per
 * trail per flush, not one per refusal. Past the queue's bound, refusals are counted instead, and
 * the count is recorded as one `audit.refusals_dropped` entry on the instance's trail.
 */
import { INSTANCE_TRAIL } from "../../domain/audit/entry.js";
import type { Database } from "../../store/database.js";
import type { Log } from "../../log.js";
import type { AuditScope, AuditChange } from "./scope.js";
import type { AuditDraft, AuditTrail } from "./trail.js";

export interface RefusalRecorder {
  /** Queues a refusal for `orgId`'s trail (the instance's when the credential named no organization). */
  record(
    orgId: string | undefined,
    scope: AuditScope,
    change: AuditChange,
    outcome: "PERMISSION_DENIED" | "UNAUTHENTICATED",
    reason: string,
  ): void;
  /** Writes what is queued; resolves when it is written (tests, shutdown). */
  flush(): Promise<void>;
}

const MAX_QUEUED = 1000;

export function createRefusalRecorder(db: Database, trail: AuditTrail, log: Log, maxQueued = MAX_QUEUED): RefusalRecorder {
  let queue = new Map<string, AuditDraft[]>();
  let queued = 0;
  let dropped = 0;
  let running: Promise<void> | undefined;

  const writeAll = async (): Promise<void> => {
    while (queued > 0 || dropped > 0) {
      const batch = queue;
      queue = new Map();
      queued = 0;
      if (dropped > 0) {
        const n = dropped;
        dropped = 0;
        const list = batch.get(INSTANCE_TRAIL) ?? [];
        list.push(droppedDraft(n));
        batch.set(INSTANCE_TRAIL, list);
      }
      for (const [orgId, drafts] of batch) {
        try {
          await db.withOrg(orgId, (tx) => trail.append(tx, drafts));
        } catch (err) {
          log("audit_write_failed", { orgId, entries: drafts.length, error: (err as Error).message });
        }
      }
    }
  };
  const start = (): Promise<void> => {
    running ??= (async () => {
      // Let the refusals of the same moment gather into one transaction.
      await new Promise((r) => setImmediate(r));
      await writeAll();
    })().finally(() => {
      running = undefined;
    });
    return running;
  };

  return {
    record(orgId, scope, change, outcome, reason) {
      if (!trail.enabled) return;
      if (queued >= maxQueued) {
        dropped++;
      } else {
        const key = orgId ?? INSTANCE_TRAIL;
        const list = queue.get(key) ?? [];
        list.push(scope.draft(change, outcome, reason));
        queue.set(key, list);
        queued++;
      }
      void start();
    },
    async flush() {
      while (running !== undefined || queued > 0 || dropped > 0) await start();
    },
  };
}

function droppedDraft(count: number): AuditDraft {
  return {
    actor: { system: "server" },
    action: "audit.refusals_dropped",
    target: { type: "audit_log", id: INSTANCE_TRAIL },
    before: null,
    after: { count },
    requestId: "",
    peer: "",
    userAgent: "",
    rpc: "",
    outcome: "OK",
    reason: `${count} refused calls arrived faster than they could be recorded and were only counted`,
  };
}
