/**
 * The instance's view of the revocation feed, fanned out in memory.
 *
 * One dedicated listening connection wakes the hub; on every wake-up, on a timer and after every
 * reconnect the hub reads everything after its position from the database (never trusting a
 * notification to carry or imply anything), appends it to a bounded in-memory ring, tells its
 * listeners (the Verify cache) and wakes the subscribers (WatchRevocations streams).
 *
 * `fresh()` says whether the hub has read the feed recently: while it has not (database or
 * listener down), caches built on it must not answer.
 */
import { invalidArgument, outOfRange, resourceExhausted } from "../domain/errors.js";
import type { Database } from "../store/database.js";
import { openFeedConnection, type FeedConnection } from "../store/listener.js";
import { feedState, oldestUnreadEventAt, readFeed, type FeedPosition, type StoredEvent } from "../store/queries/revocations.js";
import { MAX_EVENT_ID, comparePositions, formatCursor, parseCursor } from "./feed-cursor.js";
import type { Log } from "../log.js";

export interface HubOptions {
  /** The service's connection string (role tessera_app); the hub opens its own connection. */
  url: string;
  /** For the feed's state and catch-up reads of subscribers that resume from before the ring. */
  db: Database;
  log: Log;
  now: () => number;
  /** Re-read at least this often even without a wake-up. */
  pollMs?: number;
  /** Events kept in memory for subscribers that resume or lag. */
  ringSize?: number;
  /** The hub counts as fresh while its last successful read is at most this old. */
  freshMs?: number;
}

export type HubItem = { event: StoredEvent; cursor: string } | { checkpoint: string };

const CHANNEL = "tessera_revocations";
const READ_BATCH = 1000;

export function createRevocationHub(opts: HubOptions): RevocationHub {
  return new RevocationHub(opts);
}

export class RevocationHub {
  readonly #opts: Required<HubOptions>;
  #conn: FeedConnection | undefined;
  #feedId = "";
  #position: FeedPosition = { xid: 0n, id: 0n };
  #cursor = "";
  #cursorOf: FeedPosition | undefined;
  #ring: StoredEvent[] = [];
  /** Every event after this position is in the ring: it is where the ring began or last dropped. */
  #ringFloor: FeedPosition = { xid: 0n, id: 0n };
  #reading: Promise<void> | undefined;
  #again = false;
  #lastReadOk = 0;
  #timer: NodeJS.Timeout | undefined;
  #waiters = new Set<() => void>();
  #listeners: Array<(events: ReadonlyArray<{ orgId?: string; tokenId: string; reason: string }>) => void> = [];
  #applied: Array<(events: readonly StoredEvent[], appliedAt: number) => void> = [];
  #closed = false;
  #connected = false;
  /** When the listener was lost, 0 while it is connected. */
  #downSince = 0;
  #readFailing = false;

  constructor(opts: HubOptions) {
    this.#opts = { pollMs: 1000, ringSize: 50_000, freshMs: 5000, ...opts };
  }

  get feedId(): string {
    return this.#feedId;
  }

  /** Everything at or before this position has been read and announced. */
  get position(): FeedPosition {
    return this.#position;
  }

  /** The cursor of `position`, formatted once per position (every Verify answer carries it). */
  get cursor(): string {
    if (this.#cursorOf !== this.#position) {
      this.#cursor = formatCursor(this.#feedId, this.#position);
      this.#cursorOf = this.#position;
    }
    return this.#cursor;
  }

  /** Listening, and read the feed recently: only then may caches built on it answer. */
  fresh(): boolean {
    return this.#connected && this.#opts.now() - this.#lastReadOk <= this.#opts.freshMs;
  }

