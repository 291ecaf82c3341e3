/**
 * Running PostgreSQL's binaries for the embedded default (issue 10): which directories the OS user
 * PostgreSQL runs as can get through, the reachable copy of the binaries made once by concurrent
 * starts, and failures that come back as one line instead of crashing the process.
 */
import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { EmbeddedPostgresError, Postmaster, binaries, blockingDir, complaint, initdb, type OsUser } from "../../src/store/pg-server.js";

describe("the embedded PostgreSQL's server process", () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "tessera-pg-server-"));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  // Not this process's user: the owner's bits do not apply to it, the others' do.
  const stranger: OsUser = { name: "stranger", uid: 0x7ffffff0, gid: 0x7ffffff0 };
  const me: OsUser = { name: "me", uid: os.userInfo().uid, gid: os.userInfo().gid };

  it("names the top-most directory another user cannot traverse, and none when every one lets it through", async () => {
    const priv = path.join(tmp, "private");
    const inner = path.join(priv, "open", "data");
    await mkdir(inner, { recursive: true, mode: 0o755 });
    await chmod(priv, 0o700);
    await chmod(tmp, 0o755);
    assert.deepEqual(await blockingDir(stranger, inner), { dir: priv, mode: 0o700 });
    assert.equal(await blockingDir(me, inner), undefined, "the owner's bits let its owner through");

    await chmod(priv, 0o711); // traverse without listing is enough
    assert.equal(await blockingDir(stranger, inner), undefined);
    await chmod(priv, 0o766); // read and write without execute are not
    assert.deepEqual(await blockingDir(stranger, inner), { dir: priv, mode: 0o766 });
  });

  it("copies the binaries once, whole and 0755, when several starts need them at the same time", async function () {
    this.timeout(60_000);
    const shared = path.join(tmp, "shared");
    const results = await Promise.all([binaries(me, shared), binaries(me, shared), binaries(me, shared)]);
    assert.ok(results.every((b) => b.postgres === results[0]!.postgres && b.initdb === results[0]!.initdb));
    // One copy, named by platform and package version, and no half-made copy left behind.
    const copies = await readdir(path.join(shared, "postgresql"));
    assert.equal(copies.length, 1, copies.join(", "));
    assert.match(copies[0]!, new RegExp(`^${process.platform}-${process.arch}-\\d+\\.\\d+`));
    assert.equal(path.dirname(path.dirname(results[0]!.postgres)), path.join(shared, "postgresql", copies[0]!));
    for (const dir of [shared, path.join(shared, "postgresql"), path.dirname(results[0]!.postgres)]) {
      assert.equal((await stat(dir)).mode & 0o777, 0o755, dir);
    }
    assert.equal((await stat(results[0]!.postgres)).mode & 0o777, 0o755);
    // A later start reuses it.
    const again = await binaries(me, shared);
    assert.equal(again.postgres, results[0]!.postgres);
  });

  it("turns a binary that cannot be run into an error, not a crash, and stop() then returns at once", async () => {
    const notExecutable = path.join(tmp, "postgres");
    await writeFile(notExecutable, "#!/bin/sh\n", { mode: 0o644 }); // not even root may execute it
    const server = new Postmaster({
      bin: { postgres: notExecutable, initdb: notExecutable },
      clusterDir: path.join(tmp, "nowhere"),
      port: 1,
      flags: [],
      user: undefined,
      onOutput: () => undefined,
    });
    const err = await server.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof EmbeddedPostgresError, String(err));
    assert.match(
      err.message,
      new RegExp(`^embedded PostgreSQL did not start: cannot run ${notExecutable} \\(EACCES\\); .*, or set DATABASE_URL`),
    );
    assert.doesNotMatch(err.message, /\n/);
    const started = Date.now();
    await server.stop();
    assert.ok(Date.now() - started < 1000, "stop() waited for a process that never ran");

    const init = await initdb({ postgres: notExecutable, initdb: notExecutable }, path.join(tmp, "cluster"), "pw", undefined).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(init instanceof EmbeddedPostgresError, String(init));
    assert.match(init.message, /cannot run .*postgres \(EACCES\)/);
    assert.deepEqual(
      (await readdir(tmp)).filter((f) => f.startsWith(".initdb-")),
      [],
      "the password file is removed",
    );
  });

  it("quotes what PostgreSQL said was wrong in one line, without timestamps", () => {
    const portInUse = [
      "2026-01-01 10:00:00.000 UTC [4242] LOG:  starting PostgreSQL 18.0 on x86_64-pc-linux-gnu",
      '2026-01-01 10:00:00.001 UTC [4242] LOG:  could not bind IPv4 address "127.0.0.1": Address already in use',
      "2026-01-01 10:00:00.001 UTC [4242] HINT:  Is another postmaster already running on port 5432? If not, wait a few seconds and retry.",
      '2026-01-01 10:00:00.002 UTC [4242] WARNING:  could not create listen socket for "127.0.0.1"',
      "2026-01-01 10:00:00.002 UTC [4242] FATAL:  could not create any TCP/IP sockets",
      "2026-01-01 10:00:00.003 UTC [4242] LOG:  database system is shut down",
    ].join("\n");
    assert.equal(
      complaint(portInUse),
      'LOG: could not bind IPv4 address "127.0.0.1": Address already in use; HINT: Is another postmaster already running on port 5432? If not, wait a few seconds and retry; ' +
        'WARNING: could not create listen socket for "127.0.0.1"; FATAL: could not create any TCP/IP sockets',
    );
    const initdbSaid =
      'initdb: error: directory "/d/pg" exists but is not empty\ninitdb: hint: If you want to create a new database system, remove it.\n';
    assert.equal(
      complaint(initdbSaid),
      'ERROR: directory "/d/pg" exists but is not empty; HINT: If you want to create a new database system, remove it',
    );
    // Nothing recognisable: the last lines it wrote.
    assert.equal(complaint("one\ntwo\n  three  \n\n"), "two; three");
  });
});
