/**
 * Last-used times without a database write per Verify: accepted token ids are collected in memory
 * and written in one statement per interval, and a stored time is only moved forward once it is
 * older than the precision (an hour by default). A crash loses at most one interval of last-used
 * times, which only ever makes them look older.
 *
 * `period(at)` numbers the precision periods, so a caller that sees a token often (Verify's
 * memoized answers) can record it once per period instead of once per call.
 *
 * A token's previous value (a rotation's grace period) has its own last-used time, so an admin
 * can see who still sends it: its uses are kept apart, with the value's deadline, which names it.
 */
import type { Database } from "../store/database.js";
import { touchPreviousValues, touchTokens } from "../store/queries/tokens.js";
import type { Log } from "../log.js";

export interface LastUsedOptions {
  db: Database;
  now: () => number;
  log: Log;
  /** How often pending ids are written. 5 s by default. */
  intervalMs?: number;
  /** A stored last-used time is replaced only once it is at least this old. 1 h by default. */
  precisionMs?: number;
}

export function createLastUsedRecorder(opts: LastUsedOptions): LastUsedRecorder {
  return new LastUsedRecorder(opts);
}

export class LastUsedRecorder {
  #pending = new Set<string>();
  /** Token id to the deadline of the previous value that was used. */
  #pendingPrevious = new Map<string, Date>();
  #timer: NodeJS.Timeout | undefined;
  #failing = false;
  readonly #precisionMs: number;

  private readonly db: Database;
  private readonly now: () => number;
  private readonly log: Log;

  constructor(opts: LastUsedOptions) {
    this.db = opts.db;
    this.now = opts.now;
    this.log = opts.log;
    this.#precisionMs = opts.precisionMs ?? 3_600_000;
    this.#timer = setInterval(() => void this.flush(), opts.intervalMs ?? 5000);
    this.#timer.unref();
  }

  /** A stored time is moved forward only once it is this old (ms): what "last used" can be trusted to. */
  get precisionMs(): number {
    return this.#precisionMs;
  }

  /** The number of the precision period `at` (ms) falls in: a small integer. */
  period(at: number): number {
    return Math.floor(at / this.#precisionMs);
  }

  /**
   * Records a use of the token at `at`, unless the stored last-used time the lookup read (whole
   * minutes since the epoch) is already recent: the write would skip it anyway, so recording it
   * would only send PostgreSQL an id to look up and leave alone.
   */
  record(tokenId: string, storedMinute: number | null, at: number, previousUntil: Date | null = null): void {
    if (storedMinute !== null && storedMinute * 60_000 >= at - this.#precisionMs) return;
    if (previousUntil === null) this.#pending.add(tokenId);
    else this.#pendingPrevious.set(tokenId, previousUntil);
  }

  /** How many token ids wait for the next write. */
  get pendingCount(): number {
    return this.#pending.size + this.#pendingPrevious.size;
  }

  async flush(): Promise<void> {
    if (this.#pending.size === 0 && this.#pendingPrevious.size === 0) return;
    const ids = [...this.#pending];
    const previous = this.#pendingPrevious;
    this.#pending = new Set();
    this.#pendingPrevious = new Map();
    const at = this.now();
    try {
      if (ids.length > 0) await touchTokens(this.db.pool, ids, new Date(at), new Date(at - this.#precisionMs));
      if (previous.size > 0) {
        await touchPreviousValues(
          this.db.pool,
          [...previous.keys()],
          [...previous.values()],
          new Date(at),
          new Date(at - this.#precisionMs),
        );
      }
      if (this.#failing) this.log("last_used_flush_recovered", {});
      this.#failing = false;
    } catch (err) {
      // Once per streak: the flush retries every interval while the database is down.
      if (!this.#failing) this.log("last_used_flush_failed", { count: ids.length + previous.size, error: (err as Error).message });
      this.#failing = true;
    }
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.flush();
  }
}
