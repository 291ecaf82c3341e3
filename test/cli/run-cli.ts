/**
 * Runs the compiled `tessera` command as a child process, as a user would, with a private CLI
 * config path and none of the caller's TESSERA_* variables leaking in.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** A token value alone on a line: prefix, 32 secret and 6 checksum characters. */
const TOKEN_VALUE = /^(?:o2oi|ts[a-z]{2})_[0-9A-Za-z]{38}$/;
/** Any token value anywhere in a text. */
export const ANY_TOKEN_VALUE = /(?:o2oi|ts[a-z]{2})_[0-9A-Za-z]{38}/;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith("TESSERA_") && k !== "DATABASE_URL") env[k] = v;
  }
  return { ...env, ...extra };
}

export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: cleanEnv(env), timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a command that must succeed: exit 0, and no stack trace on stderr. */
export async function runCliOk(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const r = await runCli(args, env);
  if (r.code !== 0) throw new Error(`tessera ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  assertNoStack(r.stderr);
  return r;
}

/** A long-running `tessera` process (serve) that has printed its first line. */
export interface RunningCli {
  child: ChildProcessWithoutNullStreams;
  /** Its first line on stdout (serve's "listening grpc=… http=…"). */
  line: string;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `node <argv>` (argv begins with the script, e.g. CLI) with a clean environment and waits
 * for its first line on stdout; one that exits first is an error carrying its stderr. `input`
 * is written to its standard input, which is closed.
 */
export async function startCli(argv: string[], opts: { cwd?: string; input?: string } = {}): Promise<RunningCli> {
  const child = spawn(process.execPath, argv, {
    cwd: opts.cwd,
    env: cleanEnv(),
    stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  }) as unknown as ChildProcessWithoutNullStreams;
  if (opts.input !== undefined) child.stdin.end(opts.input);
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once("line", resolve);
      void exited.then((e) => reject(new Error(`${argv[1] ?? "tessera"} exited early (${e.code ?? e.signal}): ${stderr}`)));
    });
    return { child, line, stderr: () => stderr, exited };
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
}

/** The value a command printed: stdout holds it alone. */
export function printedValue(r: CliResult): string {
  const value = r.stdout.trim();
  if (!TOKEN_VALUE.test(value)) throw new Error(`expected a token value on stdout, got ${JSON.stringify(r.stdout)} (stderr: ${r.stderr})`);
  return value;
}

/** No stack frames: users get one line, not a trace. */
export function assertNoStack(text: string): void {
  if (/^\s+at .+:\d+:\d+\)?$/m.test(text)) throw new Error(`output contains a stack trace:\n${text}`);
}

export async function tempDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tessera-cli-"));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes keys in the digest key file format ({"current": n, "keys": {"n": base64}}), mode 0600. */
export async function writeKeyFile(file: string, keys: Record<number, Buffer>, current: number): Promise<void> {
  const doc = { current, keys: Object.fromEntries(Object.entries(keys).map(([id, k]) => [id, k.toString("base64")])) };
  await writeFile(file, JSON.stringify(doc), { mode: 0o600 });
}
