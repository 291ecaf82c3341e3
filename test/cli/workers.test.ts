/**
 * `tessera serve --workers 2`: two processes behind one pair of ports keep the revocation
 * guarantee — each worker's Verify cache is invalidated by the feed. Connections are spread over
 * the workers by the cluster primary; on Linux the test checks the spread by reading which worker
 * process holds each established socket (/proc), so "both caches were warm" is a fact, not a hope.
 */
import assert from "node:assert/strict";
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, readdir, readlink } from "node:fs/promises";
import path from "node:path";
import { EndpointClass, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { TokenVerifyService, VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { createGrpcClient, type GrpcClient } from "../../src/wire/grpc-client.js";
import { grpcJsClients, type Clients } from "../helpers/clients.js";
import { parseSamples, sampleValue } from "../helpers/prometheus-text.js";
import { freshDatabase, type TestDatabase } from "../helpers/db.js";
import { createOrg, issue, setupInstance, type Instance, type IssuedToken, type SeededOrg } from "../helpers/seed.js";
import { CLI, assertNoStack, startCli, tempDir, type RunningCli } from "./run-cli.js";

const PROC = existsSync("/proc/self/fd");

/** A Verify client on a connection of its own (grpc-js otherwise shares one per target). */
const ownConnection = (port: number) =>
  createGrpcClient(TokenVerifyService, `127.0.0.1:${port}`, { channelOptions: { "grpc.use_local_subchannel_pool": 1 } });

/** The cluster's worker processes: children of the primary running src/cluster.js. */
async function workerPids(primary: number): Promise<number[]> {
  const kids = (await readFile(`/proc/${primary}/task/${primary}/children`, "utf8")).trim().split(/\s+/).filter(Boolean).map(Number);
  const out: number[] = [];
  for (const k of kids) {
    const cmd = await readFile(`/proc/${k}/cmdline`, "utf8").catch(() => "");
    if (cmd.includes("cluster.js")) out.push(k);
  }
  return out.sort((a, b) => a - b);
}

/** Established connections to `port` held by each process. */
async function connectionsByPid(pids: number[], port: number): Promise<Map<number, number>> {
  const inodes = new Set<string>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await readFile(file, "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const localPort = parseInt(f[1]!.split(":")[1]!, 16);
      if (localPort === port && f[3] === "01") inodes.add(f[9]!);
    }
  }
  const counts = new Map<number, number>();
  for (const pid of pids) {
    let n = 0;
    for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m && inodes.has(m[1]!)) n++;
    }
    counts.set(pid, n);
  }
  return counts;
}

