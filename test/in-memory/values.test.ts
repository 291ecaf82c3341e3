/**
 * Values you bring (issue 12), in memory: CreateToken with a Tessera-format value of the token's
 * kind (SUPPLIED) or a value imported from another system (IMPORTED); refusals of bad and weak
 * values; a value in use anywhere is ALREADY_EXISTS without saying where; allow_existing; the
 * origin in Get and List; imported values verifying and authenticating; the imported-value filter
 * (no database query for distinct unknown imported-looking values while the feed is fresh, loaded
 * at start, learnt from the feed by another instance, keyed under every live key); values never in
 * a response, a log line or any table; other organizations out of reach.
 */
import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import pg from "pg";
import { EndpointClass, Role, TokenKind, TokenValueOrigin } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { createKeyring, newKey } from "../../src/domain/digest.js";
import { generateToken } from "../../src/domain/token-format.js";
import { createImportedFilter } from "../../src/services/imported-filter.js";
import { createTokenLookup } from "../../src/services/token-lookup.js";
import { startInMemoryTessera, useInMemoryTessera, type InMemoryTessera } from "../helpers/in-memory.js";
import { addMember, createOrg, type SeededOrg } from "../helpers/seed.js";
import { eventually } from "../helpers/wait.js";
import { basic, flipOne, json, maskOf } from "../service/support.js";
import { assertNoHint, expectStatus, rejects, tag, useTwoOrganizations } from "./support.js";

const ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const PRINTABLE = Array.from({ length: 94 }, (_, i) => String.fromCharCode(0x21 + i)).join("");
/** A value from another system: random printable ASCII, `n` characters. */
const imported = (n = 48, alphabet = ALNUM): string => Array.from({ length: n }, () => alphabet[randomInt(alphabet.length)]!).join("");

