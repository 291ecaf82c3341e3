import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { Role, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { generateToken } from "../../src/domain/token-format.js";
import { httpClients, type Clients } from "../helpers/clients.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { ANY_TOKEN_VALUE, assertNoStack, printedValue, runCli, tempDir, type CliResult } from "./run-cli.js";

describe("tessera apply", function () {
  this.timeout(120_000); // every step spawns a node process; shared CI machines can be slow
  let server: TestServer;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let c: Clients;
  let env: Record<string, string>;
  let operator: string;

  const cli = (args: string[], extra: Record<string, string> = {}): Promise<CliResult> => runCli(args, { ...env, ...extra });
  const manifest = async (name: string, lines: string[]): Promise<string> => {
    const file = path.join(tmp.dir, name);
    await writeFile(file, `${lines.join("\n")}\n`);
    return file;
  };

  /** Everything the operator can see: organizations, and each one's buckets and tokens. */
  async function state(): Promise<unknown> {
    const { organizations } = await c.admin.listOrganizations({ pageSize: 1000 }, operator);
    return Promise.all(
      organizations.map(async (o) => ({
        org: [o.id, o.identifier, o.name, o.parentId, o.parentAccess],
        buckets: (await c.admin.listBuckets({ organizationId: o.id }, operator)).buckets.map((b) => [b.id, b.name, b.description]),
        tokens: (await c.admin.listTokens({ organizationId: o.id, pageSize: 1000 }, operator)).tokens.map((t) => [
          t.id,
          t.name,
          t.description,
          t.enabled,
        ]),
      })),
    );
  }

  before(async () => {
    server = await startTestServer();
    tmp = await tempDir();
    env = { TESSERA_CONFIG: path.join(tmp.dir, "config.json") };
    c = httpClients(server.tessera.httpPort)[0]!;
    const host = `http://127.0.0.1:${server.tessera.httpPort}`;
    const r = await cli(["setup", "--host", host, "--username", "root", "--org", "acme", "--bucket", "main"]);
    assert.equal(r.code, 0, r.stderr);
    operator = printedValue(r);
  });
  after(async () => {
    await server.close();
    await tmp.remove();
  });

  it("prints the plan for a fresh instance with --dry-run, never a value, and changes nothing", async () => {
    const edge = generateToken("INGESTION");
    const agents = generateToken("INGESTION");
    await writeFile(path.join(tmp.dir, "agents.token"), `${agents}\n`, { mode: 0o600 });
    const file = await manifest("fleet.yaml", [
      "version: 1",
      "values_out: values.json",
      "users:",
      "  - name: alice",
      "organizations:",
      "  - identifier: acme",
      "    buckets:",
      "      - name: main",
      "      - name: traces",
      "        description: Trace spans",
      "    tokens:",
      "      - name: edge",
      "        kind: ingestion",
      "        permissions: { buckets: [main] }",
      "        value_from_env: EDGE_TOKEN",
      "  - identifier: shop",
      "    name: Shop Inc",
      "    buckets: [{ name: logs }]",
      "    members: [{ user: alice, role: admin }]",
      "    tokens:",
      "      - { name: default, generate: true }",
      "      - name: agents",
      "        kind: ingestion",
      "        permissions: { signals: [logs], buckets: [logs] }",
      "        value_file: agents.token",
      "      - { name: admin-cli, kind: all-access, owner: alice, expire_time: 2099-01-01T00:00:00Z, generate: true }",
      "    organizations:",
      "      - identifier: shop-eu",
      "        parent_access: false",
    ]);
    const before = await state();
    const r = await cli(["apply", "-f", file, "--dry-run"], { EDGE_TOKEN: edge });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        `Plan for ${file} (+ create, ~ change, - delete):`,
        "",
        "  + organization shop  [organizations[1]]",
        '      name: "Shop Inc"',
        "      default token: made with it, value written to the values file",
        "  + organization shop-eu  [organizations[1].organizations[0]]",
        '      name: "shop-eu"',
        "      parent: shop",
        "      parent access: off",
        "      default token: made with it",
        "  + user alice  [users[0]]",
        "  + bucket acme/traces  [organizations[0].buckets[1]]",
        '      description: "Trace spans"',
        "  + bucket shop/logs  [organizations[1].buckets[0]]",
        "  + member alice of shop: admin  [organizations[1].members[0]]",
        "  + token acme/edge (ingestion)  [organizations[0].tokens[0]]",
        "      permissions: buckets main",
        "      expires: never",
        "      value: from environment variable EDGE_TOKEN",
        "  + token shop/agents (ingestion)  [organizations[1].tokens[1]]",
        "      permissions: signals logs; buckets logs",
        "      expires: never",
        '      value: from file "agents.token"',
        "  + token shop/admin-cli (all-access)  [organizations[1].tokens[2]]",
        "      owner: alice",
        "      permissions: everything in the organization",
        "      expires: 2099-01-01T00:00:00Z",
        "      value: generated, written to the values file",
        "",
        "Plan: 9 to create, 0 to change, 0 to delete.",
        "",
      ].join("\n"),
    );
    const all = r.stdout + r.stderr;
    assert.doesNotMatch(all, ANY_TOKEN_VALUE);
    assert.ok(!all.includes(edge) && !all.includes(agents));
    assert.deepEqual(await state(), before);
  });

  it("says there is nothing to change, and succeeds without --dry-run, when the instance matches", async () => {
    const file = await manifest("same.yaml", [
      "version: 1",
      "users: [{ name: root, root: true }]",
      "organizations:",
      "  - identifier: acme",
      "    buckets: [{ name: main }]",
      "    members: [{ user: root, role: admin }]",
    ]);
    const before = await state();
    const r = await cli(["apply", "-f", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `Nothing to change: the instance matches ${file}.`);
    assert.deepEqual(await state(), before);
  });

  it("refuses an invalid file with exit 2, listing every problem with its path and line, never a value, and changes nothing", async () => {
    const wrong = generateToken("READ_WRITE");
    const file = await manifest("invalid.yaml", [
      "version: 1",
      "organizations:",
      "  - identifier: acme",
      "    buckets:",
      "      - name: Main",
      "    tokens:",
      "      - name: edge",
      "        kind: ingestion",
      "        permissions: { buckets: [main] }",
      "        value_from_env: WRONG_KIND",
      "        colour: blue",
      "      - { name: root, kind: operator, generate: true }",
      "      - { name: status, kind: shared, permissions: { dashboards: [up] }, value_file: missing.token }",
      "      - { name: cli, kind: all-access, value_from_env: UNSET }",
    ]);
    const before = await state();
    const r = await cli(["apply", "-f", file, "--dry-run"], { WRONG_KIND: wrong });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.equal(
      r.stderr,
      [
        `${file}:5:15: organizations[0].buckets[0].name: bucket name may contain only lowercase letters, digits, "_" and "-", starting with a letter or digit (pattern [a-z0-9][a-z0-9_-]{0,62})`,
        `${file}:10:25: organizations[0].tokens[0].value_from_env: the value in environment variable WRONG_KIND is not acceptable: value is a Tessera READ_WRITE token value; a INGESTION token's value starts with "o2oi_"`,
        `${file}:11:9: organizations[0].tokens[0].colour: unknown field "colour" in a token; known fields: name, kind, description, owner, permissions, expire_time, expires_in, value_from_env, value_file, generate`,
        `${file}:12:29: organizations[0].tokens[1].kind: operator tokens are not provisioned by a manifest: tessera setup and tessera recovery make them`,
        `${file}:13:9: organizations[0].tokens[2]: a shared token needs an expiry: expire_time or expires_in`,
        `${file}:13:86: organizations[0].tokens[2].value_file: cannot read value file "missing.token": no such file`,
        `${file}:14:9: organizations[0].tokens[3].owner: is required for all-access tokens: the user whose role bounds the token`,
        `${file}:14:56: organizations[0].tokens[3].value_from_env: environment variable UNSET is not set`,
        `${file}: 8 problems; nothing was applied.`,
        "",
      ].join("\n"),
    );
    assert.ok(!r.stderr.includes(wrong));
    assertNoStack(r.stderr);
    assert.deepEqual(await state(), before);
  });

  it("refuses, at plan time, a token bucket the organization neither declares nor has on the server", async () => {
    const file = await manifest("missing-bucket.yaml", [
      "version: 1",
      "values_out: v.json",
      "organizations:",
      "  - identifier: acme",
      "    tokens:",
      "      - name: writer",
      "        kind: ingestion",
      "        permissions: { buckets: [main, nowhere] }",
      "        generate: true",
    ]);
    const before = await state();
    const r = await cli(["apply", "-f", file, "--dry-run"]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `${file}:8:40: organizations[0].tokens[0].permissions.buckets[1]: bucket "nowhere" is neither in organization "acme"'s buckets nor on the server\n` +
        `${file}: 1 problem; nothing was applied.\n`,
    );
    assert.deepEqual(await state(), before);
  });

  it("with --prune plans to delete what the file does not name, but never the default token, the caller's own token or its membership", async () => {
    const { organizations } = await c.admin.listOrganizations({}, operator);
    const acme = organizations.find((o) => o.identifier === "acme")!;
    await c.admin.createBucket({ organizationId: acme.id, name: "old" }, operator);
    await c.admin.createToken({ organizationId: acme.id, name: "stray", kind: TokenKind.INGESTION }, operator);
    const admin = await c.admin.createUser({ organizationId: acme.id, name: "admin", role: Role.ADMIN }, operator);
    const mine = await c.admin.createToken(
      { organizationId: acme.id, name: "admin-cli", kind: TokenKind.ALL_ACCESS, userId: admin.user!.id },
      operator,
    );
    const file = await manifest("prune.yaml", ["version: 1", "organizations:", "  - identifier: acme", "    buckets: [{ name: main }]"]);
    const before = await state();
    const r = await cli(["apply", "-f", file, "--dry-run", "--prune", "--token", mine.value]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        "Note: Kept token acme/admin-cli: it is the token this apply runs with.",
        "Note: Kept the membership of admin in acme: it is the user this apply runs as.",
        "",
        `Plan for ${file} (+ create, ~ change, - delete):`,
        "",
        "  - token acme/stray (ingestion)  [not in the manifest]",
        "  - member root of acme (admin)  [not in the manifest]",
        "  - bucket acme/old  [not in the manifest]",
        "",
        "Plan: 0 to create, 0 to change, 3 to delete.",
        "",
      ].join("\n"),
    );
    assert.deepEqual(await state(), before);
  });

  it("exits 2 for a manifest it cannot read", async () => {
    const r = await cli(["apply", "-f", path.join(tmp.dir, "no-such.yaml"), "--dry-run"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot read the manifest .*no-such\.yaml: no such file/);
    assertNoStack(r.stderr);
  });
});
