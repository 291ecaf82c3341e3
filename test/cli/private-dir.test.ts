/**
 * Issue 10: the README's `npm start` in a private checkout. As root (most containers and CI
 * runners), a clone in /root (mode 0700) used to crash with `spawn …/initdb EACCES` and a stack
 * trace: PostgreSQL runs as the unprivileged `postgres` OS user, which could reach neither the
 * binaries in node_modules nor the cluster in `.tessera/pg`.
 *
 * The test copies the built project into a fresh 0700 directory under a 0700 parent, with
 * node_modules (and so the PostgreSQL binaries) inside it as in a clone — hard links where the
 * file system allows, which keep the files' own modes while the directory chain above them is the
 * private one, which is what matters — and runs `tessera serve` there with the embedded default,
 * twice. As root, the cluster must end up where `postgres` can reach it, linked from `.tessera/pg`;
 * as anyone else, in `.tessera/pg` itself, as before. Either way the second start must find the
 * first one's cluster.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, cp, lstat, mkdir, mkdtemp, readdir, readlink, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { SHARED_DIR } from "../../src/store/pg-server.js";
import { removeDataDir } from "../helpers/embedded-data.js";
import { assertNoStack, runCli, startCli } from "./run-cli.js";

const run = promisify(execFile);
/** The project this test was built from: dist/test/cli/ → the root. */
const PROJECT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const asRoot = os.userInfo().uid === 0;

/** `tessera serve` as `npm start` runs it in `checkout`: its own Node flag, the default data dir. */
async function serve(checkout: string): Promise<{ line: string; stop(): Promise<{ code: number | null; stderr: string }> }> {
  const run = await startCli(["--max-semi-space-size=32", "dist/src/cli/main.js", "serve", "--grpc-port", "0", "--http-port", "0"], {
    cwd: checkout,
  });
  return {
    line: run.line,
    stop: async () => {
      run.child.kill("SIGINT");
      return { code: (await run.exited).code, stderr: run.stderr() };
    },
  };
}

/**
 * As root, the top-most directory above `dir` that `postgres` cannot enter: every directory here
 * is root's, so only the others' execute bit counts. /root when the suite itself runs from a clone
 * there, else the test's 0700 parent.
 */
async function firstClosed(dir: string): Promise<{ dir: string; mode: string }> {
  const chain = [dir];
  while (path.dirname(chain[0]!) !== chain[0]) chain.unshift(path.dirname(chain[0]!));
  for (const d of chain) {
    const mode = (await stat(d)).mode & 0o7777;
    if ((mode & 0o001) === 0) return { dir: d, mode: mode.toString(8).padStart(4, "0") };
  }
  throw new Error(`${dir}: every directory above it is open`);
}

