/**
 * `tessera completion bash|zsh`: the script is loaded into a real bash and asked what it completes,
 * as bash does on Tab (COMP_WORDS / COMP_CWORD, then the function); every command, subcommand and
 * flag it offers must be one the CLI knows.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { runCli, tempDir } from "./run-cli.js";

describe("tessera completion", function () {
  this.timeout(60_000);
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let script: string;
  before(async () => {
    tmp = await tempDir();
    const r = await runCli(["completion", "bash"]);
    assert.equal(r.code, 0, r.stderr);
    script = path.join(tmp.dir, "tessera.bash");
    await writeFile(script, r.stdout);
  });
  after(async () => {
    await tmp.remove();
  });

  /** What bash offers for the words typed so far (the last one being completed). */
  const complete = async (...typed: string[]): Promise<string[]> => {
    const words = ["tessera", ...typed].map((w) => `'${w}'`).join(" ");
    const { stdout } = await promisify(execFile)("bash", [
      "-c",
      `source '${script}'; COMP_WORDS=(${words}); COMP_CWORD=${typed.length}; _tessera; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ]);
    return stdout.split("\n").filter((l) => l !== "");
  };

  it("completes commands, subcommands and their flags", async () => {
    assert.deepEqual(await complete("au"), ["auth", "audit"]);
    assert.deepEqual(await complete("auth", "ro"), ["rotate"]);
    assert.deepEqual(await complete("auth", "rotate", "--g"), ["--grace"]);
    assert.deepEqual(await complete("audit", "list", "--fo"), ["--follow"]);
    assert.deepEqual(await complete("serve", "--grpc"), ["--grpc-port"]);
    assert.deepEqual(await complete("frobnicate", "--x"), [], "nothing for an unknown command");
    const subs = await complete("auth", "");
    for (const s of ["list", "get", "create", "update", "delete"]) assert.ok(subs.includes(s), s);
  });

  it("offers only what the CLI accepts", async () => {
    for (const sub of await complete("auth", "")) {
      const help = await runCli(["auth", sub, "--help"]);
      assert.equal(help.code, 0, `tessera auth ${sub} --help`);
      for (const flag of (await complete("auth", sub, "--")).filter((f) => f !== "--help")) {
        assert.ok(help.stdout.includes(flag), `tessera auth ${sub}: ${flag} is not in its usage`);
      }
    }
  });

  it("writes a zsh script that loads the same function through bashcompinit, and refuses other shells", async () => {
    const r = await runCli(["completion", "zsh"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^autoload -U \+X bashcompinit && bashcompinit$/m);
    assert.match(r.stdout, /^complete -F _tessera tessera$/m);
    const fish = await runCli(["completion", "fish"]);
    assert.equal(fish.code, 2);
    assert.match(fish.stderr, /unknown command "tessera completion fish"/);
  });
});
