/**
 * Row-level-security posture (DESIGN §6, issue 2), checked in SQL against a database seeded
 * through the real API: every organization-scoped table has RLS enabled and forced; the service
 * role is no superuser, has no BYPASSRLS and owns nothing; with no context it sees no rows; a
 * committed transaction's context does not outlive it on the same connection; another
 * organization's rows can be neither changed nor created; SECURITY DEFINER functions pin
 * search_path and are not executable by PUBLIC.
 */
import assert from "node:assert/strict";
import pg from "pg";
import { Role, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { createDatabase } from "../../src/store/database.js";
import { APP_ROLE, OWNER_ROLE } from "../../src/store/roles.js";
import { grpcJsClients, type Clients } from "../helpers/clients.js";
import { superQuery } from "../helpers/db.js";
import { addMember, createOrg, issue, setupInstance, type SeededOrg } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

describe("row-level security", () => {
  let server: TestServer;
  let c: Clients;
  let a: SeededOrg;
  let b: SeededOrg;
  let aTokenId: string;
  let orgTables: string[];

  const app = async <T>(fn: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: server.db.appUrl });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  const count = async (client: pg.Client, table: string): Promise<number> =>
    Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${pg.escapeIdentifier(table)}`)).rows[0]!.n);

  before(async () => {
    server = await startTestServer();
    c = grpcJsClients(server.tessera.grpcPort);
    const inst = await setupInstance(c);
    a = await createOrg(c, inst.operatorToken);
    b = await createOrg(c, inst.operatorToken);
    for (const org of [a, b]) {
      await c.admin.createBucket({ name: "rls-bucket" }, org.adminToken);
      await addMember(c, org.adminToken, org.orgId, Role.VIEWER);
      const t = await issue(c, org.adminToken, { kind: TokenKind.INGESTION });
      // Changes that append to the revocation feed, where there is one.
      await c.admin.setTokenEnabled({ id: t.id, enabled: false }, org.adminToken);
      await c.admin.rotateToken({ id: t.id }, org.adminToken);
      if (org === a) aTokenId = t.id;
    }
    orgTables = (
      await superQuery<{ table: string }>(
        server.db,
        `SELECT c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
            AND (c.relname = 'organizations'
                 OR EXISTS (SELECT 1 FROM pg_attribute at WHERE at.attrelid = c.oid AND at.attname = 'org_id' AND NOT at.attisdropped))
          ORDER BY 1`,
      )
    ).map((r) => r.table);
  });
  after(async () => {
    c?.close();
    await server?.close();
  });

  it("finds the organization-scoped tables to check", () => {
    for (const t of ["organizations", "memberships", "buckets", "tokens"]) assert.ok(orgTables.includes(t), `${t} is organization-scoped`);
  });

  it("has RLS enabled and forced on every table with an organization column", async () => {
    const rows = await superQuery<{ table: string; enabled: boolean; forced: boolean; policies: string }>(
      server.db,
      `SELECT c.relname AS table, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced,
              (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)::text AS policies
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relname = ANY($1)`,
      [orgTables],
    );
    assert.equal(rows.length, orgTables.length);
    for (const r of rows) {
      assert.equal(r.enabled, true, `${r.table}: row-level security is not enabled`);
      assert.equal(r.forced, true, `${r.table}: row-level security is not forced`);
      assert.ok(Number(r.policies) >= 1, `${r.table}: no policy`);
    }
  });

  it("bases every policy on the tessera.org_id setting, for reads and writes", async () => {
    const rows = await superQuery<{ table: string; qual: string | null; check: string | null; cmd: string }>(
      server.db,
      `SELECT c.relname AS table, p.polcmd::text AS cmd,
              pg_get_expr(p.polqual, p.polrelid) AS qual, pg_get_expr(p.polwithcheck, p.polrelid) AS check
         FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE c.relname = ANY($1)`,
      [orgTables],
    );
    for (const r of rows) {
      assert.equal(r.cmd, "*", `${r.table}: the policy should cover every command`);
      assert.match(r.qual ?? "", /tessera_current_org\(\)|tessera\.org_id/, `${r.table}: USING does not use the org context`);
      assert.match(r.check ?? "", /tessera_current_org\(\)|tessera\.org_id/, `${r.table}: WITH CHECK does not use the org context`);
    }
    // An unset or empty context is NULL, which matches no row.
    const fn = await superQuery<{ src: string }>(server.db, `SELECT prosrc AS src FROM pg_proc WHERE proname = 'tessera_current_org'`);
    assert.match(fn[0]!.src, /NULLIF\(current_setting\('tessera\.org_id', true\), ''\)::uuid/);
  });

  it("connects the service as a role that is no superuser, has no BYPASSRLS and owns nothing", async () => {
    const roles = await superQuery<{ rolsuper: boolean; rolbypassrls: boolean; rolcreaterole: boolean; rolcreatedb: boolean }>(
      server.db,
      `SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = $1`,
      [APP_ROLE],
    );
    assert.deepEqual(roles, [{ rolsuper: false, rolbypassrls: false, rolcreaterole: false, rolcreatedb: false }]);
    const owned = await superQuery<{ name: string; kind: string }>(
      server.db,
      `SELECT c.relname AS name, c.relkind::text AS kind FROM pg_class c WHERE c.relowner = (SELECT oid FROM pg_roles WHERE rolname = $1)`,
      [APP_ROLE],
    );
    assert.deepEqual(owned, [], "the service role owns relations");
    const ownedFns = await superQuery(
      server.db,
      `SELECT proname FROM pg_proc WHERE proowner = (SELECT oid FROM pg_roles WHERE rolname = $1)`,
      [APP_ROLE],
    );
    assert.deepEqual(ownedFns, [], "the service role owns functions");
    const schema = await superQuery<{ create: boolean; owner: string }>(
      server.db,
      `SELECT has_schema_privilege($1, 'public', 'CREATE') AS create, pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = 'public'`,
      [APP_ROLE],
    );
    assert.equal(schema[0]!.create, false, "the service role may create objects in public (and shadow functions)");
    assert.notEqual(schema[0]!.owner, APP_ROLE);
    // The server's own connection agrees.
    const me = await app((cl) => cl.query<{ u: string }>("SELECT current_user AS u"));
    assert.equal(me.rows[0]!.u, APP_ROLE);
    const usage = await superQuery<{ n: string }>(
      server.db,
      `SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = current_database() AND usename = $1`,
      [APP_ROLE],
    );
    assert.ok(Number(usage[0]!.n) >= 1, "the running server is connected as the service role");
  });

  it("shows no rows of any organization-scoped table to the service role without a context", async () => {
    const withRows: string[] = [];
    for (const table of orgTables) {
      const total = Number(
        (await superQuery<{ n: string }>(server.db, `SELECT count(*)::text AS n FROM ${pg.escapeIdentifier(table)}`))[0]!.n,
      );
      if (total > 0) withRows.push(table);
      const seen = await app((cl) => count(cl, table));
      assert.equal(seen, 0, `${table}: the service role sees ${seen} of ${total} rows without a context`);
    }
    for (const t of ["organizations", "memberships", "buckets", "tokens"]) assert.ok(withRows.includes(t), `${t} had rows to hide`);
    // An empty context is no context.
    await app(async (cl) => {
      await cl.query("BEGIN");
      await cl.query("SELECT set_config('tessera.org_id', '', true)");
      for (const table of orgTables) assert.equal(await count(cl, table), 0, `${table} with an empty context`);
      await cl.query("ROLLBACK");
    });
  });

  it("forgets a committed or rolled-back transaction's organization on the same connection", async () => {
    await app(async (cl) => {
      for (const end of ["COMMIT", "ROLLBACK"]) {
        await cl.query("BEGIN");
        await cl.query("SELECT set_config('tessera.org_id', $1, true)", [a.orgId]);
        const inside = await cl.query<{ org_id: string }>("SELECT DISTINCT org_id FROM tokens");
        assert.deepEqual(
          inside.rows.map((r) => r.org_id),
          [a.orgId],
          "inside the transaction: A's tokens only",
        );
        assert.equal((await cl.query("SELECT id FROM organizations")).rowCount, 1);
        await cl.query(end);
        const setting = await cl.query<{ v: string | null }>("SELECT current_setting('tessera.org_id', true) AS v");
        assert.ok(setting.rows[0]!.v === null || setting.rows[0]!.v === "", `the setting survived ${end}: ${setting.rows[0]!.v}`);
        for (const table of orgTables) assert.equal(await count(cl, table), 0, `${table} after ${end}`);
      }
    });
  });

  it("withOrg leaves nothing behind on the pooled connection it used", async () => {
    const db = createDatabase({ url: server.db.appUrl, poolSize: 1 });
    try {
      const pid = await db.withOrg(a.orgId, async (tx) => {
        const r = await tx.query<{ n: string }>("SELECT count(*)::text AS n FROM tokens");
        assert.ok(Number(r.rows[0]!.n) >= 3, "withOrg sees A's tokens");
        return (await tx.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      });
      // A failing transaction must not leak either.
      await assert.rejects(
        db.withOrg(a.orgId, async (tx) => {
          await tx.query("SELECT 1");
          throw new Error("boom");
        }),
      );
      const after = await db.pool.query<{ pid: number; n: string; v: string | null }>(
        "SELECT pg_backend_pid() AS pid, (SELECT count(*) FROM tokens)::text AS n, current_setting('tessera.org_id', true) AS v",
      );
      assert.equal(after.rows[0]!.pid, pid, "the same pooled connection");
      assert.equal(after.rows[0]!.n, "0", "the next use of the connection sees none of A's tokens");
      assert.ok(after.rows[0]!.v === null || after.rows[0]!.v === "");
    } finally {
      await db.close();
    }
  });

  it("in B's context, cannot read, change, delete or create A's rows", async () => {
    await app(async (cl) => {
      await cl.query("BEGIN");
      await cl.query("SELECT set_config('tessera.org_id', $1, true)", [b.orgId]);
      assert.equal((await cl.query("SELECT 1 FROM tokens WHERE id = $1", [aTokenId])).rowCount, 0, "SELECT");
      assert.equal(
        (await cl.query("UPDATE tokens SET description = 'pwned', enabled = false WHERE id = $1", [aTokenId])).rowCount,
        0,
        "UPDATE",
      );
      assert.equal((await cl.query("DELETE FROM tokens WHERE id = $1", [a.defaultTokenId])).rowCount, 0, "DELETE");
      assert.equal(
        (await cl.query("UPDATE organizations SET name = 'pwned' WHERE id = $1", [a.orgId])).rowCount,
        0,
        "UPDATE organizations",
      );
      assert.equal((await cl.query("DELETE FROM memberships WHERE org_id = $1", [a.orgId])).rowCount, 0, "DELETE memberships");
      assert.equal((await cl.query("UPDATE buckets SET name = 'pwned' WHERE org_id = $1", [a.orgId])).rowCount, 0, "UPDATE buckets");
      await cl.query("COMMIT");

      const attempts: Array<[string, string, unknown[]]> = [
        [
          "INSERT a token into A",
          `INSERT INTO tokens (id, org_id, name, kind, digest, key_id, mask) VALUES (gen_random_uuid(), $1, 'evil', 'INGESTION', decode(repeat('ab', 32), 'hex'), 1, 'x')`,
          [a.orgId],
        ],
        ["INSERT a bucket into A", `INSERT INTO buckets (id, org_id, name) VALUES (gen_random_uuid(), $1, 'evil')`, [a.orgId]],
        [
          "INSERT a membership into A",
          `INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, 'ADMIN')`,
          [a.orgId, b.adminUserId],
        ],
        ["move B's token into A", `UPDATE tokens SET org_id = $1 WHERE id = $2`, [a.orgId, b.defaultTokenId]],
        ["move B's bucket into A", `UPDATE buckets SET org_id = $1`, [a.orgId]],
      ];
      for (const [label, sql, values] of attempts) {
        await cl.query("BEGIN");
        await cl.query("SELECT set_config('tessera.org_id', $1, true)", [b.orgId]);
        await assert.rejects(
          cl.query(sql, values),
          (err: { code?: string }) => err.code === "42501",
          `${label} was not refused by row-level security`,
        );
        await cl.query("ROLLBACK");
      }
    });
    const rows = await superQuery<{ n: string }>(
      server.db,
      `SELECT count(*)::text AS n FROM tokens WHERE org_id = $1 AND (name = 'evil' OR description = 'pwned' OR NOT enabled AND id <> $2)`,
      [a.orgId, aTokenId],
    );
    assert.equal(rows[0]!.n, "0");
    const def = await superQuery(server.db, "SELECT 1 FROM tokens WHERE id = $1", [a.defaultTokenId]);
    assert.equal(def.length, 1, "A's default token still exists");
  });

  it("pins search_path on every SECURITY DEFINER function", async () => {
    const fns = await superQuery<{ name: string; config: string[] | null }>(
      server.db,
      `SELECT p.oid::regprocedure::text AS name, p.proconfig AS config
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.prosecdef`,
    );
    assert.ok(fns.length >= 3, "the cross-organization lookups are SECURITY DEFINER functions");
    const appHasTemp = (
      await superQuery<{ t: boolean }>(server.db, "SELECT has_database_privilege($1, current_database(), 'TEMP') AS t", [APP_ROLE])
    )[0]!.t;
    assert.ok(
      fns.some((f) => f.name.startsWith("tessera_verify_lookup(")),
      "Verify's lookup is one of them",
    );
    for (const f of fns) {
      const sp = (f.config ?? []).find((s) => s.startsWith("search_path="));
      assert.ok(sp, `${f.name} has no pinned search_path`);
      const parts = sp
        .slice("search_path=".length)
        .split(",")
        .map((s) => s.trim().replace(/"/g, ""));
      assert.ok(!parts.includes("$user"), `${f.name}: search_path includes $user`);
      // pg_temp left out of search_path is searched FIRST for tables; it must be named last,
      // unless the service role cannot create temporary tables at all.
      assert.ok(
        parts.at(-1) === "pg_temp" || !appHasTemp,
        `${f.name}: search_path ${parts.join(", ")} lets the service role's temporary tables shadow the ones it reads (write pg_temp last)`,
      );
    }
  });

  it("keeps SECURITY DEFINER functions owned by the migration role and out of PUBLIC's reach", async () => {
    const fns = await superQuery<{ name: string; owner: string; public_exec: boolean }>(
      server.db,
      `SELECT p.oid::regprocedure::text AS name, pg_get_userbyid(p.proowner) AS owner,
              EXISTS (SELECT 1 FROM aclexplode(COALESCE(p.proacl, acldefault('f', p.proowner))) a
                       WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE') AS public_exec
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.prosecdef`,
    );
    assert.ok(fns.length >= 3);
    for (const f of fns) {
      assert.equal(f.owner, OWNER_ROLE, `${f.name} is owned by ${f.owner}`);
      assert.equal(f.public_exec, false, `${f.name} is executable by PUBLIC`);
    }
  });

  it("does not let a temporary table of the service role shadow what SECURITY DEFINER functions read", async () => {
    const fake = "22222222-2222-4222-8222-222222222222";
    const answer = await app(async (cl) => {
      try {
        await cl.query("CREATE TEMP TABLE tokens (id uuid, org_id uuid)");
      } catch (err) {
        assert.equal((err as { code?: string }).code, "42501", String(err));
        return "refused";
      }
      await cl.query("INSERT INTO pg_temp.tokens VALUES ($1, $2)", [fake, a.orgId]);
      await cl.query(`GRANT SELECT ON pg_temp.tokens TO ${pg.escapeIdentifier(OWNER_ROLE)}`);
      const r = await cl.query<{ org: string | null }>("SELECT tessera_token_org($1) AS org", [fake]);
      return r.rows[0]!.org;
    });
    assert.ok(answer === "refused" || answer === null, `tessera_token_org read the service role's temporary table and answered ${answer}`);
  });
});
