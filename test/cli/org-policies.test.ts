/** `tessera org create` with token policies, and how `org list` and `auth list` show them. */
import assert from "node:assert/strict";
import path from "node:path";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { assertNoStack, printedValue, runCli, tempDir, type CliResult } from "./run-cli.js";

describe("tessera org create with token policies", function () {
  this.timeout(120_000); // every step spawns a node process
  let server: TestServer;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let env: Record<string, string>;

  const cli = (...args: string[]): Promise<CliResult> => runCli(args, env);

  before(async () => {
    server = await startTestServer();
    tmp = await tempDir();
    env = { TESSERA_CONFIG: path.join(tmp.dir, "config.json") };
    const host = `http://127.0.0.1:${server.tessera.httpPort}`;
    const r = await cli("setup", "--host", host, "--username", "root", "--org", "acme", "--bucket", "main");
    assert.equal(r.code, 0, r.stderr);
    printedValue(r);
  });
  after(async () => {
    await server?.close();
    await tmp?.remove();
  });

  it("sets both policies, and org list shows them", async () => {
    const r = await cli("org", "create", "--identifier", "bounded", "--max-token-lifetime", "30d", "--token-idle-limit", "2w");
    assert.equal(r.code, 0, r.stderr);
    const list = await cli("org", "list");
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^ID\s+IDENTIFIER\s+NAME\s+PARENT\s+ENABLED\s+MAX LIFETIME\s+IDLE LIMIT\s+CREATED$/m);
    assert.match(list.stdout, /\bbounded\s+bounded\s+-\s+yes\s+30d\s+14d\s/, list.stdout);
    assert.match(list.stdout, /\bacme\s+acme\s+-\s+yes\s+-\s+-\s/, "no policies on the first organization");
  });

  it("org update changes and removes policies", async () => {
    const set = await cli("org", "update", "--max-token-lifetime", "90d", "--token-idle-limit", "30d");
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /maximum token lifetime 90d, idle limit 30d\.$/m);
    const cleared = await cli("org", "update", "--no-max-token-lifetime");
    assert.equal(cleared.code, 0, cleared.stderr);
    assert.match(cleared.stdout, /maximum token lifetime -, idle limit 30d\.$/m, "only the named policy is removed");
    const both = await cli("org", "update", "--token-idle-limit", "30d", "--no-token-idle-limit");
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give either --token-idle-limit or --no-token-idle-limit, not both/);
  });

  it("refuses a malformed duration before calling the server, and a policy the server refuses, cleanly", async () => {
    const bad = await cli("org", "create", "--identifier", "nope", "--max-token-lifetime", "30x");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--max-token-lifetime "30x" is not a duration/);
    const short = await cli("org", "create", "--identifier", "nope", "--token-idle-limit", "30m");
    assert.equal(short.code, 1);
    assert.match(short.stderr, /token_idle_limit must be between 2h and 3650d/);
    assertNoStack(short.stdout + short.stderr);
    const list = await cli("org", "list");
    assert.doesNotMatch(list.stdout, /\bnope\b/, "nothing was created");
  });
});
