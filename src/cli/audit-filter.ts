/**
 * `tessera audit list` flags as a ListAuditEvents filter, judged here in flag terms (a typo costs
 * a usage message, not a round trip and a reply in protobuf field names), and the same filter as
 * a predicate: WatchAuditEvents sends every new entry of the trail, so `--follow` filters on the
 * client with the rules the server applies to the list.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { isUuid } from "../domain/ids.js";
import { parseDurationText, parseRfc3339 } from "../domain/time-text.js";
import { AuditOutcome, type AuditEvent } from "../gen/tessera/v1/audit_pb.js";
import type { ListAuditEventsRequestSchema } from "../gen/tessera/v1/token_admin_service_pb.js";
import { UsageError, str, type Flags } from "./command.js";

/** A ListAuditEvents request but for its page. */
export type ListRequest = Omit<MessageInitShape<typeof ListAuditEventsRequestSchema>, "$typeName" | "pageSize" | "pageToken">;
type ListFilter = Omit<ListRequest, "organizationId">;

export interface AuditFilter {
  request: ListFilter;
  matches(e: AuditEvent): boolean;
}

const OUTCOMES: Readonly<Record<string, AuditOutcome>> = {
  ok: AuditOutcome.OK,
  permission_denied: AuditOutcome.PERMISSION_DENIED,
  unauthenticated: AuditOutcome.UNAUTHENTICATED,
};

/** As the server checks them (src/services/admin/audit.ts). */
const ACTION = /^[a-z_]{1,32}(\.([a-z_]{1,32})?)?$/;
const TARGET_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** An RFC 3339 time, or a duration meaning that long before `now`. */
function parseInstant(raw: string, flag: string, now: number): Date {
  const at = parseRfc3339(raw);
  if (at !== undefined) return at;
  const ago = parseDurationText(raw);
  if (ago.ok) return new Date(now - ago.ms);
  throw new UsageError(`${flag} "${raw}" is neither an RFC 3339 time (2026-01-31T00:00:00Z) nor a duration ago (30m, 24h, 7d, 1h30m)`);
}

function id(flags: Flags, flag: string, what: string): string | undefined {
  const v = str(flags, flag);
  if (v === undefined) return undefined;
  if (!isUuid(v)) throw new UsageError(`--${flag} "${v}" is not a ${what} id (a UUID)`);
  return v.toLowerCase();
}

export function auditFilter(flags: Flags, now: number): AuditFilter {
  const sinceText = str(flags, "since");
  const untilText = str(flags, "until");
  const since = sinceText === undefined ? undefined : parseInstant(sinceText, "--since", now);
  const until = untilText === undefined ? undefined : parseInstant(untilText, "--until", now);
  if (since !== undefined && until !== undefined && until <= since) throw new UsageError("--until must be later than --since");
  const actor = id(flags, "actor", "token");
  const user = id(flags, "user", "user");
  const targetText = str(flags, "target");
  if (targetText !== undefined && !TARGET_ID.test(targetText)) {
    throw new UsageError(`--target "${targetText}" is not an id: letters, digits, "_" and "-" (a UUID, a digest key number)`);
  }
  const target = targetText?.toLowerCase();
  const action = str(flags, "action");
  if (action !== undefined && !ACTION.test(action)) {
    throw new UsageError(`--action "${action}" is not an action: give one such as token.disable, or an area such as token.`);
  }
  const outcomeText = str(flags, "outcome");
  const outcomeKey = outcomeText?.toLowerCase().replaceAll("-", "_");
  const outcome = outcomeKey === undefined ? undefined : Object.hasOwn(OUTCOMES, outcomeKey) ? OUTCOMES[outcomeKey] : undefined;
  if (outcomeText !== undefined && outcome === undefined) {
    throw new UsageError(`unknown outcome "${outcomeText}": use one of ${Object.keys(OUTCOMES).join(", ")}`);
  }

  const request: ListFilter = {
    ...(since && { startTime: timestampFromDate(since) }),
    ...(until && { endTime: timestampFromDate(until) }),
    actorTokenId: actor ?? "",
    actorUserId: user ?? "",
    targetId: target ?? "",
    action: action ?? "",
    outcome: outcome ?? AuditOutcome.UNSPECIFIED,
  };
  const matches = (e: AuditEvent): boolean => {
    const at = e.time === undefined ? undefined : timestampDate(e.time);
    if (since !== undefined && (at === undefined || at < since)) return false;
    if (until !== undefined && (at === undefined || at >= until)) return false;
    if (actor !== undefined && e.actor?.tokenId !== actor) return false;
    if (user !== undefined && e.actor?.userId !== user) return false;
    if (target !== undefined && e.target?.id !== target) return false;
    if (action !== undefined && (action.endsWith(".") ? !e.action.startsWith(action) : e.action !== action)) return false;
    if (outcome !== undefined && e.outcome !== outcome) return false;
    return true;
  };
  return { request, matches };
}
