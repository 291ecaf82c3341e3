import assert from "node:assert/strict";
import { assertNoStack, runCli } from "./run-cli.js";

// Wrong command lines never reach a server: the token below is never used.
const TOKEN = ["--host", "http://127.0.0.1:1", "--token", "tsop_unused"];

describe("tessera command-line errors", function () {
  this.timeout(120_000); // every step spawns a node process; shared CI machines can be slow
  it("prints usage and exits 0 for --help at every level", async () => {
    for (const args of [
      ["--help"],
      ["auth", "--help"],
      ["auth", "create", "--help"],
      ["help", "recovery", "create-operator"],
      ["serve", "-h"],
    ]) {
      const r = await runCli(args);
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stdout, /^Usage: tessera/, args.join(" "));
    }
  });

  it("prints its version with --version, -V and version", async () => {
    const { readFile } = await import("node:fs/promises");
    const pkg = JSON.parse(await readFile(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
    for (const flag of ["--version", "-V", "version"]) {
      const r = await runCli([flag]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), `tessera ${pkg.version}`);
    }
  });

  it("suggests the command a typo most likely meant, and nothing for a word unlike any", async () => {
    for (const [args, meant] of [
      [["auht", "list"], "tessera auth"],
      [["aduit"], "tessera audit"],
      [["auth", "lsit"], "tessera auth list"],
      [["auth", "rot"], "tessera auth rotate"],
      [["org", "updte"], "tessera org update"],
    ] as const) {
      const r = await runCli([...args]);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.stderr, new RegExp(`\\(did you mean "${meant}"\\?\\)`), args.join(" "));
      assertNoStack(r.stderr);
    }
    const far = await runCli(["frobnicate"]);
    assert.doesNotMatch(far.stderr, /did you mean/);
  });

  const cases: Array<{ args: string[]; message: RegExp }> = [
    { args: [], message: /Usage: tessera <command>/ },
    { args: ["frobnicate"], message: /unknown command "frobnicate"/ },
    { args: ["auth"], message: /Usage: tessera auth <command>/ },
    { args: ["auth", "frobnicate"], message: /unknown command "tessera auth frobnicate"/ },
    { args: ["auth", "list", "--bogus", ...TOKEN], message: /unknown flag --bogus[\s\S]*Usage: tessera auth list/ },
    { args: ["auth", "list", "stray", ...TOKEN], message: /unexpected argument "stray"/ },
    { args: ["auth", "create", "--kind", "ingestion", ...TOKEN], message: /--name is required/ },
    {
      args: ["auth", "create", "--name", "x", "--kind", "nope", ...TOKEN],
      message: /unknown token kind "nope": use one of ingestion, operator/,
    },
    { args: ["auth", "list", "--kind", "nope", ...TOKEN], message: /unknown token kind "nope"/ },
    { args: ["auth", "create", "--name", "x", "--kind", "ingestion", "--expires-in", "3 fortnights", ...TOKEN], message: /not a duration/ },
    { args: ["auth", "create", "--name", "x", "--kind", "ingestion", "--expires", "tomorrow", ...TOKEN], message: /not an RFC 3339 time/ },
    {
      args: ["auth", "create", "--name", "x", "--kind", "ingestion", "--expires", "2001-01-01T00:00:00Z", ...TOKEN],
      message: /in the past/,
    },
    {
      args: ["auth", "create", "--name", "x", "--kind", "ingestion", "--expires-in", "1h", "--expires", "2099-01-01T00:00:00Z", ...TOKEN],
      message: /either --expires or --expires-in/,
    },
    {
      args: ["auth", "create", "--name", "x", "--kind", "ingestion", "--read-bucket", "a", ...TOKEN],
      message: /--read-bucket does not apply to ingestion tokens/,
    },
    { args: ["auth", "create", "--name", "x", "--kind", "ingestion", "--signal", "smoke", ...TOKEN], message: /unknown signal "smoke"/ },
    { args: ["auth", "create", "--name", "x", "--kind", "read-write", ...TOKEN], message: /at least one --read-bucket or --write-bucket/ },
    { args: ["auth", "create", "--name", "x", "--kind", "shared", "--dashboard", "d", ...TOKEN], message: /shared tokens need an expiry/ },
    {
      args: [
        "auth",
        "create",
        "--name",
        "x",
        "--kind",
        "shared",
        "--dashboard",
        "d",
        "--expires-in",
        "1d",
        "--filter",
        "novalue",
        ...TOKEN,
      ],
      message: /key=value/,
    },
    { args: ["auth", "active", ...TOKEN], message: /--id is required/ },
    { args: ["auth", "rotate", "--id", "x", "--grace", "soon", ...TOKEN], message: /--grace "soon" is not a duration/ },
    { args: ["auth", "rotate", "--id", "x", "--grace=-1h", ...TOKEN], message: /--grace "-1h" is not a duration/ },
    { args: ["auth", "rotate", "--id", "x", "--grace", "24", ...TOKEN], message: /--grace "24" is not a duration/ },
    { args: ["auth", "rotate", "--id", "x", "--grace", "8d", ...TOKEN], message: /--grace "8d" is too long \(at most 7 days\)/ },
    { args: ["auth", "rotate", "--id", "x", "--grace", "0m", ...TOKEN], message: /--grace must be longer than zero/ },
    { args: ["auth", "list", "--host", "localhost:8080", "--token", "x"], message: /--host must be/ },
    { args: ["user", "create", "--name", "u", "--role", "owner", ...TOKEN], message: /unknown role "owner"/ },
    { args: ["org", "update", ...TOKEN], message: /nothing to change: give --name/ },
    {
      args: ["org", "update", "--deny-parent-access", "--allow-parent-access", ...TOKEN],
      message: /either --deny-parent-access or --allow/,
    },
    { args: ["user", "get", ...TOKEN], message: /--id is required/ },
    { args: ["bucket", "delete", "--force", ...TOKEN], message: /--name is required/ },
    { args: ["whoami", "--id", "x", ...TOKEN], message: /unknown flag --id[\s\S]*Usage: tessera whoami/ },
    { args: ["auth", "update", "--id", "x", ...TOKEN], message: /nothing to change: give --description/ },
    {
      args: ["auth", "update", "--id", "x", "--expires-in", "1h", "--no-expiry", ...TOKEN],
      message: /one of --expires, --expires-in and --no-expiry/,
    },
    { args: ["auth", "update", "--id", "x", "--expires-in", "soon", ...TOKEN], message: /not a duration/ },
    { args: ["auth", "list", "--enabled", "--disabled", ...TOKEN], message: /either --enabled or --disabled/ },
    { args: ["org", "disable", ...TOKEN], message: /--org is required[\s\S]*Usage: tessera org disable/ },
    { args: ["org", "set-member", "-u", "kim", ...TOKEN], message: /--role is required/ },
    { args: ["org", "set-member", "-u", "kim", "-r", "owner", ...TOKEN], message: /unknown role "owner"/ },
    { args: ["org", "remove-member", ...TOKEN], message: /--user is required/ },
    { args: ["org", "update", "-o", "a", "-i", "b", "-n", "x", ...TOKEN], message: /either --org or --id/ },
    {
      args: ["org", "create", "--identifier", "x", "--parent", "a", "--parent-id", "b", ...TOKEN],
      message: /either --parent or --parent-id/,
    },
    { args: ["user", "delete", ...TOKEN], message: /--id is required/ },
    { args: ["bucket", "list", "-o", "a", "--org-id", "b", ...TOKEN], message: /either --org or --org-id/ },
    { args: ["auth", "list", "-i", "nope", ...TOKEN], message: /--id "nope" is not a token id/ },
    { args: ["auth", "list", "-u", "a", "--owner-id", "b", ...TOKEN], message: /either --user or --owner-id/ },
    { args: ["auth", "list", "-n", "a b", ...TOKEN], message: /--name: / },
    { args: ["auth", "list", "-n", "web", "--name-prefix", "api", ...TOKEN], message: /does not start with --name-prefix/ },
    { args: ["auth", "create", "-n", "x", "-k", "ingestion", "-u", "kim", ...TOKEN], message: /--user does not apply to ingestion tokens/ },
    {
      args: ["auth", "create", "-n", "x", "-k", "all-access", "-u", "a", "--user-id", "b", ...TOKEN],
      message: /either --user or --user-id/,
    },
    { args: ["auth", "get", "-x", ...TOKEN], message: /unknown flag -x[\s\S]*Usage: tessera auth get/ },
    { args: ["setup", "--force=yes"], message: /flag --force takes no value/ },
    {
      args: ["setup", "--username", "u", "--org", "o", "--bucket", "b", "--token", "not-a-token"],
      message: /--token is not a well-formed token/,
    },
    { args: ["serve", "--grpc-port", "99999"], message: /--grpc-port must be a port number/ },
    {
      args: ["recovery", "create-operator", "--data-dir", "/tmp", "--owner-database-url", "postgres://x/y"],
      message: /either --data-dir or --owner-database-url/,
    },
  ];
  for (const { args, message } of cases) {
    it(`exits 2 without a stack trace for: tessera ${args.filter((a) => !TOKEN.includes(a)).join(" ") || "(nothing)"}`, async () => {
      const r = await runCli(args, { TESSERA_CONFIG: "/nonexistent/tessera/config.json" });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, "");
      assertNoStack(r.stderr);
    });
  }

  it("an API command with no token anywhere exits 2 and says to run setup", async () => {
    const r = await runCli(["auth", "list"], { TESSERA_CONFIG: "/nonexistent/tessera/config.json" });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no token to authenticate with: run "tessera setup"/);
  });
});
