/**
 * The layering rules in .dependency-cruiser.cjs fire: the project's own config, run by
 * dependency-cruiser on a scratch tree laid out like src/, reports each deliberately wrong import
 * by rule name and nothing for the right ones. Every import in the tree uses a `.js` specifier for
 * a `.ts` source, as NodeNext wants, so a violation is found only if that resolution works.
 * The real src/ is never touched: `npm run lint` checks it.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const PROJECT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const DEPCRUISE = path.join(PROJECT, "node_modules/dependency-cruiser/bin/dependency-cruise.mjs");
const CONFIG = path.join(PROJECT, ".dependency-cruiser.cjs");

/** A tree where every import is allowed: each layer importing those below it, gen, base and pg. */
const RIGHT: Record<string, string> = {
  "src/gen/tessera/v1/resources_pb.ts": `export type Resource = { name: string };\n`,
  "src/log.ts": `export type Log = { info(msg: string): void };\n`,
  "src/config.ts": `import path from "node:path";\nexport const dir = path.resolve(".");\n`,
  "src/domain/model.ts": [
    `import { randomBytes } from "node:crypto";`,
    `import type { Resource } from "../gen/tessera/v1/resources_pb.js";`,
    `export type Caller = { org: string; resource?: Resource };`,
    `export const nonce = () => randomBytes(8);`,
  ].join("\n"),
  "src/store/queries/users.ts": [
    `import type pg from "pg";`,
    `import type { Caller } from "../../domain/model.js";`,
    `import type { Log } from "../../log.js";`,
    `export const listUsers = (pool: pg.Pool, caller: Caller, log: Log) => [pool, caller, log];`,
  ].join("\n"),
  "src/services/caller.ts": [
    `import type { Caller } from "../domain/model.js";`,
    `import { listUsers } from "../store/queries/users.js";`,
    `export const users = listUsers;`,
    `export type { Caller };`,
  ].join("\n"),
  "src/transport/errors.ts": `import { users } from "../services/caller.js";\nimport { dir } from "../config.js";\nexport const x = [users, dir];\n`,
  "src/app.ts": `import { x } from "./transport/errors.js";\nimport { listUsers } from "./store/queries/users.js";\nexport const app = [x, listUsers];\n`,
  "src/cli/main.ts": `import { app } from "../app.js";\nexport const main = app;\n`,
  "src/client/worker-client.ts": `import { nonce } from "../domain/model.js";\nimport type { Resource } from "../gen/tessera/v1/resources_pb.js";\nexport const c = (r: Resource) => [r, nonce()];\n`,
};

/** Files that each break one rule, with the violation the project's config must report for it. */
const WRONG: { file: string; source: string; rule: string; to: string }[] = [
  {
    file: "src/domain/decide.ts",
    source: `import type { Caller } from "../services/caller.js";\nexport const f = (c: Caller) => c;\n`,
    rule: "domain-imports-only-gen",
    to: "src/services/caller.ts",
  },
  {
    file: "src/domain/digest.ts",
    source: `import { readFile } from "node:fs/promises";\nexport const read = readFile;\n`,
    rule: "domain-does-no-io",
    to: "fs/promises",
  },
  {
    file: "src/domain/logged.ts",
    source: `import type { Log } from "../log.js";\nexport type L = Log;\n`,
    rule: "domain-imports-only-gen",
    to: "src/log.ts",
  },
  {
    file: "src/store/queries/tokens.ts",
    source: `import type { Caller } from "../../services/caller.js";\nexport type C = Caller;\n`,
    rule: "store-imports-only-domain-gen-base",
    to: "src/services/caller.ts",
  },
  {
    file: "src/services/revocation-hub.ts",
    source: `import pg from "pg";\nexport const Pool = pg.Pool;\n`,
    rule: "only-store-imports-pg",
    to: "node_modules/pg/esm/index.mjs",
  },
  {
    file: "src/services/up.ts",
    source: `import { x } from "../transport/errors.js";\nexport const y = x;\n`,
    rule: "services-import-only-store-domain-gen-base",
    to: "src/transport/errors.ts",
  },
  {
    file: "src/transport/app-user.ts",
    source: `import { app } from "../app.js";\nexport const a = app;\n`,
    rule: "transport-imports-only-lower-layers",
    to: "src/app.ts",
  },
  {
    file: "src/client/grpc.ts",
    source: `import { x } from "../transport/errors.js";\nexport const g = x;\n`,
    rule: "client-imports-only-gen-and-domain",
    to: "src/transport/errors.ts",
  },
  {
    file: "src/node-flags.ts",
    source: `import type { Log } from "./log.js";\nexport type F = Log;\n`,
    rule: "base-imports-nothing-of-tessera",
    to: "src/log.ts",
  },
  {
    file: "src/stray.ts",
    source: `import { dir } from "./config.js";\nexport const s = dir;\n`,
    rule: "src-file-has-a-layer",
    to: "src/config.ts",
  },
  {
    file: "src/services/missing.ts",
    source: `import { gone } from "./gone.js";\nexport const m = gone;\n`,
    rule: "not-to-unresolvable",
    to: "./gone.js",
  },
];

