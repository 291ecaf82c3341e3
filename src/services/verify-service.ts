/**
 * TokenVerifyService, implemented once for every transport.
 *
 * Verify answers with data: a refused credential is `allowed = false` and a status, never an RPC
 * error. RPC errors are kept for the caller's own problems (no or wrong verifier credentials) and
 * for the service's (database unavailable).
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate, durationFromMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  CheckpointSchema,
  PrincipalSchema,
  type Principal,
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
import { EndpointClass, Role, type TokenPermissions } from "../gen/tessera/v1/resources_pb.js";
import { parseCredential } from "../domain/credential.js";
import { deepFreeze } from "../domain/deep-freeze.js";
import { decide, effectivePermissions, type EndpointClassName, type VerifyStatusName } from "../domain/decide.js";
import { permissionDenied, unauthenticated } from "../domain/errors.js";
import type { Permissions, TokenLookup } from "../domain/model.js";
import { kCaller, type RoleName } from "./caller.js";
import { KIND_TO_PB, ROLE_TO_PB, permissionsToPb, signalFromPb } from "./convert.js";
import type { ServiceDeps } from "./deps.js";
import type { RevocationReasonName } from "../store/queries/revocations.js";

const ENDPOINTS: Partial<Record<EndpointClass, EndpointClassName>> = {
  [EndpointClass.INGEST]: "INGEST",
  [EndpointClass.QUERY]: "QUERY",
  [EndpointClass.ADMIN]: "ADMIN",
  [EndpointClass.SHARED_VIEW]: "SHARED_VIEW",
};

const STATUS: Record<VerifyStatusName, VerifyStatus> = {
  VALID: VerifyStatus.VALID,
  MALFORMED: VerifyStatus.MALFORMED,
  NOT_FOUND: VerifyStatus.NOT_FOUND,
  DISABLED: VerifyStatus.DISABLED,
  EXPIRED: VerifyStatus.EXPIRED,
  WRONG_ENDPOINT: VerifyStatus.WRONG_ENDPOINT,
  FORBIDDEN: VerifyStatus.FORBIDDEN,
  OWNER_INACTIVE: VerifyStatus.OWNER_INACTIVE,
  ORGANIZATION_DISABLED: VerifyStatus.ORGANIZATION_DISABLED,
};

/** How long a cache following WatchRevocations may keep an answer. */
const CACHE_TTL_MS = 60_000;

export function requireVerifier(ctx: HandlerContext): void {
  const caller = ctx.values.get(kCaller);
  if (caller === undefined) throw unauthenticated('missing credentials: send "authorization: Bearer <verifier token>"');
  if (caller.kind !== "VERIFIER" && caller.kind !== "OPERATOR") {
    throw permissionDenied(`a ${caller.kind} token cannot call the verify API; use a VERIFIER token`);
  }
}

const malformed = (): VerifyResponse => create(VerifyResponseSchema, { allowed: false, status: VerifyStatus.MALFORMED });
const notFound = (): VerifyResponse => create(VerifyResponseSchema, { allowed: false, status: VerifyStatus.NOT_FOUND });

