/**
 * Every launcher the project ships runs the server with SERVER_NODE_FLAGS, and Node accepts them:
 * a flag dropped from one launcher, or misspelt everywhere, fails here rather than in production.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { SERVER_NODE_FLAGS } from "../../src/node-flags.js";

const root = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));
const flags = SERVER_NODE_FLAGS.join(" ");

describe("the server's Node flags", () => {
  it("are in the tessera command's shebang, source and built", async () => {
    for (const file of ["src/cli/main.ts", "dist/src/cli/main.js"]) {
      const first = (await readFile(root(file), "utf8")).split("\n")[0];
      assert.equal(first, `#!/usr/bin/env -S node ${flags}`, file);
    }
  });

  it("are in npm start and the Docker image's entrypoint", async () => {
    const pkg = JSON.parse(await readFile(root("package.json"), "utf8")) as { scripts: Record<string, string> };
    assert.match(pkg.scripts.start!, new RegExp(`\\bnode ${flags} dist/src/cli/main\\.js serve\\b`));
    const dockerfile = await readFile(root("docker/Dockerfile"), "utf8");
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile);
    assert.ok(entrypoint, "the Dockerfile has an exec-form ENTRYPOINT");
    assert.deepEqual(JSON.parse(entrypoint[1]!), ["node", ...SERVER_NODE_FLAGS, "/app/dist/src/cli/main.js"]);
  });

  it("are accepted by this Node", async () => {
    // Node refuses to start on a flag it does not know (exit 9), so this run is the check.
    const { stdout } = await promisify(execFile)(process.execPath, [
      ...SERVER_NODE_FLAGS,
      "-e",
      "process.stdout.write(JSON.stringify(process.execArgv))",
    ]);
    const execArgv = JSON.parse(stdout) as string[];
    for (const f of SERVER_NODE_FLAGS) assert.ok(execArgv.includes(f), f);
  });
});
