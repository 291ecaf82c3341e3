import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { resolveConnection } from "../../src/cli/cli-config.js";
import { parseFlags, UsageError, type Context } from "../../src/cli/command.js";
import { command as serveCommand } from "../../src/cli/serve.js";
import { command as setupCommand } from "../../src/cli/setup.js";
import { createKeyring, newKey } from "../../src/domain/digest.js";
import { generateToken } from "../../src/domain/token-format.js";
import { grpcJsClients } from "../helpers/clients.js";
import { freshDatabase, type TestDatabase } from "../helpers/db.js";
import { setupInstance } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { runCliWithInput } from "./run-cli-input.js";
import { ANY_TOKEN_VALUE, CLI, assertNoStack, printedValue, runCli, startCli, tempDir, writeKeyFile, type CliResult } from "./run-cli.js";

/** The organization `tessera whoami` reports: proof the token reached the server. */
const orgOf = (r: CliResult) => /^organization:\s+(\S+)/m.exec(r.stdout)?.[1];

describe("secrets from files, standard input and the environment", function () {
  this.timeout(180_000); // every step spawns a node process; shared CI machines can be slow
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    tmp = await tempDir();
  });
  after(async () => {
    await tmp.remove();
  });

  describe("setup's operator token value", () => {
    let servers: TestServer[];
    before(async () => {
      servers = await Promise.all([startTestServer(), startTestServer(), startTestServer()]);
    });
    after(async () => {
      await Promise.all(servers.map((s) => s.close()));
    });

    it("comes from --token-file, standard input or TESSERA_SETUP_TOKEN, and each setup adds its profile to the same file", async () => {
      const config = path.join(tmp.dir, "setup", "config.json");
      const hosts = servers.map((s) => `http://127.0.0.1:${s.tessera.httpPort}`);
      const values = servers.map(() => generateToken("OPERATOR"));
      const setup = (i: number, ...extra: string[]) => [
        "setup",
        "--host",
        hosts[i]!,
        "--username",
        "root",
        "--org",
        `org${i}`,
        "--bucket",
        "main",
        ...extra,
      ];
      const file = path.join(tmp.dir, "operator.token");
      await writeFile(file, `${values[0]}\n`, { mode: 0o600 });

      const fromFile = await runCli(setup(0, "--token-file", file), { TESSERA_CONFIG: config });
      assert.equal(fromFile.code, 0, fromFile.stderr);
      assert.equal(printedValue(fromFile), values[0]);

      const fromStdin = await runCliWithInput(setup(1, "--token-file", "-", "-c", "second", "--json"), values[1]!, {
        TESSERA_CONFIG: config,
      });
      assert.equal(fromStdin.code, 0, fromStdin.stderr);
      const json = JSON.parse(fromStdin.stdout) as Record<string, unknown>;
      assert.equal(json.value, values[1]);
      assert.equal(json.profile, "second");
      assert.equal(json.host, hosts[1]);
      assert.deepEqual(json.organization, { id: (json.organization as { id: string }).id, identifier: "org1" });
      assert.match((json.user as { id: string }).id, /^[0-9a-f-]{36}$/);
      assert.doesNotMatch(fromStdin.stderr, ANY_TOKEN_VALUE);

      const fromEnv = await runCli(setup(2), { TESSERA_CONFIG: config, TESSERA_SETUP_TOKEN: values[2]!, TESSERA_PROFILE: "third" });
      assert.equal(fromEnv.code, 0, fromEnv.stderr);
      assert.equal(printedValue(fromEnv), values[2]);

      assert.deepEqual(JSON.parse(await readFile(config, "utf8")), {
        active: "third",
        profiles: {
          default: { host: hosts[0], token: values[0], org: "org0" },
          second: { host: hosts[1], token: values[1], org: "org1" },
          third: { host: hosts[2], token: values[2], org: "org2" },
        },
      });
      for (const [profile, org] of [
        ["default", "org0"],
        ["second", "org1"],
        ["third", "org2"],
      ] as const)
        assert.equal(orgOf(await runCli(["whoami", "-c", profile], { TESSERA_CONFIG: config })), org);
    });
  });

  describe("--token for API commands", () => {
    let server: TestServer;
    let host: string;
    let token: string;
    before(async () => {
      server = await startTestServer();
      host = `http://127.0.0.1:${server.tessera.httpPort}`;
      const c = grpcJsClients(server.tessera.grpcPort);
      try {
        token = (await setupInstance(c, "shop")).operatorToken;
      } finally {
        c.close();
      }
    });
    after(() => server.close());

    it("comes from a file, standard input or TESSERA_TOKEN", async () => {
      const file = path.join(tmp.dir, "api.token");
      await writeFile(file, `${token}\r\n`, { mode: 0o600 });
      const env = { TESSERA_CONFIG: path.join(tmp.dir, "none.json") };
      assert.equal(orgOf(await runCli(["whoami", "--host", host, "--token-file", file], env)), "shop");
      assert.equal(orgOf(await runCliWithInput(["whoami", "--host", host, "--token-file", "-"], `${token}\n`, env)), "shop");
      assert.equal(orgOf(await runCli(["whoami", "--host", host], { ...env, TESSERA_TOKEN: token })), "shop");
      assert.equal(orgOf(await runCli(["whoami", "--host", host, "-t", token], env)), "shop");
    });

    it("given both ways, from a bad file, or from a terminal, is a usage error that never echoes it", async () => {
      const dir = path.join(tmp.dir, "a-directory");
      await mkdir(dir, { recursive: true });
      const empty = path.join(tmp.dir, "empty.token");
      await writeFile(empty, "\n", { mode: 0o600 });
      const twoLines = path.join(tmp.dir, "two-lines.token");
      await writeFile(twoLines, `${token}\n${token}\n`, { mode: 0o600 });
      const good = path.join(tmp.dir, "good.token");
      await writeFile(good, token, { mode: 0o600 });
      const env = { TESSERA_CONFIG: path.join(tmp.dir, "none.json") };
      for (const [args, message] of [
        [["--token", token, "--token-file", good], /give either --token or --token-file, not both/],
        [["--token-file", path.join(tmp.dir, "absent")], /--token-file .*absent: no such file/],
        [["--token-file", dir], /--token-file .*a-directory: cannot be read/],
        [["--token-file", empty], /--token-file .*empty\.token: empty/],
        [["--token-file", twoLines], /holds more than one line/],
        [["--token-file", "-"], /--token-file -: empty/],
        [["--token", ""], /--token is empty/],
      ] as const) {
        // Standard input is an empty pipe, closed: runCli's would stay open.
        const r = await runCliWithInput(["whoami", "--host", host, ...args], "", env);
        assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, message);
        assert.ok(!r.stderr.includes(token), "the token is not echoed");
        assert.equal(r.stdout, "");
        assertNoStack(r.stderr);
      }
      const twoReaders = await runCliWithInput(
        ["auth", "create", "--name", "x", "--kind", "ingestion", "--value-file", "-", "--host", host, "--token-file", "-"],
        `${token}\n`,
        env,
      );
      assert.equal(twoReaders.code, 2, twoReaders.stderr);
      assert.match(twoReaders.stderr, /only one flag can read standard input/);
      // At a terminal, "-" would wait for typing that echoes: refused before reading.
      const flags = parseFlags(["--host", host, "--token-file", "-"], { host: { type: "string" }, "token-file": { type: "string" } });
      await assert.rejects(
        resolveConnection(flags, { TESSERA_CONFIG: path.join(tmp.dir, "none.json") }, () => undefined, true),
        (err: unknown) => {
          assert.ok(err instanceof UsageError);
          assert.match(err.message, /--token-file -: standard input is a terminal; pipe the value in/);
          return true;
        },
      );
      const ctx: Context = { env: {}, out: () => undefined, err: () => undefined, stdinIsTTY: true };
      for (const [cmd, args] of [
        [setupCommand, ["--token-file", "-", "--username", "u", "--org", "o", "--bucket", "b"]],
        [serveCommand, ["--database-url-file", "-"]],
      ] as const) {
        await assert.rejects(cmd.run(parseFlags([...args], cmd.options), ctx), /-file -: standard input is a terminal/);
      }
    });
  });

  describe("database URLs", () => {
    let db: TestDatabase;
    before(async () => {
      db = await freshDatabase();
    });
    after(() => db.drop());

    it("serve takes --database-url-file and --owner-database-url-file (standard input), and serves", async () => {
      const appFile = path.join(tmp.dir, "app.url");
      await writeFile(appFile, `${db.appUrl}\n`, { mode: 0o600 });
      const run = await startCli(
        [
          CLI,
          "serve",
          "--grpc-port",
          "0",
          "--http-port",
          "0",
          "--database-url-file",
          appFile,
          "--owner-database-url-file",
          "-",
          "--key-file",
          path.join(tmp.dir, "serve-keys", "digest-keys.json"),
        ],
        { input: db.ownerUrl },
      );
      try {
        const port = /http=127\.0\.0\.1:(\d+)/.exec(run.line)?.[1];
        assert.ok(port, run.line);
        const health = await fetch(`http://127.0.0.1:${port}/healthz`);
        assert.equal(health.status, 200);
      } finally {
        run.child.kill("SIGINT");
      }
      assert.equal((await run.exited).code, 0, run.stderr());
      const stderr = run.stderr();
      const password = new URL(db.appUrl).password;
      if (password !== "") assert.ok(!stderr.includes(password), "the log holds no password");
    });

    it("refuses a URL given both ways, two readers of standard input, and a bad file, without echoing the URL", async () => {
      const appFile = path.join(tmp.dir, "app2.url");
      await writeFile(appFile, db.appUrl, { mode: 0o600 });
      for (const [args, message] of [
        [["serve", "--database-url", db.appUrl, "--database-url-file", appFile], /either --database-url or --database-url-file/],
        [["serve", "--database-url-file", "-", "--owner-database-url-file", "-"], /only one flag can read standard input/],
        [["serve", "--owner-database-url-file", path.join(tmp.dir, "nope")], /--owner-database-url-file .*nope: no such file/],
        [
          ["recovery", "create-operator", "--owner-database-url", db.ownerUrl, "--owner-database-url-file", appFile],
          /either --owner-database-url or --owner-database-url-file/,
        ],
        [
          ["recovery", "create-operator", "--data-dir", tmp.dir, "--owner-database-url-file", appFile],
          /either --data-dir or --owner-database-url/,
        ],
      ] as const) {
        const r = await runCli([...args]);
        assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, message);
        assert.ok(!r.stderr.includes(db.appUrl) && !r.stderr.includes(db.ownerUrl), "no URL is echoed");
        assertNoStack(r.stderr);
      }
    });
  });

  describe("recovery's owner connection", () => {
    const key = newKey();
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ keyring: createKeyring({ 1: key }, 1) });
      const c = grpcJsClients(server.tessera.grpcPort);
      try {
        await setupInstance(c, "rescued");
      } finally {
        c.close();
      }
    });
    after(() => server.close());

    it("comes from --owner-database-url-file (standard input) or TESSERA_OWNER_DATABASE_URL, and --json prints the token", async () => {
      const keyFile = path.join(tmp.dir, "recovery-keys.json");
      await writeKeyFile(keyFile, { 1: key }, 1);
      const piped = await runCliWithInput(
        ["recovery", "create-operator", "--owner-database-url-file", "-", "--key-file", keyFile, "--json"],
        `${server.db.ownerUrl}\n`,
      );
      assert.equal(piped.code, 0, piped.stderr);
      const json = JSON.parse(piped.stdout) as { id: string; name: string; value: string; organization: { identifier: string } };
      assert.match(json.name, /^recovery-/);
      assert.equal(json.organization.identifier, "rescued");
      assert.equal(orgOf(await runCli(["whoami", "--host", `http://127.0.0.1:${server.tessera.httpPort}`, "-t", json.value])), "rescued");
      assert.doesNotMatch(piped.stderr, ANY_TOKEN_VALUE);

      const fromEnv = await runCli(["recovery", "create-operator", "--key-file", keyFile], {
        TESSERA_OWNER_DATABASE_URL: server.db.ownerUrl,
      });
      assert.equal(fromEnv.code, 0, fromEnv.stderr);
      assert.ok(printedValue(fromEnv).startsWith("tsop_"));
    });
  });
});
