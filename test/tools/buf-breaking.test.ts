/**
 * test/tools/buf-breaking.sh, the `buf breaking` step of `npm run lint`, on a scratch git repository
 * holding a copy of the project's buf.yaml and proto/: it says what it compared against, passes an
 * additive change, fails a renumbered field on main and on a branch (even when the branch's last
 * commit is harmless), and passes a first commit, saying there is nothing before it.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const PROJECT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const SCRIPT = path.join(PROJECT, "test/tools/buf-breaking.sh");
const RESOURCES = "proto/tessera/v1/resources.proto";
const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "test",
  GIT_AUTHOR_EMAIL: "test@example.invalid",
  GIT_COMMITTER_NAME: "test",
  GIT_COMMITTER_EMAIL: "test@example.invalid",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
};
const run = promisify(execFile);

async function git(repo: string, ...args: string[]): Promise<string> {
  return (await run("git", args, { cwd: repo, env: GIT_ENV })).stdout.trim();
}

/** Runs the lint step on `repo`; its exit code and everything it printed. */
async function breaking(repo: string): Promise<{ code: number; output: string }> {
  const env: NodeJS.ProcessEnv = { ...GIT_ENV };
  delete env.BUF_BREAKING_AGAINST;
  try {
    const { stdout, stderr } = await run("bash", [SCRIPT, repo], { env });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

async function edit(repo: string, file: string, from: string, to: string): Promise<void> {
  const text = await readFile(path.join(repo, file), "utf8");
  assert.ok(text.includes(from), `${file} holds ${from}`);
  await writeFile(path.join(repo, file), text.replace(from, to));
}

async function commit(repo: string, message: string): Promise<string> {
  await git(repo, "add", "-A");
  await git(repo, "commit", "-q", "-m", message);
  return git(repo, "rev-parse", "--short", "HEAD");
}

describe("buf breaking in npm run lint", function () {
  this.timeout(30_000);
  let repo: string;

  beforeEach(async () => {
    repo = await mkdtemp(path.join(os.tmpdir(), "tessera-buf-breaking-"));
    await cp(path.join(PROJECT, "buf.yaml"), path.join(repo, "buf.yaml"));
    await cp(path.join(PROJECT, "proto"), path.join(repo, "proto"), { recursive: true });
    await git(repo, "init", "-q", "-b", "main");
  });

  afterEach(async () => {
    await rm(repo, { recursive: true, force: true });
  });

  it("passes a first commit, saying there is no previous commit to compare with", async () => {
    await commit(repo, "first");
    const { code, output } = await breaking(repo);
    assert.equal(code, 0, output);
    assert.match(output, /is the first commit: there is no previous commit to compare proto\/ with/);
  });

  it("on main, compares with the previous commit: an added field passes, a renumbered one fails", async () => {
    const first = await commit(repo, "first");
    await edit(
      repo,
      RESOURCES,
      "  google.protobuf.Timestamp create_time = 7;\n",
      "  google.protobuf.Timestamp create_time = 7;\n  // New (a number the message does not use yet).\n  string note = 100;\n",
    );
    const second = await commit(repo, "add a field");
    const added = await breaking(repo);
    assert.equal(added.code, 0, added.output);
    assert.match(added.output, new RegExp(`against ${first} \\(first\\): the previous commit of main`));

    await edit(repo, RESOURCES, "string name = 3;", "string name = 30;");
    await commit(repo, "renumber a field");
    const renumbered = await breaking(repo);
    assert.notEqual(renumbered.code, 0, renumbered.output);
    assert.match(renumbered.output, new RegExp(`against ${second} \\(add a field\\): the previous commit of main`));
    assert.match(renumbered.output, /Previously present field "3" with name "name" on message "Organization" was deleted/);
  });

  it("on a branch, compares with where it forked from main, so a harmless last commit hides nothing", async () => {
    const base = await commit(repo, "first");
    await git(repo, "checkout", "-q", "-b", "feature");
    await edit(repo, RESOURCES, "string name = 3;", "string name = 30;");
    await commit(repo, "renumber a field");
    await edit(repo, RESOURCES, "// Human-readable name.", "// Human-readable name, for people.");
    await commit(repo, "reword a comment");
    const { code, output } = await breaking(repo);
    assert.notEqual(code, 0, output);
    assert.match(output, new RegExp(`against ${base} \\(first\\): where this branch forked from main`));
    assert.match(output, /Previously present field "3" with name "name" on message "Organization" was deleted/);
  });
});
