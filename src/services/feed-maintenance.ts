/**
 * Periodic feed upkeep, run by every instance (the database serialises it): announce expiries
 * as EXPIRED events once they pass, end rotation overlaps whose deadline passed (ROTATED), disable
 * tokens idle past their organization's limit (DISABLED), and prune events older than the
 * retention period, which is what makes too-old cursors answer OUT_OF_RANGE. Verify refuses an
 * expired token or a previous value past its deadline by itself, at once; the announcements are
 * for caches, and come within one interval.
 */
import type { Database } from "../store/database.js";
import { announceExpiries, endOverlaps, pruneEvents } from "../store/queries/revocations.js";
import type { Log } from "./deps.js";

export interface FeedMaintenanceOptions {
  db: Database;
  now: () => number;
  log: Log;
  intervalMs: number;
  retentionMs: number;
  /** How often the idle sweep runs; at most every interval. */
  idleSweepMs: number;
  /** The idle sweep (with its audit records); returns how many tokens it disabled. */
  sweepIdle: (now: Date) => Promise<number>;
  /** Links committed audit entries into their chains, every interval; returns how many. */
  sealAudit?: (() => Promise<number>) | undefined;
  /** Audit-trail retention, run with the idle sweep; returns how many trails it pruned. */
  pruneAudit?: ((now: Date) => Promise<number>) | undefined;
}

export function startFeedMaintenance(o: FeedMaintenanceOptions): { runOnce(): Promise<void>; stop(): void } {
  let running = false;
  let failing = false;
  let lastIdleSweep = Number.NEGATIVE_INFINITY;
  let sealFailing = false;
  // On its own: a trail that cannot be sealed must not hold up expiries and the rest.
  const sealAudit = async () => {
    try {
      await o.sealAudit?.();
      if (sealFailing) o.log("audit_sealing_recovered", {});
      sealFailing = false;
    } catch (err) {
      if (!sealFailing) o.log("audit_sealing_failed", { error: (err as Error).message });
      sealFailing = true;
    }
  };
  const runOnce = async () => {
    if (running) return;
    running = true;
    try {
      await sealAudit();
      const expired = await announceExpiries(o.db.pool, new Date(o.now()));
      if (expired > 0) o.log("expiries_announced", { count: expired });
      const ended = await endOverlaps(o.db.pool, new Date(o.now()));
      if (ended > 0) o.log("rotation_overlaps_ended", { count: ended });
      if (performance.now() - lastIdleSweep >= o.idleSweepMs) {
        const idle = await o.sweepIdle(new Date(o.now()));
        lastIdleSweep = performance.now();
        if (idle > 0) o.log("idle_tokens_disabled", { count: idle });
        const pruned = (await o.pruneAudit?.(new Date(o.now()))) ?? 0;
        if (pruned > 0) o.log("audit_trails_pruned", { trails: pruned });
      }
      await pruneEvents(o.db.pool, new Date(o.now() - o.retentionMs));
      if (failing) o.log("feed_maintenance_recovered", {});
      failing = false;
    } catch (err) {
      // Once per streak of failures, not once per interval while the database is down.
      if (!failing) o.log("feed_maintenance_failed", { error: (err as Error).message });
      failing = true;
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void runOnce(), o.intervalMs);
  timer.unref();
  return { runOnce, stop: () => clearInterval(timer) };
}
