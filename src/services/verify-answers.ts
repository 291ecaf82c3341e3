/**
 * Verify's memoized answers: one instance per Verify service (createVerifyAnswers), so two
 * Tessera instances in one process share nothing.
 *
 * A decided answer, per cached lookup object (identity: a refill or an eviction makes a new one,
 * so the feed invalidates these with the cache) and question. Caches hold one per token by the
 * million, so an answer keeps only what the lookup does not already hold: the decision, its
 * shared permission and expiry parts, and the binary encoding of fields 1-6 (`head`, a latin1
 * string). Each call gets a small fresh message (principal included, from the lookup) with the
 * current cursor, whose encoding is head + cursor field + cache hint field: the exact bytes
 * toBinary would write. No re-encoding when the cursor moves (it moves with every write anywhere
 * in the database), and no writes into old answers, which would make the garbage collector's work
 * grow with the cache.
 *
 * An answer about a token's previous value (a rotation's grace period) also carries fields 9 and
 * 10, "a newer value exists" and the value's deadline. Both follow from the lookup, so the answer
 * does not hold them: they are appended per call, from a table keyed by the lookup's deadline.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { Role, type TokenPermissions } from "../gen/tessera/v1/resources_pb.js";
import {
  PrincipalSchema,
  type Principal,
  VerifyResponseSchema,
  VerifyStatus,
  type VerifyResponse,
} from "../gen/tessera/v1/token_verify_service_pb.js";
import { deepFreeze } from "../domain/deep-freeze.js";
import { effectivePermissions, type Decision, type VerifyStatusName } from "../domain/decide.js";
import type { Permissions, TokenLookup } from "../domain/model.js";
import { KIND_TO_PB, ROLE_TO_PB, permissionsToPb } from "./convert.js";
import { kWireEncoding } from "../wire/wire-encoding.js";

/** How long a cache following WatchRevocations may keep an answer. */
const CACHE_TTL_MS = 60_000;
const MAX_MEMOS_PER_LOOKUP = 16;
const MAX_MEMO_KEY = 512;
/** Permission messages shared at most; the table starts over when full. */
const MAX_SHARED_PERMISSIONS = 4096;

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

export interface VerifyAnswers {
  /** The memoized answer of lookup `t` (undefined: no such token) to question `q`. */
  find(t: TokenLookup | undefined, q: string): Answer | undefined;
  /**
   * The answer for decision `d`, memoized for `t` and `q` when `memoize` (decided before the
   * token's expiry, so it holds for any earlier time too).
   */
  answer(t: TokenLookup | undefined, d: Decision, q: string, notAfter: number, touched: number, memoize: boolean): Answer;
  /** The response for an answer with the current cursor, and (once memoized) its encoding. */
  message(a: Answer, t: TokenLookup | undefined, cursor: string): VerifyResponse;
}

