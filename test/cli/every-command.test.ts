/**
 * Every command the CLI has, found the way a user finds them (`tessera --help`, then each group's
 * `--help`), so a command added later is covered without touching this file:
 * - its `--help` exits 0 and starts with its usage synopsis;
 * - the short flags its usage lists are each given once, and none is one the whole CLI reserves;
 * - the API commands that print a result take `--json`;
 * - and every RPC of the admin API has a command (the table below), so a new RPC without one
 *   fails here until it gets one or a reason why not.
 */
import assert from "node:assert/strict";
import type { Command, Group } from "../../src/cli/command.js";
import { TokenAdminService } from "../../src/gen/tessera/v1/token_admin_service_pb.js";
import { TokenVerifyService } from "../../src/gen/tessera/v1/token_verify_service_pb.js";
import { API_GROUPS, allCommands, jsonCommands } from "./commands.js";
import { assertNoStack, runCli } from "./run-cli.js";

/** RPC → the command that calls it (and the flag that makes it, where one command calls two). */
const COMMAND_OF: Readonly<Record<string, { command: string; flag?: string }>> = {
  Setup: { command: "setup" },
  CreateOrganization: { command: "org create" },
  GetOrganization: { command: "org get" },
  ListOrganizations: { command: "org list" },
  SetOrganizationEnabled: { command: "org disable" }, // and org enable
  UpdateOrganization: { command: "org update" },
  CreateUser: { command: "user create" },
  DeleteUser: { command: "user delete" },
  ListUsers: { command: "user list" },
  GetUser: { command: "user get" },
  SetMembership: { command: "org set-member" },
  RemoveMembership: { command: "org remove-member" },
  ListMemberships: { command: "org members" },
  CreateBucket: { command: "bucket create" },
  ListBuckets: { command: "bucket list" },
  DeleteBucket: { command: "bucket delete" },
  CreateToken: { command: "auth create" },
  GetToken: { command: "auth get" },
  ListTokens: { command: "auth list" },
  UpdateToken: { command: "auth update" },
  SetTokenEnabled: { command: "auth inactive" }, // and auth active
  RotateToken: { command: "auth rotate", flag: "--grace" },
  DeleteToken: { command: "auth delete" },
  GetPasscode: { command: "auth passcode" },
  GetCaller: { command: "whoami" },
  ApplyManifest: { command: "apply", flag: "--dry-run" },
  ListAuditEvents: { command: "audit list" },
  WatchAuditEvents: { command: "audit list", flag: "--follow" },
  VerifyAuditLog: { command: "audit verify", flag: "--expect-head" },
};

/** RPCs deliberately without a command, and why. */
const NOT_ON_THE_CLI: Readonly<Record<string, string>> = {
  "TokenVerifyService.Verify":
    "called by ingestion workers and gateways with a verifier token, on every request; the README shows it with buf curl",
  "TokenVerifyService.WatchRevocations": "a long-lived stream for worker caches (src/worker-client), nothing a person reads",
};

/** Short flags the CLI gives one meaning everywhere: the per-command ones must not reuse them. */
const RESERVED_SHORT = new Set(["-h", "-V", "-t", "-c"]);

