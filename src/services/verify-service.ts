/**
 * TokenVerifyService, implemented once for every transport.
 *
 * Verify answers with data: a refused credential is `allowed = false` and a status, never an RPC
 * error. RPC errors are kept for the caller's own problems (no or wrong verifier credentials) and
 * for the service's (database unavailable).
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  CheckpointSchema,
  RevocationEventSchema,
  RevocationReason,
  WatchRevocationsResponseSchema,
  type WatchRevocationsRequest,
  type WatchRevocationsResponse,
  VerifyResponseSchema,
  VerifyStatus,
  type TokenVerifyService,
  type VerifyRequest,
  type VerifyResponse,
} from "../gen/tessera/v1/token_verify_service_pb.js";
import { EndpointClass } from "../gen/tessera/v1/resources_pb.js";
import { parseCredential } from "../domain/credential.js";
import { decide, type EndpointClassName } from "../domain/decide.js";
import { permissionDenied, unauthenticated } from "../domain/errors.js";
import { kCaller } from "./caller.js";
import { signalFromPb } from "./convert.js";
import type { ServiceDeps } from "./deps.js";
import { createVerifyAnswers } from "./verify-answers.js";
import type { RevocationReasonName } from "../store/queries/revocations.js";

const ENDPOINTS: Partial<Record<EndpointClass, EndpointClassName>> = {
  [EndpointClass.INGEST]: "INGEST",
  [EndpointClass.QUERY]: "QUERY",
  [EndpointClass.ADMIN]: "ADMIN",
  [EndpointClass.SHARED_VIEW]: "SHARED_VIEW",
};

function requireVerifier(ctx: HandlerContext): void {
  const caller = ctx.values.get(kCaller);
  if (caller === undefined) throw unauthenticated('missing credentials: send "authorization: Bearer <verifier token>"');
  if (caller.kind !== "VERIFIER" && caller.kind !== "OPERATOR") {
    throw permissionDenied(`a ${caller.kind} token cannot call the verify API; use a VERIFIER token`);
  }
}

const malformed = (): VerifyResponse => create(VerifyResponseSchema, { allowed: false, status: VerifyStatus.MALFORMED });
const notFound = (): VerifyResponse => create(VerifyResponseSchema, { allowed: false, status: VerifyStatus.NOT_FOUND });

/**
 * Verify's decision for one question (credential, organization, endpoint, bucket, signal), with
 * its cache, memoized answers, last-used recording and revocation guarantees, for a caller
 * already authorized to ask. Verify, Envoy's Check and forward-auth all answer through one of
 * these, so a change to the decision reaches all three.
 */
export type VerifyDecider = (req: VerifyRequest) => Promise<VerifyResponse>;

export function createVerifyDecider(deps: ServiceDeps): VerifyDecider {
  // The same cached lookup asked the same question gets the same answer until the token
  // expires: reuse it (and its encoding) instead of deciding, creating and encoding again.
  const answers = createVerifyAnswers();
  async function decideVerify(req: VerifyRequest): Promise<VerifyResponse> {
    const endpoint = ENDPOINTS[req.endpoint];
    if (endpoint === undefined) return malformed();
    const cred = parseCredential(req.credential);
    if (!cred.ok) return malformed();
    // A Basic credential names its organization too; two different names can match nothing.
    const orgIdentifier = req.organization !== "" ? req.organization : (cred.orgIdentifier ?? "");
    if (cred.orgIdentifier !== undefined && req.organization !== "" && cred.orgIdentifier !== req.organization) {
      return notFound();
    }
    // The cursor is read before the decision: a cache holding this answer must apply every
    // event after it, and any event the decision already reflects is harmless to apply again.
    const cursor = deps.hub.cursor;
    const r = await deps.lookup.lookup(cred.token, orgIdentifier);
    if ("malformed" in r) return malformed();
    const t = r.found;
    const at = deps.now();
    const q = `${req.endpoint}\u0000${req.signal}\u0000${orgIdentifier}\u0000${req.bucket}`;
    const m = answers.find(t, q);
    if (m !== undefined && at < m.notAfter) {
      if (m.allowed) {
        // Once per last-used period, not per call: a Set insertion per call costs more than the rest.
        const period = deps.lastUsed.period(at);
        if (m.touched !== period) {
          m.touched = period;
          deps.lastUsed.record(t!.tokenId, t!.lastUsedMinute, at, t!.previousUntil);
        }
      }
      return answers.message(m, t, cursor);
    }
    const d = decide(t, { orgIdentifier, endpoint, bucket: req.bucket, signal: signalFromPb(req.signal) }, at);
    if (d.allowed && t) deps.lastUsed.record(t.tokenId, t.lastUsedMinute, at, t.previousUntil);
    // The answer holds until the token expires or, for a previous value, until its deadline.
    const notAfter = Math.min(t?.expiresAt ? t.expiresAt.getTime() : Infinity, t?.previousUntil ? t.previousUntil.getTime() : Infinity);
    const a = answers.answer(t, d, q, notAfter, deps.lastUsed.period(at), at < notAfter);
    return answers.message(a, t, cursor);
  }
  return decideVerify;
}

/** `decideVerify`: the decider this instance's other edges share (a new one if none is given). */
export function createTokenVerifyService(
  deps: ServiceDeps,
  decideVerify: VerifyDecider = createVerifyDecider(deps),
): ServiceImpl<typeof TokenVerifyService> {
  async function verify(req: VerifyRequest, ctx: HandlerContext): Promise<VerifyResponse> {
    requireVerifier(ctx);
    return decideVerify(req);
  }

  async function* watchRevocations(req: WatchRevocationsRequest, ctx: HandlerContext): AsyncGenerator<WatchRevocationsResponse> {
    requireVerifier(ctx);
    for await (const item of deps.hub.subscribe(req.afterCursor, ctx.signal, deps.checkpointMs)) {
      if ("checkpoint" in item) {
        yield create(WatchRevocationsResponseSchema, {
          item: { case: "checkpoint", value: create(CheckpointSchema, { cursor: item.checkpoint }) },
        });
      } else {
        const e = item.event;
        yield create(WatchRevocationsResponseSchema, {
          item: {
            case: "event",
            value: create(RevocationEventSchema, {
              tokenId: e.tokenId,
              organizationId: e.orgId,
              reason: REASONS[e.reason],
              cursor: item.cursor,
              time: timestampFromDate(e.createdAt),
            }),
          },
        });
      }
    }
  }

  const onVerify = deps.onVerify;
  const counted =
    onVerify === undefined
      ? verify
      : async (req: VerifyRequest, ctx: HandlerContext): Promise<VerifyResponse> => {
          const r = await verify(req, ctx);
          onVerify(r.status);
          return r;
        };
  return { verify: counted, watchRevocations };
}

const REASONS: Record<RevocationReasonName, RevocationReason> = {
  DISABLED: RevocationReason.DISABLED,
  DELETED: RevocationReason.DELETED,
  ROTATED: RevocationReason.ROTATED,
  EXPIRED: RevocationReason.EXPIRED,
  OWNER_REMOVED: RevocationReason.OWNER_REMOVED,
  ORG_DISABLED: RevocationReason.ORG_DISABLED,
  ENABLED: RevocationReason.ENABLED,
  PARENT_ACCESS_REVOKED: RevocationReason.PARENT_ACCESS_REVOKED,
  UPDATED: RevocationReason.UPDATED,
};
