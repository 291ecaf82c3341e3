/**
 * Revocation cursors: `<feed id>.<xid>.<event id>`. The feed id is fixed per database, so a
 * cursor from another deployment (or a rebuilt database) is recognised as foreign instead of
 * silently skipping or replaying events.
 */
import { invalidArgument } from "../domain/errors.js";
import type { FeedPosition } from "../store/queries/revocations.js";

export const MAX_EVENT_ID = 9_223_372_036_854_775_807n;
/** xid8 is an unsigned 64-bit number: a larger one cannot be compared in SQL. */
const MAX_XID = 18_446_744_073_709_551_615n;

export function comparePositions(a: FeedPosition, b: FeedPosition): number {
  if (a.xid !== b.xid) return a.xid < b.xid ? -1 : 1;
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  return 0;
}

export function formatCursor(feedId: string, p: FeedPosition): string {
  return `${feedId}.${p.xid}.${p.id}`;
}

export function parseCursor(feedId: string, cursor: string): FeedPosition {
  const m = /^([0-9a-f]{8})\.(\d{1,20})\.(\d{1,19})$/.exec(cursor);
  if (m === null)
    throw invalidArgument(
      "after_cursor is not a revocation cursor; pass a cursor received from WatchRevocations or Verify, or nothing to start from now",
    );
  if (m[1] !== feedId) throw invalidArgument("after_cursor belongs to another Tessera database; restart from now with an empty cursor");
  const p = { xid: BigInt(m[2]!), id: BigInt(m[3]!) };
  if (p.id > MAX_EVENT_ID || p.xid > MAX_XID) throw invalidArgument("after_cursor is out of bounds");
  return p;
}