  /**
   * Applies a change this instance just committed to local listeners at once, without waiting
   * for the feed (which will deliver it again; applying twice is harmless). Only after the commit:
   * a change that failed must evict nothing, or a loop of failing calls would empty caches.
   */
  applyLocal(events: ReadonlyArray<{ orgId?: string; tokenId: string; reason: string }>): void {
    for (const fn of this.#listeners) fn(events);
  }

  /** Called with each batch of new events, before subscribers are woken. */
  onEvents(fn: (events: ReadonlyArray<{ orgId?: string; tokenId: string; reason: string }>) => void): void {
    this.#listeners.push(fn);
  }

  /**
   * Called with each batch read from the feed once its listeners have applied it (the Verify
   * cache evicted, subscribers about to be woken), with the wall-clock time of that (metrics:
   * propagation delay from each event's `createdAt`). Not for applyLocal's early evictions: this
   * is the path every other instance takes too.
   */
  onApplied(fn: (events: readonly StoredEvent[], appliedAt: number) => void): void {
    this.#applied.push(fn);
  }

  /**
   * Seconds since the oldest event this instance has not read was appended, 0 when it has read
   * them all: how far behind the newest events the feed is. One indexed row from the database.
   */
  async lagSeconds(): Promise<number> {
    const at = await oldestUnreadEventAt(this.#opts.db.pool, this.#position);
    // Wall clock, as the database's clock_timestamp() is (opts.now may be a test's clock).
    return at === undefined ? 0 : Math.max(0, (Date.now() - at.getTime()) / 1000);
  }

  async start(): Promise<void> {
    const state = await feedState(this.#opts.db.pool);
    this.#feedId = state.feedId;
    // "Now": everything below the horizon is final; everything from it on is still to come.
    this.#position = { xid: state.horizon - 1n, id: MAX_EVENT_ID };
    this.#ringFloor = this.#position;
    this.#lastReadOk = this.#opts.now();
    this.#conn = openFeedConnection({
      url: this.#opts.url,
      channel: CHANNEL,
      onNotify: () => this.wake(),
      onConnect: () => {
        // Logged once per outage, not per reconnect attempt (every 2 s while the database is down).
        this.#opts.log("revocation_listener_connected", this.#downSince === 0 ? {} : { downMs: this.#opts.now() - this.#downSince });
        this.#downSince = 0;
        // Fresh again only after the first read from the last position succeeds.
        void this.wake().then(() => {
          if (this.#conn?.connected()) this.#connected = true;
        });
      },
      onDisconnect: (err) => {
        // Notifications may be lost from now on: stop answering from caches at once.
        this.#connected = false;
        // Closing the listener on shutdown is no outage: nothing to warn about.
        if (this.#downSince !== 0 || this.#closed) return;
        this.#downSince = this.#opts.now();
        this.#opts.log("revocation_listener_disconnected", { error: err?.message ?? "closed" });
      },
    });
    this.#timer = setInterval(() => this.wake(), this.#opts.pollMs);
    this.#timer.unref();
  }

  /** Reads the feed now (coalesced: at most one read in flight, and one more queued). */
  wake(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#reading) {
      this.#again = true;
      return this.#reading;
    }
    this.#reading = (async () => {
      try {
        do {
          this.#again = false;
          await this.#readOnce();
        } while (this.#again && !this.#closed);
      } finally {
        this.#reading = undefined;
      }
    })();
    return this.#reading;
  }

  async #readOnce(): Promise<void> {
    const conn = this.#conn;
    if (conn === undefined || !conn.connected()) return;
    try {
      let horizon: bigint;
      for (;;) {
        const r = await conn.read(this.#position, READ_BATCH);
        if (r === undefined) return; // lost meanwhile; the reconnect reads again
        horizon = r.horizon;
        if (r.events.length > 0) this.#publish(r.events);
        if (r.events.length < READ_BATCH) break;
      }
      const idle = { xid: horizon - 1n, id: MAX_EVENT_ID };
      if (comparePositions(idle, this.#position) > 0) this.#position = idle;
      this.#lastReadOk = this.#opts.now();
      this.#notifyWaiters();
      if (this.#readFailing) this.#opts.log("revocation_read_recovered", {});
      this.#readFailing = false;
    } catch (err) {
      // Once per streak of failed reads: the poll retries every second.
      if (!this.#readFailing) this.#opts.log("revocation_read_failed", { error: (err as Error).message });
      this.#readFailing = true;
    }
  }

  /** Events read from the feed since start (metrics). */
  eventsRead = 0;
  /** Open WatchRevocations streams on this instance (metrics). */
  subscribers = 0;

  #publish(events: StoredEvent[]): void {
    this.eventsRead += events.length;
    this.#position = events[events.length - 1]!.position;
    for (const e of events) this.#ring.push(e);
    const excess = this.#ring.length - this.#opts.ringSize;
    if (excess > 0) this.#ringFloor = this.#ring.splice(0, excess)[excess - 1]!.position;
    for (const fn of this.#listeners) fn(events);
    if (this.#applied.length > 0) {
      const at = Date.now();
      for (const fn of this.#applied) fn(events, at);
    }
  }

  #notifyWaiters(): void {
    const ws = [...this.#waiters];
    this.#waiters.clear();
    for (const w of ws) w();
  }

  /** Resolves at the next successful read or after `ms`, whichever comes first. */
  #waitForRead(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.#waiters.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.#waiters.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /**
   * A subscriber's stream: every event after `afterCursor` (or from now), then live events,
   * with a checkpoint whenever nothing happened for `checkpointMs`.
   */
  async *subscribe(afterCursor: string, signal: AbortSignal, checkpointMs: number): AsyncGenerator<HubItem> {
    this.subscribers++;
    try {
      yield* this.#subscribe(afterCursor, signal, checkpointMs);
    } finally {
      this.subscribers--;
    }
  }

  async *#subscribe(afterCursor: string, signal: AbortSignal, checkpointMs: number): AsyncGenerator<HubItem> {
    let pos = afterCursor === "" ? this.#position : parseCursor(this.#feedId, afterCursor);
    const state = await feedState(this.#opts.db.pool);
    if (afterCursor !== "" && comparePositions(pos, state.floor) < 0) {
      throw outOfRange("after_cursor is older than the feed's retention; flush caches and restart from now");
    }
    // Every cursor this feed hands out lies below the horizon it was read at, and horizons only
    // grow. One at or beyond today's was never issued here: accepting it would echo it back in
    // checkpoints and silently skip every event up to it.
    if (afterCursor !== "" && pos.xid >= state.horizon) {
      throw invalidArgument("after_cursor is ahead of this revocation feed; restart from now with an empty cursor");
    }
    let live = false;
    yield { checkpoint: formatCursor(this.#feedId, pos) };
    let lastSent = this.#opts.now();
    while (!signal.aborted && !this.#closed) {
      const { events: batch, upTo } = await this.#eventsAfter(pos, live);
      for (const e of batch) {
        pos = e.position;
        yield { event: e, cursor: formatCursor(this.#feedId, e.position) };
      }
      if (batch.length > 0) {
        lastSent = this.#opts.now();
        continue;
      }
      live = true;
      // Nothing after `pos` up to `upTo`, the hub's position when the batch was taken. Not the
      // hub's position now: a catch-up read from the database awaits, and whatever the hub
      // published meanwhile lies beyond `upTo` and is still to be sent.
      if (comparePositions(upTo, pos) > 0) pos = upTo;
      if (comparePositions(this.#position, pos) > 0) continue;
      const quiet = this.#opts.now() - lastSent;
      // A checkpoint promises "nothing else happened up to here": only a fresh hub can say so.
      // While it is stale the stream stays silent and clients' staleness bounds take over.
      if (quiet >= checkpointMs && this.fresh()) {
        yield { checkpoint: formatCursor(this.#feedId, pos) };
        lastSent = this.#opts.now();
        continue;
      }
      await this.#waitForRead(Math.max(checkpointMs - quiet, 10), signal);
    }
  }

  /**
   * Events after `pos` up to the hub's position, from the ring or from the database, with that
   * position (`upTo`): when there are none, nothing happened after `pos` up to `upTo`.
   */
  async #eventsAfter(pos: FeedPosition, live: boolean): Promise<{ events: StoredEvent[]; upTo: FeedPosition }> {
    const upTo = this.#position;
    if (comparePositions(pos, upTo) >= 0) return { events: [], upTo };
    if (comparePositions(pos, this.#ringFloor) >= 0) {
      const i = this.#indexAfter(pos);
      return { events: this.#ring.slice(i, i + READ_BATCH), upTo };
    }
    // Before the ring. A subscriber that was already live fell behind by more than the ring holds.
    if (live) throw resourceExhausted("this consumer fell too far behind the revocation feed; resume from your last cursor");
    const { events } = await readFeed(this.#opts.db.pool, pos, READ_BATCH);
    return { events: events.filter((e) => comparePositions(e.position, upTo) <= 0), upTo };
  }

  #indexAfter(pos: FeedPosition): number {
    let lo = 0;
    let hi = this.#ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (comparePositions(this.#ring[mid]!.position, pos) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#notifyWaiters();
    await this.#conn?.close();
  }
}
