/**
 * Last-used times without a database write per Verify: accepted token ids are collected in memory
 * and written in one statement per interval. A crash loses at most one interval of last-used
 * times, which only ever makes them look older.
 */
import type { Database } from "../store/database.js";
import { touchTokens } from "../store/queries/tokens.js";
import type { Log } from "./deps.js";

export class LastUsedRecorder {
  #pending = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Database,
    private readonly now: () => number,
    private readonly log: Log,
    intervalMs = 5000,
  ) {
    this.#timer = setInterval(() => void this.flush(), intervalMs);
    this.#timer.unref();
  }

  record(tokenId: string): void {
    this.#pending.add(tokenId);
  }

  async flush(): Promise<void> {
    if (this.#pending.size === 0) return;
    const ids = [...this.#pending];
    this.#pending = new Set();
    try {
      await touchTokens(this.db.pool, ids, new Date(this.now()));
    } catch (err) {
      this.log("last_used_flush_failed", { count: ids.length, error: (err as Error).message });
    }
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.flush();
  }
}
