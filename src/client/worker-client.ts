/**
 * The worker client: what an ingestion worker embeds to ask Tessera whether a credential may be
 * used, answering most requests from memory without ever accepting a revoked token.
 *
 *   import { createWorkerClient } from 'tessera/worker-client';
 *   const tessera = createWorkerClient({ address: 'tessera:50051', verifierToken: process.env.TESSERA_VERIFIER_TOKEN! });
 *   await tessera.ready();
 *   const d = await tessera.verify({ credential: req.headers.authorization ?? '', endpoint: EndpointClass.INGEST, bucket });
 *   if (!d.allowed) return reply(d.status === 'UNAVAILABLE' ? 503 : 401);
 *
 * How it stays correct (DESIGN.md §5):
 * - Answers are cached under a SHA-256 digest of the whole request (the credential is never a key).
 * - A background WatchRevocations stream evicts every answer about a token an event names; an
 *   ENABLED event also drops every cached refusal. PARENT_ACCESS_REVOKED (a sub-organization
 *   shut its parent's tokens out) and UPDATED (a new expiry, a bucket taken out of the token's
 *   permissions) only evict: the token still works, for less, and the next call asks the server. On disconnect it resumes from its last cursor
 *   (no flush: the server replays what was missed); OUT_OF_RANGE and INVALID_ARGUMENT flush the
 *   cache and restart from now; RESOURCE_EXHAUSTED resumes from the last cursor.
 * - The cache is served only while the stream is healthy: something (event or checkpoint) heard
 *   within `stalenessMs`, and, after a resume that followed a stale period, a checkpoint that
 *   proves the replay of missed events is complete. Otherwise every call goes to the server and
 *   nothing is cached; if the server cannot be reached the answer is `UNAVAILABLE` (fail closed).
 * - An answer is cached only if it cannot have been overtaken by an event: the server decided it
 *   at or after the position the client's stream has reached (compared by cursor), or, when the
 *   cursors are not comparable, no event arrived while the call was in flight.
 * - Allowed answers are served until their token's expiry (and the server's cache hint), refused
 *   ones at most `negativeTtlMs`; MALFORMED answers and RPC errors are never cached.
 * - An answer about a token's previous value (a rotation with a grace period) is served at most
 *   until that value's deadline, with or without the ROTATED event that announces it. A ROTATED
 *   event refuses (refuseOnEvent) only such answers, and only evicts the others: the token's
 *   current value may still be good, and the server is asked again.
 * - Concurrent lookups of the same request share one RPC.
 */
import * as crypto from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import type { EndpointClass, Role, Signal, TokenPermissions } from "../gen/tessera/v1/resources_pb.js";
import {
  RevocationReason,
  TokenVerifyService,
  VerifyStatus,
  type Principal,
  type VerifyResponse,
  type WatchRevocationsResponse,
} from "../gen/tessera/v1/token_verify_service_pb.js";
import { createGrpcClient, type GrpcClient } from "../wire/grpc-client.js";
import { deepFreeze } from "../domain/deep-freeze.js";
import { compareCursors } from "./cursor.js";
import { DecisionCache } from "./decision-cache.js";

// Role too: Decision.role is one, and the generated modules are not an entry of the package.
export { EndpointClass, Role, Signal } from "../gen/tessera/v1/resources_pb.js";
export { VerifyStatus, RevocationReason } from "../gen/tessera/v1/token_verify_service_pb.js";
export type { Principal } from "../gen/tessera/v1/token_verify_service_pb.js";
export type { TokenPermissions } from "../gen/tessera/v1/resources_pb.js";

export type WorkerLog = (event: string, fields?: Record<string, unknown>) => void;

