/**
 * Rotation overlaps in the database (migration 0011): a value never matches two tokens, current
 * or previous (a token whose digest is another's previous one is a unique violation, as the
 * import of supplied values relies on); the table of live digests follows every change and is out
 * of the service role's reach; several instances ending overlaps at once announce each once; and
 * a previous value found under an old digest key is re-digested under the new one like a current
 * value, so it survives the old key's removal.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import pg from "pg";
import { createKeyring, newKey } from "../../src/domain/digest.js";
import { EndpointClass, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { endOverlaps } from "../../src/store/queries/revocations.js";
import { freshDatabase, superQuery, type TestDatabase } from "../helpers/db.js";
import { startInMemoryTessera, type InMemoryTessera } from "../helpers/in-memory.js";
import { createOrg, issue, setupInstance, type Instance, type SeededOrg } from "../helpers/seed.js";
import { eventually } from "../helpers/wait.js";

const MINUTE = 60_000;

describe("rotation overlaps in the database", () => {
  let db: TestDatabase;
  let t: InMemoryTessera;
  let inst: Instance;
  let org: SeededOrg;
  let skew = 0;
  const now = () => Date.now() + skew;

  /** Runs `fn` as the service role inside `orgId`'s context, then rolls back. */
  const asApp = async <T>(orgId: string, fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: db.appUrl });
    await c.connect();
    try {
      await c.query("BEGIN");
      await c.query("SELECT set_config('tessera.org_id', $1, true)", [orgId]);
      return await fn(c);
    } finally {
      await c.query("ROLLBACK").catch(() => undefined);
      await c.end();
    }
  };
  const insertWithDigest = (c: pg.Client, digest: Buffer) =>
    c.query(
      `INSERT INTO tokens (id, org_id, name, kind, digest, key_id, mask) VALUES ($1, tessera_current_org(), $2, 'INGESTION', $3, 1, 'x')`,
      [randomUUID(), `clash-${randomUUID().slice(0, 8)}`, digest],
    );
  const digestsOf = async (id: string) =>
    (
      await superQuery<{ digest: Buffer; previous_digest: Buffer | null; previous_key_id: number | null }>(
        db,
        "SELECT digest, previous_digest, previous_key_id FROM tokens WHERE id = $1",
        [id],
      )
    )[0]!;
  /** Every live digest of every token is in token_digests, once, under its token, and nothing else is. */
  const assertDigestTableMatches = async (what: string) => {
    const rows = await superQuery<{ missing: string; extra: string }>(
      db,
      `WITH live AS (SELECT digest AS d, id FROM tokens UNION ALL SELECT previous_digest, id FROM tokens WHERE previous_digest IS NOT NULL)
       SELECT (SELECT count(*) FROM live l WHERE NOT EXISTS (SELECT 1 FROM token_digests x WHERE x.digest = l.d AND x.token_id = l.id))::text AS missing,
              (SELECT count(*) FROM token_digests x WHERE NOT EXISTS (SELECT 1 FROM live l WHERE l.d = x.digest AND l.id = x.token_id))::text AS extra`,
    );
    assert.deepEqual(rows[0], { missing: "0", extra: "0" }, `${what}: token_digests holds exactly the live digests`);
  };
  const k1 = newKey();
  const k2 = newKey();

  before(async () => {
    db = await freshDatabase();
    t = await startInMemoryTessera({ db, now, keyring: createKeyring({ 1: k1 }, 1) });
    inst = await setupInstance(t.c);
    org = await createOrg(t.c, inst.operatorToken);
  });
  after(async () => {
    await t?.close();
    await db?.drop();
  });

  it("refuses a new token whose digest is another token's previous value with a unique violation, and one whose digest is a current value", async () => {
    const a = await issue(t.c, org.adminToken, { kind: TokenKind.INGESTION });
    await t.c.admin.rotateToken({ id: a.id, gracePeriod: durationFromMs(10 * MINUTE) }, org.adminToken);
    const row = await digestsOf(a.id);
    assert.ok(row.previous_digest, "the old value's digest is kept");
    for (const [label, digest, constraint] of [
      ["the previous digest", row.previous_digest, /^token_digests_pkey$/],
      ["the current digest", row.digest, /^(tokens_digest_key|token_digests_pkey)$/],
    ] as const) {
      // From any organization: a value is unique across the instance.
      for (const orgId of [org.orgId, inst.orgId]) {
        await asApp(orgId, async (c) => {
          await assert.rejects(
            insertWithDigest(c, digest),
            (err: { code?: string; constraint?: string }) => err.code === "23505" && constraint.test(err.constraint ?? ""),
            `${label} in another token`,
          );
        });
      }
    }
    await assertDigestTableMatches("during an overlap");
  });

  it("frees the old digest once the overlap ends, and every digest once the token is deleted", async () => {
    const a = await issue(t.c, org.adminToken, { kind: TokenKind.INGESTION });
    await t.c.admin.rotateToken({ id: a.id, gracePeriod: durationFromMs(MINUTE) }, org.adminToken);
    const { previous_digest: old, digest: current } = await digestsOf(a.id);
    skew += MINUTE + 1000;
    await eventually(async () => (await digestsOf(a.id)).previous_digest === null, undefined, "the upkeep to end the overlap");
    await assertDigestTableMatches("after the overlap ended");
    await asApp(org.orgId, async (c) => {
      await insertWithDigest(c, old!);
    });
    await t.c.admin.deleteToken({ id: a.id }, org.adminToken);
    await assertDigestTableMatches("after the deletion");
    await asApp(org.orgId, async (c) => {
      await insertWithDigest(c, current);
    });
  });

  it("keeps token_digests out of the service role's reach", async () => {
    for (const sql of [
      "SELECT count(*) FROM token_digests",
      "DELETE FROM token_digests",
      `INSERT INTO token_digests (digest, token_id) VALUES (decode(repeat('cd', 32), 'hex'), '${randomUUID()}')`,
    ]) {
      await asApp(org.orgId, async (c) => {
        await assert.rejects(c.query(sql), (err: { code?: string }) => err.code === "42501", sql);
      });
    }
  });

  it("announces each ended overlap once when two instances sharing the database end them at the same time", async () => {
    const second = await startInMemoryTessera({ db, now, keyring: createKeyring({ 1: k1 }, 1) });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const a = await issue(t.c, org.adminToken, { kind: TokenKind.INGESTION });
        await t.c.admin.rotateToken({ id: a.id, gracePeriod: durationFromMs(MINUTE) }, org.adminToken);
        ids.push(a.id);
      }
      skew += MINUTE + 1000;
      // Both instances' upkeep runs every second; the test's own calls race them, and each other.
      const at = new Date(now());
      const counts = await Promise.all([endOverlaps(t.services.db.pool, at), endOverlaps(second.services.db.pool, at)]);
      assert.ok(counts.every((n) => n >= 0 && n <= ids.length));
      await eventually(
        async () =>
          (
            await superQuery<{ n: string }>(
              db,
              "SELECT count(*)::text AS n FROM tokens WHERE id = ANY($1) AND previous_digest IS NOT NULL",
              [ids],
            )
          )[0]!.n === "0",
        undefined,
        "every overlap ended",
      );
      const events = await superQuery<{ token_id: string; n: string }>(
        db,
        "SELECT token_id, count(*)::text AS n FROM revocation_events WHERE token_id = ANY($1) AND reason = 'ROTATED' GROUP BY token_id",
        [ids],
      );
      assert.equal(events.length, ids.length, "a ROTATED event for every token");
      for (const e of events) assert.equal(e.n, "1", `one ROTATED event for ${e.token_id}`);
      await assertDigestTableMatches("after the overlaps ended");
    } finally {
      await second.close();
    }
  });

  it("re-digests a previous value found under an old key, which then works without that key", async () => {
    const a = await issue(t.c, org.adminToken, { kind: TokenKind.INGESTION });
    const r = await t.c.admin.rotateToken({ id: a.id, gracePeriod: durationFromMs(10 * MINUTE) }, org.adminToken);
    const ask = (x: InMemoryTessera, credential: string) =>
      x.c.verify.verify({ credential, organization: org.identifier, endpoint: EndpointClass.INGEST }, inst.verifierToken);

    // Key 2 becomes current: both values still verify, and are re-digested as they are used.
    const both = await startInMemoryTessera({ db, now, keyring: createKeyring({ 1: k1, 2: k2 }, 2) });
    try {
      const old = await ask(both, a.value);
      assert.equal(old.status, VerifyStatus.VALID, "the old value under the old key");
      assert.equal(old.newerValueExists, true);
      assert.equal((await ask(both, r.value)).status, VerifyStatus.VALID, "the new value under the old key");
      const keyring2 = createKeyring({ 2: k2 }, 2);
      await eventually(
        async () => {
          const row = await digestsOf(a.id);
          return (
            row.previous_key_id === 2 &&
            row.previous_digest?.equals(keyring2.digest(a.value)) &&
            row.digest.equals(keyring2.digest(r.value))
          );
        },
        undefined,
        "both values re-digested under key 2",
      );
      await assertDigestTableMatches("after the re-digest");
    } finally {
      await both.close();
    }

    // Key 1 gone: the re-digested old value still works until its deadline.
    const only2 = await startInMemoryTessera({ db, now, keyring: createKeyring({ 2: k2 }, 2) });
    try {
      const old = await ask(only2, a.value);
      assert.equal(old.status, VerifyStatus.VALID, "the old value with only the new key");
      assert.equal(old.newerValueExists, true);
      assert.equal((await ask(only2, r.value)).status, VerifyStatus.VALID, "the new value with only the new key");
    } finally {
      await only2.close();
    }
  });
});