type Violation = { rule: string; from: string; to: string };
type Result = { code: number; output: string; violations: Violation[] };

/**
 * Runs dependency-cruiser exactly as `npm run lint` does (its `err` report, whose exit code is the
 * number of errors), on `root`'s src/ with the project's config, and reads the report's lines:
 * `error RULE: FROM → TO`, where a cycle's line ends at the arrow and its modules follow.
 */
async function cruise(root: string): Promise<Result> {
  const args = [DEPCRUISE, "src", "--config", CONFIG];
  let code = 0;
  let output: string;
  try {
    output = (await promisify(execFile)(process.execPath, args, { cwd: root })).stdout;
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string };
    if (typeof e.code !== "number" || e.stdout === undefined) throw err;
    [code, output] = [e.code, e.stdout];
  }
  const violations = [...output.matchAll(/^\s*error ([\w-]+): (\S+) →[ \t]*(\S*)$/gm)].map(([, rule, from, to]) => ({
    rule: rule!,
    from: from!,
    // A package's path cut to start at node_modules/: the fixture's node_modules is a symlink.
    to: to!.replace(/^.*\/node_modules\//, "node_modules/"),
  }));
  return { code, output, violations };
}

async function write(root: string, files: Record<string, string>): Promise<void> {
  for (const [file, source] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), source);
  }
}

const describeViolation = (v: Violation) => `${v.rule}: ${v.from} → ${v.to}`;

/** A fresh scratch project holding `files`, with the real node_modules so that `pg` resolves. */
async function fixture(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), "tessera-layers-"));
  await writeFile(path.join(root, "package.json"), JSON.stringify({ name: "layers-fixture", type: "module", dependencies: { pg: "*" } }));
  await writeFile(
    path.join(root, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", strict: true }, include: ["src"] }),
  );
  await symlink(path.join(PROJECT, "node_modules"), path.join(root, "node_modules"), "dir");
  await write(root, files);
  return root;
}

describe("the layering rules (dependency-cruiser)", function () {
  this.timeout(20_000);
  const roots: string[] = [];

  after(async () => {
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });

  it("pass a tree whose imports all go down the layers, resolving .js specifiers to .ts sources", async () => {
    const root = await fixture(RIGHT);
    roots.push(root);
    const { code, output, violations } = await cruise(root);
    assert.deepEqual(violations.map(describeViolation), []);
    assert.equal(code, 0, output);
    assert.match(output, /no dependency violations found/);
  });

  it("report each deliberately wrong import by rule name, and nothing else", async () => {
    const root = await fixture({
      ...RIGHT,
      ...Object.fromEntries(WRONG.map((w) => [w.file, w.source])),
      // A cycle: two transport modules importing each other.
      "src/transport/ping.ts": `import { pong } from "./pong.js";\nexport const ping = () => pong;\n`,
      "src/transport/pong.ts": `import { ping } from "./ping.js";\nexport const pong = () => ping;\n`,
    });
    roots.push(root);
    const { code, output, violations } = await cruise(root);
    const [cycles, others] = [violations.filter((v) => v.rule === "no-circular"), violations.filter((v) => v.rule !== "no-circular")];
    assert.deepEqual(others.map(describeViolation).sort(), WRONG.map((w) => `${w.rule}: ${w.file} → ${w.to}`).sort());
    // dependency-cruiser reports a cycle once, from whichever of its modules it met first.
    assert.equal(cycles.length, 1, cycles.map(describeViolation).join("\n"));
    assert.match(cycles[0]!.from, /^src\/transport\/(ping|pong)\.ts$/);
    assert.equal(code, WRONG.length + 1, `dependency-cruiser exits with the number of errors, so \`npm run lint\` fails\n${output}`);
  });
});
