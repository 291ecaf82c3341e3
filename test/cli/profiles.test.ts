import assert from "node:assert/strict";
import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { grpcJsClients } from "../helpers/clients.js";
import { setupInstance } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { runCliWithInput } from "./run-cli-input.js";
import { ANY_TOKEN_VALUE, assertNoStack, runCli, tempDir, type CliResult } from "./run-cli.js";

/** The organization `tessera whoami` says the token belongs to: which server and token were used. */
const orgOf = (r: CliResult) => /^organization:\s+(\S+)/m.exec(r.stdout)?.[1];

describe("tessera config profiles", function () {
  this.timeout(180_000); // every step spawns a node process; shared CI machines can be slow
  let alpha: TestServer;
  let beta: TestServer;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  const hostOf = (s: TestServer) => `http://127.0.0.1:${s.tessera.httpPort}`;
  let alphaToken: string;
  let betaToken: string;
  before(async () => {
    [alpha, beta] = await Promise.all([startTestServer(), startTestServer()]);
    tmp = await tempDir();
    for (const [s, id] of [
      [alpha, "alpha"],
      [beta, "beta"],
    ] as const) {
      const c = grpcJsClients(s.tessera.grpcPort);
      try {
        const token = (await setupInstance(c, id)).operatorToken;
        if (id === "alpha") alphaToken = token;
        else betaToken = token;
      } finally {
        c.close();
      }
    }
  });
  after(async () => {
    await Promise.all([alpha.close(), beta.close()]);
    await tmp.remove();
  });

  it("creates profiles from a token file and standard input, lists them masked, and switches with use, --profile, -c and TESSERA_PROFILE", async () => {
    const config = path.join(tmp.dir, "switch", "config.json");
    const env = { TESSERA_CONFIG: config };
    const tokenFile = path.join(tmp.dir, "alpha.token");
    await writeFile(tokenFile, `${alphaToken}\n`, { mode: 0o600 });

    const a = await runCli(["config", "create", "alpha", "--host", hostOf(alpha), "--token-file", tokenFile, "--org", "alpha"], env);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout.trim(), "alpha");
    assert.match(a.stderr, /active/, "the first profile becomes active");
    const b = await runCliWithInput(
      ["config", "create", "--name", "beta", "--host", hostOf(beta), "--token-file", "-", "--json"],
      betaToken,
      env,
    );
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(JSON.parse(b.stdout), {
      name: "beta",
      active: false,
      host: hostOf(beta),
      org: null,
      token: `tsop_…${betaToken.slice(-4)}`,
    });
    assert.equal((await stat(config)).mode & 0o777, 0o600);
    assert.equal((await stat(path.dirname(config))).mode & 0o777, 0o700);

    const listed = await runCli(["config", "list"], env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.doesNotMatch(listed.stdout + listed.stderr, ANY_TOKEN_VALUE);
    const lines = listed.stdout.trim().split("\n");
    assert.match(lines[0]!, /^ACTIVE\s+NAME\s+HOST\s+ORG\s+TOKEN$/);
    assert.match(lines[1]!, new RegExp(`^\\*\\s+alpha\\s+${hostOf(alpha)}\\s+alpha\\s+tsop_…${alphaToken.slice(-4)}$`));
    assert.match(lines[2]!, new RegExp(`^\\s+beta\\s+${hostOf(beta)}\\s+-\\s+tsop_…${betaToken.slice(-4)}$`));
    const json = await runCli(["config", "list", "--json"], env);
    assert.deepEqual(
      (JSON.parse(json.stdout) as Array<{ name: string; active: boolean }>).map((p) => [p.name, p.active]),
      [
        ["alpha", true],
        ["beta", false],
      ],
    );
    assert.doesNotMatch(json.stdout, ANY_TOKEN_VALUE);

    assert.equal(orgOf(await runCli(["whoami"], env)), "alpha");
    assert.equal(orgOf(await runCli(["whoami", "--profile", "beta"], env)), "beta");
    assert.equal(orgOf(await runCli(["whoami", "-c", "beta"], env)), "beta");
    assert.equal(orgOf(await runCli(["whoami"], { ...env, TESSERA_PROFILE: "beta" })), "beta");
    assert.equal(
      orgOf(await runCli(["whoami", "-c", "alpha"], { ...env, TESSERA_PROFILE: "beta" })),
      "alpha",
      "the flag beats the variable",
    );

    const used = await runCli(["config", "use", "beta"], env);
    assert.equal(used.code, 0, used.stderr);
    assert.equal(orgOf(await runCli(["whoami"], env)), "beta");
    assert.match((await runCli(["config", "list"], env)).stdout, /^\*\s+beta/m);

    // Flags and the environment beat the profile, value by value.
    assert.equal(orgOf(await runCli(["whoami", "--host", hostOf(alpha), "--token", alphaToken], env)), "alpha");
    assert.equal(orgOf(await runCli(["whoami"], { ...env, TESSERA_URL: hostOf(alpha), TESSERA_TOKEN: alphaToken })), "alpha");
    const wrongToken = await runCli(["whoami"], { ...env, TESSERA_TOKEN: alphaToken });
    assert.equal(wrongToken.code, 1, "beta's host with alpha's token from the environment is refused by beta");
  });

  it("names the known profiles when one is unknown, and refuses to remove the active one without --force", async () => {
    const config = path.join(tmp.dir, "rm.json");
    const env = { TESSERA_CONFIG: config };
    for (const [name, s, t] of [
      ["prod", alpha, alphaToken],
      ["staging", beta, betaToken],
    ] as const) {
      const r = await runCli(["config", "create", name, "--host", hostOf(s)], { ...env, TESSERA_TOKEN: t });
      assert.equal(r.code, 0, r.stderr);
    }
    for (const args of [
      ["whoami", "--profile", "prdo"],
      ["config", "use", "prdo"],
    ]) {
      const r = await runCli(args, env);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.stderr, /prdo: no such profile in .*\(did you mean "prod"\?\); known: prod, staging/);
      assertNoStack(r.stderr);
    }
    const viaEnv = await runCli(["whoami"], { ...env, TESSERA_PROFILE: "nope" });
    assert.equal(viaEnv.code, 2);
    assert.match(viaEnv.stderr, /TESSERA_PROFILE nope: no such profile .*known: prod, staging/);

    const dup = await runCli(["config", "create", "prod", "--host", hostOf(beta)], { ...env, TESSERA_TOKEN: betaToken });
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /already exists.*--force/);

    const refused = await runCli(["config", "rm", "prod"], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /active one: pass --force/);
    const removed = await runCli(["config", "rm", "staging"], env);
    assert.equal(removed.code, 0, removed.stderr);
    const forced = await runCli(["config", "rm", "prod", "--force"], env);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /No profile is active now/);
    assert.deepEqual(JSON.parse(await readFile(config, "utf8")), { profiles: {} });
    const none = await runCli(["whoami"], env);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no token to authenticate with.*no profile is active/);
    const gone = await runCli(["config", "use", "prod"], env);
    assert.equal(gone.code, 2);
    assert.match(gone.stderr, /holds no profiles/);
  });

  it('reads the single-object config earlier versions wrote as the active profile "default", and keeps it when adding one', async () => {
    const config = path.join(tmp.dir, "old.json");
    await writeFile(config, JSON.stringify({ host: hostOf(alpha), token: alphaToken, org: "alpha" }), { mode: 0o600 });
    const env = { TESSERA_CONFIG: config };
    assert.equal(orgOf(await runCli(["whoami"], env)), "alpha");
    assert.equal(orgOf(await runCli(["whoami", "-c", "default"], env)), "alpha");
    const listed = await runCli(["config", "list", "--json"], env);
    assert.deepEqual(JSON.parse(listed.stdout), [
      { name: "default", active: true, host: hostOf(alpha), org: "alpha", token: `tsop_…${alphaToken.slice(-4)}` },
    ]);

    const added = await runCliWithInput(
      ["config", "create", "beta", "--host", hostOf(beta), "--token-file", "-", "--active"],
      `${betaToken}\n`,
      env,
    );
    assert.equal(added.code, 0, added.stderr);
    assert.deepEqual(JSON.parse(await readFile(config, "utf8")), {
      active: "beta",
      profiles: {
        default: { host: hostOf(alpha), token: alphaToken, org: "alpha" },
        beta: { host: hostOf(beta), token: betaToken },
      },
    });
    assert.equal((await stat(config)).mode & 0o777, 0o600);
    assert.equal(orgOf(await runCli(["whoami"], env)), "beta");
    assert.equal(orgOf(await runCli(["whoami", "-c", "default"], env)), "alpha");
  });

  it("refuses bad profile names and a token given two ways, with exit 2 and without echoing the token", async () => {
    const env = { TESSERA_CONFIG: path.join(tmp.dir, "bad.json") };
    const tokenFile = path.join(tmp.dir, "beta.token");
    await writeFile(tokenFile, betaToken, { mode: 0o600 });
    for (const [args, message] of [
      [["config", "create", "../x", "--host", hostOf(beta), "--token-file", tokenFile], /the profile name must be 1 to 64 letters/],
      [
        ["config", "create", "x", "--host", hostOf(beta), "--token", betaToken, "--token-file", tokenFile],
        /either --token or --token-file/,
      ],
      [["config", "create", "x", "y", "--host", hostOf(beta)], /unexpected argument "y"/],
      [["config", "create", "x", "--name", "y", "--host", hostOf(beta)], /give the name once/],
      [["config", "create", "x", "--host", hostOf(beta)], /no token for the profile/],
      [["whoami", "--host", hostOf(beta), "--token", betaToken, "--token-file", tokenFile], /either --token or --token-file/],
    ] as const) {
      const r = await runCli([...args], env);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.ok(!r.stderr.includes(betaToken) && r.stdout === "", "the token is not echoed");
      assertNoStack(r.stderr);
    }
    await assert.rejects(stat(env.TESSERA_CONFIG), { code: "ENOENT" }, "nothing was written");
  });
});
