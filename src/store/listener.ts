/**
 * One dedicated connection per instance that LISTENs for revocation wake-ups and reconnects by
 * itself. Notifications carry nothing: on every wake-up, timer tick and reconnect the owner
 * re-reads the feed from its cursor, so a notification lost while disconnected loses nothing.
 */
import pg from "pg";
import { readFeed, type FeedPosition, type StoredEvent } from "./queries/revocations.js";

export interface FeedConnection {
  /** Whether the connection is up (LISTEN in place). */
  connected(): boolean;
  /** Reads the feed on this connection; undefined while (re)connecting. */
  read(after: FeedPosition, limit: number): Promise<{ horizon: bigint; events: StoredEvent[] }> | undefined;
  close(): Promise<void>;
}

export interface FeedConnectionOptions {
  url: string;
  channel: string;
  onNotify: () => void;
  /** Called after each (re)connect, once LISTEN is in place. */
  onConnect: () => void;
  onDisconnect: (err: Error | undefined) => void;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export function openFeedConnection(opts: FeedConnectionOptions): FeedConnection {
  let current: pg.Client | undefined;
  let closed = false;
  let backoff = opts.minBackoffMs ?? 50;
  let timer: NodeJS.Timeout | undefined;

  const connect = async () => {
    if (closed) return;
    const c = new pg.Client({
      connectionString: opts.url,
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
      application_name: "tessera-revocation-listener",
    });
    let failed = false;
    const fail = (err: Error | undefined) => {
      if (failed) return;
      failed = true;
      if (current === c) current = undefined;
      c.end().catch(() => undefined);
      opts.onDisconnect(err);
      if (!closed) {
        timer = setTimeout(connect, backoff);
        backoff = Math.min(backoff * 2, opts.maxBackoffMs ?? 2_000);
      }
    };
    c.on("error", fail);
    c.on("end", () => fail(undefined));
    c.on("notification", (n) => {
      if (n.channel === opts.channel) opts.onNotify();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${pg.escapeIdentifier(opts.channel)}`);
    } catch (err) {
      fail(err as Error);
      return;
    }
    if (closed) {
      await c.end().catch(() => undefined);
      return;
    }
    current = c;
    backoff = opts.minBackoffMs ?? 50;
    opts.onConnect();
  };
  void connect();

  return {
    connected: () => current !== undefined,
    read: (after, limit) => (current === undefined ? undefined : readFeed(current, after, limit)),
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      const c = current;
      current = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
