/**
 * Verify's hot path keeps every guarantee: the memoized verifier Caller is dropped by revocation
 * and by expiry, and batched cache misses answer each request with its own token (or none),
 * including re-checking and re-digesting tokens found under an old key.
 */
import assert from "node:assert/strict";
import pg from "pg";
import { create, toBinary } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, createContextValues, type HandlerContext } from "@connectrpc/connect";
import { EndpointClass, Signal, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import {
  PrincipalSchema,
  VerifyRequestSchema,
  VerifyResponseSchema,
  VerifyStatus,
  type VerifyResponse,
} from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { compareCursors } from "../../src/client/cursor.js";
import { createKeyring, newKey } from "../../src/domain/digest.js";
import { generateToken } from "../../src/domain/token-format.js";
import { kCaller, type Caller } from "../../src/services/caller.js";
import { createTokenLookup } from "../../src/services/token-lookup.js";
import { createTokenVerifyService } from "../../src/services/verify-service.js";
import { kWireEncoding } from "../../src/wire/wire-encoding.js";
import { allClients, type Clients } from "../helpers/clients.js";
import { superQuery } from "../helpers/db.js";
import { eventually } from "../helpers/wait.js";
import { createOrg, issue, setupInstance, type Instance, type SeededOrg } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { byName, rejects, transportNames } from "./support.js";

describe("Verify hot path", () => {
  let server: TestServer;
  let clients: Clients[];
  let inst: Instance;
  let clockOffset = 0;
  const k1 = newKey();

  before(async () => {
    server = await startTestServer({ keyring: createKeyring({ 1: k1 }, 1), now: () => Date.now() + clockOffset });
    clients = allClients({ grpcPort: server.tessera.grpcPort, httpPort: server.tessera.httpPort });
    inst = await setupInstance(clients[0]!);
  });
  after(async () => {
    for (const c of clients ?? []) c.close();
    await server?.close();
  });

  describe("the memoized verifier caller", () => {
    for (const name of transportNames()) {
      describe(name, () => {
        let c: Clients;
        let org: SeededOrg;
        let ingest: string;
        before(async () => {
          c = byName(clients, name);
          org = await createOrg(c, inst.operatorToken);
          ingest = (await issue(c, org.adminToken, { kind: TokenKind.INGESTION })).value;
        });
        const verifyWith = (verifier: string) =>
          c.verify.verify(
            { credential: ingest, organization: org.identifier, endpoint: EndpointClass.INGEST, signal: Signal.LOGS },
            verifier,
          );

        it("a VERIFIER token disabled with SetTokenEnabled is refused as a caller on the very next Verify", async () => {
          const v = await issue(c, inst.operatorToken, { kind: TokenKind.VERIFIER });
          for (let i = 0; i < 3; i++) assert.equal((await verifyWith(v.value)).status, VerifyStatus.VALID);
          await c.admin.setTokenEnabled({ id: v.id, enabled: false }, inst.operatorToken);
          await rejects(verifyWith(v.value), Code.Unauthenticated, "Verify by a disabled verifier");
          await rejects(verifyWith(v.value), Code.Unauthenticated, "Verify by a disabled verifier, again");
          await c.admin.setTokenEnabled({ id: v.id, enabled: true }, inst.operatorToken);
          assert.equal((await verifyWith(v.value)).status, VerifyStatus.VALID, "re-enabled");
        });

        it("a deleted or rotated VERIFIER token is refused on the very next Verify", async () => {
          const d = await issue(c, inst.operatorToken, { kind: TokenKind.VERIFIER });
          assert.equal((await verifyWith(d.value)).status, VerifyStatus.VALID);
          assert.equal((await verifyWith(d.value)).status, VerifyStatus.VALID);
          await c.admin.deleteToken({ id: d.id }, inst.operatorToken);
          await rejects(verifyWith(d.value), Code.Unauthenticated, "Verify by a deleted verifier");

          const r = await issue(c, inst.operatorToken, { kind: TokenKind.VERIFIER });
          assert.equal((await verifyWith(r.value)).status, VerifyStatus.VALID);
          assert.equal((await verifyWith(r.value)).status, VerifyStatus.VALID);
          const rotated = await c.admin.rotateToken({ id: r.id }, inst.operatorToken);
          await rejects(verifyWith(r.value), Code.Unauthenticated, "Verify by a rotated-away verifier value");
          assert.equal((await verifyWith(rotated.value)).status, VerifyStatus.VALID, "the new value works");
        });

        it("a VERIFIER token is refused as a caller as soon as it expires", async () => {
          const v = await issue(c, inst.operatorToken, {
            kind: TokenKind.VERIFIER,
            expireTime: timestampFromMs(Date.now() + clockOffset + 60_000),
          });
          assert.equal((await verifyWith(v.value)).status, VerifyStatus.VALID);
          assert.equal((await verifyWith(v.value)).status, VerifyStatus.VALID);
          clockOffset += 61_000;
          try {
            await rejects(verifyWith(v.value), Code.Unauthenticated, "Verify by an expired verifier");
          } finally {
            clockOffset -= 61_000;
          }
        });

        it("an unknown or malformed authorization value is never accepted, however often it is sent", async () => {
          for (let i = 0; i < 3; i++) {
            await rejects(verifyWith(generateToken("VERIFIER")), Code.Unauthenticated, "unknown verifier");
            await rejects(verifyWith("not-a-token"), Code.Unauthenticated, "malformed verifier");
          }
        });
      });
    }
  });

  describe("memoized answers", () => {
    const kWire = kWireEncoding;
    type Res = VerifyResponse & Record<symbol, unknown>;
    let call: (credential: string, organization: string) => Promise<Res>;
    let org: SeededOrg;
    before(async () => {
      org = await createOrg(clients[0]!, inst.operatorToken);
      const service = createTokenVerifyService(server.tessera.deps);
      const caller: Caller = { tokenId: "test", kind: "VERIFIER", orgId: org.orgId, userId: undefined, operator: false, role: undefined };
      const ctx = { values: createContextValues().set(kCaller, caller) } as unknown as HandlerContext;
      call = async (credential, organization) =>
        (await service.verify(
          create(VerifyRequestSchema, { credential, organization, endpoint: EndpointClass.INGEST, signal: Signal.LOGS }),
          ctx,
        )) as Res;
    });
    const wireOf = (r: Res) => Buffer.from(toBinary(VerifyResponseSchema, r)).toString("latin1");

    it("carry the current cursor, and an encoding equal to toBinary's, before and after the cursor moves", async () => {
      const c = clients[0]!;
      const plain = await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
      const expiring = await issue(c, org.adminToken, { kind: TokenKind.INGESTION, expireTime: timestampFromMs(Date.now() + 3_600_000) });
      const other = await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
      // A rotated token's old value, in its grace period: its answers carry fields 9 and 10 too.
      const overlapping = await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
      const rotated = await c.admin.rotateToken({ id: overlapping.id, gracePeriod: durationFromMs(3_600_000) }, org.adminToken);
      const asks: Array<[string, string, VerifyStatus]> = [
        [plain.value, org.identifier, VerifyStatus.VALID],
        [expiring.value, org.identifier, VerifyStatus.VALID],
        [overlapping.value, org.identifier, VerifyStatus.VALID],
        [rotated.value, org.identifier, VerifyStatus.VALID],
        [plain.value, "", VerifyStatus.VALID],
        [generateToken("INGESTION"), org.identifier, VerifyStatus.NOT_FOUND],
        [plain.value, "no-such-organization", VerifyStatus.NOT_FOUND],
      ];
      const check = async (when: string) => {
        for (const [credential, organization, status] of asks) {
          for (let i = 0; i < 2; i++) {
            // Background writes (last-used times) may move the cursor while the call runs.
            const c0 = server.tessera.deps.hub.cursor;
            const r = await call(credential, organization);
            const c1 = server.tessera.deps.hub.cursor;
            assert.equal(r.status, status, `${when}: status`);
            assert.ok(
              compareCursors(c0, r.cursor)! <= 0 && compareCursors(r.cursor, c1)! <= 0,
              `${when}: the current cursor (${c0} <= ${r.cursor} <= ${c1})`,
            );
            assert.ok(r.cursor !== "", `${when}: a cursor`);
            assert.equal(r[kWire], wireOf(r), `${when}: the attached encoding is exactly toBinary's`);
            assert.deepEqual(
              Object.keys(r).sort(),
              ["$typeName", ...VerifyResponseSchema.fields.map((f) => f.localName)].sort(),
              `${when}: every field of the schema, and nothing else`,
            );
            assert.equal(r.cacheTtl !== undefined, status === VerifyStatus.VALID, `${when}: a cache hint only when allowed`);
            assert.equal(r.newerValueExists, credential === overlapping.value, `${when}: "a newer value exists" only for the old value`);
            assert.equal(
              r.valueExpireTime !== undefined,
              credential === overlapping.value,
              `${when}: a value deadline only for the old value`,
            );
            // The principal is built per call from the lookup: it must still be a whole message.
            assert.equal(
              r.principal !== undefined,
              status !== VerifyStatus.NOT_FOUND,
              `${when}: a principal only for a token of this organization`,
            );
            if (r.principal !== undefined) {
              assert.deepEqual(
                Object.keys(r.principal).sort(),
                ["$typeName", ...PrincipalSchema.fields.map((f) => f.localName)].sort(),
                `${when}: every principal field`,
              );
              assert.equal(r.principal.organizationIdentifier, org.identifier);
            }
          }
        }
      };
      await check("first answers");
      const before = server.tessera.deps.hub.cursor;
      await c.admin.setTokenEnabled({ id: other.id, enabled: false }, org.adminToken);
      await server.tessera.deps.hub.wake(); // a read begun after the change committed
      assert.notEqual(server.tessera.deps.hub.cursor, before, "the unrelated revocation moved the cursor");
      await check("after the cursor moved");
      const r = await call(other.value, org.identifier);
      assert.equal(r.status, VerifyStatus.DISABLED, "the revoked token's answer is not a memo from before");
    });
  });

  describe("batched lookups", () => {
    let org: SeededOrg;
    let other: SeededOrg;
    let tokens: Array<{ id: string; value: string }>;

    before(async () => {
      const c = clients[0]!;
      org = await createOrg(c, inst.operatorToken);
      other = await createOrg(c, inst.operatorToken);
      tokens = [];
      for (let i = 0; i < 40; i++) tokens.push(await issue(c, org.adminToken, { kind: TokenKind.INGESTION }));
    });

    it("return the right token for each of many concurrent distinct tokens, unknown ones included, in few round trips", async () => {
      let queries = 0;
      const lookup = createTokenLookup({
        db: server.tessera.db,
        keyring: server.keyring,
        log: () => undefined,
        onQuery: () => queries++,
      });
      const unknown = Array.from({ length: 20 }, () => generateToken("INGESTION"));
      type Ask = { token: string; target: string; want: string | undefined };
      const asks: Ask[] = [
        ...tokens.map((t) => ({ token: t.value, target: org.identifier, want: t.id })),
        ...unknown.map((token) => ({ token, target: org.identifier, want: undefined })),
        // Found, but asked about in another organization: the lookup still names the token.
        ...tokens.slice(0, 5).map((t) => ({ token: t.value, target: other.identifier, want: t.id })),
        ...tokens.slice(5, 10).map((t) => ({ token: t.value, target: "", want: t.id })),
      ];
      // Shuffle so known and unknown tokens share batches.
      for (let i = asks.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [asks[i], asks[j]] = [asks[j]!, asks[i]!];
      }
      const got = await Promise.all([...asks.map((a) => lookup.lookup(a.token, a.target)), lookup.lookup("malformed", org.identifier)]);
      assert.ok("malformed" in got.at(-1)!, "a malformed token is reported malformed, not looked up");
      for (let i = 0; i < asks.length; i++) {
        const r = got[i]!;
        assert.ok("found" in r, "well-formed");
        assert.equal(r.found?.tokenId, asks[i]!.want, `ask ${i}`);
        if (r.found !== undefined) {
          assert.equal(r.found.orgId, org.orgId);
          const target = asks[i]!.target;
          assert.equal(r.found.targetIdentifier, target === "" ? null : target);
          assert.equal(r.found.targetReachable, target === org.identifier);
        }
      }
      assert.ok(queries >= 1 && queries < asks.length / 4, `${asks.length} concurrent lookups took ${queries} queries`);
    });

    it("share one frozen permissions object and one copy of the organization's strings between its tokens", async () => {
      const lookup = createTokenLookup({ db: server.tessera.db, keyring: server.keyring, log: () => undefined });
      const got = await Promise.all(tokens.slice(0, 3).map((t) => lookup.lookup(t.value, org.identifier)));
      const found = got.map((r) => ("found" in r ? r.found : undefined));
      assert.ok(
        found.every((f) => f !== undefined),
        "all three found",
      );
      const [a, b, c] = found as [NonNullable<(typeof found)[0]>, NonNullable<(typeof found)[0]>, NonNullable<(typeof found)[0]>];
      assert.equal(a.permissions, b.permissions, "the same object, not an equal copy");
      assert.equal(b.permissions, c.permissions);
      assert.ok(Object.isFrozen(a.permissions), "frozen: no lookup may change what the others see");
      assert.throws(() => ((a.permissions as Record<string, unknown>).signals = ["LOGS"]), TypeError);
      assert.equal(a.orgId, org.orgId);
      assert.equal(a.orgIdentifier, org.identifier);
      // A token of another organization keeps its own values.
      const mine = await issue(clients[0]!, other.adminToken, { kind: TokenKind.INGESTION });
      const r = await lookup.lookup(mine.value, other.identifier);
      assert.ok("found" in r && r.found !== undefined);
      assert.equal(r.found.orgId, other.orgId);
      assert.equal(r.found.orgIdentifier, other.identifier);
    });

    it("a batch of one and batches split at the size limit answer the same", async () => {
      let queries = 0;
      const lookup = createTokenLookup({
        db: server.tessera.db,
        keyring: server.keyring,
        log: () => undefined,
        onQuery: () => queries++,
        maxBatch: 7,
      });
      const one = await lookup.lookup(tokens[0]!.value, org.identifier);
      assert.ok("found" in one && one.found?.tokenId === tokens[0]!.id);
      assert.equal(queries, 1);
      const got = await Promise.all(tokens.map((t) => lookup.lookup(t.value, org.identifier)));
      got.forEach((r, i) => assert.ok("found" in r && r.found?.tokenId === tokens[i]!.id, `token ${i}`));
      assert.equal(queries, 1 + Math.ceil(tokens.length / 7));
    });

    it("misses arriving while every query slot is busy wait and share one query", async () => {
      let queries = 0;
      const lookup = createTokenLookup({
        db: server.tessera.db,
        keyring: server.keyring,
        log: () => undefined,
        onQuery: () => queries++,
        maxQueries: 1,
      });
      // Hold the first query in the database: a lock on tokens makes it wait until released.
      const hold = new pg.Client({ connectionString: server.db.superuserUrl });
      await hold.connect();
      try {
        await hold.query("BEGIN");
        await hold.query("LOCK TABLE tokens IN ACCESS EXCLUSIVE MODE");
        const first = lookup.lookup(tokens[0]!.value, org.identifier);
        const rest: Array<ReturnType<typeof lookup.lookup>> = [];
        // Ten more misses, each in a later turn of the event loop than the one before.
        for (const t of tokens.slice(1, 11)) {
          await new Promise((r) => setImmediate(r));
          rest.push(lookup.lookup(t.value, org.identifier));
        }
        // Time for a wrong second query to go out. This cannot fail spuriously: the first query
        // is held by the lock until COMMIT below, so the one slot stays taken however long the
        // wait lasts; a slower machine only gives a wrong query less time to show.
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(queries, 1, "nothing more is sent while the one slot is taken");
        await hold.query("COMMIT");
        const got = await Promise.all([first, ...rest]);
        got.forEach((r, i) => assert.ok("found" in r && r.found?.tokenId === tokens[i]!.id, `token ${i}`));
        assert.equal(queries, 2, "the ten that waited went as one query");
      } finally {
        await hold.query("ROLLBACK").catch(() => undefined);
        await hold.end();
      }
    });

    it("find tokens digested under an old key, re-check and re-digest them under the current key", async () => {
      const k2 = newKey();
      const rotated = createKeyring({ 1: k1, 2: k2 }, 2);
      const lookup = createTokenLookup({ db: server.tessera.db, keyring: rotated, log: () => undefined });
      const some = tokens.slice(10, 30);
      const got = await Promise.all([
        ...some.map((t) => lookup.lookup(t.value, org.identifier)),
        lookup.lookup(generateToken("INGESTION"), org.identifier),
      ]);
      some.forEach((t, i) => {
        const r = got[i]!;
        assert.ok("found" in r && r.found?.tokenId === t.id, `token ${i} found under the old key`);
        assert.equal(r.found.keyId, 1);
      });
      assert.ok("found" in got.at(-1)! && (got.at(-1) as { found: unknown }).found === undefined, "unknown stays unknown");
      // The re-digest is best effort in the background: wait for it.
      const ids = some.map((t) => t.id);
      let keyIds: number[] = [];
      await eventually(
        async () => {
          const rows = await superQuery<{ key_id: number }>(server.db, `SELECT key_id FROM tokens WHERE id = ANY($1::uuid[])`, [ids]);
          keyIds = rows.map((r) => r.key_id);
          return keyIds.length === ids.length && keyIds.every((k) => k === 2);
        },
        undefined,
        "the background re-digest",
        50,
      ).catch(() => undefined); // the assertion below says what is missing
      assert.deepEqual(
        keyIds,
        ids.map(() => 2),
        "re-digested under key 2",
      );
      const again = await Promise.all(some.map((t) => lookup.lookup(t.value, org.identifier)));
      again.forEach((r, i) =>
        assert.ok("found" in r && r.found?.tokenId === some[i]!.id && r.found.keyId === 2, `token ${i} under the new key`),
      );
      // Under the old keyring alone these tokens no longer match: the old digests are gone.
      const old = createTokenLookup({ db: server.tessera.db, keyring: createKeyring({ 1: k1 }, 1), log: () => undefined });
      const gone = await Promise.all(some.map((t) => old.lookup(t.value, org.identifier)));
      gone.forEach((r) => assert.ok("found" in r && r.found === undefined));
    });

    it("Verify answers each of many concurrent distinct credentials correctly through the server", async () => {
      const c = clients[0]!;
      server.tessera.cache.clear();
      const unknown = Array.from({ length: 10 }, () => generateToken("INGESTION"));
      const creds = [...tokens.slice(30).map((t) => ({ v: t.value, ok: true })), ...unknown.map((v) => ({ v, ok: false }))];
      const rs = await Promise.all(
        creds.map((x) =>
          c.verify.verify(
            { credential: x.v, organization: org.identifier, endpoint: EndpointClass.INGEST, signal: Signal.LOGS },
            inst.verifierToken,
          ),
        ),
      );
      rs.forEach((r, i) => assert.equal(r.status, creds[i]!.ok ? VerifyStatus.VALID : VerifyStatus.NOT_FOUND, `credential ${i}`));
    });
  });
});
