/** Collects a WatchRevocations stream in the background, for tests that compare what arrived. */
import type { WatchRevocationsResponse } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import type { RevocationReason } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { PATIENCE_MS } from "./wait.js";

export interface Watcher {
  events: Array<{ tokenId: string; reason: RevocationReason; cursor: string; at: number }>;
  checkpoints: number;
  cursor: string;
  error: unknown;
  ended: boolean;
  /** Resolves when `pred` holds (checked on every message), or rejects after `ms` (a bound on failing, see wait.ts). */
  until(pred: () => boolean, ms?: number): Promise<void>;
  stop(): void;
}

export function watch(open: (signal: AbortSignal) => AsyncIterable<WatchRevocationsResponse>): Watcher {
  const ac = new AbortController();
  const waiters = new Set<() => void>();
  const w: Watcher = {
    events: [],
    checkpoints: 0,
    cursor: "",
    error: undefined,
    ended: false,
    until(pred, ms = PATIENCE_MS) {
      if (pred()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pred()) {
            clearTimeout(t);
            waiters.delete(check);
            resolve();
          }
        };
        const t = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`condition not met within ${ms} ms (events: ${w.events.length}, error: ${String(w.error)})`));
        }, ms);
        waiters.add(check);
      });
    },
    stop: () => ac.abort(),
  };
  void (async () => {
    try {
      for await (const m of open(ac.signal)) {
        if (m.item.case === "event") {
          w.events.push({ tokenId: m.item.value.tokenId, reason: m.item.value.reason, cursor: m.item.value.cursor, at: performance.now() });
          w.cursor = m.item.value.cursor;
        } else if (m.item.case === "checkpoint") {
          w.checkpoints++;
          w.cursor = m.item.value.cursor;
        }
        for (const f of [...waiters]) f();
      }
    } catch (err) {
      if (!ac.signal.aborted) w.error = err;
    } finally {
      w.ended = true;
      for (const f of [...waiters]) f();
    }
  })();
  return w;
}
