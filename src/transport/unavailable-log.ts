// What the log says while the service cannot answer (its database is down): one line when calls
// start being refused, one count per interval while they go on, one line when they stop. A
// database outage under load refuses thousands of calls a second, all for the same reason; a line
// (with a stack) per refused call once wrote 23,000 entries in 13 s. The refused calls themselves
// are visible per status in /metrics.

import type { Log } from "../log.js";

export interface UnavailableLog {
  /** One call answered UNAVAILABLE; `cause` is the hidden reason (logged once per episode). */
  refused(procedure: string | undefined, cause: unknown): void;
  close(): void;
}

export function createUnavailableLog(log: Log, intervalMs = 10_000, now: () => number = Date.now): UnavailableLog {
  let timer: NodeJS.Timeout | undefined;
  let since = 0;
  let total = 0;
  let inInterval = 0;

  const tick = (): void => {
    if (inInterval > 0) {
      log("rpc_unavailable_ongoing", { refused: inInterval, intervalMs });
      inInterval = 0;
      return;
    }
    // A whole interval without a refusal: the episode is over.
    clearInterval(timer);
    timer = undefined;
    log("rpc_unavailable_ended", { refused: total, durationMs: now() - since });
  };

  return {
    refused(procedure, cause) {
      total = timer === undefined ? 1 : total + 1;
      if (timer !== undefined) {
        inInterval++;
        return;
      }
      since = now();
      inInterval = 0;
      log("rpc_unavailable_started", { rpc: procedure, code: "UNAVAILABLE", error: describe(cause) });
      timer = setInterval(tick, intervalMs);
      timer.unref();
    },
    close() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}

/** The cause's message (a driver's "connect ECONNREFUSED 127.0.0.1:5432"), never its stack. */
function describe(cause: unknown): string {
  const inner = cause instanceof Error && cause.cause !== undefined ? cause.cause : cause;
  return inner instanceof Error ? inner.message : String(inner);
}
