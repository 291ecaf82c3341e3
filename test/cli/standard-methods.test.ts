/**
 * The CLI's commands for the standard methods, run as a user would against a real server:
 * org update and org members, user list and user get, bucket delete, whoami, auth update and the
 * auth list filters. Each change is checked where it matters (Verify, or the API).
 */
import assert from "node:assert/strict";
import path from "node:path";
import { EndpointClass, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { httpClients, type Clients } from "../helpers/clients.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { ANY_TOKEN_VALUE, assertNoStack, printedValue, runCli, tempDir, type CliResult, runCliOk } from "./run-cli.js";

describe("tessera org update and members, user list and get, bucket delete, whoami, auth update and list filters", function () {
  this.timeout(120_000); // every step spawns a node process; shared CI machines can be slow
  let server: TestServer;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let c: Clients;
  let env: Record<string, string>;
  let verifier: string;
  let operator: string;

  const cli = (...args: string[]): Promise<CliResult> => runCli(args, env);
  const ok = (...args: string[]): Promise<CliResult> => runCliOk(args, env);
  const idOf = (r: CliResult) => /\(id ([0-9a-f-]{36})/.exec(r.stderr + r.stdout)?.[1] ?? assert.fail(`no id in ${r.stderr}${r.stdout}`);
  const verify = (credential: string, extra: { organization?: string; bucket?: string } = {}) =>
    c.verify.verify({ credential, endpoint: EndpointClass.INGEST, ...extra }, verifier);

  before(async () => {
    server = await startTestServer();
    tmp = await tempDir();
    env = { TESSERA_CONFIG: path.join(tmp.dir, "config.json") };
    c = httpClients(server.tessera.httpPort)[0]!;
    const host = `http://127.0.0.1:${server.tessera.httpPort}`;
    operator = printedValue(await ok("setup", "--host", host, "--username", "root", "--org", "acme", "--bucket", "main"));
    verifier = (await c.admin.createToken({ name: "fleet", kind: TokenKind.VERIFIER }, operator)).value;
  });
  after(async () => {
    await server.close();
    await tmp.remove();
  });

  it("org update renames an organization and turns a sub-organization's parent access off and on", async () => {
    const renamed = await ok("org", "update", "--name", "Acme Inc");
    assert.match(
      renamed.stdout,
      /^Updated organization acme \(id [0-9a-f-]{36}\): name "Acme Inc", maximum token lifetime -, idle limit -\.$/m,
    );
    const child = await ok(
      "org",
      "create",
      "--identifier",
      "acme-eu",
      "--parent-id",
      (await c.admin.getOrganization({}, operator)).organization!.id,
    );
    const childId = idOf(child);
    const acmeDefault = (await c.admin.createToken({ name: "acme-edge", kind: TokenKind.INGESTION }, operator)).value;
    assert.equal((await verify(acmeDefault, { organization: "acme-eu" })).status, VerifyStatus.VALID);

    const off = await ok("org", "update", "--id", childId, "--deny-parent-access");
    assert.match(off.stdout, /parent access denied/);
    assert.equal((await verify(acmeDefault, { organization: "acme-eu" })).status, VerifyStatus.NOT_FOUND, "the next Verify");
    const on = await ok("org", "update", "--id", childId, "--allow-parent-access");
    assert.match(on.stdout, /parent access allowed/);
    assert.equal((await verify(acmeDefault, { organization: "acme-eu" })).status, VerifyStatus.VALID);

    const top = await cli("org", "update", "--deny-parent-access");
    assert.equal(top.code, 1);
    assert.match(top.stderr, /^error: parent_access applies only to sub-organizations/m);
  });

  it("org members, user list and user get show members, roles and memberships", async () => {
    const org = await ok("org", "create", "--identifier", "gamma");
    const orgId = idOf(org);
    const u = await ok("user", "create", "--name", "gamma-viewer", "--org-id", orgId, "--role", "viewer");
    const userId = idOf(u);

    const members = await ok("org", "members", "--org-id", orgId);
    const lines = members.stdout.trim().split("\n");
    assert.match(lines[0]!, /^USER ID\s+NAME\s+ROLE\s+ROOT$/);
    assert.ok(
      lines.some((l) => l.startsWith(userId) && /\sgamma-viewer\s+viewer\s+no$/.test(l)),
      members.stdout,
    );
    const json = JSON.parse((await ok("org", "members", "--org-id", orgId, "--json")).stdout) as Array<{
      membership: { role: string };
      user: { name: string };
    }>;
    assert.deepEqual(
      json.map((m) => [m.user.name, m.membership.role]),
      [["gamma-viewer", "ROLE_VIEWER"]],
    );

    const users = await ok("user", "list");
    assert.match(users.stdout, /^ID\s+NAME\s+ROOT\s+CREATED$/m);
    assert.match(users.stdout, /\sroot\s+yes\s/);
    assert.match(users.stdout, /\sgamma-viewer\s+no\s/);
    const only = await ok("user", "list", "--org-id", orgId, "--json");
    assert.deepEqual(
      (JSON.parse(only.stdout) as Array<{ name: string }>).map((x) => x.name),
      ["gamma-viewer"],
    );

    const got = await ok("user", "get", "--id", userId);
    assert.match(got.stdout, /^name:\s+gamma-viewer$/m);
    assert.match(got.stdout, new RegExp(`^${orgId}\\s+viewer$`, "m"));
    const missing = await cli("user", "get", "--id", "00000000-0000-4000-8000-000000000000");
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: user not found/m);
  });

  it("bucket delete refuses a bucket tokens name unless --force, which narrows or deletes them", async () => {
    await ok("bucket", "create", "--name", "temp");
    await ok("bucket", "create", "--name", "kept");
    const narrowed = printedValue(
      await ok("auth", "create", "--name", "two-buckets", "--kind", "ingestion", "--bucket", "temp", "--bucket", "kept"),
    );
    const onlyOne = await ok("auth", "create", "--name", "one-bucket", "--kind", "ingestion", "--bucket", "temp");
    const onlyOneValue = printedValue(onlyOne);

    const refused = await cli("bucket", "delete", "--name", "temp");
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: 2 tokens name bucket "temp" .*force/m);
    assertNoStack(refused.stderr);

    const r = await ok("bucket", "delete", "--name", "temp", "--force");
    assert.match(r.stdout, /^Deleted bucket temp\.$/m);
    assert.match(r.stderr, /lost the bucket/);
    assert.match(r.stderr, new RegExp(`Token ${idOf(onlyOne)} was deleted`));
    assert.equal((await verify(narrowed, { bucket: "temp" })).status, VerifyStatus.FORBIDDEN);
    assert.equal((await verify(narrowed, { bucket: "kept" })).status, VerifyStatus.VALID);
    assert.equal((await verify(onlyOneValue, { bucket: "kept" })).status, VerifyStatus.NOT_FOUND);
    const gone = await cli("bucket", "delete", "--name", "temp");
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^error: bucket not found/m);
  });

  it("whoami shows who the token is, for an operator and for an ingestion token", async () => {
    const me = await ok("whoami");
    assert.match(me.stdout, /^organization:\s+acme \(id [0-9a-f-]{36}\)$/m);
    assert.match(me.stdout, /^token:\s+operator token operator \(id [0-9a-f-]{36}\)$/m);
    assert.match(me.stdout, /^owner:\s+root \(id /m);
    assert.match(me.stdout, /^role:\s+admin$/m);
    assert.match(me.stdout, /^operator:\s+yes$/m);
    assert.match(me.stdout, /^expires:\s+never$/m);
    assert.doesNotMatch(me.stdout + me.stderr, ANY_TOKEN_VALUE);
    const ingestion = printedValue(await ok("auth", "create", "--name", "who", "--kind", "ingestion", "--expires-in", "1h"));
    const j = JSON.parse((await ok("whoami", "--json", "--token", ingestion)).stdout) as {
      caller: { tokenKind: string; tokenName: string; operator?: boolean; expireTime?: string };
    };
    assert.equal(j.caller.tokenKind, "TOKEN_KIND_INGESTION");
    assert.equal(j.caller.tokenName, "who");
    assert.ok(!j.caller.operator);
    assert.ok(j.caller.expireTime);
  });

  it("auth update changes the description and expiry, each only when given", async () => {
    const created = await ok("auth", "create", "--name", "updated", "--kind", "ingestion", "--description", "first");
    const id = idOf(created);
    const value = printedValue(created);
    const r = await ok("auth", "update", "--id", id, "--expires-in", "2h");
    assert.match(r.stdout, /description "first", expires \d{4}-/);
    const v = await verify(value);
    const left = Number(v.expireTime!.seconds) * 1000 - Date.now();
    assert.ok(left > 110 * 60_000 && left <= 2 * 3_600_000, `expiry in ${left} ms`);
    const d = await ok("auth", "update", "--id", id, "--description", "second");
    assert.match(d.stdout, /description "second", expires \d{4}-/, "the expiry stays");
    const n = await ok("auth", "update", "--id", id, "--no-expiry");
    assert.match(n.stdout, /expires never\.$/m);
    assert.equal((await verify(value)).expireTime, undefined);
    const past = await cli("auth", "update", "--id", id, "--expires", "2001-01-01T00:00:00Z");
    assert.equal(past.code, 2);
    assert.match(past.stderr, /in the past/);
  });

  it("auth list filters by enabled or disabled, name prefix and owner", async () => {
    for (const name of ["web_1", "web-2", "webX"]) await ok("auth", "create", "--name", name, "--kind", "ingestion");
    const list = async (...args: string[]) =>
      (JSON.parse((await ok("auth", "list", "--json", ...args)).stdout) as Array<{ id: string; name: string }>).map((t) => t.name);
    assert.deepEqual(await list("--name-prefix", "web"), ["web_1", "web-2", "webX"]);
    assert.deepEqual(await list("--name-prefix", "web_"), ["web_1"], "_ is no wildcard");
    const id = (await c.admin.listTokens({ namePrefix: "web-2" }, operator)).tokens[0]!.id;
    await ok("auth", "inactive", "--id", id);
    assert.deepEqual(await list("--name-prefix", "web", "--disabled"), ["web-2"]);
    assert.deepEqual(await list("--name-prefix", "web", "--enabled"), ["web_1", "webX"]);
    const me = (await c.admin.getCaller({}, operator)).caller!;
    assert.ok((await list("--owner-id", me.owner!.id)).includes("operator"));
    const bad = await cli("auth", "list", "--name-prefix", "web%");
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: name_prefix may contain only/m);
  });
});
