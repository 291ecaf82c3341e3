/**
 * The worker client against a scripted server: the stream and Verify behaviours a real server
 * cannot be made to produce on demand, each checked exactly.
 */
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError } from "@connectrpc/connect";
import { EndpointClass, Signal } from "../../src/gen/tessera/v1/resources_pb.js";
import { RevocationReason, VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { createWorkerClient, type WorkerClient, type WorkerClientOptions } from "../../src/client/worker-client.js";
import { allowed, cursorAt, refused, startScriptedServer, type ScriptedServer, type VerifyInit } from "./scripted-server.js";
import { eventually, manualClock, sleep } from "./util.js";

const ingest = (credential: string, extra: { bucket?: string; signal?: Signal; organization?: string } = {}) => ({
  credential,
  endpoint: EndpointClass.INGEST,
  ...extra,
});

describe("the worker client against a scripted server", () => {
  let server: ScriptedServer;
  const workers: WorkerClient[] = [];
  const logs: string[] = [];

  function worker(opts: Partial<WorkerClientOptions> = {}): WorkerClient {
    const w = createWorkerClient({
      address: server.address,
      verifierToken: "verifier-secret",
      log: (event, fields) => logs.push(JSON.stringify({ event, ...fields })),
      ...opts,
    });
    workers.push(w);
    return w;
  }

  beforeEach(async () => {
    server = await startScriptedServer();
    logs.length = 0;
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.close();
    await server.close();
  });

  it("sends the verifier token as a Bearer authorization on Verify and on WatchRevocations", async () => {
    const w = worker();
    await w.ready();
    await w.verify(ingest("tok-1"));
    assert.equal(server.watches[0]!.authorization, "Bearer verifier-secret");
    assert.equal(server.verifies[0]!.authorization, "Bearer verifier-secret");
  });

  it("subscribes from now with an empty cursor and becomes ready on the first checkpoint", async () => {
    const w = worker();
    await w.ready();
    assert.equal(server.watches[0]!.afterCursor, "");
    assert.equal(w.stats().cursor, cursorAt(0));
    assert.equal(w.stats().healthy, true);
  });

  it("answers a repeated request from its cache and a different request from the server", async () => {
    const w = worker();
    await w.ready();
    const a = await w.verify(ingest("tok-1", { bucket: "b1" }));
    const b = await w.verify(ingest("tok-1", { bucket: "b1" }));
    const c = await w.verify(ingest("tok-1", { bucket: "b2" }));
    const d = await w.verify(ingest("tok-1", { bucket: "b1", signal: Signal.LOGS }));
    assert.deepEqual([a.fromCache, b.fromCache, c.fromCache, d.fromCache], [false, true, false, false]);
    assert.equal(b.allowed, true);
    assert.equal(b.principal?.tokenId, "t1");
    assert.equal(server.verifies.length, 3);
    assert.equal(w.stats().hits, 1);
    assert.equal(w.stats().misses, 3);
  });

  it("never keeps the raw credential as a cache key", async () => {
    // Not observable through the API; the key digest must at least not be the credential itself,
    // and two requests differing only in where a separator would fall must not collide.
    const w = worker();
    await w.ready();
    await w.verify({ credential: "x", organization: "a|b", endpoint: EndpointClass.INGEST });
    const r = await w.verify({ credential: "b|x", organization: "a", endpoint: EndpointClass.INGEST });
    assert.equal(r.fromCache, false);
  });

  it("coalesces concurrent lookups of one request into a single RPC", async () => {
    const w = worker();
    await w.ready();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    server.onVerify = async () => {
      await gate;
      return allowed("t1");
    };
    const all = Array.from({ length: 50 }, () => w.verify(ingest("tok-1")));
    await eventually(() => server.verifies.length === 1, undefined, "the RPC");
    release();
    const results = await Promise.all(all);
    assert.equal(server.verifies.length, 1);
    assert.ok(results.every((r) => r.allowed && !r.fromCache));
    assert.equal(w.stats().coalesced, 49);
    assert.equal((await w.verify(ingest("tok-1"))).fromCache, true);
  });

  it("evicts every cached answer about a token when an event names it, and only those", async () => {
    const w = worker({ refuseOnEvent: false });
    await w.ready();
    server.onVerify = (req) => allowed(req.credential === "tok-2" ? "t2" : "t1");
    await w.verify(ingest("tok-1", { bucket: "b1" }));
    await w.verify(ingest("tok-1", { bucket: "b2" }));
    await w.verify(ingest("tok-2"));
    assert.equal(w.stats().entries, 3);
    server.watches[0]!.event("t1", cursorAt(1));
    await eventually(() => w.stats().events === 1, undefined, "the event");
    assert.equal(w.stats().entries, 1);
    assert.equal(w.stats().evictions, 2);
    assert.equal(w.stats().cursor, cursorAt(1));
    server.onVerify = () => refused(VerifyStatus.DISABLED, "t1");
    const r = await w.verify(ingest("tok-1", { bucket: "b1" }));
    assert.equal(r.allowed, false);
    assert.equal(r.status, VerifyStatus.DISABLED);
    assert.equal((await w.verify(ingest("tok-2"))).fromCache, true);
  });

  it("puts a refusal in place of every answer about a token the moment a revoking event arrives, without an RPC", async () => {
    const w = worker();
    await w.ready();
    server.onVerify = (req) => allowed(req.credential === "tok-2" ? "t2" : "t1");
    await w.verify(ingest("tok-1", { bucket: "b1" }));
    await w.verify(ingest("tok-1", { bucket: "b2" }));
    await w.verify(ingest("tok-2"));
    const rpcs = w.stats().rpcs;
    server.watches[0]!.event("t1", cursorAt(1), RevocationReason.DISABLED);
    await eventually(() => w.stats().events === 1, undefined, "the event");
    for (const bucket of ["b1", "b2"]) {
      const d = await w.verify(ingest("tok-1", { bucket }));
      assert.deepEqual([d.allowed, d.status, d.fromCache, d.principal?.tokenId], [false, VerifyStatus.DISABLED, true, "t1"]);
    }
    assert.equal(w.stats().rpcs, rpcs);
    assert.equal((await w.verify(ingest("tok-2"))).allowed, true);
    // Re-enabled: the refusals go with every other cached refusal.
    server.watches[0]!.event("t1", cursorAt(2), RevocationReason.ENABLED);
    await eventually(() => w.stats().events === 2, undefined, "the event");
    assert.equal((await w.verify(ingest("tok-1", { bucket: "b1" }))).allowed, true);
    assert.equal(w.stats().rpcs, rpcs + 1);
  });

  for (const [reason, status] of [
    [RevocationReason.DELETED, VerifyStatus.NOT_FOUND],
    [RevocationReason.EXPIRED, VerifyStatus.EXPIRED],
    [RevocationReason.ORG_DISABLED, VerifyStatus.ORGANIZATION_DISABLED],
  ] as const) {
    it(`answers ${VerifyStatus[status]} from its cache after a ${RevocationReason[reason]} event`, async () => {
      const w = worker();
      await w.ready();
      await w.verify(ingest("tok-1"));
      server.watches[0]!.event("t1", cursorAt(1), reason);
      await eventually(() => w.stats().events === 1, undefined, "the event");
      const d = await w.verify(ingest("tok-1"));
      assert.deepEqual([d.allowed, d.status, d.fromCache], [false, status, true]);
      if (status === VerifyStatus.NOT_FOUND) assert.equal(d.principal, undefined, "NOT_FOUND must not name the token");
    });
  }

  /** An allowed answer about a token's previous value, accepted until `untilMs` (a rotation's grace period). */
  const previousValue = (tokenId: string, untilMs: number): VerifyInit =>
    allowed(tokenId, {
      newerValueExists: true,
      valueExpireTime: { seconds: BigInt(Math.floor(untilMs / 1000)), nanos: (untilMs % 1000) * 1_000_000 },
    });

  it("says when a credential is a rotated token's previous value, and until when", async () => {
    const w = worker();
    await w.ready();
    const until = Date.now() + 60_000;
    server.onVerify = (req) => (req.credential === "tok-old" ? previousValue("t1", until) : allowed("t1"));
    for (const fromCache of [false, true]) {
      const old = await w.verify(ingest("tok-old"));
      assert.deepEqual([old.allowed, old.fromCache, old.newerValueExists, old.valueExpireTime?.getTime()], [true, fromCache, true, until]);
      const fresh = await w.verify(ingest("tok-new"));
      assert.deepEqual(
        [fresh.allowed, fresh.fromCache, fresh.newerValueExists, fresh.valueExpireTime],
        [true, fromCache, undefined, undefined],
      );
    }
  });

  it("serves an answer about a previous value only until its deadline, though no event came", async () => {
    const clock = manualClock();
    const w = worker({ now: clock.now, stalenessMs: 60_000 });
    await w.ready();
    server.onVerify = (req) => (req.credential === "tok-old" ? previousValue("t1", clock.now() + 1000) : allowed("t1"));
    await w.verify(ingest("tok-old"));
    await w.verify(ingest("tok-new"));
    clock.advance(999);
    assert.equal((await w.verify(ingest("tok-old"))).fromCache, true, "before the deadline");
    const rpcs = w.stats().rpcs;
    clock.advance(1);
    server.onVerify = () => refused(VerifyStatus.NOT_FOUND);
    const d = await w.verify(ingest("tok-old"));
    assert.deepEqual([d.allowed, d.status, d.fromCache], [false, VerifyStatus.NOT_FOUND, false], "at the deadline: asked again");
    assert.equal(w.stats().rpcs, rpcs + 1);
    assert.equal(w.stats().events, 0, "no event was needed");
    const fresh = await w.verify(ingest("tok-new"));
    assert.deepEqual([fresh.allowed, fresh.fromCache], [true, true], "the current value's answer is kept");
  });

  it("on a ROTATED event refuses a cached answer about the previous value without an RPC, and only evicts one about the current value", async () => {
    const w = worker();
    await w.ready();
    server.onVerify = (req) => (req.credential === "tok-old" ? previousValue("t1", Date.now() + 60_000) : allowed("t1"));
    await w.verify(ingest("tok-old"));
    await w.verify(ingest("tok-new"));
    const rpcs = w.stats().rpcs;
    server.watches[0]!.event("t1", cursorAt(1), RevocationReason.ROTATED);
    await eventually(() => w.stats().events === 1, undefined, "the event");
    const old = await w.verify(ingest("tok-old"));
    assert.deepEqual([old.allowed, old.status, old.fromCache, old.principal], [false, VerifyStatus.NOT_FOUND, true, undefined]);
    assert.equal(w.stats().rpcs, rpcs, "refused from the cache");
    // The rotation that ended the old value (the end of a grace period) leaves the current one good.
    const fresh = await w.verify(ingest("tok-new"));
    assert.deepEqual([fresh.allowed, fresh.status, fresh.fromCache], [true, VerifyStatus.VALID, false], "asked again, not refused");
    assert.equal(w.stats().rpcs, rpcs + 1);
  });

  it("only evicts on OWNER_REMOVED: a role change may leave the token valid with narrower permissions", async () => {
    const w = worker();
    await w.ready();
    await w.verify(ingest("tok-1"));
    server.watches[0]!.event("t1", cursorAt(1), RevocationReason.OWNER_REMOVED);
    await eventually(() => w.stats().events === 1, undefined, "the event");
    assert.equal(w.stats().entries, 0);
    const d = await w.verify(ingest("tok-1"));
    assert.equal(d.fromCache, false);
    assert.equal(d.allowed, true);
  });

  it("does not let a caller who arrives after an event join an RPC sent before it", async () => {
    const w = worker();
    await w.ready();
    const gates: Array<() => void> = [];
    server.onVerify = () => new Promise<VerifyInit>((r) => gates.push(() => r(allowed("t1"))));
    const early = w.verify(ingest("tok-1"));
    await eventually(() => server.verifies.length === 1, undefined, "the first RPC");
    const joined = w.verify(ingest("tok-1"));
    assert.equal(w.stats().coalesced, 1);
    server.watches[0]!.event("t-other", cursorAt(1));
    await eventually(() => w.stats().events === 1, undefined, "the event");
    const late = w.verify(ingest("tok-1"));
    await eventually(() => server.verifies.length === 2, undefined, "a second RPC");
    for (const g of gates) g();
    await Promise.all([early, joined, late]);
    assert.equal(w.stats().coalesced, 1);
    // The late RPC's answer was decided after the event and may be cached; the early one not.
    assert.equal((await w.verify(ingest("tok-1"))).fromCache, true);
  });

  it("caches refusals for at most negativeTtlMs, and drops them all on an ENABLED event", async () => {
    const clock = manualClock();
    const w = worker({ now: clock.now, negativeTtlMs: 1000 });
    await w.ready();
    server.onVerify = () => refused(VerifyStatus.DISABLED, "t9");
    await w.verify(ingest("tok-9"));
    assert.equal((await w.verify(ingest("tok-9"))).fromCache, true);
    clock.advance(1000);
    const heard = w.stats().checkpoints;
    server.watches[0]!.checkpoint(cursorAt(0)); // the stream heard from at the new time, as it would be
    await eventually(() => w.stats().checkpoints > heard, undefined, "the checkpoint");
    assert.equal((await w.verify(ingest("tok-9"))).fromCache, false, "refusal served after its TTL");
    // An ENABLED event for any token drops every refusal, including ones without a token id.
    server.onVerify = () => refused(VerifyStatus.NOT_FOUND);
    await w.verify(ingest("tok-unknown"));
    assert.equal((await w.verify(ingest("tok-unknown"))).fromCache, true);
    server.watches[0]!.event("t-other", cursorAt(1), RevocationReason.ENABLED);
    await eventually(() => w.stats().events === 1, undefined, "the event");
    assert.equal(w.stats().entries, 0);
    assert.equal((await w.verify(ingest("tok-unknown"))).fromCache, false);
  });

  it("never caches MALFORMED answers, and turns RPC errors into thrown errors without caching them", async () => {
    const w = worker();
    await w.ready();
    server.onVerify = () => refused(VerifyStatus.MALFORMED);
    await w.verify(ingest("garbage"));
    await w.verify(ingest("garbage"));
    assert.equal(server.verifies.length, 2);
    server.onVerify = () => {
      throw { code: grpc.status.PERMISSION_DENIED, message: "a READ_WRITE token cannot call the verify API" };
    };
    await assert.rejects(w.verify(ingest("tok-1")), (e: unknown) => e instanceof ConnectError && e.code === Code.PermissionDenied);
    server.onVerify = () => {
      throw { code: grpc.status.UNAUTHENTICATED, message: "bad verifier" };
    };
    await assert.rejects(w.verify(ingest("tok-1")), (e: unknown) => e instanceof ConnectError && e.code === Code.Unauthenticated);
    assert.equal(w.stats().entries, 0);
  });

  it("answers UNAVAILABLE, never an error, when Verify fails with UNAVAILABLE or its deadline passes", async () => {
    const w = worker({ verifyTimeoutMs: 100 });
    await w.ready();
    server.onVerify = () => {
      throw { code: grpc.status.UNAVAILABLE, message: "database down" };
    };
    assert.deepEqual(await w.verify(ingest("tok-1")), { allowed: false, status: "UNAVAILABLE", fromCache: false });
    server.onVerify = () => new Promise<VerifyInit>(() => undefined);
    const r = await w.verify(ingest("tok-2"));
    assert.equal(r.status, "UNAVAILABLE");
    assert.equal(w.stats().unavailable, 2);
  });

  it("does not cache an answer when an event arrived while its RPC was in flight", async () => {
    const w = worker();
    await w.ready();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    server.onVerify = async () => {
      await gate;
      return allowed("t1");
    };
    const pending = w.verify(ingest("tok-1"));
    await eventually(() => server.verifies.length === 1, undefined, "the RPC");
    server.watches[0]!.event("t1", cursorAt(1));
    await eventually(() => w.stats().events === 1, undefined, "the event");
    release();
    const r = await pending;
    assert.equal(r.allowed, true, "the answer itself is returned");
    assert.equal(w.stats().uncachedRaces, 1);
    assert.equal(w.stats().entries, 0);
    server.onVerify = () => refused(VerifyStatus.DISABLED, "t1");
    assert.equal((await w.verify(ingest("tok-1"))).status, VerifyStatus.DISABLED);
  });

  it("compares cursors: an answer decided before the stream's position is not cached, one at or after it is", async () => {
    const w = worker();
    await w.ready();
    server.watches[0]!.event("t-other", cursorAt(5));
    await eventually(() => w.stats().cursor === cursorAt(5), undefined, "the event");
    server.onVerify = () => allowed("t1", { cursor: cursorAt(4) });
    await w.verify(ingest("tok-1"));
    assert.equal(w.stats().entries, 0);
    assert.equal(w.stats().uncachedRaces, 1);
    server.onVerify = () => allowed("t1", { cursor: cursorAt(5) });
    await w.verify(ingest("tok-1"));
    assert.equal(w.stats().entries, 1);
    // With comparable cursors an event during the flight is harmless if the server had seen it.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    server.onVerify = async () => {
      await gate;
      return allowed("t2", { cursor: cursorAt(7) });
    };
    const pending = w.verify(ingest("tok-2"));
    await eventually(() => server.verifies.length === 3, undefined, "the RPC");
    server.watches[0]!.event("t-other", cursorAt(6));
    await eventually(() => w.stats().cursor === cursorAt(6), undefined, "the event");
    release();
    await pending;
    assert.equal(w.stats().entries, 2);
  });

  it("serves allowed answers only until their expireTime", async () => {
    const clock = manualClock();
    const w = worker({ now: clock.now, stalenessMs: 60_000 });
    await w.ready();
    const expiry = clock.now() + 30_000;
    server.onVerify = () => allowed("t1", { expireTime: { seconds: BigInt(Math.floor(expiry / 1000)), nanos: (expiry % 1000) * 1e6 } });
    const first = await w.verify(ingest("tok-1"));
    assert.equal(first.expireTime?.getTime(), expiry);
    clock.advance(29_000);
    assert.equal((await w.verify(ingest("tok-1"))).fromCache, true);
    clock.advance(1_000);
    server.onVerify = () => refused(VerifyStatus.EXPIRED, "t1");
    const r = await w.verify(ingest("tok-1"));
    assert.equal(r.fromCache, false);
    assert.equal(r.status, VerifyStatus.EXPIRED);
    assert.equal(w.stats().expirations, 1);
  });

  it("honours the server's cache_ttl hint on allowed answers", async () => {
    const clock = manualClock();
    const w = worker({ now: clock.now, stalenessMs: 60_000 });
    await w.ready();
    server.onVerify = () => allowed("t1", { cacheTtl: { seconds: 10n, nanos: 0 } });
    await w.verify(ingest("tok-1"));
    clock.advance(9_000);
    assert.equal((await w.verify(ingest("tok-1"))).fromCache, true);
    clock.advance(1_000);
    assert.equal((await w.verify(ingest("tok-1"))).fromCache, false);
  });

  it("does not cache an allowed answer that names no token (no event could ever evict it)", async () => {
    const w = worker();
    await w.ready();
    server.onVerify = () => ({ allowed: true, status: VerifyStatus.VALID });
    await w.verify(ingest("tok-1"));
    assert.equal(w.stats().entries, 0);
  });

  it("stops serving its cache once nothing was heard for stalenessMs, asks the server directly and caches nothing", async () => {
    const clock = manualClock();
    const w = worker({ now: clock.now, stalenessMs: 300 });
    await w.ready();
    await w.verify(ingest("tok-1"));
    assert.equal((await w.verify(ingest("tok-1"))).fromCache, true);
    clock.advance(301);
    assert.equal(w.stats().healthy, false);
    const r = await w.verify(ingest("tok-1"));
    assert.equal(r.fromCache, false);
    assert.equal(r.allowed, true);
    assert.equal(server.verifies.length, 2);
    assert.equal(w.stats().uncachedStale, 1);
    server.onVerify = () => {
      throw { code: grpc.status.UNAVAILABLE, message: "down" };
    };
    assert.equal((await w.verify(ingest("tok-1"))).status, "UNAVAILABLE");
    // A checkpoint makes the stream fresh again and the (unflushed) cache usable.
    server.watches[0]!.checkpoint(cursorAt(0));
    await eventually(() => w.stats().healthy, undefined, "health");
    assert.equal((await w.verify(ingest("tok-1"))).fromCache, true);
  });

  it("resumes from its last cursor after the stream fails, without flushing", async () => {
    const w = worker({ reconnect: { minMs: 10, maxMs: 50 } });
    await w.ready();
    await w.verify(ingest("tok-1"));
    server.watches[0]!.event("t-other", cursorAt(3));
    await eventually(() => w.stats().cursor === cursorAt(3), undefined, "the event");
    server.watches[0]!.fail(grpc.status.UNAVAILABLE, "listener restarting");
    const second = await server.nthWatch(2);
    assert.equal(second.afterCursor, cursorAt(3));
    assert.equal(w.stats().flushes, 0);
    assert.equal(w.stats().entries, 1);
    await eventually(() => w.stats().reconnects === 1, undefined, "the reconnect");
    assert.equal((await w.verify(ingest("tok-1"))).fromCache, true);
  });

  it("resumes from its last cursor after RESOURCE_EXHAUSTED, without flushing", async () => {
    const w = worker({ reconnect: { minMs: 10, maxMs: 50 } });
    await w.ready();
    await w.verify(ingest("tok-1"));
    server.watches[0]!.checkpoint(cursorAt(8));
    await eventually(() => w.stats().cursor === cursorAt(8), undefined, "the checkpoint");
    server.watches[0]!.fail(grpc.status.RESOURCE_EXHAUSTED, "too slow");
    assert.equal((await server.nthWatch(2)).afterCursor, cursorAt(8));
    assert.equal(w.stats().flushes, 0);
    assert.equal(w.stats().entries, 1);
  });

  it("resumes after the server ends the stream cleanly", async () => {
    const w = worker({ reconnect: { minMs: 10, maxMs: 50 } });
    await w.ready();
    server.watches[0]!.checkpoint(cursorAt(2));
    await eventually(() => w.stats().cursor === cursorAt(2), undefined, "the checkpoint");
    server.watches[0]!.end();
    assert.equal((await server.nthWatch(2)).afterCursor, cursorAt(2));
  });

  for (const [name, code] of [
    ["OUT_OF_RANGE (cursor older than retention)", grpc.status.OUT_OF_RANGE],
    ["INVALID_ARGUMENT (foreign cursor)", grpc.status.INVALID_ARGUMENT],
  ] as const) {
    it(`flushes the whole cache and restarts from now on ${name}`, async () => {
      const w = worker({ reconnect: { minMs: 10, maxMs: 50 } });
      await w.ready();
      server.onVerify = (req) => (req.credential === "bad" ? refused(VerifyStatus.NOT_FOUND) : allowed("t1"));
      await w.verify(ingest("tok-1"));
      await w.verify(ingest("bad"));
      server.watches[0]!.checkpoint(cursorAt(4));
      await eventually(() => w.stats().cursor === cursorAt(4), undefined, "the checkpoint");
      server.watches[0]!.fail(code, "scripted");
      const second = await server.nthWatch(2);
      assert.equal(second.afterCursor, "");
      assert.equal(w.stats().flushes, 1);
      assert.equal(w.stats().entries, 0);
      await eventually(() => w.stats().healthy, undefined, "health after the restart");
      assert.equal((await w.verify(ingest("tok-1"))).fromCache, false);
      assert.equal((await w.verify(ingest("tok-1"))).fromCache, true);
    });
  }

  it("after a stale period, does not serve its cache on resume until a later checkpoint confirms the replay", async () => {
    const clock = manualClock();
    const w = worker({ now: clock.now, stalenessMs: 500, reconnect: { minMs: 10, maxMs: 50 } });
    server.onVerify = (req) => allowed(req.credential === "tok-2" ? "t2" : "t1");
    await w.ready();
    await w.verify(ingest("tok-1"));
    await w.verify(ingest("tok-2"));
    server.watches[0]!.checkpoint(cursorAt(1));
    await eventually(() => w.stats().cursor === cursorAt(1), undefined, "the checkpoint");
    server.onWatch = (watch) => watch.checkpoint(watch.afterCursor); // a resume starts where asked
    clock.advance(600); // silent for longer than stalenessMs: whatever happened meanwhile is unknown
    server.watches[0]!.fail(grpc.status.UNAVAILABLE);
    const second = await server.nthWatch(2);
    assert.equal(second.afterCursor, cursorAt(1));
    await eventually(() => w.stats().reconnects === 1 && w.stats().checkpoints === 3, undefined, "the resume's first checkpoint");
    // Heard from, but the replay is not known to be complete: t1 (revoked meanwhile) must not be served.
    assert.equal(w.stats().healthy, false);
    server.onVerify = (req) => (req.credential === "tok-2" ? allowed("t2") : refused(VerifyStatus.DISABLED, "t1"));
    const during = await w.verify(ingest("tok-1"));
    assert.equal(during.fromCache, false);
    assert.equal(during.status, VerifyStatus.DISABLED);
    second.event("t1", cursorAt(2));
    second.checkpoint(cursorAt(2));
    await eventually(() => w.stats().healthy, undefined, "health after the replay");
    assert.equal(w.stats().flushes, 0);
    assert.equal((await w.verify(ingest("tok-2"))).fromCache, true, "t2 survived: no flush");
    assert.equal((await w.verify(ingest("tok-1"))).allowed, false);
  });

  it("keeps serving its cache across a brief disconnect (within stalenessMs)", async () => {
    const w = worker({ stalenessMs: 5000, reconnect: { minMs: 10, maxMs: 50 } });
    server.onWatch = (watch) => watch.checkpoint(watch.afterCursor || cursorAt(0));
    await w.ready();
    await w.verify(ingest("tok-1"));
    server.watches[0]!.fail(grpc.status.UNAVAILABLE);
    await server.nthWatch(2);
    await eventually(() => w.stats().checkpoints === 2, undefined, "the resume");
    assert.equal(w.stats().healthy, true);
    assert.equal((await w.verify(ingest("tok-1"))).fromCache, true);
  });

  it("cuts a stream that stays silent longer than idleStreamMs and resubscribes", async () => {
    const w = worker({ stalenessMs: 100, idleStreamMs: 200, reconnect: { minMs: 10, maxMs: 50 } });
    await w.ready();
    const second = await server.nthWatch(2);
    assert.equal(second.afterCursor, cursorAt(0));
    await eventually(() => server.watches[0]!.cancelled, undefined, "the first stream's cancellation");
  });

  it("keeps at most maxEntries allowed answers, evicting the least recently used", async () => {
    const w = worker({ maxEntries: 3 });
    await w.ready();
    server.onVerify = (req) => allowed(`t-${req.credential}`);
    for (const c of ["a", "b", "c"]) await w.verify(ingest(c));
    for (const c of ["d", "e"]) await w.verify(ingest(c));
    const s = w.stats();
    assert.equal(s.entries, 3);
    assert.equal(s.lruEvictions, 2);
    assert.equal((await w.verify(ingest("e"))).fromCache, true);
    assert.equal((await w.verify(ingest("a"))).fromCache, false);
  });

  it("keeps refusals in their own bound, so bad credentials cannot push out allowed answers", async () => {
    const w = worker({ maxEntries: 10, maxNegativeEntries: 2 });
    await w.ready();
    server.onVerify = (req) => (req.credential.startsWith("bad") ? refused(VerifyStatus.NOT_FOUND) : allowed("t1"));
    await w.verify(ingest("good"));
    for (let i = 0; i < 20; i++) await w.verify(ingest(`bad-${i}`));
    assert.equal(w.stats().entries, 3);
    assert.equal((await w.verify(ingest("good"))).fromCache, true);
  });

  it("answers UNAVAILABLE before the stream was ever heard if the server cannot be reached", async () => {
    const port = server.port;
    await server.close();
    const w = createWorkerClient({ address: `127.0.0.1:${port}`, verifierToken: "v", reconnect: { minMs: 10, maxMs: 50 } });
    workers.push(w);
    const r = await w.verify(ingest("tok-1"));
    assert.deepEqual(r, { allowed: false, status: "UNAVAILABLE", fromCache: false });
    assert.equal(w.stats().healthy, false);
    server = await startScriptedServer(); // for afterEach
  });

  it("works over a grpc-js channel it was given, and leaves that channel open on close", async () => {
    const channel = new grpc.Channel(server.address, grpc.credentials.createInsecure(), {});
    try {
      const w = createWorkerClient({ channel, verifierToken: "v" });
      await w.ready();
      assert.equal((await w.verify(ingest("tok-1"))).allowed, true);
      await w.close();
      assert.notEqual(channel.getConnectivityState(false), grpc.connectivityState.SHUTDOWN);
    } finally {
      channel.close();
    }
  });

  it("on close, cancels its stream, rejects nothing in flight and answers UNAVAILABLE afterwards", async () => {
    const w = worker();
    await w.ready();
    await w.verify(ingest("tok-1"));
    await w.close();
    await eventually(() => server.watches[0]!.cancelled, undefined, "the stream's cancellation");
    assert.equal((await w.verify(ingest("tok-1"))).status, "UNAVAILABLE");
    await w.close(); // idempotent
  });

  it("rejects ready() if closed before the stream answered", async () => {
    server.onWatch = () => undefined; // never says anything
    const w = worker();
    const ready = w.ready();
    // Time for the stream to open. The server never answers it, so ready() cannot resolve
    // however long this takes: a slower machine closes a stream that is less far along.
    await sleep(50);
    await w.close();
    await assert.rejects(ready, /closed before/);
  });

  it("returns frozen cached decisions, so one caller cannot alter what another is served", async () => {
    const w = worker();
    await w.ready();
    await w.verify(ingest("tok-1"));
    const hit = await w.verify(ingest("tok-1"));
    assert.ok(Object.isFrozen(hit));
    assert.ok(Object.isFrozen(hit.principal));
    assert.throws(() => {
      (hit as { allowed: boolean }).allowed = false;
    });
  });
});
