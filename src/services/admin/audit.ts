/**
 * Reading the audit trail: list (newest first, filtered, paged), watch (oldest first, resumable)
 * and verify. An organization's ADMINs read its trail and, where parent access holds, its
 * sub-organizations'; operators read every trail, the instance's own included.
 */
import { setTimeout as wait } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { HandlerContext } from "@connectrpc/connect";
import { AuditOutcome } from "../../gen/tessera/v1/audit_pb.js";
import {
  ListAuditEventsResponseSchema,
  VerifyAuditLogResponseSchema,
  WatchAuditEventsResponseSchema,
  type ListAuditEventsRequest,
  type ListAuditEventsResponse,
  type VerifyAuditLogRequest,
  type VerifyAuditLogResponse,
  type WatchAuditEventsRequest,
  type WatchAuditEventsResponse,
} from "../../gen/tessera/v1/token_admin_service_pb.js";
import { INSTANCE_TRAIL, type AuditOutcomeName } from "../../domain/audit/entry.js";
import { invalidArgument } from "../../domain/errors.js";
import { lastSeal, listAuditEntries, sealsAfter, type AuditFilter } from "../../store/queries/audit.js";
import { requireOperator, requireRole, requireUuid, targetOrg } from "../access.js";
import type { Caller } from "../caller.js";
import type { ServiceDeps } from "../deps.js";
import { bindPage, decodePageToken, encodePageToken, pageSize } from "../paging.js";
import { auditEventToPb, problemToPb } from "../audit/to-pb.js";
import { verifyTrail } from "../audit/verify-trail.js";

/** The trail a request names, checked for reach: as targetOrg, plus the instance's for operators. */
async function trailOf(deps: ServiceDeps, caller: Caller, requested: string): Promise<string> {
  if (requested === INSTANCE_TRAIL) {
    requireOperator(caller, "read the instance's audit trail");
    return INSTANCE_TRAIL;
  }
  const orgId = await targetOrg(deps.db, caller, requested);
  requireRole(caller, "ADMIN", "reading the audit trail");
  return orgId;
}

const ACTION = /^[a-z_]{1,32}(\.([a-z_]{1,32})?)?$/;

function instant(field: string, t: Timestamp | undefined): Date | undefined {
  if (t === undefined) return undefined;
  const d = timestampDate(t);
  if (!Number.isFinite(d.getTime()) || t.nanos < 0 || t.nanos > 999_999_999) throw invalidArgument(`${field} is out of range`);
  return d;
}

const OUTCOME_NAMES: Partial<Record<AuditOutcome, AuditOutcomeName>> = {
  [AuditOutcome.OK]: "OK",
  [AuditOutcome.PERMISSION_DENIED]: "PERMISSION_DENIED",
  [AuditOutcome.UNAUTHENTICATED]: "UNAUTHENTICATED",
};

const MAX_SEQ = 9_223_372_036_854_775_807n;
const seqPosition = (p: string): bigint | undefined => (/^\d{1,19}$/.test(p) && BigInt(p) <= MAX_SEQ ? BigInt(p) : undefined);