describe("tessera serve in a private (0700) checkout", function () {
  this.timeout(180_000); // two starts, the first with initdb, on a shared machine
  let parent: string;
  let checkout: string;
  before(async () => {
    // Inside the project (ignored by git) rather than in /tmp: same file system, so hard links work.
    await mkdir(path.join(PROJECT, ".test-pg"), { recursive: true });
    parent = await mkdtemp(path.join(PROJECT, ".test-pg", "private-"));
    checkout = await mkdtemp(path.join(parent, "checkout-"));
    for (const d of [parent, checkout]) await chmod(d, 0o700);
    // What the server reads at run time: the build, the migrations and console in src/, packages.
    await cp(path.join(PROJECT, "dist", "src"), path.join(checkout, "dist", "src"), { recursive: true });
    await cp(path.join(PROJECT, "src"), path.join(checkout, "src"), { recursive: true });
    await cp(path.join(PROJECT, "package.json"), path.join(checkout, "package.json"));
    await run("cp", ["-al", path.join(PROJECT, "node_modules"), checkout]).catch(async () => {
      await rm(path.join(checkout, "node_modules"), { recursive: true, force: true });
      await run("cp", ["-a", path.join(PROJECT, "node_modules"), checkout]); // another file system
    });
  });
  after(async () => {
    await removeDataDir(path.join(checkout, ".tessera"));
    await rm(parent, { recursive: true, force: true });
  });

  it("starts the embedded PostgreSQL there, serves, stops cleanly, and finds the same cluster on the next start", async () => {
    const dataDir = path.join(checkout, ".tessera");
    const first = await serve(checkout);
    let stopped: { code: number | null; stderr: string } | undefined;
    try {
      const m = /^listening grpc=127\.0\.0\.1:\d+ http=127\.0\.0\.1:(\d+) \(not set up yet: /.exec(first.line);
      assert.ok(m, `unexpected first line: ${first.line}`);
      const url = `http://127.0.0.1:${m[1]}`;
      const health = await fetch(`${url}/healthz`);
      assert.equal(health.status, 200);
      // Something for the next start to find.
      const config = path.join(parent, "cli-config.json");
      const setup = await runCli(["setup", "--host", url, "--username", "admin", "--org", "acme", "--bucket", "telemetry"], {
        TESSERA_CONFIG: config,
      });
      assert.equal(setup.code, 0, setup.stderr);
    } finally {
      stopped = await first.stop();
    }
    assert.equal(stopped.code, 0, stopped.stderr);
    assertNoStack(stopped.stderr);

    // The credentials and the digest key file stay root's (or the user's) alone, in the data dir.
    for (const f of ["pg-credentials.json", "digest-keys.json"]) {
      const st = await stat(path.join(dataDir, f));
      assert.equal(st.mode & 0o777, 0o600, f);
      assert.equal(st.uid, os.userInfo().uid, f);
    }
    const link = path.join(dataDir, "pg");
    let clusterDir = link;
    if (asRoot) {
      // `postgres` cannot get through `parent`: the cluster lives in SHARED_DIR, linked from the data dir.
      assert.ok((await lstat(link)).isSymbolicLink(), `${link} is not a symlink`);
      clusterDir = await readlink(link);
      assert.equal(path.dirname(clusterDir), path.join(SHARED_DIR, "clusters"));
      assert.equal((await stat(clusterDir)).uid, Number((await run("id", ["-u", "postgres"])).stdout));
      const said = stopped.stderr.split("\n").filter((l) => l.includes('"event":"embedded_postgres_cluster_outside_data_dir"'));
      assert.equal(said.length, 1, stopped.stderr);
      const closed = await firstClosed(parent);
      assert.equal(
        JSON.parse(said[0]!).reason,
        `${closed.dir} (mode ${closed.mode}) does not let OS user postgres through, and PostgreSQL runs as that user`,
      );
      // It runs a root-owned 0755 copy of the binaries from outside the checkout.
      const copies = await readdir(path.join(SHARED_DIR, "postgresql"));
      assert.ok(copies.length > 0);
      const bin = await stat(path.join(SHARED_DIR, "postgresql", copies[0]!, "bin", "postgres"));
      assert.deepEqual([bin.uid, bin.mode & 0o777], [0, 0o755]);
    } else {
      // PostgreSQL runs as this user, who owns the private directories: nothing moves.
      const st = await lstat(link);
      assert.ok(st.isDirectory(), `${link} is not a directory`);
      assert.equal(st.uid, os.userInfo().uid);
    }
    assert.ok((await stat(path.join(clusterDir, "PG_VERSION"))).isFile());

    // `tessera recovery` finds that cluster too, and starts it for the duration.
    const recovered = await runCli(["recovery", "create-operator", "--data-dir", dataDir]);
    assert.equal(recovered.code, 0, recovered.stderr);
    assert.match(recovered.stderr, /starting the embedded cluster/);

    // The next start finds the instance set up: the same cluster, not a new one.
    const second = await serve(checkout);
    const again = await second.stop();
    assert.match(second.line, /^listening grpc=127\.0\.0\.1:\d+ http=127\.0\.0\.1:\d+$/, again.stderr);
    assert.equal(again.code, 0, again.stderr);
    assertNoStack(again.stderr);
    if (asRoot) assert.equal(await readlink(link), clusterDir);
  });

  it("says in one line, without a stack trace, that a database that cannot start did not", async () => {
    // A cluster directory that holds nothing PostgreSQL can start: its PG_VERSION and no more. In
    // /tmp, `postgres` reaches it and PostgreSQL itself fails; in the private directory, as root,
    // Tessera finds first that `postgres` cannot reach it (an existing cluster is never moved).
    const open = await mkdtemp(path.join(os.tmpdir(), "tessera-broken-"));
    await chmod(open, 0o711);
    const pgFails = (dir: string) =>
      `PostgreSQL exited during start-up \\(exit \\d+\\): .*postgresql\\.conf.*; fix that \\(the cluster is in ${dir}/pg\\) or choose another --data-dir`;
    const cases = [{ dataDir: path.join(open, "data"), expect: pgFails(path.join(open, "data")) }];
    if (asRoot) {
      const closed = await firstClosed(parent);
      const reach = `PostgreSQL runs as OS user postgres, which cannot reach the cluster in ${parent}/broken/pg: ${closed.dir} \\(mode ${closed.mode}\\) does not let it through; make ${closed.dir} traversable for it \\(chmod o\\+x ${closed.dir}\\)`;
      cases.push({ dataDir: path.join(parent, "broken"), expect: reach });
    } else {
      cases.push({ dataDir: path.join(parent, "broken"), expect: pgFails(path.join(parent, "broken")) });
    }
    try {
      for (const { dataDir, expect } of cases) {
        await mkdir(path.join(dataDir, "pg"), { recursive: true });
        await writeFile(path.join(dataDir, "pg", "PG_VERSION"), "18\n");
        const r = await runCli(["serve", "--grpc-port", "0", "--http-port", "0", "--data-dir", dataDir]);
        assert.equal(r.code, 1, r.stderr);
        assertNoStack(r.stderr);
        assert.equal(r.stdout, "");
        // Besides the JSON log lines, exactly one line: what failed, and what to do.
        const lines = r.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("{"));
        assert.equal(lines.length, 1, r.stderr);
        assert.match(
          lines[0]!,
          new RegExp(`^error: embedded PostgreSQL did not start: ${expect}, or set DATABASE_URL to use a PostgreSQL of your own$`),
        );
      }
    } finally {
      await rm(open, { recursive: true, force: true });
    }
  });
});