export function createVerifyAnswers(): VerifyAnswers {
  /** Per cached lookup object: most are asked one question (their endpoint), then the answer itself, else a short list. */
  const answers = new WeakMap<object, Answer | Answer[]>();
  /** Stands for "no such token" (the lookup's undefined), whose answer depends on nothing else. */
  const NONE = {};
  /**
   * Permission messages by content, frozen and shared by every answer that grants the same: most
   * tokens of a kind grant alike, and answers are kept per token.
   */
  const permissionMessages = new Map<string, TokenPermissions>();
  /** Lookups share one frozen permissions object per distinct value (lookup-interning.ts): found by identity, no JSON per miss. */
  const byFrozenPermissions = new WeakMap<Permissions, TokenPermissions>();
  /** A previous value's deadline as fields 9 and 10 take it, and their encoding: per lookup (its Date), made once. */
  const previousFields = new WeakMap<Date, { time: Timestamp; wire: string }>();
  /** Field 7 (cursor) as protobuf writes it, for the cursor every call carries; memoized. */
  let lastCursor = "";
  let lastCursorField = "";

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

  function previousOf(until: Date): { time: Timestamp; wire: string } {
    let p = previousFields.get(until);
    if (p === undefined) {
      const time = Object.freeze(timestampFromDate(until));
      const wire = latin1(toBinary(VerifyResponseSchema, create(VerifyResponseSchema, { newerValueExists: true, valueExpireTime: time })));
      p = { time, wire };
      previousFields.set(until, p);
    }
    return p;
  }

  function cursorField(cursor: string): string {
    if (cursor !== lastCursor) {
      lastCursorField = cursor === "" ? "" : latin1(toBinary(VerifyResponseSchema, create(VerifyResponseSchema, { cursor })));
      lastCursor = cursor;
    }
    return lastCursorField;
  }

  /**
   * The message for an answer with the current cursor, and (once memoized) its encoding. Literals,
   * not create(): with a million cached tokens, per-call messages made by create() went with
   * young-generation pauses that grew through the run; with literals they
   * stay flat. The likely cause is V8 pretenuring create()'s allocations once enough of them
   * survive, which puts short-lived copies in the old generation. Tests check both field lists
   * against the schema.
   */
  function message(a: Answer, t: TokenLookup | undefined, cursor: string): VerifyResponse {
    const reveal = reveals(t, a.status);
    const previous = reveal && t.previousUntil !== null ? previousOf(t.previousUntil) : undefined;
    const m = {
      $typeName: RESPONSE_TYPE,
      allowed: a.allowed,
      status: a.status,
      principal: reveal ? principalOf(t) : undefined,
      permissions: a.permissions,
      role: a.role,
      expireTime: a.expireTime,
      cursor,
      cacheTtl: a.allowed ? CACHE_TTL : undefined,
      newerValueExists: previous !== undefined,
      valueExpireTime: previous?.time,
      [kWireEncoding]:
        a.head === "" ? undefined : a.head + cursorField(cursor) + (a.allowed ? CACHE_TTL_FIELD : "") + (previous?.wire ?? ""),
    };
    return m as VerifyResponse;
  }

  return {
    find(t, q) {
      const memos = answers.get(t ?? NONE);
      if (memos === undefined) return undefined;
      if (!Array.isArray(memos)) return memos.q === q ? memos : undefined;
      for (const m of memos) if (m.q === q) return m;
      return undefined;
    },
    answer(t, d, q, notAfter, touched, memoize) {
      const status = STATUS[d.status];
      const reveal = reveals(t, status);
      const a: Answer = {
        q,
        notAfter,
        allowed: d.allowed,
        status,
        role: d.role ? ROLE_TO_PB[d.role] : Role.UNSPECIFIED,
        permissions: reveal && d.allowed ? sharedPermissions(effectivePermissions(t, d.role)) : undefined,
        expireTime: reveal && t.expiresAt ? Object.freeze(timestampFromDate(t.expiresAt)) : undefined,
        head: "",
        touched,
      };
      if (memoize && q.length <= MAX_MEMO_KEY) {
        a.head = latin1(
          toBinary(VerifyResponseSchema, {
            ...message(a, t, ""),
            cacheTtl: undefined,
            newerValueExists: false,
            valueExpireTime: undefined,
          }),
        );
        const key = t ?? NONE;
        const memos = answers.get(key);
        if (memos === undefined) answers.set(key, a);
        else if (!Array.isArray(memos)) answers.set(key, [memos, a]);
        else if (memos.length < MAX_MEMOS_PER_LOOKUP) memos.push(a);
      }
      return a;
    },
    message,
  };
}

const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");

/** Whether an answer names the token: one that exists elsewhere must look exactly like one that does not exist at all. */
function reveals(t: TokenLookup | undefined, status: VerifyStatus): t is TokenLookup {
  return t !== undefined && status !== VerifyStatus.NOT_FOUND;
}

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

/** The cache hint of every allowed answer, one frozen object shared by all of them, and its field's bytes. */
const CACHE_TTL = Object.freeze(durationFromMs(CACHE_TTL_MS));
const CACHE_TTL_FIELD = latin1(toBinary(VerifyResponseSchema, create(VerifyResponseSchema, { cacheTtl: CACHE_TTL })));
