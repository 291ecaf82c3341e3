/**
 * `tessera audit list` and `tessera audit verify`, run as a user runs them (a child process) against
 * a real server: the table and JSON lines, every filter, paging past one API page, entries not yet
 * sealed into the chain, following new entries (through a connection that breaks, too, and past
 * an entry listed before it was sealed) until Ctrl-C, and verification of an intact trail, a
 * tampered one, and one whose newest entries were cut off.
 *
 * The server seals entries into the chain about a second after they commit; tests that look at
 * sequence numbers or hashes first wait for that (allSealed), and one holds it back on purpose.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { createInterface } from "node:readline";
import pg from "pg";
import { Role, TokenKind } from "../../src/gen/tessera/v1/resources_pb.js";
import { httpClients, type Clients } from "../helpers/clients.js";
import { superQuery, type TestDatabase } from "../helpers/db.js";
import { addMember } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { eventually } from "../helpers/wait.js";
import { CLI, assertNoStack, cleanEnv, printedValue, runCli, tempDir, type CliResult, runCliOk } from "./run-cli.js";

const INSTANCE = "00000000-0000-0000-0000-000000000000";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface EventJson {
  id: string;
  organizationId: string;
  /** Absent (protobuf JSON leaves out 0) until the entry is sealed, like hash. */
  sequence?: string;
  time: string;
  action: string;
  outcome: string;
  actor?: { tokenId?: string; tokenKind?: string; userId?: string; system?: string };
  target?: { type: string; id?: string; name?: string };
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
  reason?: string;
  hash?: string;
}

const jsonLines = (r: CliResult): EventJson[] =>
  r.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as EventJson);

/** A `tessera audit list --follow` running in the background, its stdout collected line by line. */
interface Follower {
  lines: string[];
  stderr(): string;
  waitFor(what: string, test: (lines: string[]) => boolean): Promise<void>;
  /** Ctrl-C, and how it exited. */
  interrupt(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): void;
}

function follow(args: string[], env: Record<string, string>): Follower {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [CLI, "audit", "list", "--follow", ...args], {
    env: cleanEnv(env),
    stdio: "pipe",
  });
  const lines: string[] = [];
  let stderr = "";
  createInterface({ input: child.stdout }).on("line", (l) => lines.push(l));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    lines,
    stderr: () => stderr,
    async waitFor(what, test) {
      await eventually(() => test(lines) || child.exitCode !== null, 30_000, what);
      assert.equal(child.exitCode, null, `the follower exited early: ${stderr}`);
    },
    interrupt() {
      child.kill("SIGINT");
      return exited;
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

/**
 * Holds sealing back: the sealer only links entries whose transactions are older than every one
 * still running, so while this transaction (with an xid) stays open, nothing written after it is sealed.
 */
async function holdSealing(db: TestDatabase): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: db.superuserUrl });
  await client.connect();
  await client.query("BEGIN");
  await client.query("SELECT pg_current_xact_id()");
  return {
    async release() {
      await client.query("ROLLBACK");
      await client.end();
    },
  };
}

