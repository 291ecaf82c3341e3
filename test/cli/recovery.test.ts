import assert from "node:assert/strict";
import { chmod, copyFile, mkdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { group as recoveryGroup } from "../../src/cli/recovery.js";
import { parseFlags, type Context } from "../../src/cli/command.js";
import { createKeyring, newKey } from "../../src/domain/digest.js";
import { isTesseraError } from "../../src/domain/errors.js";
import { TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { mint } from "../../src/services/token-issue.js";
import { startEmbeddedPostgres } from "../../src/store/embedded.js";
import { createRecoveryOperatorToken, NAME_ATTEMPTS } from "../../src/store/recovery.js";
import { migrate } from "../../src/store/migrate.js";
import { APP_ROLE, withDatabase } from "../../src/store/roles.js";
import { grpcJsClients, type Clients } from "../helpers/clients.js";
import { getCluster } from "../helpers/cluster.js";
import { superQuery, type TestDatabase } from "../helpers/db.js";
import { setupInstance } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { ANY_TOKEN_VALUE, assertNoStack, cleanEnv, printedValue, runCli, tempDir, writeKeyFile, type CliResult } from "./run-cli.js";

describe("tessera recovery create-operator", function () {
  this.timeout(120_000); // every step spawns a node process; shared CI machines can be slow
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    tmp = await tempDir();
  });
  after(async () => {
    await tmp.remove();
  });

  describe("against a set-up instance", () => {
    const key = newKey();
    let server: TestServer;
    let c: Clients;
    let keyFile: string;
    let operatorToken: string;
    before(async () => {
      server = await startTestServer({ keyring: createKeyring({ 1: key }, 1) });
      c = grpcJsClients(server.tessera.grpcPort);
      operatorToken = (await setupInstance(c)).operatorToken;
      keyFile = path.join(tmp.dir, "digest-keys.json");
      await writeKeyFile(keyFile, { 1: key }, 1);
    });
    after(async () => {
      c.close();
      await server.close();
    });

    it("mints an operator token that authenticates admin calls, storing only its digest", async () => {
      const r = await runCli(["recovery", "create-operator", "--owner-database-url", server.db.ownerUrl, "--key-file", keyFile]);
      assert.equal(r.code, 0, r.stderr);
      const value = printedValue(r);
      assert.ok(value.startsWith("tsop_"));
      assert.doesNotMatch(r.stderr, ANY_TOKEN_VALUE);
      assert.match(r.stderr, /for root user root in organization acme/);

      const orgs = await c.admin.listOrganizations({}, value);
      assert.deepEqual(
        orgs.organizations.map((o) => o.identifier),
        ["acme"],
      );
      const made = await c.admin.createToken({ name: "after-recovery", kind: TokenKind.VERIFIER }, value);
      assert.ok(made.value.startsWith("tsvf_"));

      const rows = await superQuery<{
        name: string;
        kind: string;
        mask: string;
        key_id: number;
        digest: Buffer;
        created_by: string | null;
      }>(server.db, `SELECT name, kind, mask, key_id, digest, created_by FROM tokens WHERE name LIKE 'recovery-%'`);
      assert.equal(rows.length, 1);
      const row = rows[0]!;
      assert.match(row.name, /^recovery-\d{8}T\d{6}Z-[0-9a-f]{8}$/);
      assert.equal(row.kind, "OPERATOR");
      assert.equal(row.mask, `tsop_…${value.slice(-4)}`);
      assert.equal(row.key_id, 1);
      assert.ok(row.digest.equals(server.keyring.digest(value)));
      assert.equal(row.created_by, null);

      // On the organization's audit trail, by the recovery actor, in the same transaction.
      const trail = await c.admin.listAuditEvents({ action: "token.create" }, value);
      const entry = trail.events.find((e) => e.target?.name === row.name);
      assert.ok(entry, "the recovery is on the record");
      assert.equal(entry.actor?.system, "recovery");
      assert.equal(entry.actor?.tokenId, "");
      assert.equal(entry.after?.kind, "OPERATOR");
      assert.match(entry.userAgent, /^tessera recovery on /);
      const verified = await c.admin.verifyAuditLog({}, value);
      assert.deepEqual(verified.problems, [], "the recovery's entry carries a MAC the server accepts");
    });

    it("names the root user with --user and refuses a user that is not root", async () => {
      const missing = await runCli([
        "recovery",
        "create-operator",
        "--owner-database-url",
        server.db.ownerUrl,
        "--key-file",
        keyFile,
        "--user",
        "nobody",
      ]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /^error: there is no user named "nobody"/m);
      const named = await runCli([
        "recovery",
        "create-operator",
        "--owner-database-url",
        server.db.ownerUrl,
        "--key-file",
        keyFile,
        "--user",
        "root",
      ]);
      assert.equal(named.code, 0, named.stderr);
      await c.admin.listOrganizations({}, printedValue(named));
    });

    it("succeeds every time, with distinct names, however many runs share the same second", async () => {
      // The command in-process with a stopped clock, so every run is in the same second for
      // certain (as child processes they only usually are), started together so they also race.
      const cmd = recoveryGroup.commands.find((x) => x.name === "create-operator")!;
      const at = new Date("2026-12-01T19:46:35.123Z");
      const once = async (): Promise<CliResult> => {
        const out: string[] = [];
        const err: string[] = [];
        const ctx: Context = {
          env: cleanEnv(),
          out: (t) => void out.push(t),
          err: (t) => void err.push(t),
          stdinIsTTY: false,
          now: () => at,
        };
        const flags = parseFlags(["--owner-database-url", server.db.ownerUrl, "--key-file", keyFile], cmd.options);
        const code = await cmd.run(flags, ctx);
        return { code, stdout: out.map((t) => `${t}\n`).join(""), stderr: err.join("\n") };
      };
      const runs = await Promise.all(Array.from({ length: 6 }, once));
      for (const r of runs) assert.equal(r.code, 0, r.stderr);
      const values = runs.map(printedValue);
      assert.equal(new Set(values).size, runs.length);
      for (const v of values) await c.admin.listOrganizations({}, v);
      const rows = await superQuery<{ name: string }>(server.db, `SELECT name FROM tokens WHERE name LIKE 'recovery-20261201T194635Z-%'`);
      assert.equal(rows.length, runs.length);
      assert.equal(new Set(rows.map((r) => r.name)).size, runs.length, "every run has a name of its own");
      for (const r of rows) assert.match(r.name, /^recovery-20261201T194635Z-[0-9a-f]{8}$/);
    });

    it("asks for another name when the one it was given is taken, and reports ALREADY_EXISTS only when every one is", async () => {
      // What the random suffix makes vanishingly rare, forced: names that are already taken.
      await c.admin.createToken({ name: "taken-name", kind: TokenKind.VERIFIER }, operatorToken);
      const names = ["taken-name", "taken-name", "fresh-name"];
      let asked = 0;
      const made = await createRecoveryOperatorToken(server.db.ownerUrl, {
        name: () => names[asked++]!,
        description: "retry test",
        material: mint(server.keyring, "OPERATOR"),
      });
      assert.ok(made.ok);
      assert.equal(made.token.name, "fresh-name");
      assert.equal(asked, 3);

      asked = 0;
      await assert.rejects(
        createRecoveryOperatorToken(server.db.ownerUrl, {
          name: () => (asked++, "taken-name"),
          description: "",
          material: mint(server.keyring, "OPERATOR"),
        }),
        (err: unknown) => isTesseraError(err) && err.code === "ALREADY_EXISTS",
      );
      assert.equal(asked, NAME_ATTEMPTS, "it gives up after a bounded number of names");
      const rows = await superQuery<{ n: string }>(
        server.db,
        `SELECT count(*)::text AS n FROM tokens WHERE name IN ('taken-name', 'fresh-name')`,
      );
      assert.equal(rows[0]!.n, "2", "nothing else was inserted");
    });

    it("refuses to create a digest key file, since a new key would not verify on the server", async () => {
      const absent = path.join(tmp.dir, "no-such-keys.json");
      const r = await runCli(["recovery", "create-operator", "--owner-database-url", server.db.ownerUrl, "--key-file", absent]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /digest key file .* does not exist\. Recovery will not create one/);
      assert.equal(r.stdout, "");
      assertNoStack(r.stderr);
      await assert.rejects(stat(absent), { code: "ENOENT" });
    });
  });

  it("tells the user to run tessera setup when there is no root user", async () => {
    const key = newKey();
    const server = await startTestServer({ keyring: createKeyring({ 1: key }, 1) });
    try {
      const keyFile = path.join(tmp.dir, "unset-keys.json");
      await writeKeyFile(keyFile, { 1: key }, 1);
      const r = await runCli(["recovery", "create-operator", "--owner-database-url", server.db.ownerUrl, "--key-file", keyFile]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^error: there is no root user .*run "tessera setup"/m);
      assert.equal(r.stdout, "");
      assertNoStack(r.stderr);
    } finally {
      await server.close();
    }
  });

  it("finds the running embedded PostgreSQL of a data directory through its postmaster.pid", async () => {
    // A data directory laid out like the embedded default's, pointing at the test cluster, whose
    // `tessera` database (the embedded default's name) is set up by a server.
    const cluster = getCluster();
    const su = new pg.Client({ connectionString: cluster.superuserUrl });
    await su.connect();
    const clusterDir = (await su.query<{ dir: string }>("SELECT current_setting('data_directory') AS dir")).rows[0]!.dir;
    await su.query("DROP DATABASE IF EXISTS tessera WITH (FORCE)");
    await su.query("CREATE DATABASE tessera TEMPLATE tessera_template OWNER tessera_owner");
    await su.end();
    const dataDir = path.join(tmp.dir, "data");
    await mkdir(path.join(dataDir, "pg"), { recursive: true, mode: 0o700 });
    // From the test cluster's data directory, which is not the cluster's parent when, as root in
    // a private checkout, the cluster lives in /var/lib/tessera.
    await copyFile(path.join(cluster.dataDir, "pg-credentials.json"), path.join(dataDir, "pg-credentials.json"));
    for (const f of ["PG_VERSION", "postmaster.pid"]) await copyFile(path.join(clusterDir, f), path.join(dataDir, "pg", f));
    assert.equal(Number((await readFile(path.join(dataDir, "pg", "postmaster.pid"), "utf8")).split("\n")[3]), cluster.port);

    const swap = (url: string) => withDatabase(url, "tessera");
    const db: TestDatabase = {
      name: "tessera",
      appUrl: swap(cluster.appUrl),
      ownerUrl: swap(cluster.ownerUrl),
      superuserUrl: swap(cluster.superuserUrl),
      async drop() {
        const s = new pg.Client({ connectionString: cluster.superuserUrl });
        await s.connect();
        await s.query("DROP DATABASE IF EXISTS tessera WITH (FORCE)");
        await s.end();
      },
    };

    const key = newKey();
    await writeKeyFile(path.join(dataDir, "digest-keys.json"), { 1: key }, 1);
    const server = await startTestServer({ db, keyring: createKeyring({ 1: key }, 1) });
    const c = grpcJsClients(server.tessera.grpcPort);
    try {
      await setupInstance(c, "embedded-co");
      const r = await runCli(["recovery", "create-operator", "--data-dir", dataDir]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /starting the embedded cluster/);
      const orgs = await c.admin.listOrganizations({}, printedValue(r));
      assert.deepEqual(
        orgs.organizations.map((o) => o.identifier),
        ["embedded-co"],
      );
    } finally {
      c.close();
      await server.close();
      await db.drop();
    }
  });

  it("starts a stopped server's embedded PostgreSQL for the duration, and stops it again", async function () {
    this.timeout(180_000);
    const dataDir = path.join(tmp.dir, "stopped");
    // As root, PostgreSQL runs as `postgres`: a data dir it can traverse to keeps the cluster in
    // it, rather than in /var/lib/tessera (which this test would then have to clean up).
    await chmod(tmp.dir, 0o711);
    const embedded = await startEmbeddedPostgres({ dataDir });
    try {
      await migrate({ ownerUrl: embedded.ownerUrl, appRole: APP_ROLE });
      const key = newKey();
      await writeKeyFile(path.join(dataDir, "digest-keys.json"), { 1: key }, 1);
      const db: TestDatabase = {
        name: "tessera",
        appUrl: embedded.appUrl,
        ownerUrl: embedded.ownerUrl,
        superuserUrl: withDatabase(embedded.superuserUrl, "tessera"),
        drop: async () => undefined,
      };
      const withServer = async (fn: (c: Clients) => Promise<void>) => {
        const server = await startTestServer({ db, keyring: createKeyring({ 1: key }, 1) });
        const c = grpcJsClients(server.tessera.grpcPort);
        try {
          await fn(c);
        } finally {
          c.close();
          await server.close();
        }
      };
      await withServer(async (c) => void (await setupInstance(c, "stopped-co")));
      await embedded.stop();

      const r = await runCli(["recovery", "create-operator", "--data-dir", dataDir]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /PostgreSQL is not running; starting the embedded cluster/);
      await assert.rejects(stat(path.join(dataDir, "pg", "postmaster.pid")), { code: "ENOENT" }); // stopped again

      await embedded.start();
      await withServer(async (c) => {
        const orgs = await c.admin.listOrganizations({}, printedValue(r));
        assert.deepEqual(
          orgs.organizations.map((o) => o.identifier),
          ["stopped-co"],
        );
      });
    } finally {
      await embedded.stop();
    }
  });

  it("says so when a data directory holds no embedded database", async () => {
    const empty = path.join(tmp.dir, "empty");
    await mkdir(empty);
    await writeKeyFile(path.join(empty, "digest-keys.json"), { 1: newKey() }, 1);
    const r = await runCli(["recovery", "create-operator", "--data-dir", empty]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: no embedded database in .*pg-credentials\.json does not exist/m);
    assertNoStack(r.stderr);
    await assert.rejects(stat(path.join(empty, "pg-credentials.json")), { code: "ENOENT" });
  });
});