export interface WorkerClientOptions {
  /** `host:port` of Tessera's gRPC port. Either this or `channel`. */
  address?: string;
  /**
   * An existing grpc-js channel, or a grpc-js client whose channel is reused. The worker client
   * does not close a channel it was given.
   */
  channel?: grpc.ChannelInterface | grpc.Client;
  /** Channel credentials when `address` is given; plaintext by default. */
  credentials?: grpc.ChannelCredentials;
  /** Extra grpc-js channel options when `address` is given. */
  channelOptions?: grpc.ChannelOptions;
  /** A VERIFIER (or operator) token; sent as `authorization: Bearer …` on every call. */
  verifierToken: string;
  /** Longest time without any message from the stream before the cache stops answering. 5000. */
  stalenessMs?: number;
  /** Bound on cached allowed answers. 100 000. */
  maxEntries?: number;
  /** Bound on cached refusals, kept apart so that bad credentials cannot push out good answers. maxEntries / 10. */
  maxNegativeEntries?: number;
  /** Longest time a refusal is cached; 0 disables caching refusals. 10 000. */
  negativeTtlMs?: number;
  /** Deadline of each Verify call. 2000. */
  verifyTimeoutMs?: number;
  /** Reconnect backoff of the revocation stream (exponential with jitter). 50 ms to 2 s. */
  reconnect?: { minMs?: number; maxMs?: number };
  /**
   * A stream that has been silent this long is cut and reopened (a half-open connection sends
   * no error). Defaults to max(3 × stalenessMs, 15 s).
   */
  idleStreamMs?: number;
  /**
   * When an event certainly ends a token (DISABLED, DELETED, EXPIRED, ORG_DISABLED), or ends the
   * previous value an answer is about (ROTATED), replace each evicted answer with a cached refusal
   * (for at most negativeTtlMs) instead of only evicting it, so the token is refused the moment the
   * event arrives, without a Verify round trip (and without a burst of them for a busy token). An
   * ENABLED event drops these refusals like any other. True by default.
   */
  refuseOnEvent?: boolean;
  /** The clock, epoch ms. Date.now by default. */
  now?: () => number;
  log?: WorkerLog;
}

export interface WorkerVerifyRequest {
  /** A bare token or an Authorization value (`Bearer t`, `Token t`, `Basic base64(org:t)`). */
  credential: string;
  /** Identifier of the organization the request is addressed to, when known. */
  organization?: string;
  endpoint: EndpointClass;
  bucket?: string;
  /** The telemetry signal the request carries (not an AbortSignal). */
  signal?: Signal;
}

export interface Decision {
  readonly allowed: boolean;
  /** The server's status, or 'UNAVAILABLE' when no trustworthy answer could be had (fail closed). */
  readonly status: VerifyStatus | "UNAVAILABLE";
  readonly principal?: Principal;
  readonly permissions?: TokenPermissions;
  readonly role?: Role;
  readonly expireTime?: Date;
  /**
   * Set when the credential is a token's previous value, accepted until `valueExpireTime` (a
   * rotation's grace period): a gateway may warn the sender to switch to the newer value.
   */
  readonly newerValueExists?: true;
  /** When this value stops being accepted because its token was rotated; unset for a current value. */
  readonly valueExpireTime?: Date;
  /** Whether the answer came from this client's cache. */
  readonly fromCache: boolean;
}

export interface WorkerClientStats {
  /** verify() calls answered from the cache. */
  hits: number;
  /** verify() calls not answered from the cache (including coalesced ones). */
  misses: number;
  /** Misses that joined an RPC already in flight for the same request. */
  coalesced: number;
  /** Verify RPCs sent. */
  rpcs: number;
  /** Misses that went to the server because the stream was not healthy (their answers are not cached). */
  uncachedStale: number;
  /** Answers not cached because an event may have overtaken them. */
  uncachedRaces: number;
  /** Decisions answered UNAVAILABLE. */
  unavailable: number;
  /** Entries evicted by events (and by ENABLED dropping refusals). */
  evictions: number;
  lruEvictions: number;
  expirations: number;
  /** Whole-cache flushes (OUT_OF_RANGE, INVALID_ARGUMENT). */
  flushes: number;
  /** Stream (re)subscriptions after the first. */
  reconnects: number;
  events: number;
  checkpoints: number;
  /** Last cursor received; "" before the first message or after a flush. */
  cursor: string;
  /** ms since the last message from the stream; Infinity if none yet. */
  lastHeardAgoMs: number;
  /** Whether cached answers may be served right now. */
  healthy: boolean;
  entries: number;
}

export interface WorkerClient {
  verify(request: WorkerVerifyRequest): Promise<Decision>;
  /** Resolves once the first message of the revocation stream arrived; rejects if closed first. */
  ready(): Promise<void>;
  stats(): WorkerClientStats;
  /** Stops the stream and closes the channel (unless it was given). */
  close(): Promise<void>;
}

const UNAVAILABLE: Decision = Object.freeze({ allowed: false, status: "UNAVAILABLE", fromCache: false });
const UNAVAILABLE_P = Promise.resolve(UNAVAILABLE);

