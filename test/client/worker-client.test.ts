/**
 * The worker client against real Tessera servers over a real PostgreSQL: cached answers,
 * revocations reaching the worker, coalescing, failing closed when the server goes away,
 * resuming (or flushing) when it comes back, and expiry.
 */
import assert from "node:assert/strict";
import { durationFromMs, timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { createKeyring, newKey, type Keyring } from "../../src/domain/digest.js";
import type { Tessera } from "../../src/app.js";
import { EndpointClass, Signal, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { pruneEvents } from "../../src/store/queries/revocations.js";
import {
  createWorkerClient,
  type Decision,
  type WorkerClient,
  type WorkerClientOptions,
  type WorkerVerifyRequest,
} from "../../src/client/worker-client.js";
import { grpcJsClients, type Clients } from "../helpers/clients.js";
import { freshDatabase, superQuery, type TestDatabase } from "../helpers/db.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { createOrg, setupInstance, type Instance, type SeededOrg } from "../helpers/seed.js";
import { startInstance } from "./instance.js";
import { PATIENCE_MS } from "../helpers/wait.js";
import { eventually, skewedClock, sleep } from "./util.js";

const ingest = (credential: string, organization?: string): WorkerVerifyRequest => ({
  credential,
  endpoint: EndpointClass.INGEST,
  signal: Signal.LOGS,
  ...(organization !== undefined && { organization }),
});

async function newIngestToken(c: Clients, inst: Instance, org: SeededOrg, name: string, extra: { expireMs?: number } = {}) {
  const r = await c.admin.createToken(
    {
      organizationId: org.orgId,
      name,
      kind: TokenKind.INGESTION,
      ...(extra.expireMs !== undefined && { expireTime: timestampFromMs(extra.expireMs) }),
    },
    inst.operatorToken,
  );
  return { id: r.token!.id, value: r.value };
}

/**
 * Polls verify until it refuses; returns how long that took and how many allowed answers were
 * given before (each of which must have been within the revocation's propagation window).
 * The 2 s bound is wall-clock and kept: it is what "a short bound" means in the tests' titles,
 * and propagation to a worker client on this in-process server takes milliseconds even on a
 * loaded machine (the first test prints its p50 and max), hundreds of times less.
 */
async function untilRefused(
  w: WorkerClient,
  req: WorkerVerifyRequest,
  timeoutMs = 2000,
): Promise<{ ms: number; decision: Decision; allowedBefore: number }> {
  const start = performance.now();
  let allowedBefore = 0;
  for (;;) {
    const d = await w.verify(req);
    if (!d.allowed) return { ms: performance.now() - start, decision: d, allowedBefore };
    allowedBefore++;
    if (performance.now() - start > timeoutMs) throw new Error(`still allowed after ${timeoutMs} ms`);
    await new Promise((r) => setImmediate(r));
  }
}

/**
 * Verifies until the answer is served from the cache. A token's creation appends an ENABLED
 * event; an answer whose RPC overlapped that event's delivery is rightly not cached, so the first
 * verify of a brand-new token may not be.
 */
/**
 * Waits until `w` has received `n` more events than `before`: a token's creation is announced
 * (ENABLED, for negative caches), and an answer primed before that event arrives is evicted by it,
 * later, on a slow machine.
 */
async function seen(w: WorkerClient, before: number, n: number): Promise<void> {
  await eventually(() => w.stats().events >= before + n, undefined, `${n} more events`);
}

async function primed(w: WorkerClient, req: WorkerVerifyRequest): Promise<Decision> {
  return eventually(
    async () => {
      const d = await w.verify(req);
      return d.fromCache ? d : undefined;
    },
    undefined,
    "a cached answer",
  );
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

describe("the worker client against a real Tessera", () => {
  describe("on a running instance", () => {
    let server: TestServer;
    let c: Clients;
    let inst: Instance;
    let org: SeededOrg;
    const workers: WorkerClient[] = [];
    let n = 0;
    const token = (extra: { expireMs?: number } = {}) => newIngestToken(c, inst, org, `wc-${++n}`, extra);
    const worker = (o: Partial<WorkerClientOptions> = {}) => {
      const w = createWorkerClient({ address: `127.0.0.1:${server.tessera.grpcPort}`, verifierToken: inst.verifierToken, ...o });
      workers.push(w);
      return w;
    };

    before(async () => {
      server = await startTestServer();
      c = grpcJsClients(server.tessera.grpcPort);
      inst = await setupInstance(c);
      org = await createOrg(c, inst.operatorToken);
    });
    afterEach(async () => {
      for (const w of workers.splice(0)) await w.close();
    });
    after(async () => {
      c.close();
      await server.close();
    });

    it("serves a repeated verify from its cache once the stream is up, for bare and Basic credentials", async () => {
      const w = worker();
      await w.ready();
      const t = await token();
      const first = await w.verify(ingest(t.value, org.identifier));
      assert.equal(first.allowed, true);
      assert.equal(first.status, VerifyStatus.VALID);
      assert.equal(first.fromCache, false);
      assert.equal(first.principal?.tokenId, t.id);
      const again = await primed(w, ingest(t.value, org.identifier));
      assert.equal(again.principal?.tokenId, t.id);
      assert.equal(again.allowed, true);
      const rpcs = w.stats().rpcs;
      for (let i = 0; i < 10; i++) assert.equal((await w.verify(ingest(t.value, org.identifier))).fromCache, true);
      const basic = `Basic ${Buffer.from(`${org.identifier}:${t.value}`).toString("base64")}`;
      assert.equal((await w.verify(ingest(basic))).allowed, true);
      await primed(w, ingest(basic));
      const s = w.stats();
      assert.ok(s.rpcs <= rpcs + 2);
      assert.ok(s.hits >= 11);
      assert.equal(s.healthy, true);
      assert.match(s.cursor, /^[0-9a-f]{8}\.\d+\.\d+$/);
    });

    it("refuses a token within a short bound after an admin disables it, and accepts it again after re-enabling", async function () {
      const w = worker();
      await w.ready();
      const times: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t = await token();
        const req = ingest(t.value, org.identifier);
        await primed(w, req);
        await c.admin.setTokenEnabled({ id: t.id, enabled: false }, inst.operatorToken);
        const r = await untilRefused(w, req);
        assert.equal(r.decision.status, VerifyStatus.DISABLED);
        times.push(r.ms);
        // Cached refusal now; ENABLED drops it.
        assert.equal((await primed(w, req)).status, VerifyStatus.DISABLED);
        await c.admin.setTokenEnabled({ id: t.id, enabled: true }, inst.operatorToken);
        await eventually(async () => (await w.verify(req)).allowed, undefined, "re-enabled token accepted", 1);
      }
      this.test!.title += ` [disable→refused p50 ${pct(times, 50).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms]`;
      assert.ok(w.stats().evictions >= 10);
      assert.equal(w.stats().flushes, 0);
    });

    it("evicts on rotation: the old value is refused, the new one accepted", async () => {
      const w = worker();
      await w.ready();
      const t = await token();
      const req = ingest(t.value, org.identifier);
      await primed(w, req);
      const rotated = await c.admin.rotateToken({ id: t.id }, inst.operatorToken);
      const r = await untilRefused(w, req);
      assert.notEqual(r.decision.status, VerifyStatus.VALID);
      const fresh = await w.verify(ingest(rotated.value, org.identifier));
      assert.equal(fresh.allowed, true);
      assert.equal(fresh.principal?.tokenId, t.id);
    });

    it("keeps a rotated token's old value through its grace period, refuses it from the deadline on, and keeps accepting the new value", async () => {
      const w = worker();
      await w.ready();
      const t = await token();
      const oldReq = ingest(t.value, org.identifier);
      await primed(w, oldReq);
      const graceMs = 1500;
      const rotated = await c.admin.rotateToken({ id: t.id, gracePeriod: durationFromMs(graceMs) }, inst.operatorToken);
      const deadline = timestampDate(rotated.token!.previousValue!.expireTime!).getTime();
      const newReq = ingest(rotated.value, org.identifier);
      // The overlap's start (ENABLED) evicts the old answer: the next one says until when.
      const old = await eventually(async () => {
        const d = await w.verify(oldReq);
        return d.fromCache && d.newerValueExists ? d : undefined;
      });
      assert.equal(old.allowed, true);
      assert.equal(old.valueExpireTime?.getTime(), deadline);
      const fresh = await primed(w, newReq);
      assert.equal(fresh.allowed, true);
      assert.equal(fresh.newerValueExists, undefined);
      const events = w.stats().events;

      const r = await untilRefused(w, oldReq, graceMs + 5000);
      assert.ok(Date.now() >= deadline, "never refused before the deadline");
      assert.equal(r.decision.status, VerifyStatus.NOT_FOUND);
      // The ROTATED event at the deadline must leave the new value accepted, from the cache or not.
      await eventually(() => w.stats().events > events, undefined, "the ROTATED event");
      for (let i = 0; i < 3; i++) {
        const d = await w.verify(newReq);
        assert.equal(d.allowed, true, `the new value after the event (${i}, from cache: ${d.fromCache})`);
      }
      assert.equal((await w.verify(oldReq)).allowed, false);
    });

    it("evicts on deletion", async () => {
      const w = worker();
      await w.ready();
      const t = await token();
      const req = ingest(t.value, org.identifier);
      await primed(w, req);
      await c.admin.deleteToken({ id: t.id }, inst.operatorToken);
      const r = await untilRefused(w, req);
      assert.equal(r.decision.allowed, false);
      assert.equal(r.decision.status, VerifyStatus.NOT_FOUND);
    });

    it("coalesces concurrent verifies of one token into one RPC", async () => {
      const w = worker();
      await w.ready();
      const t = await token();
      const before = w.stats();
      const rs = await Promise.all(Array.from({ length: 100 }, () => w.verify(ingest(t.value, org.identifier))));
      const after = w.stats();
      assert.ok(rs.every((r) => r.allowed));
      assert.equal(after.rpcs - before.rpcs, 1);
      assert.equal(after.coalesced - before.coalesced, 99);
    });

    it("never caches a MALFORMED answer", async () => {
      const w = worker();
      await w.ready();
      const a = await w.verify(ingest("o2oi_not-a-token"));
      const b = await w.verify(ingest("o2oi_not-a-token"));
      assert.equal(a.status, VerifyStatus.MALFORMED);
      assert.equal(b.fromCache, false);
      assert.equal(w.stats().entries, 0);
    });

    it("throws PERMISSION_DENIED for a caller token that may not verify, and UNAUTHENTICATED for an unknown one", async () => {
      const t = await token();
      const denied = worker({ verifierToken: org.adminToken, reconnect: { minMs: 200, maxMs: 2000 } });
      await assert.rejects(
        denied.verify(ingest(t.value, org.identifier)),
        (e: unknown) => e instanceof ConnectError && e.code === Code.PermissionDenied,
      );
      const unknown = worker({ verifierToken: inst.verifierToken.slice(0, -3) + "AAA", reconnect: { minMs: 200, maxMs: 2000 } });
      await assert.rejects(
        unknown.verify(ingest(t.value, org.identifier)),
        (e: unknown) => e instanceof ConnectError && e.code === Code.Unauthenticated,
      );
      assert.equal(denied.stats().healthy, false);
    });
  });

  describe("when its server goes away and comes back", () => {
    const keyring: Keyring = createKeyring({ 1: newKey() }, 1);
    let db: TestDatabase;
    let a: Tessera | undefined;
    let b: Tessera | undefined;
    let ca: Clients | undefined;
    let cb: Clients | undefined;
    const workers: WorkerClient[] = [];
    const dbs: TestDatabase[] = [];

    beforeEach(async () => {
      db = await freshDatabase();
      dbs.push(db);
      a = await startInstance({ db, keyring });
      ca = grpcJsClients(a.grpcPort);
    });
    afterEach(async () => {
      for (const w of workers.splice(0)) await w.close();
      ca?.close();
      cb?.close();
      await a?.close();
      await b?.close();
      a = b = ca = cb = undefined;
      for (const d of dbs.splice(0)) await d.drop();
    });

    /** Stops instance A (its gRPC port falls silent) and returns the port to restart it on. */
    async function stopA(): Promise<number> {
      const port = a!.grpcPort;
      ca!.close();
      await a!.close();
      a = ca = undefined;
      return port;
    }
    /** A second instance on the same database for admin calls while A is down. */
    async function startB(): Promise<Clients> {
      b = await startInstance({ db, keyring });
      cb = grpcJsClients(b.grpcPort);
      return cb;
    }

    it("answers from cache only until stalenessMs after it last heard the stream, then fails closed with UNAVAILABLE", async function () {
      const inst = await setupInstance(ca!);
      const org = await createOrg(ca!, inst.operatorToken);
      const stalenessMs = 600;
      const w = createWorkerClient({ address: `127.0.0.1:${a!.grpcPort}`, verifierToken: inst.verifierToken, stalenessMs });
      workers.push(w);
      await w.ready();
      await eventually(() => w.stats().healthy, undefined, "health");
      const t = await newIngestToken(ca!, inst, org, "stale");
      const req = ingest(t.value, org.identifier);
      await primed(w, req);

      const stopStart = performance.now();
      await stopA();
      const stopMs = performance.now() - stopStart;
      // From here on nothing arrives. Every allowed answer must come while the last message is
      // at most stalenessMs old; after that, UNAVAILABLE.
      // Each call is judged by how old the last message was when it began (agoBefore), not by
      // the wall clock of this loop, which a loaded machine may stall for any length of time.
      let served = 0;
      let unavailableAt: number | undefined;
      let firstAfterBound: { agoBefore: number; status: string } | undefined;
      const deadline = Date.now() + PATIENCE_MS;
      while (Date.now() < deadline) {
        const agoBefore = w.stats().lastHeardAgoMs;
        const d = await w.verify(req);
        if (agoBefore > stalenessMs) firstAfterBound ??= { agoBefore, status: String(d.status) };
        if (d.allowed) {
          assert.equal(d.fromCache, true);
          assert.ok(agoBefore <= stalenessMs, `allowed from cache ${agoBefore} ms after the stream was last heard`);
          served++;
        } else {
          assert.equal(d.status, "UNAVAILABLE");
          unavailableAt ??= agoBefore;
          if (firstAfterBound !== undefined) break;
        }
        await sleep(10);
      }
      assert.ok(unavailableAt !== undefined, "never failed closed");
      // The first call begun after the bound failed closed (as every later one did, above).
      assert.ok(firstAfterBound !== undefined, "no call began after the staleness bound");
      assert.equal(firstAfterBound.status, "UNAVAILABLE", `the first call ${firstAfterBound.agoBefore} ms after the stream was last heard`);
      assert.equal((await w.verify(req)).status, "UNAVAILABLE");
      assert.equal(w.stats().healthy, false);
      // `served` may be 0 if shutting the server down took longer than stalenessMs.
      this.test!.title +=
        ` [server close ${stopMs.toFixed(0)} ms; ${served} cached answers after it; UNAVAILABLE from ${unavailableAt} ms after last heard]`;
    });

    it("resumes from its cursor without a flush when the server restarts on the same port, and sees a revocation made while it was away", async () => {
      const inst = await setupInstance(ca!);
      const org = await createOrg(ca!, inst.operatorToken);
      const w = createWorkerClient({ address: `127.0.0.1:${a!.grpcPort}`, verifierToken: inst.verifierToken, stalenessMs: 1500 });
      workers.push(w);
      await w.ready();
      await eventually(() => w.stats().healthy, undefined, "health");
      const events = w.stats().events;
      const revoked = await newIngestToken(ca!, inst, org, "revoked-while-away");
      const kept = await newIngestToken(ca!, inst, org, "kept");
      await seen(w, events, 2);
      const rRevoked = ingest(revoked.value, org.identifier);
      const rKept = ingest(kept.value, org.identifier);
      await primed(w, rRevoked);
      await primed(w, rKept);
      const cursorBefore = w.stats().cursor;
      const flushesBefore = w.stats().flushes;

      const port = await stopA();
      const admin = await startB();
      await admin.admin.setTokenEnabled({ id: revoked.id, enabled: false }, inst.operatorToken);
      await eventually(() => !w.stats().healthy, undefined, "the worker to go stale");
      assert.equal((await w.verify(rRevoked)).status, "UNAVAILABLE");
      const reconnectsBefore = w.stats().reconnects;

      a = await startInstance({ db, keyring, grpcPort: port });
      ca = grpcJsClients(a.grpcPort);
      // From the restart on, the revoked token must never be allowed again.
      const start = performance.now();
      let d: Decision;
      for (;;) {
        d = await w.verify(rRevoked);
        assert.equal(d.allowed, false, "a token revoked while the worker was away was allowed");
        if (d.status === VerifyStatus.DISABLED) break;
        // How long the resume takes is the machine's business; that it never allows is the test's.
        assert.ok(performance.now() - start < PATIENCE_MS, `still ${String(d.status)} ${PATIENCE_MS / 1000} s after the restart`);
        await sleep(5);
      }
      await eventually(() => w.stats().healthy, undefined, "health after the resume");
      const s = w.stats();
      assert.equal(s.flushes, flushesBefore, "the cache was flushed on an ordinary reconnect");
      assert.ok(s.reconnects > reconnectsBefore);
      assert.notEqual(s.cursor, cursorBefore);
      assert.equal(s.cursor.split(".")[0], cursorBefore.split(".")[0]);
      const keptAfter = await w.verify(rKept);
      assert.equal(
        keptAfter.fromCache,
        true,
        `an answer cached before the outage did not survive: ${JSON.stringify({ status: keptAfter.status, stats: w.stats(), before: s })}`,
      );
      assert.equal((await w.verify(rRevoked)).allowed, false);
    });

    it("flushes its cache and restarts from now when its cursor is older than the server's retention (OUT_OF_RANGE)", async () => {
      const inst = await setupInstance(ca!);
      const org = await createOrg(ca!, inst.operatorToken);
      const w = createWorkerClient({ address: `127.0.0.1:${a!.grpcPort}`, verifierToken: inst.verifierToken, stalenessMs: 600 });
      workers.push(w);
      await w.ready();
      await eventually(() => w.stats().healthy, undefined, "health");
      const events = w.stats().events;
      const revoked = await newIngestToken(ca!, inst, org, "revoked");
      const kept = await newIngestToken(ca!, inst, org, "kept");
      await seen(w, events, 2);
      await primed(w, ingest(revoked.value, org.identifier));
      await primed(w, ingest(kept.value, org.identifier));
      assert.equal(w.stats().entries, 2);

      const port = await stopA();
      const admin = await startB();
      await admin.admin.setTokenEnabled({ id: revoked.id, enabled: false }, inst.operatorToken);
      // Retention passes: everything is pruned, so the worker's cursor is below the floor.
      const pruned = await pruneEvents(b!.db.pool, new Date(Date.now() + 60_000));
      assert.ok(pruned >= 1);
      a = await startInstance({ db, keyring, grpcPort: port });
      ca = grpcJsClients(a.grpcPort);
      await eventually(() => w.stats().flushes === 1, undefined, "the flush");
      await eventually(() => w.stats().healthy, undefined, "health after the restart from now");
      const k = await w.verify(ingest(kept.value, org.identifier));
      assert.equal(k.fromCache, false, "served from a cache that should have been flushed");
      assert.equal(k.allowed, true);
      assert.equal((await w.verify(ingest(revoked.value, org.identifier))).status, VerifyStatus.DISABLED);
    });

    it("flushes its cache when the database was replaced and its cursor is foreign (INVALID_ARGUMENT)", async () => {
      const inst = await setupInstance(ca!);
      const org = await createOrg(ca!, inst.operatorToken);
      // The operator token can also verify; setting the new database up with the same value keeps it valid.
      const w = createWorkerClient({ address: `127.0.0.1:${a!.grpcPort}`, verifierToken: inst.operatorToken, stalenessMs: 600 });
      workers.push(w);
      await w.ready();
      await eventually(() => w.stats().healthy, undefined, "health");
      const t = await newIngestToken(ca!, inst, org, "old-db");
      await primed(w, ingest(t.value, org.identifier));
      const oldFeed = w.stats().cursor.split(".")[0];

      const port = await stopA();
      db = await freshDatabase();
      dbs.push(db);
      // Test databases are clones of one template and so share its feed id; a replaced
      // production database would have its own.
      await superQuery(db, `UPDATE revocation_feed SET feed_id = 'bbbbbbbb'`);
      a = await startInstance({ db, keyring, grpcPort: port });
      ca = grpcJsClients(a.grpcPort);
      await ca.admin.setup({ userName: "root", organizationIdentifier: "acme", bucketName: "main", tokenValue: inst.operatorToken });
      await eventually(() => w.stats().flushes === 1, undefined, "the flush");
      await eventually(() => w.stats().healthy, undefined, "health on the new database");
      assert.notEqual(w.stats().cursor.split(".")[0], oldFeed);
      const d = await w.verify(ingest(t.value, org.identifier));
      assert.equal(d.fromCache, false);
      assert.equal(d.allowed, false);
    });
  });

  describe("with an injectable clock", () => {
    let server: TestServer;
    let c: Clients;
    let inst: Instance;
    let org: SeededOrg;
    const clock = skewedClock();

    before(async () => {
      server = await startTestServer({ now: clock.now });
      c = grpcJsClients(server.tessera.grpcPort);
      inst = await setupInstance(c);
      org = await createOrg(c, inst.operatorToken);
    });
    after(async () => {
      c.close();
      await server.close();
    });

    it("stops serving a cached answer at the token's expiry, and hears the server's EXPIRED event", async () => {
      const w = createWorkerClient({
        address: `127.0.0.1:${server.tessera.grpcPort}`,
        verifierToken: inst.verifierToken,
        now: clock.now,
        stalenessMs: 600_000,
      });
      try {
        await w.ready();
        const expireMs = clock.now() + 60_000;
        const t = await newIngestToken(c, inst, org, "expiring", { expireMs });
        const req = ingest(t.value, org.identifier);
        const first = await primed(w, req);
        assert.equal(first.allowed, true);
        assert.equal(first.expireTime?.getTime(), expireMs);
        clock.advance(59_000);
        assert.equal((await w.verify(req)).fromCache, true, "not served from cache before its expiry");
        const eventsBefore = w.stats().events;
        clock.advance(1_000);
        const at = await w.verify(req);
        assert.equal(at.allowed, false, "a token was allowed at its expiry");
        assert.equal(at.fromCache, false);
        assert.equal(at.status, VerifyStatus.EXPIRED);
        assert.equal(w.stats().expirations, 1);
        await eventually(() => w.stats().events > eventsBefore, undefined, "the EXPIRED event");
        assert.equal((await w.verify(req)).allowed, false);
      } finally {
        await w.close();
      }
    });
  });
});