describe("every tessera command", function () {
  this.timeout(300_000); // one node process per command; shared CI machines can be slow
  /** "auth list" → its --help output. */
  let usages: Map<string, string>;

  before(async () => {
    usages = await allCommands();
  });

  it("answers --help with exit 0 and its usage synopsis first, for each command", async () => {
    assert.ok(usages.size >= 30, `only ${usages.size} commands found`);
    for (const [path, usage] of usages) {
      assert.ok(usage.startsWith(`Usage: tessera ${path}`), `tessera ${path} --help starts with:\n${usage.split("\n")[0]}`);
      assertNoStack(usage);
    }
    const short = await runCli(["org", "set-member", "-h"]);
    assert.equal(short.code, 0);
    assert.equal(short.stdout, usages.get("org set-member"), "-h is --help");
  });

  it("lists each short flag once per command, and the API commands' own flags use none of the reserved ones", async () => {
    const { CONNECTION_OPTIONS } = await import("../../src/cli/cli-config.js");
    const pairs = (text: string) => [...text.matchAll(/^ {2}(-[A-Za-z]), --([a-z][a-z0-9-]*)/gm)].map((m) => [m[1]!, m[2]!] as const);
    for (const [path, usage] of usages) {
      const shorts = pairs(usage).map(([short]) => short);
      assert.equal(new Set(shorts).size, shorts.length, `tessera ${path} repeats a short flag: ${shorts.join(" ")}`);
      if (!API_GROUPS.has(path.split(" ")[0]!)) continue;
      // The connection flags (and their short forms) are the same on every command.
      for (const [short, long] of pairs(usage)) {
        if (Object.hasOwn(CONNECTION_OPTIONS, long)) continue;
        assert.ok(!RESERVED_SHORT.has(short), `tessera ${path} gives ${short} to --${long}`);
      }
    }
  });

  it("declares each short flag its usage shows, once, and none the connection flags or --help have", async () => {
    const { CONNECTION_OPTIONS } = await import("../../src/cli/cli-config.js");
    const shared = new Map(Object.entries(CONNECTION_OPTIONS).flatMap(([long, o]) => (o.short === undefined ? [] : [[o.short, long]])));
    for (const group of API_GROUPS) {
      const mod = (await import(`../../src/cli/${group}.js`)) as { group?: Group; command?: Command };
      const commands = mod.group?.commands.map((c) => [`${group} ${c.name}`, c] as const) ?? [[group, mod.command!] as const];
      for (const [path, cmd] of commands) {
        assert.ok(usages.has(path), `tessera ${path} is in --help`);
        const seen = new Map<string, string>();
        for (const [long, o] of Object.entries(cmd.options)) {
          if (o.short === undefined) continue;
          const owner = seen.get(o.short) ?? (shared.get(o.short) === long ? undefined : shared.get(o.short));
          assert.equal(owner, undefined, `tessera ${path}: -${o.short} is both --${owner} and --${long}`);
          assert.ok(o.short !== "h" && o.short !== "V", `tessera ${path}: -${o.short} is taken`);
          seen.set(o.short, long);
          if (shared.get(o.short) !== long) {
            assert.match(cmd.usage, new RegExp(`^ {2}-${o.short}, --${long}\\b`, "m"), `tessera ${path} --help shows -${o.short}`);
          }
        }
      }
    }
  });

  it("takes --json on every API command that prints a result", () => {
    const withJson = new Set(jsonCommands(usages));
    const missing = [...usages.keys()].filter((p) => API_GROUPS.has(p.split(" ")[0]!) && !withJson.has(p));
    assert.deepEqual(missing, []);
  });

  it("has a command for every RPC of the admin API, or a reason not to", () => {
    const rpcs = [
      ...TokenAdminService.methods.map((m) => m.name),
      ...TokenVerifyService.methods.map((m) => `TokenVerifyService.${m.name}`),
    ];
    const unmapped = rpcs.filter((r) => !Object.hasOwn(COMMAND_OF, r) && !Object.hasOwn(NOT_ON_THE_CLI, r));
    assert.deepEqual(unmapped, [], "RPCs with no command: add one, or a reason to NOT_ON_THE_CLI");
    const stale = [...Object.keys(COMMAND_OF), ...Object.keys(NOT_ON_THE_CLI)].filter((r) => !rpcs.includes(r));
    assert.deepEqual(stale, [], "entries for RPCs that do not exist");
    for (const [rpc, { command, flag }] of Object.entries(COMMAND_OF)) {
      const usage = usages.get(command);
      assert.ok(usage !== undefined, `${rpc}: no command "tessera ${command}"`);
      if (flag !== undefined) assert.match(usage, new RegExp(`${flag}\\b`), `${rpc}: tessera ${command} has no ${flag}`);
    }
    assert.ok(usages.has("org enable") && usages.has("auth active"), "both directions of the Set*Enabled RPCs");
  });
});
