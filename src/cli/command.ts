/**
 * What every `tessera` command is made of: a name, a usage text, its flags (node:util parseArgs,
 * strict, so an unknown flag is a usage error rather than silently ignored) and a run function
 * that gets the parsed flags and a context instead of touching process globals. Keeping stdin,
 * stdout, stderr and the environment in the context is what lets the CLI's config loader be the
 * only reader of the environment, as src/config.ts is for the server.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** Exit codes: 0 success, 1 the operation failed, 2 the command line was wrong. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export type Options = NonNullable<ParseArgsConfig["options"]>;
export type Flags = Record<string, string | boolean | Array<string | boolean> | undefined>;

export interface Context {
  /** The environment, read only by loaders (cli-config.ts, src/config.ts) that are handed it. */
  env: NodeJS.ProcessEnv;
  /** The command's result: a table, an id or a token value. */
  out(text: string): void;
  /** Everything addressed to the person at the terminal: progress, warnings, errors. */
  err(text: string): void;
  stdinIsTTY: boolean;
  /** The clock, for commands that record when they ran; absent: the system clock. */
  now?: () => Date;
  /**
   * For commands that run until stopped (`audit list --follow`): a signal that aborts on the
   * first Ctrl-C (SIGINT) or SIGTERM, so the command winds down and exits 0 instead of being
   * killed mid-line. Asking for it is what takes those signals over; a second Ctrl-C kills as
   * usual. Absent: such a command runs until its stream ends or fails.
   */
  interrupted?: () => AbortSignal;
}

export interface Command {
  /** Name as typed after its group ("create" in `tessera auth create`), or alone ("serve"). */
  name: string;
  summary: string;
  /** Usage text shown by --help and after usage errors; starts with the synopsis line(s). */
  usage: string;
  options: Options;
  /**
   * The flag one bare argument fills (`tessera config use prod` = `--name prod`), for commands
   * whose single operand is obvious; absent, every value is given with a flag.
   */
  positional?: string;
  run(flags: Flags, ctx: Context): Promise<number>;
}

export interface Group {
  name: string;
  summary: string;
  commands: Command[];
}

/**
 * A wrong command line, exit 2. An unknown flag or a missing one prints the command's usage;
 * a bad value (`showUsage` false) prints only the message and where to find the usage.
 */
export class UsageError extends Error {
  override readonly name = "UsageError";
  constructor(
    message: string,
    readonly showUsage = false,
  ) {
    super(message);
  }
}

/** An operation that failed for a reason the user can act on: printed as is, exit 1. */
export class CliError extends Error {
  override readonly name = "CliError";
}

/** parseArgs in strict mode, its errors turned into UsageErrors that name the flag. */
export function parseFlags(args: string[], options: Options, positional?: string): Flags {
  let parsed: { values: Flags; positionals: string[] };
  try {
    parsed = parseArgs({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: positional !== undefined,
    }) as { values: Flags; positionals: string[] };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const msg = (err as Error).message;
    const flag =
      /'(-[^']*)'/
        .exec(msg)?.[1]
        ?.split(" ")
        .find((w) => w.startsWith("--")) ?? /'(-[^']*)'/.exec(msg)?.[1];
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw new UsageError(`unknown flag ${flag ?? msg}`, true);
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
      const arg = /'([^']*)'/.exec(msg)?.[1];
      throw new UsageError(`unexpected argument "${arg ?? "?"}": every value is given with a flag`, true);
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      if (msg.includes("does not take an argument")) throw new UsageError(`flag ${flag ?? msg} takes no value`);
      throw new UsageError(flag ? `flag ${flag} needs a value` : (msg.split("\n")[0] ?? msg));
    }
    throw err;
  }
  const { values, positionals } = parsed;
  if (positional === undefined || positionals.length === 0) return values;
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}": give one ${positional.toUpperCase()}`, true);
  if (values[positional] !== undefined) throw new UsageError(`give the ${positional} once: as an argument or with --${positional}`, true);
  return { ...values, [positional]: positionals[0] };
}

/** A string flag, or undefined. Repeated single-value flags keep the last value. */
export function str(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  if (Array.isArray(v)) return v.length === 0 ? undefined : String(v[v.length - 1]);
  return typeof v === "string" ? v : undefined;
}

export function requireStr(flags: Flags, name: string): string {
  const v = str(flags, name);
  if (v === undefined || v === "") throw new UsageError(`--${name} is required`, true);
  return v;
}

export function list(flags: Flags, name: string): string[] {
  const v = flags[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

export function bool(flags: Flags, name: string): boolean {
  return flags[name] === true;
}

/** Formats a group's usage: its commands and their summaries. */
export function groupUsage(g: Group): string {
  const width = Math.max(...g.commands.map((c) => c.name.length));
  return [
    `Usage: tessera ${g.name} <command> [flags]`,
    "",
    g.summary,
    "",
    "Commands:",
    ...g.commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    `Run "tessera ${g.name} <command> --help" for a command's flags.`,
  ].join("\n");
}
