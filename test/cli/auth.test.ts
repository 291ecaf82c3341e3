import assert from "node:assert/strict";
import path from "node:path";
import { EndpointClass, Signal, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { httpClients, type Clients } from "../helpers/clients.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { ANY_TOKEN_VALUE, assertNoStack, printedValue, runCli, tempDir, type CliResult, runCliOk } from "./run-cli.js";

describe("tessera auth, org, user and bucket", function () {
  this.timeout(120_000); // every step spawns a node process; shared CI machines can be slow
  let server: TestServer;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let c: Clients;
  let env: Record<string, string>;
  let verifier: string;
  let operator: string;

  const cli = (...args: string[]): Promise<CliResult> => runCli(args, env);
  const ok = (...args: string[]): Promise<CliResult> => runCliOk(args, env);
  const verify = async (credential: string, endpoint = EndpointClass.INGEST, bucket = "", signal = Signal.UNSPECIFIED) =>
    c.verify.verify({ credential, endpoint, bucket, signal }, verifier);
  const idOf = (r: CliResult) => /\(id ([0-9a-f-]{36})/.exec(r.stderr + r.stdout)?.[1] ?? assert.fail(`no id in ${r.stderr}`);

  before(async () => {
    server = await startTestServer();
    tmp = await tempDir();
    env = { TESSERA_CONFIG: path.join(tmp.dir, "config.json") };
    c = httpClients(server.tessera.httpPort)[0]!; // Connect over HTTP/1.1, as the CLI
    const host = `http://127.0.0.1:${server.tessera.httpPort}`;
    operator = printedValue(await ok("setup", "--host", host, "--username", "root", "--org", "acme", "--bucket", "main"));
    verifier = (await c.admin.createToken({ name: "fleet", kind: TokenKind.VERIFIER }, operator)).value;
  });
  after(async () => {
    await server.close();
    await tmp.remove();
  });

  it("auth create prints a value, alone on stdout, that verifies", async () => {
    const r = await ok("auth", "create", "--name", "ci-upload", "--kind", "ingestion", "--signal", "logs", "--description", "CI uploads");
    const value = printedValue(r);
    assert.ok(value.startsWith("o2oi_"));
    assert.doesNotMatch(r.stderr, ANY_TOKEN_VALUE);
    const allowed = await verify(value, EndpointClass.INGEST, "", Signal.LOGS);
    assert.equal(allowed.status, VerifyStatus.VALID);
    assert.equal(allowed.allowed, true);
    assert.equal(allowed.principal?.tokenName, "ci-upload");
    assert.deepEqual(allowed.permissions?.signals, [Signal.LOGS]);
    assert.equal((await verify(value, EndpointClass.INGEST, "", Signal.METRICS)).status, VerifyStatus.FORBIDDEN);
  });

  it("auth list shows tokens masked and never a value", async () => {
    const value = printedValue(await ok("auth", "create", "--name", "listed", "--kind", "ingestion"));
    const r = await ok("auth", "list");
    assert.doesNotMatch(r.stdout + r.stderr, ANY_TOKEN_VALUE);
    assert.ok(!r.stdout.includes(value));
    const lines = r.stdout.trim().split("\n");
    assert.match(lines[0]!, /^ID\s+NAME\s+KIND\s+MASKED VALUE\s+ENABLED\s+DESCRIPTION\s+CREATED\s+LAST USED$/);
    assert.match(lines[1]!, /\sdefault\s+ingestion\s+o2oi_…/); // the default ingestion token comes first
    const row = lines.find((l) => /\slisted\s/.test(l));
    assert.ok(row, r.stdout);
    assert.ok(row.includes(`o2oi_…${value.slice(-4)}`), row);

    const json = JSON.parse((await ok("auth", "list", "--json", "--kind", "operator")).stdout) as Array<{
      name: string;
      maskedValue: string;
    }>;
    assert.deepEqual(
      json.map((t) => t.name),
      ["operator"],
    );
    assert.match(json[0]!.maskedValue, /^tsop_…/);
  });

  it("auth inactive makes Verify answer DISABLED, and auth active brings the token back", async () => {
    const created = await ok("auth", "create", "--name", "toggled", "--kind", "ingestion");
    const value = printedValue(created);
    const id = idOf(created);
    const off = await ok("auth", "inactive", "--id", id);
    assert.match(off.stdout, /Disabled/);
    assert.equal((await verify(value)).status, VerifyStatus.DISABLED);
    await ok("auth", "active", "--id", id);
    assert.equal((await verify(value)).status, VerifyStatus.VALID);
  });

  it("auth rotate prints a new value once and the old one stops verifying", async () => {
    const created = await ok("auth", "create", "--name", "rotated", "--kind", "ingestion");
    const old = printedValue(created);
    const fresh = printedValue(await ok("auth", "rotate", "--id", idOf(created)));
    assert.notEqual(fresh, old);
    assert.equal((await verify(old)).status, VerifyStatus.NOT_FOUND);
    assert.equal((await verify(fresh)).status, VerifyStatus.VALID);
  });

  it("auth rotate --grace keeps the old value working until a deadline it prints, and auth list shows it", async () => {
    const created = await ok("auth", "create", "--name", "overlapping", "--kind", "ingestion");
    const old = printedValue(created);
    const id = idOf(created);
    const before = Date.now();
    const rotated = await ok("auth", "rotate", "--id", id, "--grace", "24h");
    const fresh = printedValue(rotated);
    assert.notEqual(fresh, old);
    const until = /keeps working until (\S+)\./.exec(rotated.stderr)?.[1] ?? assert.fail(`no deadline in ${rotated.stderr}`);
    const deadline = Date.parse(until);
    assert.ok(deadline >= before + 24 * 3_600_000 - 1000 && deadline <= Date.now() + 24 * 3_600_000, `deadline ${until}`);
    assert.match(rotated.stderr, new RegExp(`previous value \\(o2oi_…${old.slice(-4)}\\)`));
    assert.doesNotMatch(rotated.stderr, ANY_TOKEN_VALUE);
    const v = await verify(old);
    assert.equal(v.status, VerifyStatus.VALID, "the old value during the overlap");
    assert.equal(v.newerValueExists, true);
    assert.equal((await verify(fresh)).status, VerifyStatus.VALID, "the new value");

    const listed = await ok("auth", "list");
    assert.match(
      listed.stderr,
      new RegExp(`^overlapping: previous value o2oi_…${old.slice(-4)} works until ${until}, last used (never|\\d{4}-)`, "m"),
    );
    assert.doesNotMatch(listed.stdout + listed.stderr, ANY_TOKEN_VALUE);
    const json = JSON.parse((await ok("auth", "list", "--json")).stdout) as Array<{ id: string; previousValue?: { maskedValue: string } }>;
    assert.equal(json.find((t) => t.id === id)?.previousValue?.maskedValue, `o2oi_…${old.slice(-4)}`);
  });

  it("auth describe changes the description and auth delete removes the token", async () => {
    const created = await ok("auth", "create", "--name", "short-lived", "--kind", "ingestion", "--expires-in", "1h");
    const id = idOf(created);
    const described = await ok("auth", "describe", "--id", id, "--description", "renamed purpose");
    assert.match(described.stderr, /is now "tessera auth update --description"; the old name keeps working/);
    const listed = JSON.parse((await ok("auth", "list", "--json")).stdout) as Array<{
      id: string;
      description?: string;
      expireTime?: string;
    }>;
    const t = listed.find((x) => x.id === id);
    assert.equal(t?.description, "renamed purpose");
    const expiresIn = Date.parse(t?.expireTime ?? "") - Date.now();
    assert.ok(expiresIn > 50 * 60_000 && expiresIn <= 3_600_000, `expiry ${t?.expireTime}`);
    await ok("auth", "delete", "--id", id);
    const after = JSON.parse((await ok("auth", "list", "--json")).stdout) as Array<{ id: string }>;
    assert.ok(!after.some((x) => x.id === id));
  });

  it("auth create turns bucket and dashboard flags into permissions", async () => {
    const rw = printedValue(await ok("auth", "create", "--name", "reader", "--kind", "read-write", "--read-bucket", "main"));
    assert.equal((await verify(rw, EndpointClass.QUERY, "main")).status, VerifyStatus.VALID);
    assert.equal((await verify(rw, EndpointClass.INGEST, "main")).status, VerifyStatus.FORBIDDEN);
    const shared = printedValue(
      await ok(
        "auth",
        "create",
        "--name",
        "board",
        "--kind",
        "shared",
        "--dashboard",
        "ops",
        "--filter",
        "service=checkout",
        "--expires-in",
        "7d",
      ),
    );
    const v = await verify(shared, EndpointClass.SHARED_VIEW);
    assert.equal(v.status, VerifyStatus.VALID);
    assert.deepEqual(v.permissions?.dashboards, ["ops"]);
    assert.deepEqual(v.permissions?.filters, { service: "checkout" });
  });

  it("auth create and rotate --json print id, value and token as one object; auth get shows a token masked", async () => {
    const r = await ok("auth", "create", "--name", "json-made", "--kind", "ingestion", "--json");
    const made = JSON.parse(r.stdout) as { id: string; value: string; token: { id: string; name: string; maskedValue: string } };
    assert.equal(made.token.id, made.id);
    assert.equal(made.token.name, "json-made");
    assert.ok(made.value.startsWith("o2oi_"));
    assert.equal((await verify(made.value)).status, VerifyStatus.VALID);
    assert.match(r.stderr, /shown only once/);
    const rotated = JSON.parse((await ok("auth", "rotate", "--id", made.id, "--json")).stdout) as { id: string; value: string };
    assert.equal(rotated.id, made.id);
    assert.notEqual(rotated.value, made.value);
    assert.equal((await verify(rotated.value)).status, VerifyStatus.VALID);
    assert.equal((await verify(made.value)).status, VerifyStatus.NOT_FOUND);

    const got = await ok("auth", "get", "--id", made.id);
    assert.match(got.stdout, new RegExp(`^id: +${made.id}$`, "m"));
    assert.match(got.stdout, /^name: +json-made$/m);
    assert.match(got.stdout, /^masked value: +o2oi_…/m);
    assert.doesNotMatch(got.stdout + got.stderr, ANY_TOKEN_VALUE);
    const asJson = JSON.parse((await ok("auth", "get", "--id", made.id, "--json")).stdout) as { id: string; maskedValue: string };
    assert.equal(asJson.id, made.id);
    assert.equal(asJson.maskedValue, `o2oi_…${rotated.value.slice(-4)}`);
    const missing = await cli("auth", "get", "--id", "00000000-0000-4000-8000-000000000000");
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not found/);
  });

  it("auth passcode shows the default ingestion token masked", async () => {
    const r = await ok("auth", "passcode");
    assert.match(r.stdout, /^organization:\s+acme$/m);
    assert.match(r.stdout, /^masked value:\s+o2oi_…/m);
    assert.doesNotMatch(r.stdout + r.stderr, ANY_TOKEN_VALUE);
  });

  it("org, user and bucket commands create and list through the API", async () => {
    const org = await ok("org", "create", "--identifier", "beta", "--name", "Beta Corp");
    const defaultValue = printedValue(org);
    const orgId = idOf(org);
    assert.equal((await verify(defaultValue)).status, VerifyStatus.VALID);
    assert.match((await ok("org", "list")).stdout, /\sbeta\s+Beta Corp\s/);

    const user = await ok("user", "create", "--name", "beta-admin", "--org-id", orgId, "--role", "admin");
    assert.match(user.stdout, /Created user beta-admin \(id [0-9a-f-]{36}\), admin in organization/);

    await ok("bucket", "create", "--name", "traces", "--org-id", orgId, "--description", "spans");
    const buckets = JSON.parse((await ok("bucket", "list", "--org-id", orgId, "--json")).stdout) as Array<{ name: string }>;
    assert.deepEqual(
      buckets.map((b) => b.name),
      ["traces"],
    );
  });

  it("server refusals exit 1 with the server's message", async () => {
    const dup = await cli("auth", "create", "--name", "ci-upload", "--kind", "ingestion");
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /^error: a token named "ci-upload" already exists/m);
    assert.equal(dup.stdout, "");

    const wrongToken = await cli("auth", "list", "--token", "tsop_0000000000000000000000000000000000000x");
    assert.equal(wrongToken.code, 1);
    assert.match(wrongToken.stderr, /^error: malformed token/m);

    const unreachable = await cli("auth", "list", "--host", "http://127.0.0.1:1");
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /Is the server running/);
    for (const r of [dup, wrongToken, unreachable]) assertNoStack(r.stderr);
  });
});
