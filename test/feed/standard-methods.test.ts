/**
 * The standard methods that narrow or end what a token may do, across two Tessera processes on
 * one PostgreSQL, through grpc-js: a sub-organization turning its parent access off, DeleteBucket
 * with force, and UpdateToken moving an expiry. Each is refused at once by the instance that made
 * the change, and soon (the feed's way there, milliseconds) by the other instance and by a worker
 * client on each — every cache warm beforehand — with the event on every instance's stream.
 */
import assert from "node:assert/strict";
import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { EndpointClass, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { RevocationReason, VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { newKey } from "../../src/domain/digest.js";
import { createWorkerClient, type Decision, type WorkerClient } from "../../src/client/worker-client.js";
import { grpcJsClients, type Clients } from "../helpers/clients.js";
import { freshDatabase, type TestDatabase } from "../helpers/db.js";
import { startInstanceProcess, type InstanceProcess } from "../helpers/instances.js";
import { createOrg, issue, setupInstance, withAdmin, type Instance, type SeededOrg } from "../helpers/seed.js";
import { eventually } from "../helpers/wait.js";
import { watch, type Watcher } from "../helpers/watch.js";

/** What "soon" means for the other instance and the worker clients (see multi-instance.test.ts). */
const SOON_MS = 5000;

describe("standard methods on two instances sharing one database", function () {
  this.timeout(90_000);
  let db: TestDatabase;
  let instances: InstanceProcess[] = [];
  let clients: Clients[] = [];
  let inst: Instance;
  let parent: SeededOrg;
  let watchers: Watcher[] = [];
  let workers: WorkerClient[] = [];

  before(async () => {
    db = await freshDatabase();
    const keys = JSON.stringify({ current: 1, keys: { "1": newKey().toString("base64") } });
    instances = await Promise.all([0, 1].map(() => startInstanceProcess(db, keys, { TESSERA_CHECKPOINT_MS: "200" })));
    clients = instances.map((i) => grpcJsClients(i.grpcPort));
    inst = await setupInstance(clients[0]!);
    parent = await createOrg(clients[0]!, inst.operatorToken);
    watchers = clients.map((c) => watch(() => c.verify.watchRevocations({}, inst.verifierToken) as never));
    await Promise.all(watchers.map((w) => w.until(() => w.checkpoints > 0)));
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

  interface Question {
    credential: string;
    organization?: string;
    bucket?: string;
  }
  const ask = (c: Clients, q: Question) => c.verify.verify({ ...q, endpoint: EndpointClass.INGEST }, inst.verifierToken);
  const askWorker = (w: WorkerClient, q: Question) => w.verify({ ...q, endpoint: EndpointClass.INGEST });

  /** Every instance's cache and every worker client's cache hold an allowed answer to `q`. */
  async function warm(q: Question): Promise<void> {
    for (const c of clients) for (let i = 0; i < 2; i++) assert.equal((await ask(c, q)).status, VerifyStatus.VALID, "warming an instance");
    for (const w of workers) {
      // A worker client caches no answer whose RPC overlapped an event reaching it: wait for one.
      await eventually(
        async () => {
          const d = await askWorker(w, q);
          assert.equal(d.allowed, true, "warming a worker client");
          return d.fromCache;
        },
        undefined,
        "the worker client to cache the answer",
      );
    }
  }

  /** Instance 1 answers `status` at once; instance 2 and both worker clients within SOON_MS. */
  async function answeredEverywhere(q: Question, status: VerifyStatus, what: string): Promise<void> {
    const acked = performance.now();
    assert.equal(VerifyStatus[(await ask(clients[0]!, q)).status], VerifyStatus[status], `${what}: instance 1, at once`);
    for (;;) {
      const r = await ask(clients[1]!, q);
      if (r.status === status) break;
      assert.ok(performance.now() - acked < SOON_MS, `${what}: instance 2 still answers ${VerifyStatus[r.status]} after ${SOON_MS} ms`);
    }
    await Promise.all(
      workers.map(async (w, i) => {
        for (;;) {
          const d: Decision = await askWorker(w, q);
          if (d.status === status) return;
          assert.ok(
            performance.now() - acked < SOON_MS,
            `${what}: worker client ${i + 1} still answers ${String(d.status)} after ${SOON_MS} ms`,
          );
          await new Promise((r) => setImmediate(r));
        }
      }),
    );
  }

  const announced = (tokenId: string, reason: RevocationReason) =>
    Promise.all(watchers.map((w) => w.until(() => w.events.some((e) => e.tokenId === tokenId && e.reason === reason), SOON_MS)));

  it("refuses a parent's token in a sub-organization that turned parent access off, everywhere, and lets it back in when turned on", async () => {
    const c = clients[0]!;
    const identifier = `${parent.identifier}-kid`;
    const child = await withAdmin(
      c,
      inst.operatorToken,
      identifier,
      await c.admin.createOrganization({ identifier, parentId: parent.orgId }, parent.adminToken),
    );
    const q = { credential: parent.defaultTokenValue, organization: child.identifier };
    await warm(q);
    await warm({ credential: parent.defaultTokenValue, organization: parent.identifier });

    await c.admin.updateOrganization({ organization: { parentAccess: false }, updateMask: { paths: ["parent_access"] } }, child.adminToken);
    await answeredEverywhere(q, VerifyStatus.NOT_FOUND, "the parent's token in the child");
    await announced(parent.defaultTokenId, RevocationReason.PARENT_ACCESS_REVOKED);
    for (const cl of clients) {
      assert.equal((await ask(cl, { credential: parent.defaultTokenValue, organization: parent.identifier })).status, VerifyStatus.VALID);
    }

    await c.admin.updateOrganization({ organization: { parentAccess: true }, updateMask: { paths: ["parent_access"] } }, child.adminToken);
    // The worker clients' cached refusals (NOT_FOUND names no token) drop on the ENABLED events.
    await answeredEverywhere(q, VerifyStatus.VALID, "the parent's token, let back in");
    await announced(parent.defaultTokenId, RevocationReason.ENABLED);
  });

  it("refuses a token for a bucket DeleteBucket took out of its permissions, and a token it deleted, everywhere", async () => {
    const c = clients[0]!;
    for (const name of ["gone", "kept"]) await c.admin.createBucket({ name }, parent.adminToken);
    const narrowed = await issue(c, parent.adminToken, { kind: TokenKind.INGESTION, permissions: { buckets: ["gone", "kept"] } });
    const ended = await issue(c, parent.adminToken, { kind: TokenKind.INGESTION, permissions: { buckets: ["gone"] } });
    await warm({ credential: narrowed.value, bucket: "gone" });
    await warm({ credential: narrowed.value, bucket: "kept" });
    await warm({ credential: ended.value, bucket: "gone" });

    const r = await c.admin.deleteBucket({ name: "gone", force: true }, parent.adminToken);
    assert.deepEqual([r.narrowedTokenIds, r.deletedTokenIds], [[narrowed.id], [ended.id]]);
    await answeredEverywhere(
      { credential: narrowed.value, bucket: "gone" },
      VerifyStatus.FORBIDDEN,
      "the narrowed token, the deleted bucket",
    );
    await answeredEverywhere({ credential: ended.value, bucket: "gone" }, VerifyStatus.NOT_FOUND, "the deleted token");
    for (const cl of clients) assert.equal((await ask(cl, { credential: narrowed.value, bucket: "kept" })).status, VerifyStatus.VALID);
    await announced(narrowed.id, RevocationReason.UPDATED);
    await announced(ended.id, RevocationReason.DELETED);
  });

  it("answers with a token's new expiry everywhere once UpdateToken moves it, and refuses it everywhere once the earlier one passes", async () => {
    const c = clients[0]!;
    const t = await issue(c, parent.adminToken, { kind: TokenKind.INGESTION, expireTime: timestampFromMs(Date.now() + 3_600_000) });
    const q = { credential: t.value };
    await warm(q);
    const expiryEverywhere = async (at: number, what: string) => {
      const acked = performance.now();
      const seen = (d: { expireTime?: Date }) => d.expireTime?.getTime() === at;
      const r = await ask(clients[0]!, q);
      assert.equal(timestampDate(r.expireTime!).getTime(), at, `${what}: instance 1, at once`);
      await eventually(async () => timestampDate((await ask(clients[1]!, q)).expireTime!).getTime() === at, SOON_MS, `${what}: instance 2`);
      for (const w of workers) await eventually(async () => seen(await askWorker(w, q)), SOON_MS, `${what}: a worker client`);
      assert.ok(performance.now() - acked < SOON_MS);
    };

    const later = Date.now() + 7_200_000;
    await c.admin.updateToken({ id: t.id, updateMask: { paths: ["expire_time"] }, expireTime: timestampFromMs(later) }, parent.adminToken);
    await expiryEverywhere(later, "lengthened");
    await announced(t.id, RevocationReason.UPDATED);

    const soon = Date.now() + 3000;
    await c.admin.updateToken({ id: t.id, updateMask: { paths: ["expire_time"] }, expireTime: timestampFromMs(soon) }, parent.adminToken);
    await expiryEverywhere(soon, "shortened");
    await new Promise((r) => setTimeout(r, soon - Date.now() + 50));
    for (const cl of clients) assert.equal((await ask(cl, q)).status, VerifyStatus.EXPIRED, "an instance, after the new expiry");
    for (const w of workers) assert.equal((await askWorker(w, q)).status, VerifyStatus.EXPIRED, "a worker client, after the new expiry");
    await announced(t.id, RevocationReason.EXPIRED);
  });
});