/** A TCP relay to the server that can cut every connection through it and refuse new ones for a while. */
async function relay(port: number): Promise<{ port: number; cut(): void; mend(): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let open = true;
  const server = net.createServer((downstream) => {
    if (!open) {
      downstream.destroy();
      return;
    }
    const upstream = net.connect(port, "127.0.0.1");
    for (const s of [downstream, upstream]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.once("close", () => {
        sockets.delete(s);
        downstream.destroy();
        upstream.destroy();
      });
    }
    downstream.pipe(upstream);
    upstream.pipe(downstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    mend() {
      open = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("tessera audit", function () {
  this.timeout(180_000); // every step spawns a node process; shared CI machines can be slow
  let server: TestServer;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let c: Clients;
  let env: Record<string, string>;
  let operator: string;
  let operatorTokenId: string;
  let operatorUserId: string;
  let acmeId: string;

  const cli = (...args: string[]): Promise<CliResult> => runCli(args, env);
  const ok = (...args: string[]): Promise<CliResult> => runCliOk(args, env);
  const idOf = (r: CliResult) => /\(id ([0-9a-f-]{36})/.exec(r.stderr + r.stdout)?.[1] ?? assert.fail(`no id in ${r.stderr}`);
  /** The newest entry of an organization's trail, straight from the API. */
  const newest = async (organizationId: string) => (await c.admin.listAuditEvents({ organizationId, pageSize: 1 }, operator)).events[0]!;
  /** Waits until every entry of the trail is sealed into its chain: its sequence numbers are then final. */
  const allSealed = (orgId: string) =>
    eventually(
      async () => {
        const [n] = await superQuery<{ unsealed: string }>(
          server.db,
          `SELECT count(*)::text AS unsealed FROM audit_events e
            WHERE org_id = $1 AND NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.entry_id = e.id)`,
          [orgId],
        );
        return n!.unsealed === "0";
      },
      30_000,
      "every entry to be sealed",
    );
  const newOrg = async (identifier: string): Promise<string> => idOf(await ok("org", "create", "--identifier", identifier));

  before(async () => {
    server = await startTestServer();
    tmp = await tempDir();
    env = { TESSERA_CONFIG: path.join(tmp.dir, "config.json") };
    c = httpClients(server.tessera.httpPort)[0]!;
    const host = `http://127.0.0.1:${server.tessera.httpPort}`;
    operator = printedValue(await ok("setup", "--host", host, "--username", "root", "--org", "acme", "--bucket", "main"));
    const caller = (await c.admin.getCaller({}, operator)).caller!;
    operatorTokenId = caller.tokenId;
    operatorUserId = caller.owner!.id;
    acmeId = caller.organizationId;
  });
  after(async () => {
    await server?.close();
    await tmp?.remove();
  });

  it("audit list shows the latest changes, newest first, as a table", async () => {
    const created = await ok("auth", "create", "--name", "tabled", "--kind", "ingestion", "--description", "for the table");
    const id = idOf(created);
    await ok("auth", "inactive", "--id", id);
    await allSealed(acmeId);
    const r = await ok("audit", "list");
    const lines = r.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^TIME\s+SEQ\s+ACTOR\s+ACTION\s+TARGET\s+OUTCOME\s+CHANGES$/);
    const short = operatorTokenId.slice(0, 8);
    assert.match(
      lines[1]!,
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\s+\\d+\\s+operator ${short}\\s+token\\.disable\\s+token tabled\\s+ok\\s+enabled: true→false$`,
      ),
    );
    assert.match(lines[2]!, new RegExp(`operator ${short}\\s+token\\.create\\s+token tabled\\s+ok\\s+.*description="for the table"`));
    const seqs = lines.slice(1).map((l) => Number(l.split(/\s+/)[1]));
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => b - a),
      "newest first",
    );
    assert.ok(
      lines.some((l) => /\ssystem setup\s+organization\.create\s+organization acme\s+ok\s/.test(l)),
      "Setup's own entries name the system actor",
    );
  });

  it("audit list --json prints one API-JSON object per line, the same entries as the table", async () => {
    await allSealed(acmeId);
    const table = await ok("audit", "list");
    const r = await ok("audit", "list", "--json");
    const events = jsonLines(r);
    assert.deepEqual(
      events.map((e) => e.sequence),
      table.stdout
        .trimEnd()
        .split("\n")
        .slice(1)
        .map((l) => l.split(/\s+/)[1]),
    );
    assert.ok(events.every((e) => UUID.test(e.id)));
    assert.equal(new Set(events.map((e) => e.id)).size, events.length, "every entry its own id");
    assert.equal(events[0]!.action, "token.disable");
    assert.deepEqual(events[0]!.before, { enabled: true });
    assert.deepEqual(events[0]!.after, { enabled: false });
    assert.equal(events[0]!.actor?.tokenId, operatorTokenId);
    assert.equal(events[0]!.actor?.tokenKind, "TOKEN_KIND_OPERATOR");
    assert.equal(events[0]!.outcome, "AUDIT_OUTCOME_OK");
    assert.equal(events[0]!.organizationId, acmeId);
    assert.equal(Buffer.from(events[0]!.hash!, "base64").length, 32);
    const seqs = events.map((e) => BigInt(e.sequence!));
    for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! < seqs[i - 1]!, "newest first");
  });

  it("audit list filters by action, area, target, actor, user, outcome, time and count", async () => {
    const id = idOf(await ok("auth", "create", "--name", "filtered", "--kind", "ingestion"));
    await ok("auth", "inactive", "--id", id);
    await ok("auth", "active", "--id", id);

    const byTarget = jsonLines(await ok("audit", "list", "--target", id, "--json"));
    assert.deepEqual(
      byTarget.map((e) => e.action),
      ["token.enable", "token.disable", "token.create"],
    );
    assert.deepEqual(
      jsonLines(await ok("audit", "list", "--target", id.toUpperCase(), "--json")).map((e) => e.id),
      byTarget.map((e) => e.id),
      "ids in any case, as the API takes them",
    );
    const disables = jsonLines(await ok("audit", "list", "--action", "token.disable", "--json"));
    assert.ok(disables.length >= 2 && disables.every((e) => e.action === "token.disable"));
    assert.ok(disables.some((e) => e.target?.id === id));
    const area = jsonLines(await ok("audit", "list", "--action", "token.", "--json"));
    assert.ok(area.every((e) => e.action.startsWith("token.")));
    assert.ok(["token.create", "token.disable", "token.enable"].every((a) => area.some((e) => e.action === a)));
    assert.ok(!area.some((e) => e.action === "organization.create"));

    const mine = jsonLines(await ok("audit", "list", "--actor", operatorTokenId, "--json"));
    assert.ok(mine.length >= 3 && mine.every((e) => e.actor?.tokenId === operatorTokenId));
    assert.equal((await ok("audit", "list", "--actor", "7f1d5c3e-0000-4000-8000-000000000000", "--json")).stdout, "");
    const byUser = jsonLines(await ok("audit", "list", "--user", operatorUserId, "--json"));
    assert.deepEqual(
      byUser.map((e) => e.id),
      mine.map((e) => e.id),
      "the operator token is its user's only token",
    );

    // A refused call: a verifier token may not read tokens.
    const verifier = (await c.admin.createToken({ name: "auditee", kind: TokenKind.VERIFIER }, operator)).value;
    const refused = await runCli(["audit", "list"], { ...env, TESSERA_TOKEN: verifier });
    assert.equal(refused.code, 1, "the server's refusal is a failed operation");
    assert.match(refused.stderr, /^error: .+/);
    assert.equal(refused.stdout, "");
    assertNoStack(refused.stderr);
    const denied = await eventually(async () => {
      const events = jsonLines(await ok("audit", "list", "--outcome", "permission_denied", "--json"));
      return events.length > 0 ? events : undefined;
    });
    assert.ok(denied.every((e) => e.outcome === "AUDIT_OUTCOME_PERMISSION_DENIED"));
    assert.equal(denied[0]!.action, "call.denied");
    const deniedRow = (await ok("audit", "list", "--outcome", "PERMISSION-DENIED")).stdout.split("\n")[1]!;
    assert.match(deniedRow, /\scall\.denied\s.*\spermission_denied\s+reason: \S/);
    assert.deepEqual(
      jsonLines(await ok("audit", "list", "--outcome", "ok", "--json")).filter((e) => e.outcome !== "AUDIT_OUTCOME_OK"),
      [],
    );

    const all = jsonLines(await ok("audit", "list", "--json"));
    assert.deepEqual(
      jsonLines(await ok("audit", "list", "--since", "1h", "--json")).map((e) => e.id),
      all.map((e) => e.id),
      "everything happened within the hour",
    );
    assert.equal((await ok("audit", "list", "--since", "2999-01-01T00:00:00Z", "--json")).stdout, "");
    assert.equal((await ok("audit", "list", "--until", "2001-01-01T00:00:00Z", "--json")).stdout, "");
    const middle = all[Math.floor(all.length / 2)]!;
    const older = jsonLines(await ok("audit", "list", "--until", middle.time, "--json"));
    assert.ok(older.length > 0 && older.every((e) => Date.parse(e.time) < Date.parse(middle.time)));
    const emptyTable = await ok("audit", "list", "--until", "2001-01-01T00:00:00+02:00");
    assert.match(emptyTable.stdout, /^TIME\s+SEQ\s+ACTOR\s+ACTION\s+TARGET\s+OUTCOME\s+CHANGES\n$/);

    const two = jsonLines(await ok("audit", "list", "--limit", "2", "--json"));
    assert.deepEqual(
      two.map((e) => e.id),
      all.slice(0, 2).map((e) => e.id),
    );
    assert.equal((await ok("audit", "list", "--limit", "3")).stdout.trimEnd().split("\n").length, 4);
  });

  it("audit list --limit pages through the API past its 1000 entries per page", async () => {
    const { token } = await c.admin.createToken({ name: "busy", kind: TokenKind.INGESTION }, operator);
    for (let i = 0; i < 1005; i += 15) {
      await Promise.all(
        Array.from({ length: Math.min(15, 1005 - i) }, (_, j) =>
          c.admin.updateToken({ id: token!.id, description: `d${i + j}` }, operator),
        ),
      );
    }
    const updates = jsonLines(await ok("audit", "list", "--target", token!.id, "--action", "token.update", "--limit", "1003", "--json"));
    assert.equal(updates.length, 1003);
    assert.equal(new Set(updates.map((e) => e.id)).size, 1003, "no entry twice");
    assert.equal(updates[0]!.id, (await newest(acmeId)).id, "newest first");
    const every = jsonLines(await ok("audit", "list", "--target", token!.id, "--limit", "5000", "--json"));
    assert.equal(every.length, 1006, "every entry, then stops");
    assert.deepEqual(
      updates.map((e) => e.id),
      every
        .filter((e) => e.action === "token.update")
        .map((e) => e.id)
        .slice(0, 1003),
      "the same entries in the same order across the page boundary: none skipped",
    );
    assert.equal(every[every.length - 1]!.action, "token.create", "the oldest last");
  });

  it("audit list --org reads another organization's trail by identifier or id, and --instance the instance's", async () => {
    const shopId = await newOrg("shop");
    const t = idOf(await ok("auth", "create", "--org-id", shopId, "--name", "shop-edge", "--kind", "ingestion"));
    await allSealed(shopId); // the two lists below then hold the same sequence numbers too
    const byName = jsonLines(await ok("audit", "list", "--org", "shop", "--json"));
    const byId = jsonLines(await ok("audit", "list", "--org", shopId.toUpperCase(), "--json"));
    assert.deepEqual(byName, byId);
    assert.ok(byName.every((e) => e.organizationId === shopId));
    assert.ok(byName.some((e) => e.action === "token.create" && e.target?.id === t));
    assert.ok(!jsonLines(await ok("audit", "list", "--json")).some((e) => e.target?.id === t), "not in acme's trail");

    const missing = await cli("audit", "list", "--org", "nosuch");
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: --org: no organization "nosuch" that your token reaches/);

    await assert.rejects(c.admin.listTokens({}, `tsop_${"B".repeat(40)}`));
    const instance = await eventually(async () => {
      const events = jsonLines(await ok("audit", "list", "--instance", "--outcome", "unauthenticated", "--json"));
      return events.length > 0 ? events : undefined;
    });
    assert.ok(instance.every((e) => e.organizationId === INSTANCE && e.outcome === "AUDIT_OUTCOME_UNAUTHENTICATED"));
    const instanceTable = (await ok("audit", "list", "--instance", "--action", "auth.refused")).stdout.split("\n");
    assert.match(
      instanceTable[1]!,
      /\s-\s+auth\.refused\s+call \/tessera\.v1\.TokenAdminService\/ListTokens\s+unauthenticated\s+reason: \S/,
      "no token to name: the actor is -",
    );

    // The instance's trail is for operators: an organization's admin is refused, as the server says.
    const shopAdmin = await addMember(c, operator, shopId, Role.ADMIN, "shop-admin");
    const admin = (
      await c.admin.createToken({ name: "shop-admin", kind: TokenKind.ALL_ACCESS, organizationId: shopId, userId: shopAdmin }, operator)
    ).value;
    const own = jsonLines(await runCli(["audit", "list", "--org", "shop", "--json"], { ...env, TESSERA_TOKEN: admin }));
    assert.ok(
      own.some((e) => e.target?.id === t),
      "the organization's own admin reads it, naming it by identifier",
    );
    const r = await runCli(["audit", "list", "--instance"], { ...env, TESSERA_TOKEN: admin });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: .*operator/);
    assertNoStack(r.stderr);
  });

  it("audit list --follow prints entries recorded after it started, in a table, and Ctrl-C ends it with exit 0", async () => {
    // Two entries one after the other, sealed: the backlog, in a known order.
    const backlogged = idOf(await ok("auth", "create", "--name", "backlogged", "--kind", "ingestion"));
    await ok("auth", "inactive", "--id", backlogged);
    await allSealed(acmeId);
    const f = follow(["--limit", "2"], env);
    try {
      await f.waitFor("the backlog", (l) => l.length >= 3);
      assert.match(f.lines[0]!, /^TIME\s+SEQ\s+ACTOR\s+ACTION\s+TARGET\s+OUTCOME\s+CHANGES$/);
      assert.match(f.lines[1]!, /\stoken\.create\s+token backlogged\s/);
      assert.match(f.lines[2]!, /\stoken\.disable\s+token backlogged\s/, "the backlog oldest first: the newest at the bottom");
      const backlog = f.lines.slice(1, 3).map((l) => Number(l.split(/\s+/)[1]));
      assert.ok(backlog[0]! < backlog[1]!, f.lines.join("\n"));
      assert.equal(BigInt(backlog[1]!), (await newest(acmeId)).sequence);

      const { token } = await c.admin.createToken({ name: "followed", kind: TokenKind.INGESTION }, operator);
      await c.admin.setTokenEnabled({ id: token!.id, enabled: false }, operator);
      await f.waitFor("the new entries", (l) => l.some((x) => /token\.disable\s+token followed/.test(x)));
      const fresh = f.lines.slice(3).filter((l) => / token followed /.test(l));
      assert.match(fresh[0]!, /\stoken\.create\s+token followed\s+ok\s/);
      assert.match(fresh[1]!, /\stoken\.disable\s+token followed\s+ok\s+enabled: true→false$/);
      const streamed = fresh.map((l) => Number(l.split(/\s+/)[1]));
      assert.ok(backlog[1]! < streamed[0]! && streamed[0]! < streamed[1]!, "streamed entries are sealed: numbered, in order");
      assert.equal(fresh.length, 2, "each once");
      const header = f.lines[0]!;
      assert.equal(fresh[0]!.indexOf("token.create"), header.indexOf("ACTION"), "streamed rows line up with the header");

      const e = await f.interrupt();
      assert.deepEqual(e, { code: 0, signal: null }, f.stderr());
      assert.equal(f.stderr(), "");
    } finally {
      f.kill();
    }
  });

  it("audit list shows an entry not yet sealed as pending; --follow prints what it listed once, then only new entries", async () => {
    await allSealed(acmeId);
    const hold = await holdSealing(server.db);
    let held = true;
    let f: Follower | undefined;
    try {
      const id = idOf(await ok("auth", "create", "--name", "unsealed", "--kind", "ingestion"));
      const row = (await ok("audit", "list", "--limit", "1")).stdout.split("\n")[1]!;
      assert.match(row, /^\S+\s+pending\s+operator [0-9a-f]{8}\s+token\.create\s+token unsealed\s+ok\s/);
      const [created] = jsonLines(await ok("audit", "list", "--limit", "1", "--json"));
      assert.equal(created!.target?.id, id);
      assert.match(created!.id, UUID, "an entry has its id from the start");
      assert.equal(created!.sequence, undefined, "no sequence number until sealed");
      assert.equal(created!.hash, undefined);
      // More unsealed entries than the follower's first look back (50) takes in: it pages on to a sealed one.
      for (let i = 0; i < 60; i += 15) {
        await Promise.all(Array.from({ length: 15 }, (_, j) => c.admin.updateToken({ id, description: `held ${i + j}` }, operator)));
      }
      const last = await newest(acmeId);
      assert.equal(last.sequence, 0n);

      f = follow(["--json", "--limit", "1"], env);
      await f.waitFor("the pending entry", (l) => l.length >= 1);
      // Recorded after the follower listed the trail, and not sealed yet either: it comes through the stream.
      await ok("auth", "inactive", "--id", id);
      await hold.release();
      held = false;
      await f.waitFor("the entry recorded while following", (l) => l.some((x) => x.includes('"token.disable"')));

      const events = f.lines.map((l) => JSON.parse(l) as EventJson);
      assert.deepEqual(
        events.map((e) => [e.id, e.action, e.sequence === undefined]),
        [
          [last.id, "token.update", true],
          [events[1]!.id, "token.disable", false],
        ],
        "the listed entry once, as listed; none of the earlier ones --limit 1 left out; then the new one, sealed",
      );
      // The stream sends sealed entries in sequence order: every held entry went by before the new one.
      const sealed = (await c.admin.listAuditEvents({ organizationId: acmeId, targetId: id }, operator)).events;
      assert.equal(sealed.length, 62);
      const disabled = BigInt(events[1]!.sequence!);
      assert.ok(sealed.every((e) => e.sequence > 0n && (e.action === "token.disable" ? e.sequence === disabled : e.sequence < disabled)));
      assert.deepEqual(await f.interrupt(), { code: 0, signal: null });
      assert.equal(f.stderr(), "");
    } finally {
      f?.kill();
      if (held) await hold.release();
    }
  });

  it("audit list --follow --json filters what it streams and, through a broken connection, loses and repeats nothing", async () => {
    await allSealed(acmeId);
    const lastTokenEntry = (await c.admin.listAuditEvents({ organizationId: acmeId, action: "token.", pageSize: 1 }, operator)).events[0]!;
    const r = await relay(server.tessera.httpPort);
    const f = follow(["--json", "--limit", "1", "--action", "token.", "--host", `http://127.0.0.1:${r.port}`], env);
    try {
      await f.waitFor("the newest earlier entry", (l) => l.length >= 1);
      // Straight away, maybe before its stream is open: it resumes after the head it saw, so this arrives.
      const before = await c.admin.createToken({ name: "before-cut", kind: TokenKind.INGESTION }, operator);
      await f.waitFor("the first new entry", (l) => l.length >= 2);

      r.cut();
      await c.admin.createBucket({ name: "made-while-cut" }, operator); // bucket.create: not a token. action, filtered out
      const during = await c.admin.createToken({ name: "during-cut", kind: TokenKind.INGESTION }, operator);
      await c.admin.updateToken({ id: during.token!.id, description: "also during" }, operator);
      await eventually(() => /^warning: /m.test(f.stderr()), 30_000, "the follower to notice");
      r.mend();
      const after = await c.admin.createToken({ name: "after-cut", kind: TokenKind.INGESTION }, operator);
      await f.waitFor("the entries since the cut", (l) => l.some((x) => x.includes(after.token!.id)));

      const events = f.lines.map((l) => JSON.parse(l) as EventJson);
      const seqs = events.map((e) => BigInt(e.sequence!));
      for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! > seqs[i - 1]!, "in order, none twice");
      assert.equal(events[0]!.id, lastTokenEntry.id, "the backlog: the newest token. entry");
      assert.deepEqual(
        events.slice(1).map((e) => `${e.action} ${e.target?.name}`),
        ["token.create before-cut", "token.create during-cut", "token.update during-cut", "token.create after-cut"],
      );
      assert.equal(events[1]!.target?.id, before.token!.id);
      assert.match(f.stderr(), /^warning: (the stream broke: .+|the server ended the stream); following again after entry \d+ in 0\.5 s$/m);
      assertNoStack(f.stderr());
      assert.deepEqual(await f.interrupt(), { code: 0, signal: null });
    } finally {
      f.kill();
      await r.close();
    }
  });

  it("audit verify reports an intact trail, its head, and exit 0; --expect-head accepts a head saved earlier", async () => {
    await allSealed(acmeId);
    const r = await ok("audit", "verify");
    const head = /^head:\s+(\d+):([0-9a-f]{64})$/m.exec(r.stdout) ?? assert.fail(r.stdout);
    assert.match(r.stdout, /^entries checked:\s+\d+$/m);
    assert.match(r.stdout, new RegExp(`^sequences:\\s+1 to ${head[1]}$`, "m"));
    assert.match(r.stdout, /^intact:\s+yes$/m);
    assert.equal(r.stderr, "");
    const last = await newest(acmeId);
    assert.equal(head[1], last.sequence.toString());
    assert.equal(head[2], Buffer.from(last.hash).toString("hex"));

    await ok("auth", "create", "--name", "after-verify", "--kind", "ingestion");
    const later = await ok("audit", "verify", "--expect-head", `${head[1]}:${head[2]}`);
    assert.match(later.stdout, new RegExp(`^expected head:\\s+entry ${head[1]} still has the hash you saved$`, "m"));

    await allSealed(acmeId);
    const json = JSON.parse((await ok("audit", "verify", "--json")).stdout) as {
      intact: boolean;
      entriesChecked: string;
      lastSequence: string;
      headHash: string;
    };
    assert.equal(json.intact, true);
    assert.equal(BigInt(json.lastSequence), BigInt(head[1]!) + 1n);
    await ok("audit", "verify", "--json", "--expect-head", `${json.lastSequence}:${json.headHash}`);
    // An entry not sealed yet is no part of the head: the saved one still matches while it waits.
    const hold = await holdSealing(server.db);
    try {
      await ok("auth", "create", "--name", "while-held", "--kind", "ingestion");
      const waiting = await ok("audit", "verify", "--expect-head", `${json.lastSequence}:${json.headHash}`);
      assert.match(waiting.stdout, new RegExp(`^head:\\s+${json.lastSequence}:`, "m"));
    } finally {
      await hold.release();
    }
    await ok("audit", "verify", "--instance");
  });

  it("audit verify exits 1 and names the entry after the trail is changed behind Tessera's back", async () => {
    const depotId = await newOrg("depot");
    for (const name of ["one", "two", "three"]) await ok("auth", "create", "--org-id", depotId, "--name", name, "--kind", "ingestion");
    await allSealed(depotId);
    const entries = (await c.admin.listAuditEvents({ organizationId: depotId }, operator)).events;
    const victim = entries.find((e) => e.target?.name === "two")!;
    assert.ok(victim.sequence > 0n);
    const [edited] = await superQuery<{ id: string }>(
      server.db,
      "UPDATE audit_events SET reason = 'x' WHERE id = (SELECT entry_id FROM audit_seals WHERE org_id = $1 AND seq = $2) RETURNING id",
      [depotId, victim.sequence.toString()],
    );
    assert.equal(edited?.id, victim.id);

    const r = await cli("audit", "verify", "--org", "depot");
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^intact:\s+no$/m);
    assert.match(r.stdout, new RegExp(`^ENTRY\\s+PROBLEM\\s+DETAIL\\n${victim.sequence}\\s+changed\\s+\\S`, "m"));
    assert.match(
      r.stderr,
      new RegExp(`^error: the audit trail is not intact: 1 problem, the first at entry ${victim.sequence} \\(changed\\)$`, "m"),
    );
    assertNoStack(r.stderr);
    const json = await cli("audit", "verify", "--org", depotId, "--json");
    assert.equal(json.code, 1);
    assert.equal((JSON.parse(json.stdout) as { intact: boolean }).intact, false);
  });

  it("audit verify names a row that no seal names with - for its entry", async () => {
    const forgeId = await newOrg("forge");
    await ok("auth", "create", "--org-id", forgeId, "--name", "genuine", "--kind", "ingestion");
    await allSealed(forgeId);
    // A copy of a real entry, placed (by its xid) where the sealer has already been: never sealed.
    await superQuery(
      server.db,
      `INSERT INTO audit_events (xid, id, org_id, at, actor, action, target, before, after, request_id, peer, user_agent, rpc, outcome, reason, key_id, mac)
         SELECT '3'::xid8, gen_random_uuid(), org_id, at, actor, 'token.delete', target, NULL, NULL, request_id, peer, user_agent, rpc, outcome, reason, key_id, mac
           FROM audit_events WHERE org_id = $1 ORDER BY pos DESC LIMIT 1`,
      [forgeId],
    );
    const r = await cli("audit", "verify", "--org", "forge");
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^ENTRY\s+PROBLEM\s+DETAIL\n-\s+inserted\s+\S/m);
    assert.match(
      r.stderr,
      /^error: the audit trail is not intact: 1 problem, the first at an entry never sealed into the chain \(inserted\)$/m,
    );
    assertNoStack(r.stderr);
    const row = (await ok("audit", "list", "--org", "forge", "--action", "token.delete")).stdout.split("\n")[1]!;
    assert.match(row, /^\S+\s+pending\s+.*token\.delete\s/, "listed, and never sealed");
  });

  it("audit verify --expect-head catches entries cut from the end of the trail, which the chain alone cannot", async () => {
    const yardId = await newOrg("yard");
    await ok("auth", "create", "--org-id", yardId, "--name", "first", "--kind", "ingestion");
    await allSealed(yardId);
    const saved = /^head:\s+(\d+):([0-9a-f]{64})$/m.exec((await ok("audit", "verify", "--org", "yard")).stdout)!;
    const seq = BigInt(saved[1]!);
    await ok("auth", "create", "--org-id", yardId, "--name", "second", "--kind", "ingestion");
    await allSealed(yardId);
    await ok("audit", "verify", "--org", "yard", "--expect-head", `${saved[1]}:${saved[2]}`); // the saved head, now inside the trail

    const wrong = await cli("audit", "verify", "--org", "yard", "--expect-head", `${seq - 1n}:${"ab".repeat(32)}`);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, new RegExp(`^error: entry ${seq - 1n} no longer has the hash you saved \\(it has [0-9a-f]{64}\\)`, "m"));

    const cut = [yardId, seq.toString()];
    await superQuery(
      server.db,
      "DELETE FROM audit_events WHERE id IN (SELECT entry_id FROM audit_seals WHERE org_id = $1 AND seq >= $2)",
      cut,
    );
    await superQuery(server.db, "DELETE FROM audit_seals WHERE org_id = $1 AND seq >= $2", cut);
    const alone = await ok("audit", "verify", "--org", "yard");
    assert.match(alone.stdout, /^intact:\s+yes$/m, "a shorter chain still verifies");
    const r = await cli("audit", "verify", "--org", "yard", "--expect-head", `${saved[1]}:${saved[2]}`);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `^error: the trail ends at entry ${seq - 1n}, but your saved head is entry ${seq}: entries were removed from its end$`,
        "m",
      ),
    );
    assertNoStack(r.stderr);
  });

  describe("wrong command lines", () => {
    const TOKEN = ["--host", "http://127.0.0.1:1", "--token", "tsop_unused"];
    const cases: Array<{ args: string[]; message: RegExp }> = [
      { args: ["audit"], message: /Usage: tessera audit <command>[\s\S]*list[\s\S]*verify/ },
      { args: ["audit", "list", "--bogus"], message: /unknown flag --bogus[\s\S]*Usage: tessera audit list/ },
      { args: ["audit", "verify", "--since", "1h"], message: /unknown flag --since[\s\S]*Usage: tessera audit verify/ },
      { args: ["audit", "list", "--since", "yesterday"], message: /--since "yesterday" is neither an RFC 3339 time .* nor a duration ago/ },
      { args: ["audit", "list", "--until", "2026-13-01T00:00:00Z"], message: /--until "2026-13-01T00:00:00Z" is neither/ },
      { args: ["audit", "list", "--since", "1h", "--until", "2h"], message: /--until must be later than --since/ },
      {
        args: ["audit", "list", "--outcome", "denied"],
        message: /unknown outcome "denied": use one of ok, permission_denied, unauthenticated/,
      },
      { args: ["audit", "list", "--actor", "operator"], message: /--actor "operator" is not a token id \(a UUID\)/ },
      { args: ["audit", "list", "--user", ""], message: /--user "" is not a user id/ },
      { args: ["audit", "list", "--target", "a b"], message: /--target "a b" is not an id/ },
      { args: ["audit", "list", "--action", "Token.Disable"], message: /--action "Token.Disable" is not an action/ },
      { args: ["audit", "list", "--limit", "0"], message: /--limit "0" must be a whole number of entries, at least 1$/m },
      { args: ["audit", "list", "--limit", "ten"], message: /--limit "ten" must be a whole number/ },
      { args: ["audit", "list", "--follow", "--limit", "0"], message: /--limit "0" must be a whole number/ },
      { args: ["audit", "list", "--follow", "--until", "1h"], message: /--until does not go with --follow/ },
      { args: ["audit", "list", "--org", "acme", "--instance"], message: /either --org or --instance, not both/ },
      { args: ["audit", "list", "--json=yes"], message: /flag --json takes no value/ },
      { args: ["audit", "verify", "--expect-head", "12"], message: /--expect-head must be SEQ:HASH/ },
      { args: ["audit", "verify", "--expect-head", "12:nothex!"], message: /--expect-head must be SEQ:HASH/ },
      { args: ["audit", "verify", "--expect-head", "0:" + "ab".repeat(32)], message: /--expect-head must be SEQ:HASH/ },
    ];
    for (const { args, message } of cases) {
      it(`exits 2 without a stack trace for: tessera ${args.join(" ")}`, async () => {
        const r = await runCli(args.length > 1 ? [...args, ...TOKEN] : args, { TESSERA_CONFIG: "/nonexistent/tessera/config.json" });
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, message);
        assert.equal(r.stdout, "");
        assertNoStack(r.stderr);
      });
    }

    it("audit --help and audit list --help document the commands, JSON Lines and the examples", async () => {
      const g = await runCli(["audit", "--help"]);
      assert.equal(g.code, 0);
      assert.match(g.stdout, /^Usage: tessera audit <command>/);
      const l = await runCli(["audit", "list", "--help"]);
      assert.equal(l.code, 0);
      assert.match(l.stdout, /JSON Lines/);
      assert.match(l.stdout, /tessera audit list --follow --json \| your-shipper/);
      const v = await runCli(["audit", "verify", "--help"]);
      assert.match(v.stdout, /--expect-head SEQ:HASH/);
    });
  });
});
