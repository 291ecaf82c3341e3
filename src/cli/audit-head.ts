/**
 * `audit verify --expect-head SEQ:HASH`. The chain shows every change, removal or insertion
 * inside the trail, but entries cut from its end leave the rest a valid, shorter chain. A head
 * saved earlier (from `audit verify`, or the newest entry a shipper received) catches that: entry
 * SEQ must still be there with the same hash. Entries added since are fine — the chain then
 * proves they extend it.
 */
import { timingSafeEqual } from "node:crypto";
import type { VerifyAuditLogResponse } from "../gen/tessera/v1/token_admin_service_pb.js";
import type { AdminClient } from "./api.js";
import { UsageError } from "./command.js";
import { hex } from "./audit-text.js";

export interface ExpectedHead {
  sequence: bigint;
  hash: Uint8Array;
}

const HEAD_USAGE =
  "--expect-head must be SEQ:HASH as tessera audit verify prints its head, e.g. 42:9f86d081884c7d65… (hex, or base64 as --json gives it)";

/** `42:<64 hex digits>`, or the hash in base64 as the JSON output carries it. */
export function parseExpectedHead(raw: string): ExpectedHead {
  const m = /^(\d{1,19}):(.+)$/.exec(raw);
  if (m === null) throw new UsageError(HEAD_USAGE);
  const sequence = BigInt(m[1]!);
  const text = m[2]!;
  let hash: Buffer;
  if (/^(?:[0-9a-fA-F]{2})+$/.test(text)) hash = Buffer.from(text, "hex");
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) hash = Buffer.from(text, "base64");
  else throw new UsageError(HEAD_USAGE);
  if (sequence < 1n || hash.length < 16) throw new UsageError(HEAD_USAGE);
  return { sequence, hash };
}

/** What is wrong with the saved head, or undefined when entry SEQ still has its hash. */
export async function headProblem(
  api: AdminClient,
  organizationId: string,
  verified: VerifyAuditLogResponse,
  want: ExpectedHead,
): Promise<string | undefined> {
  const seq = want.sequence;
  if (seq > verified.lastSequence) {
    return verified.lastSequence === 0n
      ? `the trail is empty, but your saved head is entry ${seq}: its entries were removed`
      : `the trail ends at entry ${verified.lastSequence}, but your saved head is entry ${seq}: entries were removed from its end`;
  }
  if (seq < verified.firstSequence) {
    return `entry ${seq} is no longer kept (the oldest is ${verified.firstSequence}; retention removes old entries), so the saved head cannot be checked: save a newer one`;
  }
  const found = seq === verified.lastSequence ? verified.headHash : await entryHash(api, organizationId, seq);
  if (found === undefined) return `entry ${seq}, your saved head, is missing from the trail`;
  const same = found.length === want.hash.length && timingSafeEqual(found, want.hash);
  return same ? undefined : `entry ${seq} no longer has the hash you saved (it has ${hex(found)}): the trail was rewritten from there`;
}

/**
 * Entry `seq`'s hash. WatchAuditEvents resumes after any sequence number, so its first entry
 * is the entry itself (or, if it is gone, the next one) — one read, where paging ListAuditEvents
 * back from the newest entry would read everything since.
 */
async function entryHash(api: AdminClient, organizationId: string, seq: bigint): Promise<Uint8Array | undefined> {
  const stop = new AbortController();
  try {
    let checkpoints = 0;
    for await (const res of api.watchAuditEvents({ organizationId, afterSequence: seq - 1n }, { signal: stop.signal })) {
      if (res.event !== undefined) return res.event.sequence === seq ? res.event.hash : undefined;
      // The stream opens with a checkpoint; a second one means nothing was there to send.
      if (++checkpoints >= 2) return undefined;
    }
    return undefined;
  } finally {
    stop.abort();
  }
}
