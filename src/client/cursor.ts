/**
 * Revocation cursors as the worker client sees them. Cursors are opaque to most callers; the
 * client only needs to know whether a Verify answer was decided at or after the position its own
 * stream has reached. Tessera's cursors are `<feed id>.<xid>.<event id>`, ordered by (xid, id)
 * within one feed. Anything else is "not comparable", and the client falls back to the more
 * conservative rule (cache only if no event arrived while the call was in flight).
 */

interface Position {
  feed: string;
  xid: bigint;
  id: bigint;
}

function parse(cursor: string): Position | undefined {
  const m = /^([0-9a-f]{1,32})\.(\d{1,20})\.(\d{1,20})$/.exec(cursor);
  if (m === null) return undefined;
  return { feed: m[1]!, xid: BigInt(m[2]!), id: BigInt(m[3]!) };
}

/** -1, 0 or 1 when both cursors belong to the same feed; undefined when they cannot be compared. */
export function compareCursors(a: string, b: string): -1 | 0 | 1 | undefined {
  const pa = parse(a);
  const pb = parse(b);
  if (pa === undefined || pb === undefined || pa.feed !== pb.feed) return undefined;
  if (pa.xid !== pb.xid) return pa.xid < pb.xid ? -1 : 1;
  if (pa.id !== pb.id) return pa.id < pb.id ? -1 : 1;
  return 0;
}
