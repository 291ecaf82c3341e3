#!/usr/bin/env -S node --max-semi-space-size=32
/**
 * The `tessera` command: finds the command, parses its flags, runs it, and turns whatever it
 * throws into one line on stderr and an exit code — 2 for a wrong command line, 1 for a failed
 * operation, never a stack trace. Command modules load on demand, so `tessera auth list` does
 * not load the server, and `--help` loads nothing heavy.
 */
import { ConnectError, Code } from "@connectrpc/connect";
import { ConfigError } from "../config.js";
import { isTesseraError } from "../domain/errors.js";
import {
  CliError,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  UsageError,
  groupUsage,
  parseFlags,
  type Command,
  type Context,
  type Group,
} from "./command.js";
import { didYouMean } from "./did-you-mean.js";
import type { CompletionNode } from "./completion.js";

interface Entry {
  summary: string;
  load(): Promise<Command | Group>;
}

const ENTRIES: Record<string, Entry> = {
  serve: { summary: "Run the server", load: async () => (await import("./serve.js")).command },
  setup: {
    summary: "Set up a new instance and save its operator token for the CLI",
    load: async () => (await import("./setup.js")).command,
  },
  auth: { summary: "Manage API tokens", load: async () => (await import("./auth.js")).group },
  import: {
    summary: "Create tokens from a file of values brought from another system",
    load: async () => (await import("./import.js")).command,
  },
  org: { summary: "Manage organizations", load: async () => (await import("./org.js")).group },
  user: { summary: "Manage users", load: async () => (await import("./user.js")).group },
  bucket: { summary: "Manage buckets", load: async () => (await import("./bucket.js")).group },
  audit: { summary: "Read and verify the audit trail", load: async () => (await import("./audit.js")).group },
  whoami: { summary: "Show who your token is", load: async () => (await import("./whoami.js")).command },
  apply: { summary: "Make the instance match a manifest file (tessera.yaml)", load: async () => (await import("./apply.js")).command },
  recovery: { summary: "Mint an operator token when none is known", load: async () => (await import("./recovery.js")).group },
  keys: { summary: "Rotate and list the server's digest keys", load: async () => (await import("./keys.js")).group },
  config: { summary: "Manage CLI config profiles (server and token)", load: async () => (await import("./config-profiles.js")).group },
  completion: {
    summary: "Print a shell completion script (bash or zsh)",
    load: async () => (await import("./completion.js")).completionGroup(commandTree),
  },
};

/** Every command and its flags, from the table above: what the completion scripts complete. */
async function commandTree(): Promise<CompletionNode[]> {
  const flagsOf = (c: Command) => Object.keys(c.options);
  const out: CompletionNode[] = [];
  for (const [name, e] of Object.entries(ENTRIES)) {
    if (name === "completion") {
      out.push({
        name,
        flags: [],
        commands: [
          { name: "bash", flags: [] },
          { name: "zsh", flags: [] },
        ],
      });
      continue;
    }
    const loaded = await e.load();
    out.push(
      "commands" in loaded
        ? { name, flags: [], commands: loaded.commands.map((c) => ({ name: c.name, flags: flagsOf(c) })) }
        : { name, flags: flagsOf(loaded) },
    );
  }
  return out;
}

const TOP_USAGE = [
  "Usage: tessera <command> [flags]",
  "",
  "Tessera issues, stores, verifies and revokes API tokens for observability platforms.",
  "",
  "Commands:",
  ...Object.entries(ENTRIES).map(([name, e]) => `  ${name.padEnd(Math.max(...Object.keys(ENTRIES).map((n) => n.length)))}  ${e.summary}`),
  "",
  'Run "tessera <command> --help" for its flags, "tessera --version" for the version.',
].join("\n");

const isHelp = (a: string | undefined) => a === "--help" || a === "-h" || a === "help";

