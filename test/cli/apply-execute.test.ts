import assert from "node:assert/strict";
import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { EndpointClass, Role, Signal, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { generateToken } from "../../src/domain/token-format.js";
import { httpClients, type Clients } from "../helpers/clients.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { ANY_TOKEN_VALUE, assertNoStack, printedValue, runCli, tempDir, type CliResult } from "./run-cli.js";

describe("tessera apply, applying a manifest atomically on the server", function () {
  this.timeout(180_000);
  let server: TestServer;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let c: Clients;
  let env: Record<string, string>;
  let operator: string;
  let verifier: string;

  const cli = (args: string[], extra: Record<string, string> = {}): Promise<CliResult> => runCli(args, { ...env, ...extra });
  const manifest = async (name: string, lines: string[]): Promise<string> => {
    const file = path.join(tmp.dir, name);
    await writeFile(file, `${lines.join("\n")}\n`);
    return file;
  };
  const verify = (credential: string, bucket = "logs") =>
    c.verify.verify({ credential, endpoint: EndpointClass.INGEST, bucket, signal: Signal.LOGS }, verifier);

  /** Everything the operator can see: organizations, users, and each organization's buckets, tokens and members. */
  async function state(): Promise<unknown> {
    const { organizations } = await c.admin.listOrganizations({ pageSize: 1000 }, operator);
    const { users } = await c.admin.listUsers({ pageSize: 1000 }, operator);
    return {
      users: users.map((u) => [u.id, u.name, u.root]),
      orgs: await Promise.all(
        organizations.map(async (o) => ({
          org: [o.id, o.identifier, o.name, o.parentId, o.parentAccess],
          buckets: (await c.admin.listBuckets({ organizationId: o.id }, operator)).buckets.map((b) => [b.id, b.name, b.description]),
          tokens: (await c.admin.listTokens({ organizationId: o.id, pageSize: 1000 }, operator)).tokens.map((t) => [
            t.id,
            t.name,
            t.description,
            t.enabled,
            t.expireTime?.seconds,
          ]),
          members: (await c.admin.listMemberships({ organizationId: o.id, pageSize: 1000 }, operator)).members.map((m) => [
            m.user?.name,
            m.membership?.role,
          ]),
        })),
      ),
    };
  }
  const orgId = async (identifier: string) =>
    (await c.admin.listOrganizations({ pageSize: 1000 }, operator)).organizations.find((o) => o.identifier === identifier)!.id;

  before(async () => {
    server = await startTestServer();
    tmp = await tempDir();
    env = { TESSERA_CONFIG: path.join(tmp.dir, "config.json") };
    c = httpClients(server.tessera.httpPort)[0]!;
    const host = `http://127.0.0.1:${server.tessera.httpPort}`;
    const r = await cli(["setup", "--host", host, "--username", "root", "--org", "acme", "--bucket", "main"]);
    assert.equal(r.code, 0, r.stderr);
    operator = printedValue(r);
    verifier = (await c.admin.createToken({ name: "gateway", kind: TokenKind.VERIFIER }, operator)).value;
  });
  after(async () => {
    await server.close();
    await tmp.remove();
  });

  const FLEET = [
    "version: 1",
    "values_out: fleet-values.json",
    "users:",
    "  - name: alice",
    "organizations:",
    "  - identifier: shop",
    "    name: Shop Inc",
    "    buckets: [{ name: logs }, { name: metrics, description: Metrics }]",
    "    members: [{ user: alice, role: admin }]",
    "    tokens:",
    "      - { name: default, generate: true }",
    "      - name: agents",
    "        kind: ingestion",
    "        permissions: { signals: [logs], buckets: [logs] }",
    "        value_from_env: AGENTS_TOKEN",
    "      - { name: collector, kind: ingestion, permissions: { buckets: [metrics] }, generate: true }",
    "      - { name: admin-cli, kind: all-access, owner: alice, expire_time: 2099-01-01T00:00:00Z, generate: true }",
    "    organizations:",
    "      - identifier: shop-eu",
    "        parent_access: false",
    "        buckets: [{ name: logs }]",
  ];
  const agents = generateToken("INGESTION");

  it("creates everything on a fresh instance, writes generated values to a 0600 file, and they verify", async () => {
    const file = await manifest("fleet.yaml", FLEET);
    const r = await cli(["apply", "-f", file], { AGENTS_TOKEN: agents });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\+ organization shop {2}\[organizations\[0\]\]/);
    assert.match(r.stdout, /Applied 10 changes\./);
    assert.doesNotMatch(r.stdout + r.stderr, ANY_TOKEN_VALUE);
    const valuesFile = path.join(tmp.dir, "fleet-values.json");
    assert.equal((await stat(valuesFile)).mode & 0o777, 0o600);
    const { tokens } = JSON.parse(await readFile(valuesFile, "utf8")) as { tokens: Record<string, string> };
    assert.deepEqual(Object.keys(tokens).sort(), ["shop/admin-cli", "shop/collector", "shop/default"]);
    for (const [v, bucket] of [
      [tokens["shop/collector"]!, "metrics"],
      [tokens["shop/default"]!, "logs"],
      [agents, "logs"],
    ] as const) {
      assert.equal((await verify(v, bucket)).status, VerifyStatus.VALID, "a value apply created verifies");
    }
    assert.equal((await verify(tokens["shop/collector"]!, "logs")).status, VerifyStatus.FORBIDDEN, "with the permissions it was given");
    const shop = await orgId("shop");
    const listed = (await c.admin.listTokens({ organizationId: shop, pageSize: 1000 }, operator)).tokens.map((t) => t.name).sort();
    assert.deepEqual(listed, ["admin-cli", "agents", "collector", "default"]);
    const eu = (await c.admin.getOrganization({ id: await orgId("shop-eu") }, operator)).organization!;
    assert.equal(eu.parentAccess, false);
  });

  it("changes nothing the second time and says so, and a dry run changes nothing either", async () => {
    const file = path.join(tmp.dir, "fleet.yaml");
    const before = await state();
    const valuesBefore = await readFile(path.join(tmp.dir, "fleet-values.json"), "utf8");
    const r = await cli(["apply", "-f", file], { AGENTS_TOKEN: agents });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `Nothing to change: the instance matches ${file}.`);
    const changed = await manifest("fleet-more.yaml", [...FLEET, "      - identifier: shop-us"]);
    const d = await cli(["apply", "-f", changed, "--dry-run"], { AGENTS_TOKEN: agents });
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /\+ organization shop-us/);
    assert.deepEqual(await state(), before);
    assert.equal(await readFile(path.join(tmp.dir, "fleet-values.json"), "utf8"), valuesBefore);
  });

  it("leaves the instance exactly as it was when a step fails mid-apply, names the path, and removes the values file", async () => {
    // A value another organization's token already holds: the last token of the plan fails.
    const taken = (await c.admin.createToken({ name: "holder", kind: TokenKind.INGESTION, value: generateToken("INGESTION") }, operator))
      .token!;
    assert.ok(taken);
    const inUse = generateToken("INGESTION");
    await c.admin.createToken({ name: "holder2", kind: TokenKind.INGESTION, value: inUse }, operator);
    const file = await manifest("fails.yaml", [
      "version: 1",
      "values_out: fails-values.json",
      "users: [{ name: bob }]",
      "organizations:",
      "  - identifier: fresh",
      "    buckets: [{ name: logs }]",
      "    members: [{ user: bob, role: editor }]",
      "    tokens:",
      "      - { name: one, kind: ingestion, generate: true }",
      "      - { name: two, kind: ingestion, value_from_env: TAKEN }",
    ]);
    const before = await state();
    const r = await cli(["apply", "-f", file], { TAKEN: inUse });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /organizations\[0\]\.tokens\[1\]: this value is already in use/);
    assert.ok(!(r.stdout + r.stderr).includes(inUse));
    assertNoStack(r.stderr);
    assert.deepEqual(await state(), before, "nothing of the apply remains");
    await assert.rejects(stat(path.join(tmp.dir, "fails-values.json")), /ENOENT/, "no value is left for a token that does not exist");
  });

  it("with --prune deletes what the file no longer names, never the default token nor the caller's own token", async () => {
    const shop = await orgId("shop");
    await c.admin.createToken({ organizationId: shop, name: "stray", kind: TokenKind.INGESTION }, operator);
    await c.admin.createBucket({ organizationId: shop, name: "old" }, operator);
    const admin = await c.admin.createUser({ organizationId: shop, name: "shopadmin", role: Role.ADMIN }, operator);
    const mine = await c.admin.createToken(
      { organizationId: shop, name: "mine", kind: TokenKind.ALL_ACCESS, userId: admin.user!.id },
      operator,
    );
    const file = await manifest("pruned.yaml", [
      "version: 1",
      "users: [{ name: alice }]",
      "organizations:",
      "  - identifier: shop",
      "    name: Shop Inc",
      "    buckets: [{ name: logs }, { name: metrics, description: Metrics }]",
      "    members: [{ user: alice, role: admin }]",
      "    tokens:",
      "      - { name: agents, kind: ingestion, permissions: { signals: [logs], buckets: [logs] }, value_from_env: AGENTS_TOKEN }",
    ]);
    const r = await cli(["apply", "-f", file, "--prune", "--token", mine.value], { AGENTS_TOKEN: agents });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Applied 4 changes\./);
    const names = (await c.admin.listTokens({ organizationId: shop, pageSize: 1000 }, operator)).tokens.map((t) => t.name).sort();
    assert.deepEqual(names, ["agents", "default", "mine"]);
    const buckets = (await c.admin.listBuckets({ organizationId: shop }, operator)).buckets.map((b) => b.name).sort();
    assert.deepEqual(buckets, ["logs", "metrics"]);
    const again = await cli(["apply", "-f", file, "--prune", "--token", mine.value], { AGENTS_TOKEN: agents });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Nothing to change/);
  });

  it("answers NOT_FOUND, applying nothing, when an organization's admin names an organization it does not reach", async () => {
    const shop = await orgId("shop");
    const u = await c.admin.createUser({ organizationId: shop, name: "carol", role: Role.ADMIN }, operator);
    const token = (
      await c.admin.createToken({ organizationId: shop, name: "carol-cli", kind: TokenKind.ALL_ACCESS, userId: u.user!.id }, operator)
    ).value;
    const before = await state();
    const request = {
      organizations: [
        {
          path: "organizations[0]",
          identifier: "shop",
          name: "Shop Inc",
          buckets: [{ path: "organizations[0].buckets[0]", name: "more" }],
        },
        { path: "organizations[1]", identifier: "acme", buckets: [{ path: "organizations[1].buckets[0]", name: "main" }] },
      ],
    };
    await assert.rejects(c.admin.applyManifest(request, token), (err: unknown) => {
      assert.ok(err instanceof ConnectError);
      assert.equal(err.code, Code.NotFound);
      assert.match(err.rawMessage, /^organizations\[1\]: /);
      return true;
    });
    assert.deepEqual(await state(), before);
  });

  it("refuses a malformed request with INVALID_ARGUMENT naming the path", async () => {
    const bad = [
      { organizations: [{ path: "organizations[0]", identifier: "Not An Identifier" }] },
      {
        organizations: [
          { path: "organizations[0]", identifier: "shop", tokens: [{ path: "organizations[0].tokens[3]", name: "x", kind: 99 }] },
        ],
      },
      { users: [{ path: "users[1]", name: "bad name!" }] },
    ];
    const at = ["organizations[0]", "organizations[0].tokens[3]", "users[1]"];
    for (const [i, request] of bad.entries()) {
      await assert.rejects(c.admin.applyManifest(request, operator), (err: unknown) => {
        assert.ok(err instanceof ConnectError);
        assert.equal(err.code, Code.InvalidArgument);
        assert.ok(err.rawMessage.startsWith(`${at[i]}: `), err.rawMessage);
        return true;
      });
    }
  });

  it("refuses a path that is not a manifest path without repeating it, the entry's own problem notwithstanding", async () => {
    // Errors start with the entry's path: a client's free text there would come back verbatim.
    const MARK = "zz~Marker~77";
    for (const path of [MARK, `users[0].${MARK}`, "users[0] ", "Users[0]", "users[x]", "users..name", "", "a".repeat(513)]) {
      await assert.rejects(c.admin.applyManifest({ users: [{ path, name: "" }] }, operator), (err: unknown) => {
        assert.ok(err instanceof ConnectError);
        assert.equal(err.code, Code.InvalidArgument);
        assert.match(err.rawMessage, /^every user needs its manifest path: field names and \[index\] steps/);
        assert.ok(!err.rawMessage.includes(MARK), err.rawMessage);
        return true;
      });
    }
    const before = await state();
    const ok = await c.admin.applyManifest({ users: [{ path: "users[0]", name: "" }] }, operator).catch((e: unknown) => e);
    assert.ok(ok instanceof ConnectError && ok.rawMessage.startsWith("users[0]: "), String(ok));
    assert.deepEqual(await state(), before);
  });
});