interface Flight {
  readonly generation: number;
  promise: Promise<Decision>;
}

/** RPC failures that mean "no answer right now" rather than "you called it wrong". */
const TRANSIENT = new Set<Code>([Code.Unavailable, Code.DeadlineExceeded, Code.Canceled, Code.Aborted, Code.ResourceExhausted]);

// crypto.hash (Node ≥ 20.12) is a one-shot digest about twice as fast as createHash for short inputs.
const oneShot: typeof crypto.hash | undefined = crypto.hash;
const digest: (data: string) => string =
  typeof oneShot === "function"
    ? (data) => oneShot("sha256", data, "binary")
    : (data) => crypto.createHash("sha256").update(data).digest("binary");

/** Length-prefixed, so no two different requests share a key; the credential last. */
function cacheKey(r: WorkerVerifyRequest): string {
  const org = r.organization ?? "";
  const bucket = r.bucket ?? "";
  return digest(`${r.endpoint}|${r.signal ?? 0}|${org.length}|${org}|${bucket.length}|${bucket}|${r.credential}`);
}

/**
 * What the server answers for a credential whose token an event of this reason names, when the
 * event certainly ends it. OWNER_REMOVED is absent: a role change may only narrow a token; so are
 * PARENT_ACCESS_REVOKED and UPDATED, after which the token still works in its own organization or
 * for its other buckets, or until its new expiry.
 * ROTATED ends only the value a rotation replaced: at the end of a grace period the token's new
 * value stays good, and the event cannot say which value ended, so it refuses only answers known
 * to be about a previous value (endsOnlyPrevious); the rest are evicted and asked again.
 */
const REFUSED_BY: Partial<Record<RevocationReason, VerifyStatus>> = {
  [RevocationReason.DISABLED]: VerifyStatus.DISABLED,
  [RevocationReason.DELETED]: VerifyStatus.NOT_FOUND,
  [RevocationReason.ROTATED]: VerifyStatus.NOT_FOUND,
  [RevocationReason.EXPIRED]: VerifyStatus.EXPIRED,
  [RevocationReason.ORG_DISABLED]: VerifyStatus.ORGANIZATION_DISABLED,
};

/** A cached refusal standing in for an answer an event just ended. */
function refusal(old: Decision, status: VerifyStatus): Decision {
  const d: { -readonly [K in keyof Decision]: Decision[K] } = { allowed: false, status, fromCache: true };
  // NOT_FOUND reveals nothing about the token, exactly like the server's answer.
  if (status !== VerifyStatus.NOT_FOUND && old.principal !== undefined) d.principal = old.principal;
  return Object.freeze(d);
}

const timestampMs = (t: Timestamp): number => Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6);
const durationMs = (d: Duration): number => Number(d.seconds) * 1000 + Math.floor(d.nanos / 1e6);

/** Events after which only answers about a previous value are refused (see REFUSED_BY). */
const endsOnlyPrevious = (reason: RevocationReason): boolean => reason === RevocationReason.ROTATED;

function toDecision(r: VerifyResponse, fromCache: boolean): Decision {
  const d: { -readonly [K in keyof Decision]: Decision[K] } = { allowed: r.allowed, status: r.status, fromCache };
  if (r.principal !== undefined) d.principal = r.principal;
  if (r.permissions !== undefined) d.permissions = r.permissions;
  if (r.role !== undefined && r.role !== 0) d.role = r.role;
  if (r.expireTime !== undefined) d.expireTime = new Date(timestampMs(r.expireTime));
  if (r.newerValueExists) d.newerValueExists = true;
  if (r.valueExpireTime !== undefined) d.valueExpireTime = new Date(timestampMs(r.valueExpireTime));
  return fromCache ? deepFreeze(d) : d;
}

export function createWorkerClient(options: WorkerClientOptions): WorkerClient {
  return new TesseraWorkerClient(options);
}

class TesseraWorkerClient implements WorkerClient {
  readonly #client: GrpcClient<typeof TokenVerifyService>;
  readonly #ownsChannel: boolean;
  readonly #auth: Record<string, string>;
  readonly #now: () => number;
  readonly #log: WorkerLog;
  readonly #stalenessMs: number;
  readonly #negativeTtlMs: number;
  readonly #verifyTimeoutMs: number;
  readonly #minBackoff: number;
  readonly #maxBackoff: number;
  readonly #idleStreamMs: number;
  readonly #refuseOnEvent: boolean;
  readonly #cache: DecisionCache<Decision>;
  /** RPCs in flight by cache key, with the event generation they started in. */
  readonly #flights = new Map<string, Flight>();

