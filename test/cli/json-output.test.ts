/**
 * `--json` on every API command, run against a real server: the output parses with JSON.parse and
 * has the fields the usage promises, in the protobuf JSON mapping's camelCase; a token value is in
 * it only where one is issued (auth create, auth rotate, org create: `{"id", "value", …}`). The
 * commands are found through `--help`, so one that gains --json later must gain a case here.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { generateToken } from "../../src/domain/token-format.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { allCommands, jsonCommands } from "./commands.js";
import { ANY_TOKEN_VALUE, assertNoStack, printedValue, runCli, tempDir, type CliResult } from "./run-cli.js";

type Doc = Record<string, unknown>;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("tessera … --json", function () {
  this.timeout(240_000); // every step spawns a node process; shared CI machines can be slow
  let server: TestServer;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let env: Record<string, string>;
  /** Commands whose --json output was parsed and checked. */
  const covered = new Set<string>();

  const cli = (...args: string[]): Promise<CliResult> => runCli(args, env);
  /** Runs a command with --json; `issues` says whether its JSON may carry a token value. */
  async function json<T = Doc>(args: string[], issues = false): Promise<T> {
    const r = await cli(...args, "--json");
    assert.equal(r.code, 0, `tessera ${args.join(" ")} --json failed: ${r.stderr}`);
    assertNoStack(r.stderr);
    assert.doesNotMatch(r.stderr, ANY_TOKEN_VALUE);
    if (!issues) assert.doesNotMatch(r.stdout, ANY_TOKEN_VALUE, `tessera ${args.join(" ")} --json printed a value`);
    covered.add(args.slice(0, args[0] === "whoami" || args[0] === "apply" || args[0] === "import" ? 1 : 2).join(" "));
    return JSON.parse(r.stdout) as T;
  }

  before(async () => {
    server = await startTestServer();
    tmp = await tempDir();
    env = { TESSERA_CONFIG: path.join(tmp.dir, "config.json") };
    const host = `http://127.0.0.1:${server.tessera.httpPort}`;
    printedValue(await cli("setup", "--host", host, "--username", "root", "--org", "acme", "--bucket", "main"));
  });
  after(async () => {
    await server?.close();
    await tmp?.remove();
  });

  it("whoami and the org commands", async () => {
    const me = await json<{ caller: { tokenKind: string; organizationIdentifier: string; operator: boolean } }>(["whoami"]);
    assert.deepEqual([me.caller.tokenKind, me.caller.organizationIdentifier, me.caller.operator], ["TOKEN_KIND_OPERATOR", "acme", true]);

    const made = await json<{ id: string; value: string; organization: Doc; token: Doc }>(["org", "create", "--identifier", "jay"], true);
    assert.match(made.id, UUID);
    assert.match(made.value, /^o2oi_/);
    assert.equal(made.organization.identifier, "jay");
    assert.equal(made.organization.id, made.id);
    assert.equal(made.token.name, "default");
    assert.equal(made.token.maskedValue, `o2oi_…${made.value.slice(-4)}`);

    const orgs = await json<Doc[]>(["org", "list"]);
    assert.ok(Array.isArray(orgs));
    assert.deepEqual(orgs.map((o) => o.identifier).sort(), ["acme", "jay"]);
    assert.ok(orgs.every((o) => typeof o.id === "string" && typeof o.createTime === "string"));

    const got = await json(["org", "get", "-o", "jay"]);
    assert.deepEqual([got.id, got.identifier, got.enabled], [made.id, "jay", true]);
    const updated = await json(["org", "update", "-o", "jay", "-n", "Jay Co", "--token-idle-limit", "30d"]);
    assert.deepEqual([updated.name, updated.tokenIdleLimit], ["Jay Co", "2592000s"]);
    const off = await json(["org", "disable", "-o", "jay"]);
    assert.equal(off.enabled, undefined, "false is left out, as protobuf JSON does");
    assert.equal(off.identifier, "jay");
    assert.equal((await json(["org", "enable", "-o", "jay"])).enabled, true);
  });

  it("the user and membership commands", async () => {
    const u = await json<{ user: Doc; membership: Doc }>(["user", "create", "-n", "kim", "-o", "jay", "-r", "viewer"]);
    assert.match(String(u.user.id), UUID);
    assert.equal(u.user.name, "kim");
    assert.deepEqual([u.membership.userId, u.membership.role], [u.user.id, "ROLE_VIEWER"]);
    const users = await json<Doc[]>(["user", "list"]);
    assert.deepEqual(users.map((x) => x.name).sort(), ["kim", "root"]);
    const got = await json<{ user: Doc; memberships: Doc[] }>(["user", "get", "-i", "kim"]);
    assert.equal(got.user.id, u.user.id);
    assert.equal(got.memberships.length, 1);

    const set = await json(["org", "set-member", "-o", "acme", "-u", "kim", "-r", "editor"]);
    assert.deepEqual([set.userId, set.role, typeof set.organizationId], [u.user.id, "ROLE_EDITOR", "string"]);
    const members = await json<Array<{ membership: Doc; user: Doc }>>(["org", "members"]);
    assert.deepEqual(members.map((m) => [m.user.name, m.membership.role]).sort(), [
      ["kim", "ROLE_EDITOR"],
      ["root", "ROLE_ADMIN"],
    ]);
    const removed = await json(["org", "remove-member", "-u", "kim"]);
    assert.deepEqual([removed.userId, removed.removed, typeof removed.organizationId], [u.user.id, true, "string"]);
    const deleted = await json(["user", "delete", "-i", "kim"]);
    assert.deepEqual(deleted, { id: u.user.id, deleted: true });
  });

  it("the bucket commands", async () => {
    const b = await json(["bucket", "create", "-n", "spans", "-d", "traces"]);
    assert.match(String(b.id), UUID);
    assert.deepEqual([b.name, b.description], ["spans", "traces"]);
    const list = await json<Doc[]>(["bucket", "list"]);
    assert.deepEqual(
      list.map((x) => x.name),
      ["main", "spans"],
    );
    await cli("auth", "create", "-n", "spans-only", "-k", "ingestion", "-b", "spans");
    const gone = await json(["bucket", "delete", "-n", "spans", "--force"]);
    assert.equal(gone.name, "spans");
    assert.equal(gone.deleted, true);
    assert.deepEqual(gone.narrowedTokenIds, []);
    assert.equal((gone.deletedTokenIds as string[]).length, 1);
  });

  it("the auth commands, with a value only where one is issued", async () => {
    const made = await json<{ id: string; value: string; token: Doc }>(["auth", "create", "-n", "jsonic", "-k", "ingestion"], true);
    assert.match(made.value, /^o2oi_/);
    assert.equal(made.token.id, made.id);
    const listed = await json<Doc[]>(["auth", "list"]);
    assert.ok(listed.some((t) => t.id === made.id && t.maskedValue === `o2oi_…${made.value.slice(-4)}`));
    assert.ok(listed.every((t) => !("value" in t)));
    const got = await json(["auth", "get", "-i", made.id]);
    assert.deepEqual([got.id, got.name, got.kind, got.enabled], [made.id, "jsonic", "TOKEN_KIND_INGESTION", true]);
    const updated = await json(["auth", "update", "-i", made.id, "-d", "for json", "-e", "1h"]);
    assert.equal(updated.description, "for json");
    assert.equal(typeof updated.expireTime, "string");
    assert.equal((await json(["auth", "describe", "-i", made.id, "-d", "again"])).description, "again");
    const off = await json(["auth", "inactive", "-i", made.id]);
    assert.deepEqual([off.id, off.enabled], [made.id, undefined]);
    assert.equal((await json(["auth", "active", "-i", made.id])).enabled, true);
    const rotated = await json<{ id: string; value: string; token: Doc }>(["auth", "rotate", "-i", made.id, "-g", "1h"], true);
    assert.equal(rotated.id, made.id);
    assert.notEqual(rotated.value, made.value);
    assert.equal((rotated.token.previousValue as Doc).maskedValue, `o2oi_…${made.value.slice(-4)}`);
    const passcode = await json<{ token: Doc; organizationIdentifier: string }>(["auth", "passcode"]);
    assert.equal(passcode.organizationIdentifier, "acme");
    assert.equal(passcode.token.name, "default");
    assert.deepEqual(await json(["auth", "delete", "-i", made.id]), { id: made.id, deleted: true });
  });

  it("import, apply and audit", async () => {
    const file = path.join(tmp.dir, "tokens.jsonl");
    await writeFile(
      file,
      `${JSON.stringify({ organization: "acme", name: "imported", kind: "ingestion", value: generateToken("INGESTION") })}\n`,
    );
    const dry = await json(["import", "-f", file, "--dry-run"]);
    assert.deepEqual([dry.dryRun, dry.checked, dry.created, dry.lines], [true, 1, 0, []]);
    const done = await json<{ created: number; lines: Doc[] }>(["import", "-f", file]);
    assert.equal(done.created, 1);
    assert.deepEqual(
      done.lines.map((l) => [l.line, l.result, l.organization, l.name, l.kind]),
      [[1, "created", "acme", "imported", "ingestion"]],
    );
    assert.match(String(done.lines[0]!.id), UUID);
    const again = await json<{ unchanged: number; lines: Doc[] }>(["import", "-f", file]);
    assert.equal(again.unchanged, 1);
    assert.deepEqual(again.lines[0]!.differs, []);

    const manifest = path.join(tmp.dir, "tessera.yaml");
    await writeFile(manifest, ["version: 1", "organizations:", "  - identifier: planned", "    buckets: [{ name: logs }]"].join("\n"));
    const plan = await json<{ operations: Doc[]; applied: boolean; problems: unknown[]; valuesFile: null }>([
      "apply",
      "-f",
      manifest,
      "--dry-run",
    ]);
    assert.equal(plan.applied, false);
    assert.deepEqual(plan.problems, []);
    assert.equal(plan.valuesFile, null);
    assert.ok(plan.operations.some((o) => o.kind === "MANIFEST_OPERATION_KIND_CREATE" && String(o.what).includes("planned")));

    // JSON Lines: one entry per line, so a long list or --follow prints as it goes.
    const r = await cli("audit", "list", "--action", "token.", "--json");
    assert.equal(r.code, 0, r.stderr);
    const entries = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Doc);
    assert.ok(entries.length >= 3, r.stdout);
    assert.ok(entries.every((e) => String(e.action).startsWith("token.") && typeof e.id === "string"));
    assert.doesNotMatch(r.stdout, ANY_TOKEN_VALUE);
    covered.add("audit list");
    const rootId = (await json<{ caller: { owner: { id: string } } }>(["whoami"])).caller.owner.id;
    const byName = await cli("audit", "list", "--user", "root", "--action", "token.", "--json");
    assert.equal(byName.code, 0, byName.stderr);
    const mine = byName.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { actor: { userId: string } });
    assert.ok(mine.length >= 1 && mine.every((e) => e.actor.userId === rootId), "--user takes a name");
    const verified = await json<{ intact: boolean; problems: unknown[] }>(["audit", "verify"]);
    assert.equal(verified.intact, true);
    assert.deepEqual(verified.problems, []);
  });

  it("covers every API command that takes --json", async () => {
    const missing = jsonCommands(await allCommands()).filter((c) => !covered.has(c));
    assert.deepEqual(missing, [], "commands whose --json output no case here parses");
  });
});
