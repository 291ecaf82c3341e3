/**
 * Where `tessera auth create` and `tessera import` read values the user brings: an environment
 * variable, a file, or standard input. Never the command line, where a value would land in shell
 * history and in every `ps` listing. A loader handed the environment (see Context), like
 * cli-config.ts; it never says what it read.
 */
import { readFile } from "node:fs/promises";
import { UsageError, str, type Context, type Flags } from "./command.js";

/**
 * The variable a user names for a value it brings (`--value-from-env NAME`, a manifest's
 * `value_from_env: NAME`): a value, configuration of nothing, so it has no row in the README's
 * configuration tables. The one place the CLI reads the environment by a name the user gives.
 */
export const userNamedVariable = (ctx: Context, name: string): string | undefined => ctx.env[name];

/** The whole of standard input as text. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString("utf8");
}

/** `path` ("-": standard input) as text; a failure names the file, never its content. */
export async function readTextFile(path: string, flag: string): Promise<string> {
  if (path === "-") return readStdin();
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      `${flag} ${path}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : "cannot be read"}`,
    );
  }
}

/** One trailing line break (as `echo` and editors write one) is not part of a value. */
const chomp = (text: string): string => text.replace(/\r?\n$/, "");

/**
 * A secret given as `--NAME VALUE` or `--NAME-file PATH` (PATH "-": standard input); undefined
 * with neither. The file form exists so that no secret has to be typed on a command line; both
 * at once is a usage error rather than a silent preference. Messages name the flag and the
 * file, never the content.
 */
export async function secretFlag(flags: Flags, name: string, stdinIsTTY: boolean): Promise<string | undefined> {
  const direct = str(flags, name);
  const file = str(flags, `${name}-file`);
  if (direct !== undefined && file !== undefined) throw new UsageError(`give either --${name} or --${name}-file, not both`);
  if (direct !== undefined) {
    if (direct === "") throw new UsageError(`--${name} is empty`);
    return direct;
  }
  if (file === undefined) return undefined;
  if (file === "-" && stdinIsTTY) throw new UsageError(`--${name}-file -: standard input is a terminal; pipe the value in`);
  const v = chomp(await readTextFile(file, `--${name}-file`));
  if (v === "") throw new UsageError(`--${name}-file ${file}: empty`);
  if (/[\r\n]/.test(v)) throw new UsageError(`--${name}-file ${file}: holds more than one line; it must hold the value alone`);
  return v;
}

/** Standard input can be read once: two `--…-file -` flags in one command line is a usage error. */
export function oneStdinReader(flags: Flags, fileFlags: string[]): void {
  const readers = fileFlags.filter((f) => str(flags, f) === "-");
  if (readers.length > 1)
    throw new UsageError(`only one flag can read standard input; got ${readers.map((f) => `--${f} -`).join(" and ")}`);
}

/** The value given with --value-from-env NAME or --value-file PATH (PATH "-": stdin); undefined with neither. */
export async function broughtValue(flags: Flags, ctx: Context): Promise<string | undefined> {
  oneStdinReader(flags, ["value-file", "token-file"]);
  const envName = str(flags, "value-from-env");
  const file = str(flags, "value-file");
  if (envName !== undefined && file !== undefined) throw new UsageError("give either --value-from-env or --value-file, not both");
  if (envName !== undefined) {
    const v = userNamedVariable(ctx, envName);
    if (v === undefined || v === "") throw new UsageError(`--value-from-env ${envName}: the environment variable is not set or empty`);
    return v;
  }
  if (file !== undefined) {
    if (file === "-" && ctx.stdinIsTTY) throw new UsageError("--value-file -: standard input is a terminal; pipe the value in");
    const v = chomp(await readTextFile(file, "--value-file"));
    if (v === "") throw new UsageError(`--value-file ${file}: empty`);
    return v;
  }
  return undefined;
}
