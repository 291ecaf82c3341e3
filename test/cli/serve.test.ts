import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import path from "node:path";
import { freshDatabase, type TestDatabase } from "../helpers/db.js";
import { CLI, assertNoStack, runCli, startCli, tempDir } from "./run-cli.js";

describe("tessera serve", function () {
  this.timeout(120_000); // every step spawns a node process; shared CI machines can be slow
  let db: TestDatabase;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    db = await freshDatabase();
    tmp = await tempDir();
  });
  after(async () => {
    await db.drop();
    await tmp.remove();
  });

  it("prints where it listens, answers /healthz, and exits 0 on SIGINT", async () => {
    const keyFile = path.join(tmp.dir, "keys", "digest-keys.json");
    const run = await startCli([
      CLI,
      "serve",
      "--grpc-port",
      "0",
      "--http-port",
      "0",
      "--database-url",
      db.appUrl,
      "--owner-database-url",
      db.ownerUrl,
      "--key-file",
      keyFile,
    ]);
    const { child, exited, line } = run;
    try {
      const m =
        /^listening grpc=127\.0\.0\.1:(\d+) http=127\.0\.0\.1:(\d+) \(not set up yet: run "tessera setup --host http:\/\/127\.0\.0\.1:(\d+)"\)$/.exec(
          line,
        );
      assert.ok(m, `unexpected first line: ${line}`);
      assert.notEqual(Number(m[1]), 0);
      assert.equal(m[3], m[2]);

      const health = await fetch(`http://127.0.0.1:${m[2]}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: "SERVING" });
      assert.equal((await stat(keyFile)).mode & 0o777, 0o600); // the server created its key

      const sent = Date.now();
      child.kill("SIGINT");
      const e = await exited;
      const stderr = run.stderr();
      assert.deepEqual(e, { code: 0, signal: null }, stderr);
      assert.ok(Date.now() - sent < 8_000, `took ${Date.now() - sent} ms to stop`); // listeners drain for at most 2 s
      assertNoStack(stderr);
      // stderr is one JSON stream (not a terminal here), and a normal run warns of nothing.
      const lines = stderr
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l) as { level: number; event: string; signal?: string });
      assert.deepEqual(
        lines.filter((l) => l.level >= 40),
        [],
        stderr,
      );
      assert.ok(
        lines.some((l) => l.event === "serving"),
        stderr,
      );
      assert.ok(
        lines.some((l) => l.event === "shutdown_started" && l.signal === "SIGINT"),
        stderr,
      );
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });

  it("exits 2 with one line for a configuration error", async () => {
    const r = await runCli(["serve", "--http-port", "http"]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'error: --http-port must be a port number (0–65535), got "http"\n');
  });
});