describe("tessera serve --workers 2", function () {
  this.timeout(120_000);
  let db: TestDatabase;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let child: ChildProcessWithoutNullStreams | undefined;
  let serve: RunningCli | undefined;
  /** Everything serve wrote to stderr so far. */
  const stderr = () => serve?.stderr() ?? "";
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let grpcPort = 0;
  let httpPort = 0;
  let admin: Clients;
  let inst: Instance;
  let org: SeededOrg;
  let token: IssuedToken;
  const open: Array<GrpcClient<typeof TokenVerifyService>> = [];

  const verify = (c: GrpcClient<typeof TokenVerifyService>, value: string) =>
    c.verify(
      { credential: `Bearer ${value}`, organization: org.identifier, endpoint: EndpointClass.INGEST },
      { metadata: { authorization: `Bearer ${inst.verifierToken}` } },
    );

  /** Asserts that the connections held open now reach every worker. */
  const assertSpread = async (what: string) => {
    if (!PROC) return;
    const pids = await workerPids(child!.pid!);
    assert.equal(pids.length, 2, `${what}: expected 2 workers, found ${pids.join(", ")}`);
    const counts = await connectionsByPid(pids, grpcPort);
    for (const [pid, n] of counts) assert.ok(n >= 2, `${what}: worker ${pid} holds ${n} connections (${JSON.stringify([...counts])})`);
  };

  before(async () => {
    db = await freshDatabase();
    tmp = await tempDir();
    const keyFile = path.join(tmp.dir, "keys", "digest-keys.json");
    serve = await startCli([
      CLI,
      "serve",
      "--workers",
      "2",
      "--grpc-port",
      "0",
      "--http-port",
      "0",
      "--database-url",
      db.appUrl,
      "--owner-database-url",
      db.ownerUrl,
      "--key-file",
      keyFile,
    ]);
    child = serve.child;
    exited = serve.exited;
    const line = serve.line;
    const m = /^listening grpc=127\.0\.0\.1:(\d+) http=127\.0\.0\.1:(\d+) \(not set up yet/.exec(line);
    assert.ok(m, `unexpected first line: ${line}`);
    grpcPort = Number(m[1]);
    httpPort = Number(m[2]);
    assert.ok(grpcPort > 0 && httpPort > 0 && grpcPort !== httpPort);
    // The line comes once, after both workers serve: both started their own listener and cache.
    assert.equal((stderr().match(/"event":"worker_ready"/g) ?? []).length, 2, stderr());

    admin = grpcJsClients(grpcPort);
    inst = await setupInstance(admin);
    org = await createOrg(admin, inst.operatorToken);
    token = await issue(admin, org.adminToken, { kind: TokenKind.INGESTION });
  });

  after(async () => {
    for (const c of open) c.close();
    admin?.close();
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await db?.drop();
    await tmp?.remove();
  });

  it("serves /healthz on the shared HTTP port", async () => {
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`http://127.0.0.1:${httpPort}/healthz`, { headers: { connection: "close" } });
      assert.equal(r.status, 200);
      assert.deepEqual(await r.json(), { status: "SERVING" });
    }
  });

  it("answers /metrics for the whole server: every scrape, whichever worker takes it, counts both workers' calls", async () => {
    const conns = Array.from({ length: 6 }, () => ownConnection(grpcPort));
    open.push(...conns);
    for (const c of conns) assert.equal((await verify(c, token.value)).status, VerifyStatus.VALID);
    await assertSpread("metrics connections");
    const VERIFY_OK = { grpc_service: "tessera.v1.TokenVerifyService", grpc_method: "Verify", grpc_type: "unary", grpc_code: "OK" };
    // A connection per scrape, as Prometheus's does after Node's keep-alive: the primary hands
    // them to the workers in turn, so these scrapes are answered by both.
    const seen: Array<{ handled: number; decided: number; lagSeries: number; fresh: number }> = [];
    for (let i = 0; i < 6; i++) {
      const r = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { headers: { connection: "close" } });
      assert.equal(r.status, 200);
      assert.match(r.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      const samples = parseSamples(await r.text());
      seen.push({
        handled: sampleValue(samples, "grpc_server_handled_total", VERIFY_OK),
        decided: sampleValue(samples, "tessera_verify_total", { status: "VALID" }),
        lagSeries: samples.filter((s) => s.name === "tessera_revocation_feed_lag_seconds").length,
        fresh: sampleValue(samples, "tessera_revocation_feed_fresh"),
      });
    }
    // Merged, not one worker's: 6 each time. Gauges that are not totals are combined, not added.
    assert.deepEqual(
      seen,
      Array.from({ length: 6 }, () => ({ handled: 6, decided: 6, lagSeries: 1, fresh: 1 })),
    );
  });

  it("a token disabled while cached in both workers answers DISABLED on every connection within 2 s", async function () {
    // Warm: ten connections, spread over both workers, each Verify VALID twice (the second from the cache).
    const warm = Array.from({ length: 10 }, () => ownConnection(grpcPort));
    open.push(...warm);
    for (let round = 0; round < 2; round++) {
      for (const c of warm) assert.equal((await verify(c, token.value)).status, VerifyStatus.VALID);
    }
    await assertSpread("warm-up connections");

    // Fresh connections, connected now (a call with a malformed credential, which nothing caches)
    // so that the 2 s below measure how long the revocation takes to reach the workers, not how
    // long twenty connections take to be set up on a loaded machine.
    const fresh = Array.from({ length: 20 }, () => ownConnection(grpcPort));
    open.push(...fresh);
    for (const c of fresh) assert.equal((await verify(c, "not-a-token")).status, VerifyStatus.MALFORMED);

    await admin.admin.setTokenEnabled({ id: token.id, enabled: false }, org.adminToken);
    const disabledAt = Date.now();

    // Every connection, fresh and warm (each stays on its worker), until each says DISABLED.
    const took = await Promise.all(
      [...warm, ...fresh].map(async (c) => {
        for (;;) {
          const r = await verify(c, token.value);
          if (r.status === VerifyStatus.DISABLED) return Date.now() - disabledAt;
          assert.equal(r.status, VerifyStatus.VALID, `unexpected ${VerifyStatus[r.status]}`);
          assert.ok(Date.now() - disabledAt < 2_000, "still VALID 2 s after the token was disabled");
          await new Promise((r) => setTimeout(r, 10));
        }
      }),
    );
    assert.ok(Math.max(...took) < 2_000, `slowest connection saw DISABLED after ${Math.max(...took)} ms`);
    this.test!.title += ` [slowest connection: ${Math.max(...took)} ms]`;
    await assertSpread("fresh connections");

    // And it stays so: every connection, first try.
    for (const c of [...warm, ...fresh]) assert.equal((await verify(c, token.value)).status, VerifyStatus.DISABLED);
    // Re-enabled: every worker's cached DISABLED is invalidated as well.
    await admin.admin.setTokenEnabled({ id: token.id, enabled: true }, org.adminToken);
    const enabledAt = Date.now();
    // All connections at once, as above: one after another, the 2 s would also count every
    // other connection's calls.
    await Promise.all(
      [...warm, ...fresh].map(async (c) => {
        for (;;) {
          const r = await verify(c, token.value);
          if (r.status === VerifyStatus.VALID) break;
          assert.ok(Date.now() - enabledAt < 2_000, "still DISABLED 2 s after the token was enabled again");
          await new Promise((r) => setTimeout(r, 10));
        }
      }),
    );
  });

  it("restarts a worker that dies", async function () {
    if (!PROC) this.skip();
    const before = await workerPids(child!.pid!);
    assert.equal(before.length, 2);
    process.kill(before[0]!, "SIGKILL");
    const deadline = Date.now() + 20_000;
    let after: number[] = [];
    while (Date.now() < deadline) {
      after = await workerPids(child!.pid!);
      if (after.length === 2 && !after.includes(before[0]!)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(after.length, 2, `workers after the kill: ${after.join(", ")}\n${stderr()}`);
    assert.ok(!after.includes(before[0]!));
    // Wait for the replacement to serve, then every connection is answered.
    const ready = Date.now() + 20_000;
    while (!/"event":"worker_exited"[^]*"event":"worker_ready"/.test(stderr()) && Date.now() < ready)
      await new Promise((r) => setTimeout(r, 100));
    assert.match(stderr(), /"event":"worker_exited"[^]*"event":"worker_ready"/);
    const conns = Array.from({ length: 6 }, () => ownConnection(grpcPort));
    open.push(...conns);
    for (const c of conns) assert.equal((await verify(c, token.value)).status, VerifyStatus.VALID);
    await assertSpread("after the restart");
  });

  it("exits 0 on SIGINT, workers and all", async () => {
    for (const c of open.splice(0)) c.close();
    admin.close();
    const workers = PROC ? await workerPids(child!.pid!) : [];
    const sent = Date.now();
    child!.kill("SIGINT");
    const e = await exited;
    assert.deepEqual(e, { code: 0, signal: null }, stderr());
    assert.ok(Date.now() - sent < 10_000, `took ${Date.now() - sent} ms to stop`);
    for (const pid of workers)
      assert.ok(
        !existsSync(`/proc/${pid}`) || (await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "")).includes(" Z "),
        `worker ${pid} outlived the primary`,
      );
    assertNoStack(stderr());
  });
});