export async function listAuditEvents(deps: ServiceDeps, caller: Caller, req: ListAuditEventsRequest): Promise<ListAuditEventsResponse> {
  const limit = pageSize(req.pageSize);
  const f: AuditFilter = { limit: limit + 1 };
  const start = instant("start_time", req.startTime);
  const end = instant("end_time", req.endTime);
  if (start !== undefined) f.start = start;
  if (end !== undefined) f.end = end;
  if (start !== undefined && end !== undefined && end <= start) throw invalidArgument("end_time must be after start_time");
  if (req.actorTokenId !== "") f.actorTokenId = requireUuid("actor_token_id", req.actorTokenId);
  if (req.actorUserId !== "") f.actorUserId = requireUuid("actor_user_id", req.actorUserId);
  if (req.targetId !== "") {
    // Targets are UUIDs, bucket names' ids, or digest-key numbers: short identifiers.
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(req.targetId)) throw invalidArgument("target_id must be an id: letters, digits, '_' or '-'");
    f.targetId = req.targetId.toLowerCase();
  }
  if (req.action !== "") {
    if (!ACTION.test(req.action)) throw invalidArgument("action must be an action such as token.disable, or an area such as token.");
    f.action = req.action;
  }
  if (req.outcome !== AuditOutcome.UNSPECIFIED) {
    const o = OUTCOME_NAMES[req.outcome];
    if (o === undefined) throw invalidArgument("outcome is not a known outcome");
    f.outcome = o;
  }
  const orgId = await trailOf(deps, caller, req.organizationId);
  const binding = bindPage({
    organization: orgId,
    start: start?.toISOString(),
    end: end?.toISOString(),
    actorToken: f.actorTokenId,
    actorUser: f.actorUserId,
    target: f.targetId,
    action: f.action,
    outcome: f.outcome,
  });
  if (req.pageToken !== "") f.beforePos = decodePageToken(req.pageToken, "a", seqPosition, binding);
  const rows = await deps.db.withOrg(orgId, (tx) => listAuditEntries(tx, f));
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return create(ListAuditEventsResponseSchema, {
    events: page.map((r) => auditEventToPb(r.entry)),
    nextPageToken: rows.length > limit && last !== undefined ? encodePageToken("a", last.pos.toString(), binding) : "",
  });
}

const WATCH_BATCH = 500;

/** WatchAuditEvents' checks and starting point: run before the stream's first message (and so inside the refusal recording). */
export async function openAuditWatch(
  deps: ServiceDeps,
  caller: Caller,
  req: WatchAuditEventsRequest,
): Promise<{ orgId: string; after: bigint }> {
  if (req.afterSequence !== undefined && req.afterSequence < 0n) throw invalidArgument("after_sequence must not be negative");
  const orgId = await trailOf(deps, caller, req.organizationId);
  // Sealed entries only: their sequence numbers are final, so a follower resumes exactly.
  const after = req.afterSequence ?? (await deps.db.withOrg(orgId, async (tx) => (await lastSeal(tx))?.seq ?? 0n));
  return { orgId, after };
}

export async function* watchAuditEvents(
  deps: ServiceDeps,
  start: { orgId: string; after: bigint },
  ctx: HandlerContext,
): AsyncGenerator<WatchAuditEventsResponse> {
  const orgId = start.orgId;
  let after = start.after;
  const signal = ctx.signal;
  const checkpoint = () => create(WatchAuditEventsResponseSchema, { checkpoint: { sequence: after } });
  // At once: the caller knows the stream is up (and where it starts) before anything happens.
  yield checkpoint();
  let quietSince = performance.now();
  while (!signal.aborted) {
    const batch = await deps.db.withOrg(orgId, (tx) => sealsAfter(tx, after, WATCH_BATCH));
    for (const { seal, entry } of batch) {
      after = seal.seq;
      // An entry removed behind the trail's back leaves its seal: the follower hears of the gap from verify.
      if (entry !== undefined) yield create(WatchAuditEventsResponseSchema, { event: auditEventToPb({ ...entry, seal }) });
    }
    if (batch.length > 0) quietSince = performance.now();
    else if (performance.now() - quietSince >= deps.checkpointMs) {
      yield checkpoint();
      quietSince = performance.now();
    }
    if (batch.length < WATCH_BATCH) await pause(Math.min(deps.auditPollMs, deps.checkpointMs), signal);
  }
}

/** Waits `ms`, or less if `signal` aborts first (the caller then sees it aborted). */
const pause = (ms: number, signal: AbortSignal): Promise<void> => wait(ms, undefined, { signal }).catch(() => undefined);

export async function verifyAuditLog(deps: ServiceDeps, caller: Caller, req: VerifyAuditLogRequest): Promise<VerifyAuditLogResponse> {
  const orgId = await trailOf(deps, caller, req.organizationId);
  const r = await verifyTrail(deps.db, deps.keyring, orgId);
  return create(VerifyAuditLogResponseSchema, {
    intact: r.problems.length === 0,
    entriesChecked: BigInt(r.checked),
    firstSequence: r.firstSeq,
    lastSequence: r.lastSeq,
    headHash: r.headHash,
    problems: r.problems.map(problemToPb),
  });
}