describe("values you bring, in memory", () => {
  let queries = 0;
  const key1 = newKey();
  const f = useInMemoryTessera({ keyring: createKeyring({ 1: key1 }, 1), onQuery: () => queries++ });
  const x = useTwoOrganizations(f);
  /** Every value brought in this file, to look for in responses, logs and tables. */
  const brought: string[] = [];
  /** Every response, as JSON. */
  const responses: string[] = [];
  let editor: string;

  const create = async (req: Parameters<InMemoryTessera["c"]["admin"]["createToken"]>[0], token = x.a.adminToken) => {
    if (req.value) brought.push(req.value);
    const r = await f.t.c.admin.createToken({ name: `v-${tag()}`, ...req }, token);
    responses.push(json(r));
    return r;
  };
  const verify = (credential: string, endpoint = EndpointClass.INGEST, organization = "") =>
    f.t.c.verify.verify({ credential, endpoint, organization }, f.inst.verifierToken);
  /** Waits until a change this file made is announced back by the feed, so no fetch is in flight. */
  const settled = () => eventually(() => f.t.services.deps.importedFilter.ready, undefined, "the imported-value filter to be sure");

  before(async () => {
    await f.t.c.admin.createBucket({ name: "logs" }, x.a.adminToken);
    editor = await addMember(f.t.c, x.a.adminToken, x.a.orgId, Role.EDITOR);
  });

  describe("CreateToken with a Tessera-format value", () => {
    it("accepts one of each kind but OPERATOR, keeps it as SUPPLIED with the usual mask, and never sends it back", async () => {
      const reqs = [
        { kind: TokenKind.INGESTION },
        { kind: TokenKind.ALL_ACCESS },
        { kind: TokenKind.READ_WRITE, userId: editor, permissions: { bucketAccess: [{ bucket: "logs", read: true, write: true }] } },
        { kind: TokenKind.SHARED, permissions: { dashboards: ["d"] }, expireTime: timestampFromMs(Date.now() + 3_600_000) },
      ];
      const kinds = { 1: "INGESTION", 3: "ALL_ACCESS", 4: "READ_WRITE", 5: "SHARED", 6: "VERIFIER" } as const;
      for (const req of [...reqs, { kind: TokenKind.VERIFIER }]) {
        const value = generateToken(kinds[req.kind as keyof typeof kinds]);
        const r = await create({ ...req, value }, req.kind === TokenKind.VERIFIER ? f.inst.operatorToken : x.a.adminToken);
        assert.equal(r.value, "", "a brought value is not sent back");
        assert.equal(r.created, true);
        assert.equal(r.token!.valueOrigin, TokenValueOrigin.SUPPLIED);
        assert.equal(r.token!.maskedValue, maskOf(value));
        const v = await verify(value);
        assert.equal(v.principal?.tokenId, r.token!.id, `${TokenKind[req.kind]}: Verify knows the supplied value`);
      }
    });

    it("refuses OPERATOR with any value, another kind's value naming the prefix expected, and a bad checksum: INVALID_ARGUMENT", async () => {
      const op = generateToken("OPERATOR");
      const e1 = await rejects(
        create({ kind: TokenKind.OPERATOR, value: op, userId: f.inst.operatorUserId }, f.inst.operatorToken),
        Code.InvalidArgument,
      );
      assert.match(e1.rawMessage, /OPERATOR tokens cannot be given a value/);
      const e2 = await rejects(create({ kind: TokenKind.INGESTION, value: generateToken("ALL_ACCESS") }), Code.InvalidArgument);
      assert.match(e2.rawMessage, /INGESTION token's value starts with "o2oi_"/);
      const typo = flipOne(generateToken("INGESTION"));
      const e3 = await rejects(create({ kind: TokenKind.INGESTION, value: typo }), Code.InvalidArgument);
      assert.match(e3.rawMessage, /looks like a Tessera INGESTION token but is not one/);
      for (const e of [e1, e2, e3]) assert.ok(!e.rawMessage.includes(typo.slice(5, 20)) && !e.rawMessage.includes(op.slice(5, 20)));
      const e4 = await rejects(
        create({ kind: TokenKind.INGESTION, allowExisting: true }),
        Code.InvalidArgument,
        "allow_existing without a value",
      );
      assert.match(e4.rawMessage, /allow_existing needs a value/);
    });
  });

  describe("CreateToken with an imported value", () => {
    it("accepts 32 and 512 printable characters, IMPORTED and masked as first 3 … last 4, and Verify accepts them", async () => {
      for (const value of [imported(32), imported(512, PRINTABLE)]) {
        const r = await create({ kind: TokenKind.INGESTION, value });
        assert.equal(r.value, "");
        assert.equal(r.token!.valueOrigin, TokenValueOrigin.IMPORTED);
        assert.equal(r.token!.maskedValue, `${value.slice(0, 3)}…${value.slice(-4)}`);
        expectStatus(await verify(value), VerifyStatus.VALID, `a ${value.length}-character imported value`);
        expectStatus(await verify(basic(x.a.identifier, value)), VerifyStatus.VALID, "as a Basic credential");
        expectStatus(
          await verify(value, EndpointClass.INGEST, x.b.identifier),
          VerifyStatus.NOT_FOUND,
          "addressed to another organization",
        );
      }
    });

    it("refuses 31 and 513 characters, spaces and non-printable characters, and low-entropy values, with INVALID_ARGUMENT", async () => {
      for (const [value, msg] of [
        [imported(31), /at least 32 characters/],
        [imported(513), /at most 512 characters/],
        [`${imported(20)} ${imported(20)}`, /printable ASCII/],
        [`${imported(40)}\u0007`, /printable ASCII|control/],
        ["z".repeat(48), /too predictable/],
        ["abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN", /too predictable/],
        ["0123456789".repeat(4), /too predictable/],
        ["qwertyuiop1234567890asdfghjklzxcvbnm", /too predictable/],
        ["Password2024!Password2024!Password2024!", /too predictable/],
        ["grafanaservicetokenforproductionmetrics", /too predictable/],
        [imported(120, "01"), /too predictable.*few distinct characters/],
      ] as const) {
        const e = await rejects(create({ kind: TokenKind.INGESTION, value }), Code.InvalidArgument, `value of ${value.length}`);
        assert.match(e.rawMessage, msg);
        for (let i = 0; i + 8 <= value.length; i += 4)
          assert.ok(!e.rawMessage.includes(value.slice(i, i + 8)), "the refusal quotes the value");
      }
    });

    it("authenticates admin calls with an imported ALL_ACCESS value", async () => {
      const value = imported(64, PRINTABLE.replace(":", ""));
      const r = await create({ kind: TokenKind.ALL_ACCESS, value });
      const list = await f.t.c.admin.listTokens({}, value);
      assert.ok(list.tokens.some((t) => t.id === r.token!.id));
      await f.t.c.admin.setTokenEnabled({ id: r.token!.id, enabled: false }, x.a.adminToken);
      await rejects(f.t.c.admin.listTokens({}, value), Code.Unauthenticated, "a disabled imported token");
      expectStatus(await verify(value, EndpointClass.QUERY), VerifyStatus.DISABLED, "Verify of a disabled imported token");
    });
  });

  describe("a value already in use", () => {
    it("answers ALREADY_EXISTS, naming no organization or token, wherever the value is held", async () => {
      const value = imported(40);
      const inB = await create({ kind: TokenKind.INGESTION, value }, x.b.adminToken);
      for (const [req, who] of [
        [{ kind: TokenKind.INGESTION, value }, "another organization"],
        [{ kind: TokenKind.INGESTION, value, organizationId: x.b.orgId }, "the same organization, another name"],
        [{ kind: TokenKind.INGESTION, value: x.b.defaultTokenValue }, "B's default token's generated value"],
        [{ kind: TokenKind.INGESTION, value: x.a.defaultTokenValue }, "the caller's own default token's value"],
      ] as const) {
        const token = "organizationId" in req ? f.inst.operatorToken : x.a.adminToken;
        const e = await rejects(create(req, token), Code.AlreadyExists, who);
        assert.equal(e.rawMessage, "this value is already in use");
        assertNoHint(e, [x.b.orgId, x.b.identifier, inB.token!.id, inB.token!.name], who);
      }
    });

    it("tells a name clash apart: ALREADY_EXISTS naming the name", async () => {
      const name = `clash-${tag()}`;
      await create({ name, kind: TokenKind.INGESTION, value: imported() });
      const e = await rejects(create({ name, kind: TokenKind.INGESTION, value: imported() }), Code.AlreadyExists);
      assert.match(e.rawMessage, new RegExp(`a token named "${name}" already exists`));
    });

    it("with allow_existing, answers the token already holding this name, value and kind with created = false, and nothing else", async () => {
      const name = `again-${tag()}`;
      const value = imported();
      const first = await create({ name, kind: TokenKind.INGESTION, value, allowExisting: true });
      assert.equal(first.created, true);
      const again = await create({ name, kind: TokenKind.INGESTION, value, allowExisting: true });
      assert.equal(again.created, false);
      assert.equal(again.token!.id, first.token!.id);
      assert.equal(again.value, "");
      const list = await f.t.c.admin.listTokens({ pageSize: 1000 }, x.a.adminToken);
      assert.equal(list.tokens.filter((t) => t.name === name).length, 1, "one token of that name");
      const other = await rejects(create({ name, kind: TokenKind.INGESTION, value: imported(), allowExisting: true }), Code.AlreadyExists);
      assert.match(other.rawMessage, /a token named/, "another value under that name is a name clash");
      const kind = await rejects(create({ name, kind: TokenKind.ALL_ACCESS, value, allowExisting: true }), Code.AlreadyExists);
      assert.match(kind.rawMessage, /a token named|this value is already in use/, "another kind under that name and value is no match");
      const elsewhere = await rejects(
        create({ name, kind: TokenKind.INGESTION, value, allowExisting: true }, x.b.adminToken),
        Code.AlreadyExists,
      );
      assert.equal(elsewhere.rawMessage, "this value is already in use", "the same name and value in another organization reveal nothing");
    });
  });

  describe("across organizations", () => {
    it("refuses an admin of A creating a token with a value in B: NOT_FOUND, and the value stays free", async () => {
      const value = imported();
      const e = await rejects(create({ kind: TokenKind.INGESTION, value, organizationId: x.b.orgId }), Code.NotFound);
      assertNoHint(e, [x.b.identifier], "cross-tenant create");
      await rejects(
        create({ kind: TokenKind.INGESTION, value, organizationId: x.closedChild.orgId }),
        Code.NotFound,
        "a child that denies parent access",
      );
      const inB = await create({ kind: TokenKind.INGESTION, value }, x.b.adminToken);
      assert.equal(inB.created, true);
      expectStatus(await verify(value, EndpointClass.INGEST, x.a.identifier), VerifyStatus.NOT_FOUND, "B's value addressed to A");
    });
  });

  describe("Get and List", () => {
    it("show where each value came from", async () => {
      const gen = await create({ kind: TokenKind.INGESTION });
      const sup = await create({ kind: TokenKind.INGESTION, value: generateToken("INGESTION") });
      const imp = await create({ kind: TokenKind.INGESTION, value: imported() });
      const list = await f.t.c.admin.listTokens({ pageSize: 1000 }, x.a.adminToken);
      responses.push(json(list));
      const origin = (id: string) => list.tokens.find((t) => t.id === id)?.valueOrigin;
      assert.equal(origin(gen.token!.id), TokenValueOrigin.GENERATED);
      assert.equal(origin(sup.token!.id), TokenValueOrigin.SUPPLIED);
      assert.equal(origin(imp.token!.id), TokenValueOrigin.IMPORTED);
      assert.equal(origin(x.a.defaultTokenId), TokenValueOrigin.GENERATED);
      const got = await f.t.c.admin.getToken({ id: imp.token!.id }, x.a.adminToken);
      responses.push(json(got));
      assert.equal(got.token!.valueOrigin, TokenValueOrigin.IMPORTED);
      const rotated = await f.t.c.admin.rotateToken({ id: imp.token!.id }, x.a.adminToken);
      assert.equal(rotated.token!.valueOrigin, TokenValueOrigin.GENERATED, "a rotated token holds a generated value");
      assert.match(rotated.token!.maskedValue, /^o2oi_…/);
    });
  });

  describe("the imported-value filter", () => {
    it("answers distinct unknown imported-looking values NOT_FOUND without a database query while the feed is fresh", async () => {
      await settled();
      const good = x.a.defaultTokenValue;
      const before = queries;
      for (let i = 0; i < 200; i++) {
        expectStatus(await verify(imported(32 + (i % 100), PRINTABLE.replace(":", ""))), VerifyStatus.NOT_FOUND, `unknown value ${i}`);
      }
      // Shapes that used to be MALFORMED are possible imported values now: still no query.
      expectStatus(await verify(good.slice(0, 42)), VerifyStatus.NOT_FOUND, "a truncated Tessera token");
      expectStatus(await verify(`xxxx_${good.slice(5)}`), VerifyStatus.NOT_FOUND, "an unknown prefix");
      expectStatus(await verify(`${good}x`), VerifyStatus.NOT_FOUND, "a Tessera token with a character more");
      await rejects(f.t.c.admin.listTokens({}, imported(40)), Code.Unauthenticated, "an unknown imported-looking admin credential");
      assert.equal(queries - before, 0, "no database query");
      // The count works: an unknown Tessera-format token is looked up (and then cached).
      expectStatus(await verify(generateToken("INGESTION")), VerifyStatus.NOT_FOUND, "an unknown Tessera token");
      assert.equal(queries - before, 1);
      // Still MALFORMED without any lookup: the wrong lengths, non-printable, a Tessera look-alike.
      for (const v of [imported(31), imported(513), flipOne(good)]) expectStatus(await verify(v), VerifyStatus.MALFORMED, "malformed");
      assert.equal(queries - before, 1);
    });

    it("looks every imported-looking value up while the revocation feed is stale, so a real token is never refused", async () => {
      const value = imported();
      const real = await create({ kind: TokenKind.INGESTION, value });
      const filter = createImportedFilter({ db: f.t.services.db, log: () => undefined });
      await filter.load();
      let n = 0;
      let fresh = true;
      const lookup = createTokenLookup({
        db: f.t.services.db,
        keyring: f.t.keyring,
        log: () => undefined,
        cacheFresh: () => fresh,
        onQuery: () => n++,
        importedFilter: filter,
      });
      assert.deepEqual(await lookup.lookup(imported(), ""), { found: undefined });
      assert.equal(n, 0, "fresh: ruled out by the filter");
      const found = await lookup.lookup(value, "");
      assert.ok("found" in found && found.found?.tokenId === real.token!.id, "a known imported value is looked up and found");
      assert.equal(n, 1);
      fresh = false;
      const unknown = await lookup.lookup(imported(), "");
      assert.ok("found" in unknown && unknown.found === undefined);
      assert.equal(n, 2, "stale: looked up");
      filter.close();
    });

    it("lets a value verify at once on this instance after it was asked about before it existed", async () => {
      await settled();
      const supplied = generateToken("INGESTION");
      const value = imported();
      expectStatus(await verify(supplied), VerifyStatus.NOT_FOUND, "before: cached as not found");
      expectStatus(await verify(value), VerifyStatus.NOT_FOUND, "before: ruled out by the filter");
      await create({ kind: TokenKind.INGESTION, value: supplied });
      await create({ kind: TokenKind.INGESTION, value });
      expectStatus(await verify(supplied), VerifyStatus.VALID, "right after creation, the cached refusal is gone");
      expectStatus(await verify(value), VerifyStatus.VALID, "right after creation, the filter knows it");
    });

    describe("on other instances sharing the database", () => {
      let second: InMemoryTessera | undefined;
      let secondQueries = 0;
      let org: SeededOrg;
      before(async () => {
        org = await createOrg(f.t.c, f.inst.operatorToken);
      });
      afterEach(async () => {
        await second?.close();
        second = undefined;
      });

      it("is loaded at start with the imported previous values of rotations still in their overlap", async () => {
        const value = imported();
        const made = await create({ kind: TokenKind.INGESTION, value }, org.adminToken);
        const rotated = await f.t.c.admin.rotateToken({ id: made.token!.id, gracePeriod: { seconds: 3600n, nanos: 0 } }, org.adminToken);
        assert.ok(rotated.token!.previousValue !== undefined, "the imported value is the previous one, for an hour");
        assert.equal(rotated.token!.valueOrigin, TokenValueOrigin.GENERATED, "the new value is generated");
        second = await startInMemoryTessera({ db: f.t.db, keyring: f.t.keyring, onQuery: () => secondQueries++ });
        await eventually(
          () => second!.services.deps.importedFilter.ready && second!.services.hub.fresh(),
          undefined,
          "the second instance ready",
        );
        const r = await second.c.verify.verify({ credential: value, endpoint: EndpointClass.INGEST }, f.inst.verifierToken);
        expectStatus(r, VerifyStatus.VALID, "the old imported value, on an instance started during the overlap");
        assert.equal(r.newerValueExists, true);
      });

      it("is loaded at start: a new instance knows the imported values already there", async () => {
        const value = imported();
        await create({ kind: TokenKind.INGESTION, value }, org.adminToken);
        second = await startInMemoryTessera({ db: f.t.db, keyring: f.t.keyring, onQuery: () => secondQueries++ });
        assert.ok(second.services.deps.importedFilter.size >= 1);
        await eventually(
          () => second!.services.deps.importedFilter.ready && second!.services.hub.fresh(),
          undefined,
          "the second instance ready",
        );
        const before = secondQueries;
        for (let i = 0; i < 50; i++)
          expectStatus(
            await second.c.verify.verify({ credential: imported(), endpoint: EndpointClass.INGEST }, f.inst.verifierToken),
            VerifyStatus.NOT_FOUND,
            "unknown",
          );
        const verifierQueries = secondQueries - before;
        expectStatus(
          await second.c.verify.verify({ credential: value, endpoint: EndpointClass.INGEST }, f.inst.verifierToken),
          VerifyStatus.VALID,
          "the imported value, on the new instance",
        );
        assert.ok(verifierQueries <= 1, `the 50 unknown values cost no query (the verifier's own lookup at most): ${verifierQueries}`);
      });

      it("learns from the feed a value imported on another instance after it started", async () => {
        second = await startInMemoryTessera({ db: f.t.db, keyring: f.t.keyring, onQuery: () => secondQueries++ });
        const ask = (credential: string) =>
          second!.c.verify.verify({ credential, endpoint: EndpointClass.INGEST, organization: org.identifier }, f.inst.verifierToken);
        const value = imported();
        await eventually(
          () => second!.services.deps.importedFilter.ready && second!.services.hub.fresh(),
          undefined,
          "the second instance ready",
        );
        expectStatus(await ask(value), VerifyStatus.NOT_FOUND, "before the import");
        const r = await create({ kind: TokenKind.INGESTION, value }, org.adminToken);
        await eventually(
          async () => (await ask(value)).status === VerifyStatus.VALID,
          undefined,
          "the second instance to accept the imported value",
        );
        await eventually(() => second!.services.deps.importedFilter.ready, undefined, "the second instance's fetch to end");
        const before = secondQueries;
        for (let i = 0; i < 50; i++) expectStatus(await ask(imported()), VerifyStatus.NOT_FOUND, "unknown");
        assert.equal(secondQueries - before, 0, "unknown values cost the second instance no query once it learnt the new token");
        // And it stops accepting it when it is deleted, as for any token.
        await f.t.c.admin.deleteToken({ id: r.token!.id }, org.adminToken);
        await eventually(
          async () => (await ask(value)).status === VerifyStatus.NOT_FOUND,
          undefined,
          "the deletion to reach the second instance",
        );
      });

      it("checks the value's digest under every live key: a token imported before a key rotation still verifies, and is re-digested", async () => {
        const value = imported();
        const r = await create({ kind: TokenKind.INGESTION, value }, org.adminToken);
        const untouched = imported();
        await create({ kind: TokenKind.INGESTION, value: untouched }, org.adminToken);
        // Key 1 kept and a new current key 2, as after a key rotation and a restart.
        second = await startInMemoryTessera({
          db: f.t.db,
          keyring: createKeyring({ 1: key1, 2: newKey() }, 2),
          onQuery: () => secondQueries++,
        });
        await eventually(
          () => second!.services.deps.importedFilter.ready && second!.services.hub.fresh(),
          undefined,
          "the second instance ready",
        );
        const ask = (credential: string) => second!.c.verify.verify({ credential, endpoint: EndpointClass.INGEST }, f.inst.verifierToken);
        expectStatus(await ask(value), VerifyStatus.VALID, "found by the old key's prefix");
        const before = secondQueries;
        for (let i = 0; i < 20; i++) expectStatus(await ask(imported()), VerifyStatus.NOT_FOUND, "unknown");
        assert.equal(secondQueries - before, 0, "unknown values still cost no query with two keys");
        await eventually(async () => (await keyIdOf(f.t, r.token!.id)) === 2, undefined, "the token to be re-digested under key 2");
        expectStatus(await ask(value), VerifyStatus.VALID, "and found again after re-digesting");
        // A value stored under key 1 only: the unique index cannot see it under key 2's digest.
        const e = await rejects(
          second.c.admin.createToken({ name: `dup-${tag()}`, kind: TokenKind.INGESTION, value: untouched }, org.adminToken),
          Code.AlreadyExists,
          "a value held under the old key only",
        );
        assert.equal(e.rawMessage, "this value is already in use");
      });
    });
  });

  describe("never kept or shown", () => {
    it("keeps no brought value in any response, log line or table (every row read as the owner)", async () => {
      assert.ok(brought.length >= 10, "values were brought");
      const logs = f.t.logs.join("\n");
      const body = responses.join("\n");
      const owner = new pg.Client({ connectionString: f.t.db.ownerUrl });
      await owner.connect();
      let dump = "";
      try {
        const tables = await owner.query<{ name: string }>(
          `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname = 'public'`,
        );
        assert.ok(tables.rows.some((t) => t.name === "tokens"));
        for (const t of tables.rows) {
          const rows = await owner.query<{ r: string }>(`SELECT x::text AS r FROM ${pg.escapeIdentifier(t.name)} x`);
          dump += rows.rows.map((r) => r.r).join("\n");
        }
      } finally {
        await owner.end();
      }
      assert.ok(dump.includes(x.a.orgId), "the owner reads every organization's rows");
      for (const v of brought) {
        const forms = [v, Buffer.from(v).toString("hex"), Buffer.from(v).toString("base64"), v.slice(3, -4)];
        for (const form of forms) {
          assert.ok(!body.includes(form), "a response holds a brought value");
          assert.ok(!logs.includes(form), "the log holds a brought value");
          assert.ok(!dump.includes(form), "a table holds a brought value");
        }
      }
    });
  });
});

/** The key a token's digest is stored under, read as the owner. */
async function keyIdOf(t: InMemoryTessera, tokenId: string): Promise<number | undefined> {
  const c = new pg.Client({ connectionString: t.db.ownerUrl });
  await c.connect();
  try {
    return (await c.query<{ key_id: number }>("SELECT key_id FROM tokens WHERE id = $1", [tokenId])).rows[0]?.key_id;
  } finally {
    await c.end();
  }
}
