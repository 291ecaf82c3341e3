/**
 * Three Tessera processes on one PostgreSQL: a token disabled through instance 1 is refused by
 * every instance's Verify (each with a warm cache) and announced on every instance's stream.
 */
import assert from "node:assert/strict";
import { EndpointClass, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { newKey } from "../../src/domain/digest.js";
import { RevocationReason } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { grpcJsClients, type Clients } from "../helpers/clients.js";
import { freshDatabase, type TestDatabase } from "../helpers/db.js";
import { startInstanceProcess, type InstanceProcess } from "../helpers/instances.js";
import { createOrg, setupInstance, type Instance, type SeededOrg } from "../helpers/seed.js";
import { eventually } from "../helpers/wait.js";
import { watch, type Watcher } from "../helpers/watch.js";
import { createWorkerClient, type WorkerClient } from "../../src/client/worker-client.js";

describe("three instances sharing one database", function () {
  this.timeout(90_000);
  let db: TestDatabase;
  let instances: InstanceProcess[] = [];
  let clients: Clients[] = [];
  let inst: Instance;
  let org: SeededOrg;
  let watchers: Watcher[] = [];
  let workers: WorkerClient[] = [];

  before(async () => {
    db = await freshDatabase();
    const keys = JSON.stringify({ current: 1, keys: { "1": newKey().toString("base64") } });
    instances = await Promise.all([0, 1, 2].map(() => startInstanceProcess(db, keys, { TESSERA_CHECKPOINT_MS: "200" })));
    clients = instances.map((i) => grpcJsClients(i.grpcPort));
    inst = await setupInstance(clients[0]!);
    org = await createOrg(clients[0]!, inst.operatorToken);
    watchers = clients.map((c) => watch(() => c.verify.watchRevocations({}, inst.verifierToken) as never));
    await Promise.all(watchers.map((w) => w.until(() => w.checkpoints > 0)));
    // An ingestion worker's client on each instance, caching answers and following the stream.
    workers = instances.map((i) => createWorkerClient({ address: `127.0.0.1:${i.grpcPort}`, verifierToken: inst.verifierToken }));
    await Promise.all(workers.map((w) => w.ready()));
  });
  after(async () => {
    for (const w of workers) w.close();
    for (const w of watchers) w.stop();
    for (const c of clients) c.close();
    await Promise.all(instances.map((i) => i.stop()));
    await db.drop();
  });

  it("refuses a token on every instance, every worker client and every stream, soon after instance 1 disables it", async () => {
    const n = 20;
    const times: number[] = [];
    for (let k = 0; k < n; k++) {
      const t = await clients[0]!.admin.createToken({ name: `multi-${k}`, kind: TokenKind.INGESTION }, org.adminToken);
      const ask = (c: Clients) =>
        c.verify.verify({ credential: t.value, organization: org.identifier, endpoint: EndpointClass.INGEST }, inst.verifierToken);
      const askWorker = (w: WorkerClient) =>
        w.verify({ credential: t.value, organization: org.identifier, endpoint: EndpointClass.INGEST });
      // Warm every instance's cache and every worker client's cache (until it answers from cache).
      for (const c of clients) {
        assert.equal((await ask(c)).allowed, true);
        assert.equal((await ask(c)).allowed, true);
      }
      // A worker client rightly caches no answer whose RPC overlapped the token's ENABLED event
      // reaching it; how long that takes depends on the machine, so wait for it, don't count tries.
      for (const w of workers) {
        await eventually(
          async () => {
            const d = await askWorker(w);
            assert.equal(d.allowed, true);
            return d.fromCache;
          },
          undefined,
          "the worker client to cache the answer",
        );
      }
      await clients[0]!.admin.setTokenEnabled({ id: t.token!.id, enabled: false }, org.adminToken);
      const acked = performance.now();
      // Instance 1 refuses at once: its own write invalidated its cache before the call returned.
      assert.equal((await ask(clients[0]!)).allowed, false);
      // Wall-clock bounds, kept: they are what "soon" means here, each loop below measures only
      // the revocation's way to an instance, a worker client or a stream (all connected and
      // warm), and that takes milliseconds even with two CPU hogs beside the suite (see the
      // figures this test prints), two orders of magnitude below 5 s. The latency goal itself
      // is npm run bench:propagation's.
      let last = 0;
      await Promise.all(
        clients.map(async (c, i) => {
          for (;;) {
            if (!(await ask(c)).allowed) break;
            assert.ok(performance.now() - acked < 5000, `instance ${i + 1} still accepts after 5 s`);
          }
          last = Math.max(last, performance.now() - acked);
        }),
      );
      await Promise.all(
        workers.map(async (w, i) => {
          for (;;) {
            if (!(await askWorker(w)).allowed) break;
            assert.ok(performance.now() - acked < 5000, `worker client ${i + 1} still accepts after 5 s`);
            await new Promise((r) => setImmediate(r));
          }
          last = Math.max(last, performance.now() - acked);
        }),
      );
      await Promise.all(
        watchers.map((w) => w.until(() => w.events.some((e) => e.tokenId === t.token!.id && e.reason === RevocationReason.DISABLED), 5000)),
      );
      for (const w of watchers) {
        // The DISABLED event: the stream also carries the token's ENABLED event from its creation.
        const e = w.events.find((x) => x.tokenId === t.token!.id && x.reason === RevocationReason.DISABLED)!;
        last = Math.max(last, e.at - acked);
      }
      times.push(last);
    }
    times.sort((a, b) => a - b);
    const p50 = times[Math.floor(n / 2)]!;
    const max = times[n - 1]!;
    console.log(
      `      propagation to 3 instances, 3 worker clients and 3 streams over ${n} revocations: p50 ${p50.toFixed(1)} ms, max ${max.toFixed(1)} ms`,
    );
    assert.ok(max < 5000);
  });
});
