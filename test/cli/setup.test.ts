import assert from "node:assert/strict";
import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { grpcJsClients } from "../helpers/clients.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { assertNoStack, printedValue, runCli, tempDir } from "./run-cli.js";

describe("tessera setup", function () {
  this.timeout(120_000); // every step spawns a node process; shared CI machines can be slow
  let server: TestServer;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let host: string;
  before(async () => {
    server = await startTestServer();
    tmp = await tempDir();
    host = `http://127.0.0.1:${server.tessera.httpPort}`;
  });
  after(async () => {
    await server.close();
    await tmp.remove();
  });

  it("refuses to replace an existing profile of the same name before it touches the server", async () => {
    const config = path.join(tmp.dir, "existing.json");
    const old = JSON.stringify({ host: "http://127.0.0.1:1", token: "tsop_old", org: "old" });
    await writeFile(config, old, { mode: 0o600 });
    const r = await runCli(["setup", "--host", host, "--username", "root", "--org", "acme", "--bucket", "main"], {
      TESSERA_CONFIG: config,
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /already has a profile "default".*--force.*--profile NAME/);
    assertNoStack(r.stderr);
    assert.equal(await readFile(config, "utf8"), old);
    const named = await runCli(["setup", "--host", host, "--username", "root", "--org", "acme", "--bucket", "main", "-c", "default"], {
      TESSERA_CONFIG: config,
    });
    assert.equal(named.code, 1);
    assert.equal(await readFile(config, "utf8"), old);
  });

  it("exits 2 naming the missing flags when there is no terminal to ask at", async () => {
    const r = await runCli(["setup", "--host", host, "--username", "root"], { TESSERA_CONFIG: path.join(tmp.dir, "never.json") });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing --org, --bucket/);
    assertNoStack(r.stderr);
  });

  it("stores host, operator token and organization in a 0600 config, and a second setup fails cleanly", async () => {
    const config = path.join(tmp.dir, "nested", "config.json");
    const r = await runCli(["setup", "--host", host, "--username", "root", "--org", "acme", "--bucket", "main"], {
      TESSERA_CONFIG: config,
    });
    assert.equal(r.code, 0, r.stderr);
    const value = printedValue(r);
    assert.ok(value.startsWith("tsop_"));
    assert.match(r.stderr, /shown only once/);

    assert.equal((await stat(config)).mode & 0o777, 0o600);
    assert.equal((await stat(path.dirname(config))).mode & 0o777, 0o700);
    assert.deepEqual(JSON.parse(await readFile(config, "utf8")), {
      active: "default",
      profiles: { default: { host, token: value, org: "acme" } },
    });

    // The stored token works: it is the operator token.
    const c = grpcJsClients(server.tessera.grpcPort);
    try {
      const orgs = await c.admin.listOrganizations({}, value);
      assert.deepEqual(
        orgs.organizations.map((o) => o.identifier),
        ["acme"],
      );
    } finally {
      c.close();
    }

    const again = await runCli(["setup", "--host", host, "--username", "root2", "--org", "other", "--bucket", "main"], {
      TESSERA_CONFIG: path.join(tmp.dir, "second.json"),
    });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^error: .*already set up/m);
    assert.equal(again.stdout, "");
    assertNoStack(again.stderr);
    await assert.rejects(stat(path.join(tmp.dir, "second.json")), { code: "ENOENT" });
  });
});