/** Resolves argv to a command and its remaining arguments, or prints usage and returns a code. */
async function resolve(argv: string[], ctx: Context): Promise<{ cmd: Command; args: string[]; path: string } | number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    ctx.err(TOP_USAGE);
    return EXIT_USAGE;
  }
  if (isHelp(first)) {
    if (first === "help" && rest[0] !== undefined) return resolve([...rest, "--help"], ctx);
    ctx.out(TOP_USAGE);
    return EXIT_OK;
  }
  if (first === "--version" || first === "-V" || first === "version") {
    ctx.out(`tessera ${await version()}`);
    return EXIT_OK;
  }
  const entry = Object.hasOwn(ENTRIES, first) ? ENTRIES[first] : undefined;
  if (entry === undefined) {
    ctx.err(`error: unknown command "${first}"${suggest(first, Object.keys(ENTRIES), "tessera ")}\n\n${TOP_USAGE}`);
    return EXIT_USAGE;
  }
  const loaded = await entry.load();
  if (!("commands" in loaded)) return { cmd: loaded, args: rest, path: first };
  const [sub, ...args] = rest;
  if (sub === undefined || isHelp(sub)) {
    (sub === undefined ? ctx.err : ctx.out)(groupUsage(loaded));
    return sub === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const cmd = loaded.commands.find((c) => c.name === sub);
  if (cmd === undefined) {
    const names = loaded.commands.map((c) => c.name);
    ctx.err(`error: unknown command "tessera ${first} ${sub}"${suggest(sub, names, `tessera ${first} `)}\n\n${groupUsage(loaded)}`);
    return EXIT_USAGE;
  }
  return { cmd, args, path: `${first} ${sub}` };
}

/** ` (did you mean "tessera auth"?)` when a known name is close to what was typed. */
function suggest(typed: string, known: string[], prefix: string): string {
  const m = didYouMean(typed, known);
  return m === undefined ? "" : ` (did you mean "${prefix}${m}"?)`;
}

/** The package's version, from the package.json shipped beside dist/. */
async function version(): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  const pkg = JSON.parse(await readFile(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** One line for the person at the terminal; the exit code says what kind of failure it was. */
function report(err: unknown, cmd: { cmd: Command; path: string } | undefined, ctx: Context): number {
  if (err instanceof UsageError) {
    ctx.err(`error: ${err.message}`);
    if (cmd !== undefined) ctx.err(err.showUsage ? `\n${cmd.cmd.usage}` : `Run "tessera ${cmd.path} --help" for usage.`);
    return EXIT_USAGE;
  }
  if (err instanceof ConfigError) {
    ctx.err(`error: ${err.message}`);
    return EXIT_USAGE;
  }
  if (err instanceof ConnectError) {
    ctx.err(`error: ${err.rawMessage}`);
    if (err.code === Code.Unavailable)
      ctx.err("Is the server running, and is --host (or TESSERA_URL, or the profile's host) its HTTP address?");
    if (err.code === Code.Unauthenticated)
      ctx.err('Check the token: --token or --token-file, TESSERA_TOKEN, or the profile in use (see "tessera config list").');
    return EXIT_FAILED;
  }
  if (err instanceof CliError) {
    ctx.err(`error: ${err.message}`);
    return EXIT_FAILED;
  }
  if (isTesseraError(err)) {
    ctx.err(`error: ${err.publicMessage}`);
    return EXIT_FAILED;
  }
  ctx.err(`error: ${err instanceof Error ? err.message : String(err)}`);
  return EXIT_FAILED;
}

async function main(argv: string[], ctx: Context): Promise<number> {
  let cmd: { cmd: Command; path: string } | undefined;
  try {
    const r = await resolve(argv, ctx);
    if (typeof r === "number") return r;
    cmd = r;
    const flags = parseFlags(r.args, r.cmd.options, r.cmd.positional);
    if (flags["help"] === true) {
      ctx.out(r.cmd.usage);
      return EXIT_OK;
    }
    return await r.cmd.run(flags, ctx);
  } catch (err) {
    return report(err, cmd, ctx);
  }
}

// A reader that went away (`tessera auth list | head -1`) is no error worth a stack trace.
process.stdout.on("error", (err: NodeJS.ErrnoException) => process.exit(err.code === "EPIPE" ? EXIT_OK : EXIT_FAILED));

let interrupt: AbortController | undefined;
const ctx: Context = {
  env: process.env,
  out: (text) => void process.stdout.write(`${text}\n`),
  err: (text) => void process.stderr.write(`${text}\n`),
  stdinIsTTY: process.stdin.isTTY === true,
  // Taken over only when a command asks, so every other command still dies on Ctrl-C at once.
  interrupted: () => {
    if (interrupt === undefined) {
      const ac = new AbortController();
      interrupt = ac;
      process.once("SIGINT", () => ac.abort());
      process.once("SIGTERM", () => ac.abort());
    }
    return interrupt.signal;
  },
};

const code = await main(process.argv.slice(2), ctx);
// Exit explicitly (keep-alive sockets, timers) but only once both streams have flushed.
process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