  #cursor = "";
  #lastHeard = -Infinity;
  /** False while a resumed stream may still be replaying what was missed during a stale period. */
  #synced = false;
  #generation = 0;
  #closed = false;
  #stream: AbortController | undefined;
  #streamHeard = 0;
  #sleep: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  readonly #watchdog: NodeJS.Timeout;
  readonly #loop: Promise<void>;
  #ready: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void; settled: boolean };
  #n = {
    hits: 0,
    misses: 0,
    coalesced: 0,
    rpcs: 0,
    uncachedStale: 0,
    uncachedRaces: 0,
    unavailable: 0,
    flushes: 0,
    reconnects: 0,
    events: 0,
    checkpoints: 0,
  };

  constructor(o: WorkerClientOptions) {
    if (typeof o.verifierToken !== "string" || o.verifierToken === "") throw new TypeError("createWorkerClient: verifierToken is required");
    this.#now = o.now ?? Date.now;
    this.#log = o.log ?? (() => undefined);
    this.#stalenessMs = positive("stalenessMs", o.stalenessMs, 5000);
    this.#negativeTtlMs = nonNegative("negativeTtlMs", o.negativeTtlMs, 10_000);
    this.#verifyTimeoutMs = positive("verifyTimeoutMs", o.verifyTimeoutMs, 2000);
    this.#minBackoff = positive("reconnect.minMs", o.reconnect?.minMs, 50);
    this.#maxBackoff = Math.max(this.#minBackoff, positive("reconnect.maxMs", o.reconnect?.maxMs, 2000));
    this.#idleStreamMs = positive("idleStreamMs", o.idleStreamMs, Math.max(3 * this.#stalenessMs, 15_000));
    this.#refuseOnEvent = o.refuseOnEvent ?? true;
    const maxEntries = positive("maxEntries", o.maxEntries, 100_000);
    this.#cache = new DecisionCache(
      maxEntries,
      nonNegative("maxNegativeEntries", o.maxNegativeEntries, Math.max(1, Math.floor(maxEntries / 10))),
    );
    const token = o.verifierToken.replace(/^Bearer\s+/i, "");
    this.#auth = { authorization: `Bearer ${token}` };

    if (o.channel !== undefined) {
      const channel = o.channel instanceof grpc.Client ? o.channel.getChannel() : o.channel;
      this.#client = createGrpcClient(TokenVerifyService, channel.getTarget(), {
        ...(o.credentials && { credentials: o.credentials }),
        channelOptions: { channelOverride: channel },
      });
      this.#ownsChannel = false;
    } else if (o.address !== undefined && o.address !== "") {
      this.#client = createGrpcClient(TokenVerifyService, o.address, {
        ...(o.credentials && { credentials: o.credentials }),
        channelOptions: {
          // Come back quickly when the server does: the stream's own backoff is the policy.
          "grpc.initial_reconnect_backoff_ms": this.#minBackoff,
          "grpc.max_reconnect_backoff_ms": this.#maxBackoff,
          ...o.channelOptions,
        },
      });
      this.#ownsChannel = true;
    } else {
      throw new TypeError("createWorkerClient: give an address (host:port) or a grpc-js channel");
    }

    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    promise.catch(() => undefined); // nobody has to ask
    this.#ready = { promise, resolve, reject, settled: false };

    this.#watchdog = setInterval(() => this.#checkIdle(), Math.max(50, Math.min(1000, Math.floor(this.#stalenessMs / 2))));
    this.#watchdog.unref();
    this.#loop = this.#run().catch((err: unknown) => {
      // Not expected; without its stream the client stays unhealthy and asks the server every time.
      this.#log("tessera_watch_crashed", { error: String(err) });
    });
  }

  // ---- verify -------------------------------------------------------------------------------

  verify(request: WorkerVerifyRequest): Promise<Decision> {
    const key = cacheKey(request);
    const t = this.#now();
    const healthy = this.#synced && t - this.#lastHeard <= this.#stalenessMs;
    if (healthy) {
      const e = this.#cache.get(key, t);
      if (e !== undefined) {
        this.#n.hits++;
        return e.hit;
      }
    }
    this.#n.misses++;
    const inFlight = this.#flights.get(key);
    // Join an RPC only if no event arrived since it was sent: a caller who comes after a
    // revocation was applied must not be handed an answer that may predate it.
    if (inFlight !== undefined && inFlight.generation === this.#generation) {
      this.#n.coalesced++;
      return inFlight.promise;
    }
    if (this.#closed) {
      this.#n.unavailable++;
      return UNAVAILABLE_P;
    }
    const flight: Flight = { generation: this.#generation, promise: UNAVAILABLE_P };
    this.#flights.set(key, flight);
    flight.promise = this.#ask(key, request, healthy, flight);
    return flight.promise;
  }

  #healthy(t: number): boolean {
    return this.#synced && t - this.#lastHeard <= this.#stalenessMs;
  }

  async #ask(key: string, request: WorkerVerifyRequest, startedHealthy: boolean, flight: Flight): Promise<Decision> {
    const generation = flight.generation;
    try {
      let response: VerifyResponse;
      this.#n.rpcs++;
      try {
        response = await this.#client.verify(
          {
            credential: request.credential,
            organization: request.organization ?? "",
            endpoint: request.endpoint,
            bucket: request.bucket ?? "",
            ...(request.signal !== undefined && { signal: request.signal }),
          },
          { metadata: this.#auth, deadline: Date.now() + this.#verifyTimeoutMs },
        );
      } catch (err) {
        const e = ConnectError.from(err);
        if (TRANSIENT.has(e.code)) {
          this.#n.unavailable++;
          this.#log("tessera_verify_unavailable", { code: Code[e.code], error: e.rawMessage });
          return UNAVAILABLE;
        }
        throw e;
      }
      const t = this.#now();
      if (!startedHealthy || !this.#healthy(t)) {
        this.#n.uncachedStale++;
      } else if (!this.#overtakenSafe(response, generation)) {
        this.#n.uncachedRaces++;
      } else {
        this.#store(key, response, t);
      }
      return toDecision(response, false);
    } finally {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    }
  }

  /** Whether no event the client has applied (or is applying) can postdate this answer. */
  #overtakenSafe(r: VerifyResponse, generation: number): boolean {
    if (this.#closed) return false;
    const c = r.cursor === "" ? undefined : compareCursors(r.cursor, this.#cursor);
    if (c !== undefined) return c >= 0;
    return this.#generation === generation;
  }

  #store(key: string, r: VerifyResponse, t: number): void {
    if (r.status === VerifyStatus.MALFORMED || r.status === VerifyStatus.UNSPECIFIED) return;
    const tokenId = r.principal?.tokenId || undefined;
    let validUntil: number;
    if (r.allowed) {
      // An allowed answer must be evictable by an event about its token.
      if (tokenId === undefined) return;
      validUntil = Infinity;
      if (r.expireTime !== undefined) validUntil = timestampMs(r.expireTime);
      // A previous value stops at its deadline whether or not the ROTATED event gets here first.
      if (r.valueExpireTime !== undefined) validUntil = Math.min(validUntil, timestampMs(r.valueExpireTime));
      if (r.cacheTtl !== undefined) {
        const ttl = durationMs(r.cacheTtl);
        if (ttl > 0) validUntil = Math.min(validUntil, t + ttl);
      }
    } else {
      if (this.#negativeTtlMs === 0) return;
      validUntil = t + this.#negativeTtlMs;
    }
    if (validUntil <= t) return;
    const previousValue = r.newerValueExists || r.valueExpireTime !== undefined;
    this.#cache.set({ key, tokenId, negative: !r.allowed, previousValue, validUntil, hit: Promise.resolve(toDecision(r, true)) });
  }

  // ---- revocation stream --------------------------------------------------------------------

  async #run(): Promise<void> {
    let attempt = 0;
    let first = true;
    while (!this.#closed) {
      if (!first) this.#n.reconnects++;
      first = false;
      const from = this.#cursor;
      const ac = new AbortController();
      this.#stream = ac;
      this.#streamHeard = this.#now();
      let firstMessage = true;
      try {
        const stream = this.#client.watchRevocations({ afterCursor: from }, { metadata: this.#auth, signal: ac.signal });
        for await (const message of stream) {
          if (this.#closed) break;
          this.#onMessage(message, from, firstMessage);
          firstMessage = false;
          attempt = 0;
        }
        if (!this.#closed && !ac.signal.aborted) this.#log("tessera_watch_ended", { cursor: this.#cursor });
      } catch (err) {
        if (this.#closed) break;
        const e = ConnectError.from(err);
        if (e.code === Code.OutOfRange || e.code === Code.InvalidArgument) {
          const dropped = this.#flush();
          this.#log("tessera_watch_flushed", { code: Code[e.code], error: e.rawMessage, dropped });
        } else if (ac.signal.aborted) {
          this.#log("tessera_watch_idle", { idleMs: this.#now() - this.#streamHeard });
        } else {
          this.#log("tessera_watch_failed", { code: Code[e.code], error: e.rawMessage, cursor: this.#cursor });
        }
      } finally {
        this.#stream = undefined;
      }
      if (this.#closed) break;
      const base = Math.min(this.#maxBackoff, this.#minBackoff * 2 ** Math.min(attempt, 30));
      attempt++;
      await this.#pause(base / 2 + Math.random() * (base / 2));
    }
  }

  #onMessage(message: WatchRevocationsResponse, from: string, firstMessage: boolean): void {
    const t = this.#now();
    const item = message.item;
    if (firstMessage) {
      if (from === "") {
        // Started from now over an empty (new or flushed) cache: nothing can have been missed.
        this.#synced = true;
      } else if (t - this.#lastHeard > this.#stalenessMs) {
        // Resumed after a stale period: what was missed is being replayed; serve nothing from the
        // cache until a checkpoint says the replay is complete.
        this.#synced = false;
      }
    } else if (item.case === "checkpoint") {
      this.#synced = true;
    }
    if (item.case === "event") {
      const ev = item.value;
      this.#generation++;
      this.#n.events++;
      if (ev.tokenId !== "") {
        const status = this.#refuseOnEvent ? REFUSED_BY[ev.reason] : undefined;
        const onlyPrevious = endsOnlyPrevious(ev.reason);
        this.#cache.evictToken(
          ev.tokenId,
          status === undefined || this.#negativeTtlMs === 0
            ? undefined
            : (old) =>
                onlyPrevious && !old.previousValue
                  ? undefined
                  : {
                      key: old.key,
                      tokenId: old.tokenId,
                      negative: true,
                      previousValue: old.previousValue,
                      validUntil: t + this.#negativeTtlMs,
                      hit: old.hit.then((d) => refusal(d, status)),
                    },
        );
      }
      if (ev.reason === RevocationReason.ENABLED) this.#cache.dropNegatives();
      if (ev.cursor !== "") this.#cursor = ev.cursor;
    } else if (item.case === "checkpoint") {
      this.#n.checkpoints++;
      if (item.value.cursor !== "") this.#cursor = item.value.cursor;
    }
    this.#lastHeard = t;
    this.#streamHeard = t;
    if (!this.#ready.settled) {
      this.#ready.settled = true;
      this.#ready.resolve();
    }
  }

  #flush(): number {
    this.#n.flushes++;
    this.#generation++;
    this.#cursor = "";
    this.#synced = false;
    return this.#cache.clear();
  }

  #checkIdle(): void {
    if (this.#stream !== undefined && this.#now() - this.#streamHeard > this.#idleStreamMs) this.#stream.abort();
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#sleep = undefined;
        resolve();
      }, ms);
      this.#sleep = { timer, resolve };
    });
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  ready(): Promise<void> {
    return this.#ready.promise;
  }

  stats(): WorkerClientStats {
    const t = this.#now();
    const c = this.#cache.counters;
    return {
      ...this.#n,
      evictions: c.evictions,
      lruEvictions: c.lruEvictions,
      expirations: c.expirations,
      cursor: this.#cursor,
      lastHeardAgoMs: t - this.#lastHeard,
      healthy: this.#healthy(t),
      entries: this.#cache.size,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return this.#loop;
    this.#closed = true;
    clearInterval(this.#watchdog);
    this.#stream?.abort();
    if (this.#sleep !== undefined) {
      clearTimeout(this.#sleep.timer);
      this.#sleep.resolve();
    }
    if (!this.#ready.settled) {
      this.#ready.settled = true;
      this.#ready.reject(new Error("the worker client was closed before the revocation stream answered"));
    }
    await this.#loop;
    this.#cache.clear();
    if (this.#ownsChannel) this.#client.close();
  }
}

function positive(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`createWorkerClient: ${name} must be a positive number`);
  return v;
}

function nonNegative(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`createWorkerClient: ${name} must be zero or more`);
  return v;
}
