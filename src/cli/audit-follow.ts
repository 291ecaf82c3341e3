/**
 * `audit list --follow`: WatchAuditEvents from a known sequence number, for as long as the user
 * wants. A stream that breaks (a restarting server, a dropped connection, a proxy's idle cut) is
 * opened again with `after_sequence` set to the last entry received, so every entry arrives once:
 * none lost in the gap, none repeated. Errors that another try cannot fix (a refused token, a
 * trail the token may not read) end the command as any other command's error would.
 */
import { setTimeout as wait } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import type { AuditEvent } from "../gen/tessera/v1/audit_pb.js";
import type { AdminClient } from "./api.js";
import { clean } from "./output.js";

/** Codes a new stream can cure; anything else is the caller's to fix. */
const TRANSIENT = new Set([
  Code.Unavailable,
  Code.Unknown,
  Code.Internal,
  Code.DeadlineExceeded,
  Code.Aborted,
  Code.Canceled,
  Code.ResourceExhausted,
]);

const FIRST_RETRY_MS = 500;
const LAST_RETRY_MS = 30_000;

export interface FollowOptions {
  api: AdminClient;
  organizationId: string;
  /** The last entry already handled: the stream starts right after it. */
  after: bigint;
  /** Ends the following (Ctrl-C); follow() then returns normally. */
  signal: AbortSignal;
  onEvent(e: AuditEvent): void;
  warn(text: string): void;
}

export async function follow(o: FollowOptions): Promise<void> {
  let after = o.after;
  let delay = FIRST_RETRY_MS;
  while (!o.signal.aborted) {
    let why: string;
    try {
      // No deadline: the stream is meant to stay open (the client's default would cut it at 30 s).
      const stream = o.api.watchAuditEvents({ organizationId: o.organizationId, afterSequence: after }, { signal: o.signal, timeoutMs: 0 });
      for await (const res of stream) {
        const e = res.event;
        if (e === undefined || e.sequence <= after) continue;
        after = e.sequence;
        delay = FIRST_RETRY_MS;
        o.onEvent(e);
      }
      why = "the server ended the stream";
    } catch (err) {
      if (o.signal.aborted) return;
      const ce = ConnectError.from(err);
      if (!TRANSIENT.has(ce.code)) throw ce;
      why = `the stream broke: ${clean(ce.rawMessage)}`;
    }
    if (o.signal.aborted) return;
    o.warn(`warning: ${why}; following again after entry ${after} in ${delay / 1000} s`);
    await pause(delay, o.signal);
    delay = Math.min(delay * 2, LAST_RETRY_MS);
  }
}

/** Waits `ms`, or less if `signal` aborts first (the caller then sees it aborted). */
const pause = (ms: number, signal: AbortSignal): Promise<void> => wait(ms, undefined, { signal }).catch(() => undefined);