export function createTokenVerifyService(deps: ServiceDeps): ServiceImpl<typeof TokenVerifyService> {
  async function verify(req: VerifyRequest, ctx: HandlerContext): Promise<VerifyResponse> {
    requireVerifier(ctx);
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
    // The same cached lookup asked the same question gets the same answer until the token
    // expires: reuse it (and its encoding) instead of deciding, creating and encoding again.
    const q = `${req.endpoint}\u0000${req.signal}\u0000${orgIdentifier}\u0000${req.bucket}`;
    const memos = answers.get(t ?? NONE);
    const m = findAnswer(memos, q);
    if (m !== undefined && at < m.notAfter) {
      if (m.allowed) {
        // Once per last-used period, not per call: a Set insertion per call costs more than the rest.
        const period = deps.lastUsed.period(at);
        if (m.touched !== period) {
          m.touched = period;
          deps.lastUsed.record(t!.tokenId, t!.lastUsedMinute, at);
        }
      }
      return message(m, t, cursor);
    }
    const d = decide(t, { orgIdentifier, endpoint, bucket: req.bucket, signal: signalFromPb(req.signal) }, at);
    if (d.allowed && t) deps.lastUsed.record(t.tokenId, t.lastUsedMinute, at);
    const notAfter = t?.expiresAt ? t.expiresAt.getTime() : Infinity;
    const a = answerFor(t, d.status, d.allowed, d.role, q, notAfter, deps.lastUsed.period(at));
    // Only answers decided before the expiry are kept: they hold for any earlier time too.
    if (at < notAfter && q.length <= MAX_MEMO_KEY) {
      a.head = encodeHead(a, t);
      if (memos === undefined) answers.set(t ?? NONE, a);
      else if (!Array.isArray(memos)) answers.set(t ?? NONE, [memos, a]);
      else if (memos.length < MAX_MEMOS_PER_LOOKUP) memos.push(a);
    }
    return message(a, t, cursor);
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
};

/**
 * A decided answer, per cached lookup object (identity: a refill or an eviction makes a new one,
 * so the feed invalidates these with the cache) and question. Caches hold one per token by the
 * million, so an answer keeps only what the lookup does not already hold: the decision, its
 * shared permission and expiry parts, and the binary encoding of fields 1-6 (`head`, a latin1
 * string). Each call gets a small fresh message (principal included, from the lookup) with the
 * current cursor, whose encoding is head + cursor field + cache hint field: the exact bytes
 * toBinary would write. No re-encoding when the cursor moves (it moves with every write anywhere
 * in the database), and no writes into old answers, which would make the garbage collector's work
 * grow with the cache.
 */
interface Answer {
  q: string;
  notAfter: number;
  allowed: boolean;
  status: VerifyStatus;
  role: Role;
  /** Shared and frozen (sharedPermissions); only on allowed answers. */
  permissions: TokenPermissions | undefined;
  /** Frozen; only for tokens that expire. */
  expireTime: Timestamp | undefined;
  /** Fields 1-6 as toBinary writes them; "" until the answer is memoized. */
  head: string;
  /** The last-used period in which this answer last recorded its token (see LastUsedRecorder). */
  touched: number;
}

/** Most lookups are asked one question (their endpoint): then the answer itself, else a short list. */
const answers = new WeakMap<object, Answer | Answer[]>();
/** Stands for "no such token" (the lookup's undefined), whose answer depends on nothing else. */
const NONE = {};
const MAX_MEMOS_PER_LOOKUP = 16;
const MAX_MEMO_KEY = 512;
const kWire = Symbol.for("tessera.wire-encoding");

function findAnswer(memos: Answer | Answer[] | undefined, q: string): Answer | undefined {
  if (memos === undefined) return undefined;
  if (!Array.isArray(memos)) return memos.q === q ? memos : undefined;
  for (const m of memos) if (m.q === q) return m;
  return undefined;
}

const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");

/** Whether an answer names the token: one that exists elsewhere must look exactly like one that does not exist at all. */
function reveals(t: TokenLookup | undefined, status: VerifyStatus): t is TokenLookup {
  return t !== undefined && status !== VerifyStatus.NOT_FOUND;
}

function answerFor(
  t: TokenLookup | undefined,
  status: VerifyStatusName,
  allowed: boolean,
  role: RoleName | undefined,
  q: string,
  notAfter: number,
  touched: number,
): Answer {
  const pbStatus = STATUS[status];
  const reveal = reveals(t, pbStatus);
  return {
    q,
    notAfter,
    allowed,
    status: pbStatus,
    role: role ? ROLE_TO_PB[role] : Role.UNSPECIFIED,
    permissions: reveal && allowed ? sharedPermissions(effectivePermissions(t, role)) : undefined,
    expireTime: reveal && t.expiresAt ? Object.freeze(timestampFromDate(t.expiresAt)) : undefined,
    head: "",
    touched,
  };
}

const encodeHead = (a: Answer, t: TokenLookup | undefined): string =>
  latin1(toBinary(VerifyResponseSchema, { ...message(a, t, ""), cacheTtl: undefined }));

/** The principal named by a revealing answer: built per call from the lookup, which holds its parts. */
function principalOf(t: TokenLookup): Principal {
  return {
    $typeName: PRINCIPAL_TYPE,
    organizationId: t.orgId,
    organizationIdentifier: t.orgIdentifier,
    tokenId: t.tokenId,
    kind: KIND_TO_PB[t.kind],
    ownerUserId: t.ownerUserId ?? "",
    tokenName: t.name,
  };
}
const PRINCIPAL_TYPE = PrincipalSchema.typeName as Principal["$typeName"];
const RESPONSE_TYPE = VerifyResponseSchema.typeName as VerifyResponse["$typeName"];

/**
 * The message for an answer with the current cursor, and (once memoized) its encoding. Literals,
 * not create(): with a million cached tokens, per-call messages made by create() went with
 * young-generation pauses that grew through the run (10 to 40 µs per call); with literals they
 * stay flat. The likely cause is V8 pretenuring create()'s allocations once enough of them
 * survive, which puts short-lived copies in the old generation. Tests check both field lists
 * against the schema.
 */
function message(a: Answer, t: TokenLookup | undefined, cursor: string): VerifyResponse {
  const m = {
    $typeName: RESPONSE_TYPE,
    allowed: a.allowed,
    status: a.status,
    principal: reveals(t, a.status) ? principalOf(t) : undefined,
    permissions: a.permissions,
    role: a.role,
    expireTime: a.expireTime,
    cursor,
    cacheTtl: a.allowed ? CACHE_TTL : undefined,
    [kWire]: a.head === "" ? undefined : a.head + cursorField(cursor) + (a.allowed ? CACHE_TTL_FIELD : ""),
  };
  return m as VerifyResponse;
}

let lastCursor = "";
let lastCursorField = "";

/** Field 7 (cursor, a string) as protobuf writes it, for the cursor every call carries; memoized. */
function cursorField(cursor: string): string {
  if (cursor !== lastCursor) {
    lastCursorField = cursor === "" ? "" : latin1(toBinary(VerifyResponseSchema, create(VerifyResponseSchema, { cursor })));
    lastCursor = cursor;
  }
  return lastCursorField;
}

/**
 * Permission messages by content, frozen and shared by every answer that grants the same: most
 * tokens of a kind grant alike, and answers are kept per token. Bounded; starts over when full.
 */
const permissionMessages = new Map<string, TokenPermissions>();
const MAX_SHARED_PERMISSIONS = 4096;
/** Lookups share one frozen permissions object per distinct value (lookup-interning.ts): found by identity, no JSON per miss. */
const byFrozenPermissions = new WeakMap<Permissions, TokenPermissions>();

function sharedPermissions(p: Permissions): TokenPermissions {
  let m = byFrozenPermissions.get(p);
  if (m !== undefined) return m;
  const key = JSON.stringify(p);
  m = permissionMessages.get(key);
  if (m === undefined) {
    if (permissionMessages.size >= MAX_SHARED_PERMISSIONS) permissionMessages.clear();
    m = deepFreeze(permissionsToPb(p));
    permissionMessages.set(key, m);
  }
  // Only a frozen object is sure to keep meaning what it means now.
  if (Object.isFrozen(p)) byFrozenPermissions.set(p, m);
  return m;
}

/** The cache hint of every allowed answer, one frozen object shared by all of them, and its field's bytes. */
const CACHE_TTL = Object.freeze(durationFromMs(CACHE_TTL_MS));
const CACHE_TTL_FIELD = latin1(toBinary(VerifyResponseSchema, create(VerifyResponseSchema, { cacheTtl: CACHE_TTL })));
