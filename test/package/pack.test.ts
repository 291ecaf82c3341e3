/**
 * The package works as a package: packed from a clean tree (no dist/, so the `prepare` build is
 * what makes it), installed from its tarball into an empty project, both entries import and
 * type-check there, the server it starts reads its migrations and console from the install, and
 * `npx tessera` runs. Nothing comes from the network: the install uses npm's cache.
 */
import assert from "node:assert/strict";
import { copyFile, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freshDatabase, type TestDatabase } from "../helpers/db.js";
import { DECOYS, installTarball, packFromCleanTree, run } from "./consumer.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const FIXTURE = path.join(ROOT, "test", "package", "consumer-app");
const TSC = path.join(ROOT, "node_modules", ".bin", "tsc");

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join("/"));
}

describe("the npm package", function () {
  // Pack (a tsc build) and an offline install of ~80 packages, on a shared two-core machine.
  this.timeout(120_000);

  let work: string;
  let tree: string;
  let app: string;
  let installed: string;
  let shipped: string[];

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), "tessera-pack-"));
    tree = path.join(work, "clone");
    app = path.join(work, "app");
    const tarball = await packFromCleanTree(ROOT, tree, path.join(work, "packed"));
    await installTarball(ROOT, tarball, app);
    installed = path.join(app, "node_modules", "tessera");
    shipped = await filesUnder(installed);
  });

  after(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it("is built by prepare from a clean tree: every source file's JavaScript and declarations, and the command", async () => {
    const sources = (await filesUnder(path.join(ROOT, "src"))).filter((f) => f.endsWith(".ts"));
    assert.ok(sources.length > 50, `expected the sources under src/, found ${sources.length}`);
    for (const f of sources) {
      const base = "dist/src/" + f.slice(0, -".ts".length);
      assert.ok(shipped.includes(base + ".js"), `${base}.js is not in the tarball`);
      assert.ok(shipped.includes(base + ".d.ts"), `${base}.d.ts is not in the tarball`);
    }
    // The clone had no dist/ but the decoys: prepare built src/ and nothing else.
    assert.deepEqual((await readdir(path.join(tree, "dist"))).sort(), ["benchmarks", "src", "test"]);
    assert.deepEqual(await readdir(path.join(tree, "dist", "test")), ["decoy.test.js"]);
    const bin = await stat(path.join(installed, "dist", "src", "cli", "main.js"));
    assert.ok((bin.mode & 0o111) !== 0, "the bin target is not executable");
  });

  it("holds the licence, the migrations, the console and the protos, and no tests, benchmarks, source maps or local state", async () => {
    assert.ok(shipped.includes("LICENSE"), "the licence package.json names is in the tarball");
    const migrations = (await readdir(path.join(ROOT, "src", "store", "migrations"))).filter((f) => f.endsWith(".sql"));
    assert.ok(migrations.length >= 10);
    for (const m of migrations) assert.ok(shipped.includes(`src/store/migrations/${m}`), `migration ${m} is not in the tarball`);
    for (const f of ["index.html", "app.js", "console.css"]) assert.ok(shipped.includes(`src/console/${f}`), `console ${f} is missing`);
    for (const f of await readdir(path.join(ROOT, "proto", "tessera", "v1"))) assert.ok(shipped.includes(`proto/tessera/v1/${f}`));

    for (const decoy of DECOYS) assert.ok(!shipped.includes(decoy), `${decoy} was shipped`);
    const unexpected = shipped.filter(
      (f) =>
        !(f.startsWith("dist/src/") && (f.endsWith(".js") || f.endsWith(".d.ts"))) &&
        !/^src\/store\/migrations\/\d{4}_[a-z0-9_]+\.sql$/.test(f) &&
        !f.startsWith("src/console/") &&
        !/^proto\/.+\.proto$/.test(f) &&
        f !== "package.json" &&
        f !== "README.md" &&
        f !== "LICENSE",
    );
    assert.deepEqual(unexpected, []);
  });

  describe("installed into an empty project", () => {
    let db: TestDatabase;

    before(async () => {
      db = await freshDatabase({ migrated: false });
    });

    after(async () => {
      await db?.drop();
    });

    it('imports "tessera" and "tessera/worker-client", and serves from the install on an empty database', async () => {
      // Copied, not run in place: node resolves "tessera" from the importing file's folder, and in
      // this repository that would find the repository itself.
      await copyFile(path.join(FIXTURE, "start.mjs"), path.join(app, "start.mjs"));
      const env = { APP_DATABASE_URL: db.appUrl, OWNER_DATABASE_URL: db.ownerUrl, DATA_DIR: path.join(work, "data") };
      const { stdout } = await run("node", ["start.mjs"], app, env);
      const result = JSON.parse(stdout) as Record<string, unknown>;
      assert.deepEqual(result.exports, {
        startTessera: "function",
        loadConfig: "function",
        ConfigError: "function",
        createWorkerClient: "function",
        "EndpointClass.INGEST": 1,
        "VerifyStatus.VALID": 1,
        "Role.ADMIN": 3,
      });
      // Every migration applied: the installed package's copies were found and read.
      const migrations = (await readdir(path.join(ROOT, "src", "store", "migrations"))).filter((f) => f.endsWith(".sql")).sort();
      assert.deepEqual(result.migrations, migrations);
      assert.equal(result.healthz, 200);
      assert.deepEqual(result.console, { status: 200, type: "text/html; charset=utf-8", title: "Tessera admin console" });
      // The installed worker client reached the installed server, which refused the unknown verifier.
      assert.deepEqual(result.verify, { error: "ConnectError", code: 16 });
    });

    it("resolves both entries' declarations under NodeNext", async () => {
      for (const f of ["types.ts", "tsconfig.json"]) await copyFile(path.join(FIXTURE, f), path.join(app, f));
      // A consumer has @types/node of its own; the project's stands in for it.
      await run(TSC, ["-p", app, "--typeRoots", path.join(ROOT, "node_modules", "@types")], app);
      const declarations = await readFile(path.join(installed, "dist", "src", "index.d.ts"), "utf8");
      assert.match(declarations, /export declare function startTessera\(config: Config, options\?: TesseraOptions\): Promise<Tessera>;/);
    });

    it("runs `npx tessera --help` from the install", async () => {
      // Never a download: without the bin, npx would look for an unrelated "tessera" in the registry.
      const { stdout } = await run("npx", ["--offline", "--yes=false", "tessera", "--help"], app);
      assert.match(stdout, /^Usage: tessera <command> \[flags\]/);
      for (const command of ["serve", "setup", "auth", "recovery"]) assert.match(stdout, new RegExp(`^\\s+${command}\\s`, "m"));
    });
  });
});
