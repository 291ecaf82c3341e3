/**
 * Bringing values through the CLI: `tessera auth create --value-from-env / --value-file` (a file or
 * standard input, never the command line), and `tessera import --file` — idempotent (a second run
 * creates nothing and says so), all or nothing at the door (a file with any bad line imports
 * nothing, each bad line reported with its number and field), and silent about values.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomInt } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { EndpointClass, TokenKind, TokenValueOrigin } from "../../src/gen/tessera/v1/resources_pb.js";
import { VerifyStatus } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { generateToken } from "../../src/domain/token-format.js";
import { httpClients, type Clients } from "../helpers/clients.js";
import { createOrg, type SeededOrg } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { assertNoStack, CLI, cleanEnv, printedValue, runCli, tempDir, type CliResult } from "./run-cli.js";

const ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const imported = (n = 48): string => Array.from({ length: n }, () => ALNUM[randomInt(ALNUM.length)]!).join("");

/** The CLI with `input` on its standard input. */
function runWithInput(args: string[], env: Record<string, string>, input: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { env: cleanEnv(env), timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

describe("tessera auth create with a value, and tessera import", function () {
  this.timeout(120_000);
  let server: TestServer;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let c: Clients;
  let env: Record<string, string>;
  let operator: string;
  let verifier: string;
  let shop: SeededOrg;
  let other: SeededOrg;
  /** Every value handed to the CLI: none may come back out of it. */
  const values: string[] = [];

  const cli = (...args: string[]): Promise<CliResult> => runCli(args, env);
  const verify = (credential: string) => c.verify.verify({ credential, endpoint: EndpointClass.INGEST }, verifier);
  const assertSilent = (r: CliResult) => {
    for (const v of values) assert.ok(!r.stdout.includes(v) && !r.stderr.includes(v), "the CLI printed a brought value");
    assertNoStack(r.stderr);
  };
  const names = async (org: SeededOrg) => (await c.admin.listTokens({ organizationId: org.orgId, pageSize: 1000 }, operator)).tokens;
  const jsonl = async (file: string, lines: Array<Record<string, unknown> | string>) => {
    for (const l of lines) if (typeof l === "object" && typeof l.value === "string") values.push(l.value);
    const p = path.join(tmp.dir, file);
    await writeFile(p, lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n");
    return p;
  };

  before(async () => {
    server = await startTestServer();
    tmp = await tempDir();
    env = { TESSERA_CONFIG: path.join(tmp.dir, "config.json") };
    c = httpClients(server.tessera.httpPort)[0]!;
    const host = `http://127.0.0.1:${server.tessera.httpPort}`;
    const setup = await cli("setup", "--host", host, "--username", "root", "--org", "acme", "--bucket", "main");
    operator = printedValue(setup);
    verifier = (await c.admin.createToken({ name: "fleet", kind: TokenKind.VERIFIER }, operator)).value;
    shop = await createOrg(c, operator, "shop");
    other = await createOrg(c, operator, "other");
  });
  after(async () => {
    await server.close();
    await tmp.remove();
  });

  describe("auth create", () => {
    it("takes the value from an environment variable, a file or standard input, prints the token id and never the value", async () => {
      const fromEnv = imported();
      const fromFile = generateToken("INGESTION");
      const fromStdin = imported(64);
      values.push(fromEnv, fromFile, fromStdin);
      const file = path.join(tmp.dir, "value.txt");
      await writeFile(file, `${fromFile}\n`, { mode: 0o600 });
      const runs = [
        await runCli(["auth", "create", "--name", "from-env", "--kind", "ingestion", "--value-from-env", "EDGE_VALUE"], {
          ...env,
          EDGE_VALUE: fromEnv,
        }),
        await cli("auth", "create", "--name", "from-file", "--kind", "ingestion", "--value-file", file),
        await runWithInput(["auth", "create", "--name", "from-stdin", "--kind", "ingestion", "--value-file", "-"], env, `${fromStdin}\n`),
      ];
      for (const [i, r] of runs.entries()) {
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout.trim(), /^[0-9a-f-]{36}$/, "stdout holds the token id");
        assertSilent(r);
        const t = await c.admin.getToken({ id: r.stdout.trim() }, operator);
        assert.equal(t.token!.valueOrigin, i === 1 ? TokenValueOrigin.SUPPLIED : TokenValueOrigin.IMPORTED);
      }
      for (const v of [fromEnv, fromFile, fromStdin]) assert.equal((await verify(v)).status, VerifyStatus.VALID);
    });

    it("refuses both sources at once, an unset variable and a weak value, without a stack or the value", async () => {
      const both = await runCli(
        ["auth", "create", "--name", "x", "--kind", "ingestion", "--value-from-env", "A", "--value-file", "f"],
        env,
      );
      assert.equal(both.code, 2);
      assert.match(both.stderr, /either --value-from-env or --value-file/);
      const unset = await cli("auth", "create", "--name", "x", "--kind", "ingestion", "--value-from-env", "NOT_SET_ANYWHERE");
      assert.equal(unset.code, 2);
      assert.match(unset.stderr, /NOT_SET_ANYWHERE: the environment variable is not set/);
      const weak = "abcd".repeat(12);
      values.push(weak);
      const w = await runCli(["auth", "create", "--name", "weak", "--kind", "ingestion", "--value-from-env", "V"], { ...env, V: weak });
      assert.equal(w.code, 1);
      assert.match(w.stderr, /too predictable/);
      for (const r of [both, unset, w]) assertSilent(r);
    });
  });

  describe("import", () => {
    it("creates every line, and creates nothing when run again, saying so line by line", async () => {
      const file = await jsonl("fleet.jsonl", [
        { organization: "shop", name: "edge-1", kind: "ingestion", permissions: { signals: ["SIGNAL_LOGS"] }, value: imported() },
        { organization: shop.orgId, name: "edge-2", kind: "INGESTION", description: "second edge", value: imported(200) },
        { organization: "other", name: "edge-1", kind: "ingestion", value: generateToken("INGESTION") },
        {
          organization: "shop",
          name: "shared-1",
          kind: "shared",
          permissions: { dashboards: ["main"] },
          expire_time: "2099-01-01T00:00:00Z",
          value: imported(),
        },
      ]);
      const first = await cli("import", "--file", file);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(first.stdout.match(/: created /g)?.length, 4, first.stdout);
      assert.match(first.stdout, /^line 1: created ingestion token edge-1 in shop \(id [0-9a-f-]{36}, [^)]+…/m);
      assert.match(first.stderr, /4 created, 0 unchanged, 0 failed/);
      const counts = [(await names(shop)).length, (await names(other)).length];
      const again = await cli("import", "--file", file);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.stdout.match(/: unchanged /g)?.length, 4, again.stdout);
      assert.match(again.stderr, /0 created, 4 unchanged, 0 failed/);
      assert.deepEqual([(await names(shop)).length, (await names(other)).length], counts, "nothing new");
      const edge = (await names(shop)).find((t) => t.name === "edge-1")!;
      assert.equal(edge.valueOrigin, TokenValueOrigin.IMPORTED);
      // The run is on each organization's audit trail: one creation per new token, none for the second run.
      const trail = await c.admin.listAuditEvents({ organizationId: shop.orgId, targetId: edge.id }, operator);
      assert.deepEqual(
        trail.events.map((e) => [e.action, e.after?.value_origin]),
        [["token.create", "IMPORTED"]],
      );
      assert.match(trail.events[0]!.userAgent, /^tessera-cli /);
      for (const r of [first, again]) assertSilent(r);
      // Verify knows every imported value (edge-1 writes logs only, shared-1 is for SHARED_VIEW).
      for (const v of values.slice(-4)) assert.ok((await verify(v)).principal?.tokenId, "Verify finds the imported token");
    });

    it("refuses a file with any bad line, reporting each with its line number and field, and imports nothing", async () => {
      const good = { organization: "shop", name: "fine-1", kind: "ingestion", value: imported() };
      const file = await jsonl("bad.jsonl", [
        good,
        '{"organization": "shop", "name": "broken", "value": "not closed',
        { organization: "shop", name: "extra", kind: "ingestion", value: imported(), colour: "blue" },
        { organization: "shop", name: "no-value", kind: "ingestion" },
        { organization: "shop", name: "weak", kind: "ingestion", value: "password1234".repeat(3) },
        { organization: "nowhere", name: "lost", kind: "ingestion", value: imported() },
        { organization: "shop", name: "fine-1", kind: "ingestion", value: imported() },
        { organization: "shop", name: "bad kind", kind: "nonsense", value: imported() },
        { organization: "shop", name: "op", kind: "operator", value: generateToken("OPERATOR") },
      ]);
      const before = (await names(shop)).length;
      const r = await cli("import", "--file", file);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^line 2: not valid JSON/m);
      assert.match(r.stderr, /^line 3: colour: unknown field/m);
      assert.match(r.stderr, /^line 4: value: required/m);
      assert.match(r.stderr, /^line 5: value: the imported value is too predictable/m);
      assert.match(r.stderr, /^line 6: organization: no organization "nowhere"/m);
      assert.match(r.stderr, /^line 7: name: the same organization and name as line 1/m);
      assert.match(r.stderr, /^line 8: name: /m);
      assert.match(r.stderr, /^line 9: value: OPERATOR tokens cannot be given a value/m);
      assert.match(r.stderr, /8 bad lines in .*: nothing was imported/);
      assert.equal((await names(shop)).length, before, "nothing imported, not even the good line");
      assert.ok(!(await names(shop)).some((t) => t.name === "fine-1"));
      assertSilent(r);
      const dry = await cli("import", "--file", await jsonl("dry.jsonl", [good]), "--dry-run");
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /1 line checked; nothing imported/);
      assert.equal((await names(shop)).length, before);
    });

    it("reports a line the server refuses and imports the others; a value in use anywhere is refused without saying where", async () => {
      const taken = imported();
      await c.admin.createToken({ name: "holder", kind: TokenKind.INGESTION, value: taken }, other.adminToken);
      const file = await jsonl("partial.jsonl", [
        { organization: "shop", name: "ok-1", kind: "ingestion", value: imported() },
        { organization: "shop", name: "in-use", kind: "ingestion", value: taken },
        { organization: "shop", name: "no-bucket", kind: "ingestion", permissions: { buckets: ["missing"] }, value: imported() },
      ]);
      const r = await cli("import", "--file", file);
      assert.equal(r.code, 1);
      assert.match(r.stdout, /^line 1: created/m);
      assert.match(r.stdout, /^line 2: error: this value is already in use$/m);
      assert.match(r.stdout, /^line 3: error: bucket "missing" does not exist/m);
      assert.match(r.stderr, /1 created, 0 unchanged, 2 failed/);
      assert.ok(!r.stdout.includes("other"), "the message names no organization");
      assertSilent(r);
    });

    it("lets an admin import only into organizations its token reaches", async () => {
      const file = await jsonl("cross.jsonl", [
        { organization: "other", name: "intruder", kind: "ingestion", value: imported() },
        { organization: other.orgId, name: "intruder-2", kind: "ingestion", value: imported() },
      ]);
      const r = await runCli(["import", "--file", file], { ...env, TESSERA_TOKEN: shop.adminToken });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^line 1: organization: no organization "other" that your token reaches/m);
      assert.match(r.stderr, /^line 2: organization: no organization/m);
      assert.ok(!(await names(other)).some((t) => t.name.startsWith("intruder")));
      assertSilent(r);
    });
  });
});
