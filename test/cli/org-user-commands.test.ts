/**
 * The commands for the rest of the admin API, run as a user would against a real server:
 * organizations by identifier, org get/enable/disable, memberships (set-member, remove-member),
 * user delete, the auth list filters, --hide-headers; exit codes (2 for a wrong command line, 1
 * for a refusal) and a token of one organization getting nowhere in another. Each change is
 * checked where it matters: Verify, or the API.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { generateToken } from "../../src/domain/token-format.js";
import { EndpointClass, Role, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { httpClients, type Clients } from "../helpers/clients.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { ANY_TOKEN_VALUE, assertNoStack, printedValue, runCli, tempDir, type CliResult, runCliOk } from "./run-cli.js";

describe("tessera org get/enable/disable/set-member/remove-member, user delete, auth list filters, across organizations", function () {
  this.timeout(180_000); // every step spawns a node process; shared CI machines can be slow
  let server: TestServer;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let c: Clients;
  let env: Record<string, string>;
  let verifier: string;
  let operator: string;

  const cli = (...args: string[]): Promise<CliResult> => runCli(args, env);
  const ok = (...args: string[]): Promise<CliResult> => runCliOk(args, env);
  /** A refusal: exit `code`, one clean error line, no value and nothing on stdout. */
  const refused = async (code: number, message: RegExp, ...args: string[]): Promise<CliResult> => {
    const r = await cli(...args);
    assert.equal(r.code, code, `tessera ${args.join(" ")}: exit ${r.code}, ${r.stderr}`);
    assert.match(r.stderr, message, `tessera ${args.join(" ")}`);
    assert.equal(r.stdout, "", `tessera ${args.join(" ")}`);
    assertNoStack(r.stderr);
    assert.doesNotMatch(r.stderr, ANY_TOKEN_VALUE);
    return r;
  };
  const json = async <T>(...args: string[]): Promise<T> => JSON.parse((await ok(...args, "--json")).stdout) as T;
  const verify = (credential: string, organization = "", bucket = "") =>
    c.verify.verify({ credential, endpoint: EndpointClass.INGEST, organization, bucket }, verifier);

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
    await server?.close();
    await tmp?.remove();
  });

  it("takes organizations by identifier wherever it takes them by id", async () => {
    const shop = await json<{ id: string; value: string }>("org", "create", "--identifier", "shop");
    await ok("bucket", "create", "-n", "orders", "-o", "shop", "-d", "order events");
    const buckets = await json<Array<{ name: string; organizationId: string }>>("bucket", "list", "--org", "shop");
    assert.deepEqual(
      buckets.map((b) => [b.name, b.organizationId]),
      [["orders", shop.id]],
    );
    const byId = await json<Array<{ name: string }>>("bucket", "list", "--org", shop.id);
    assert.deepEqual(
      byId.map((b) => b.name),
      ["orders"],
    );
    const old = await json<Array<{ name: string }>>("bucket", "list", "--org-id", "shop");
    assert.deepEqual(
      old.map((b) => b.name),
      ["orders"],
      "--org-id, the older name, takes identifiers too",
    );
    const edge = await ok("auth", "create", "-o", "shop", "-n", "edge", "-k", "ingestion", "-b", "orders");
    assert.equal((await verify(printedValue(edge), "shop", "orders")).status, VerifyStatus.VALID);
    const tokens = await json<Array<{ name: string }>>("auth", "list", "-o", "shop");
    assert.deepEqual(
      tokens.map((t) => t.name),
      ["default", "edge"],
    );
    const sub = await json<{ organization: { parentId: string } }>("org", "create", "--identifier", "shop-eu", "--parent", "shop");
    assert.equal(sub.organization.parentId, shop.id);
    const got = await ok("org", "get", "--org", "shop-eu");
    assert.match(got.stdout, /^identifier: +shop-eu$/m);
    assert.match(got.stdout, new RegExp(`^parent: +${shop.id}$`, "m"));
    assert.match(got.stdout, /^parent access: +allowed$/m);
    const own = await ok("org", "get");
    assert.match(own.stdout, /^identifier: +acme$/m, "default: the token's organization");
    assert.match((await ok("auth", "passcode", "-o", "shop")).stdout, /^organization:\s+shop$/m);

    await refused(1, /^error: --org: no organization "nowhere" that your token reaches/m, "bucket", "list", "--org", "nowhere");
    await refused(1, /^error: organization not found/m, "org", "get", "--org", "00000000-0000-4000-8000-000000000000");
    await refused(2, /give either --org or --org-id/, "bucket", "list", "--org", "shop", "--org-id", "shop");
    await refused(2, /--org-id needs an organization/, "bucket", "list", "--org-id=");
  });

  it("org disable refuses every token of the organization until org enable", async () => {
    const made = await json<{ id: string; value: string }>("org", "create", "--identifier", "paused");
    assert.equal((await verify(made.value, "paused")).status, VerifyStatus.VALID);
    const off = await ok("org", "disable", "--org", "paused");
    assert.match(off.stdout, new RegExp(`^Disabled organization paused \\(id ${made.id}\\)\\.$`, "m"));
    assert.equal((await verify(made.value, "paused")).status, VerifyStatus.ORGANIZATION_DISABLED);
    assert.equal((await json<{ enabled?: boolean }>("org", "get", "-o", "paused")).enabled, undefined, "protobuf JSON leaves false out");
    const on = await json<{ id: string; enabled: boolean }>("org", "enable", "-o", made.id);
    assert.equal(on.id, made.id);
    assert.equal(on.enabled, true);
    assert.equal((await verify(made.value, "paused")).status, VerifyStatus.VALID);
    await refused(2, /--org is required[\s\S]*Usage: tessera org disable/, "org", "disable");
    await refused(1, /^error: /m, "org", "disable", "--org", "acme"); // never the token's own organization
  });

  it("org set-member adds a user or changes its role, org remove-member takes it out, by user name", async () => {
    await ok("org", "create", "--identifier", "team");
    const u = await json<{ user: { id: string; name: string }; membership: { role: string } }>(
      "user",
      "create",
      "-n",
      "dana",
      "-o",
      "team",
      "-r",
      "editor",
    );
    assert.equal(u.user.name, "dana");
    assert.equal(u.membership.role, "ROLE_EDITOR");
    const added = await json<{ organizationId: string; userId: string; role: string }>(
      "org",
      "set-member",
      "-u",
      "dana",
      "-r",
      "viewer",
      "-o",
      "acme",
    );
    assert.equal(added.userId, u.user.id);
    assert.equal(added.role, "ROLE_VIEWER");
    const changed = await ok("org", "set-member", "--user", u.user.id, "--role", "admin", "--org", "team");
    assert.match(changed.stdout, new RegExp(`^User ${u.user.id} is admin in organization [0-9a-f-]{36}\\.$`, "m"));
    const roles = await json<{ memberships: Array<{ role: string }> }>("user", "get", "-i", "dana");
    assert.deepEqual(roles.memberships.map((m) => m.role).sort(), ["ROLE_ADMIN", "ROLE_VIEWER"]);

    // An all-access token of dana's in team stops working once dana is out of team.
    const token = printedValue(await ok("auth", "create", "-o", "team", "-n", "dana-all", "-k", "all-access", "-u", "dana"));
    assert.equal((await c.admin.getCaller({}, token)).caller?.tokenName, "dana-all");
    const mine = await json<Array<{ name: string }>>("auth", "list", "-o", "team", "--user", "dana");
    assert.deepEqual(
      mine.map((t) => t.name),
      ["dana-all"],
    );
    const removed = await json<{ removed: boolean; userId: string }>("org", "remove-member", "-u", "dana", "-o", "team");
    assert.deepEqual([removed.removed, removed.userId], [true, u.user.id]);
    await assert.rejects(c.admin.getCaller({}, token), /owner|inactive|unauthenticated|not/i);
    const members = await json<Array<{ user: { name: string } }>>("org", "members", "-o", "team");
    assert.ok(!members.some((m) => m.user.name === "dana"));

    await refused(2, /unknown role "owner"/, "org", "set-member", "-u", "dana", "-r", "owner");
    await refused(2, /--role is required/, "org", "set-member", "-u", "dana");
    await refused(1, /^error: --user: no user "nobody" that your token may see/m, "org", "set-member", "-u", "nobody", "-r", "viewer");
  });

  it("user delete deletes a user, and its tokens stop working", async () => {
    const u = await json<{ user: { id: string } }>("user", "create", "-n", "leaver", "-r", "admin");
    const token = printedValue(await ok("auth", "create", "-n", "leaver-rw", "-k", "read-write", "--read-bucket", "main", "-u", u.user.id));
    assert.equal((await c.admin.getCaller({}, token)).caller?.owner?.name, "leaver");
    const r = await ok("user", "delete", "--id", "leaver");
    assert.equal(r.stdout.trim(), `Deleted user ${u.user.id}.`);
    await assert.rejects(c.admin.getCaller({}, token));
    await refused(1, /^error: --id: no user "leaver"/m, "user", "get", "-i", "leaver");
    await refused(1, /^error: user not found/m, "user", "delete", "-i", u.user.id);
  });

  it("auth list filters by id, user, kind, whole name and enabled state, and --hide-headers drops the header", async () => {
    const a = await json<{ id: string }>("auth", "create", "-n", "filter-a", "-k", "ingestion");
    await ok("auth", "create", "-n", "filter-ab", "-k", "ingestion");
    await ok("auth", "create", "-n", "filter-v", "-k", "verifier");
    await ok("auth", "inactive", "-i", a.id);
    const names = async (...args: string[]) => (await json<Array<{ name: string }>>("auth", "list", ...args)).map((t) => t.name);
    assert.deepEqual(await names("--id", a.id), ["filter-a"]);
    assert.deepEqual(await names("-n", "filter-a"), ["filter-a"], "a whole name, not a prefix");
    assert.deepEqual(await names("--name-prefix", "filter-"), ["filter-a", "filter-ab", "filter-v"]);
    assert.deepEqual(await names("--name-prefix", "filter-", "-k", "verifier"), ["filter-v"]);
    assert.deepEqual(await names("--name-prefix", "filter-", "--disabled"), ["filter-a"]);
    assert.deepEqual(await names("--name-prefix", "filter-", "--enabled", "-k", "ingestion"), ["filter-ab"]);
    assert.deepEqual(await names("-u", "root", "-k", "operator"), ["operator"], "--user takes a name");
    assert.deepEqual(await names("-n", "filter-a", "--enabled"), []);

    const table = await ok("auth", "list", "--name-prefix", "filter-", "--hide-headers");
    const lines = table.stdout.trim().split("\n");
    assert.equal(lines.length, 3);
    assert.ok(
      lines.every((l) => /^[0-9a-f-]{36}\s+filter-/.test(l)),
      table.stdout,
    );
    const none = await ok("auth", "list", "-n", "no-such-token", "--hide-headers");
    assert.equal(none.stdout, "", "an empty list without its header prints nothing");
    const header = await ok("auth", "list", "-n", "no-such-token");
    assert.match(header.stdout, /^ID\s+NAME\s+KIND\s+MASKED VALUE\s+ENABLED\s+DESCRIPTION\s+CREATED\s+LAST USED\n$/);

    await refused(2, /--id "nope" is not a token id/, "auth", "list", "--id", "nope");
    await refused(2, /--name: /, "auth", "list", "--name", "bad name");
    await refused(2, /either --user or --owner-id/, "auth", "list", "--user", "root", "--owner-id", "root");
    await refused(1, /^error: --user: no user "ghost"/m, "auth", "list", "--user", "ghost");
  });

  it("a token of one organization gets a clean NOT_FOUND or no-such-organization in another, exit 1", async () => {
    const north = await json<{ id: string }>("org", "create", "--identifier", "north");
    const south = await json<{ id: string; token: { id: string } }>("org", "create", "--identifier", "south");
    await ok("bucket", "create", "-n", "cold", "-o", "south");
    const southUser = await json<{ user: { id: string } }>("user", "create", "-n", "south-admin", "-o", "south", "-r", "admin");
    await ok("user", "create", "-n", "north-admin", "-o", "north", "-r", "admin");
    const northToken = printedValue(await ok("auth", "create", "-o", "north", "-n", "admin", "-k", "all-access", "-u", "north-admin"));
    const as = ["--token", northToken];

    // North's admin works in north…
    await ok("bucket", "create", "-n", "warm", ...as);
    assert.deepEqual(
      (await json<Array<{ name: string }>>("bucket", "list", ...as)).map((b) => b.name),
      ["warm"],
    );
    assert.equal((await json<{ id: string }>("org", "get", ...as)).id, north.id);
    assert.deepEqual(
      (await json<Array<{ identifier: string }>>("org", "list", ...as)).map((o) => o.identifier),
      ["north"],
    );

    // …and reaches nothing of south's, by identifier or by id.
    const noOrg = /^error: --org: no organization "south" that your token reaches/m;
    for (const cmd of [
      ["org", "get"],
      ["org", "members"],
      ["org", "disable"],
      ["bucket", "list"],
      ["auth", "list"],
      ["auth", "passcode"],
      ["user", "list"],
      ["audit", "list"],
    ]) {
      await refused(1, noOrg, ...cmd, "--org", "south", ...as);
    }
    const notFound = /^error: (organization )?not found/m;
    await refused(1, notFound, "org", "get", "--org", south.id, ...as);
    await refused(1, notFound, "org", "disable", "--org", south.id, ...as);
    await refused(1, notFound, "org", "update", "--org", south.id, "--name", "Mine", ...as);
    await refused(1, notFound, "org", "set-member", "-o", south.id, "-u", "north-admin", "-r", "admin", ...as);
    await refused(1, notFound, "org", "members", "-o", south.id, ...as);
    await refused(1, notFound, "bucket", "list", "-o", south.id, ...as);
    await refused(1, notFound, "bucket", "delete", "-o", south.id, "-n", "cold", ...as);
    await refused(1, notFound, "auth", "list", "-o", south.id, ...as);
    await refused(1, /^error: token not found/m, "auth", "get", "-i", south.token.id, ...as);
    await refused(1, /^error: token not found/m, "auth", "rotate", "-i", south.token.id, ...as);
    await refused(1, /^error: token not found/m, "auth", "inactive", "-i", south.token.id, ...as);
    await refused(1, /^error: user not found/m, "user", "get", "-i", southUser.user.id, ...as);
    await refused(1, /^error: --id: no user "south-admin"/m, "user", "get", "-i", "south-admin", ...as);
    // PERMISSION_DENIED, exit 1 too: what only operators may do.
    await refused(1, /^error: only an operator may delete users/m, "user", "delete", "-i", southUser.user.id, ...as);
    await refused(1, /^error: only an operator may create a top-level organization/m, "org", "create", "--identifier", "mine", ...as);

    // A well-formed value no token holds: refused, and not repeated back.
    const unknown = generateToken("ALL_ACCESS");
    const r = await refused(1, /^error: /m, "org", "list", "--token", unknown);
    assert.ok(!r.stderr.includes(unknown.slice(5)), "the secret is not echoed");

    // Nothing changed in south.
    const southOrg = (await c.admin.getOrganization({ id: south.id }, operator)).organization!;
    assert.equal(southOrg.enabled, true);
    assert.equal(southOrg.name, "south");
    assert.deepEqual(
      (await c.admin.listBuckets({ organizationId: south.id }, operator)).buckets.map((b) => b.name),
      ["cold"],
    );
    const southMembers = (await c.admin.listMemberships({ organizationId: south.id }, operator)).members;
    assert.deepEqual(
      southMembers.map((m) => [m.user?.name, m.membership?.role]),
      [["south-admin", Role.ADMIN]],
    );
  });
});
