/**
 * `tessera config create|list|use|rm`: the CLI config's named profiles, like `influx config`.
 * A profile is a server and the token to present there; the active one is what every API command
 * uses unless --profile (or TESSERA_PROFILE) names another. Tokens go in through a file, standard
 * input or TESSERA_TOKEN as well as --token, and come out only masked.
 */
import { maskToken, parseToken } from "../domain/token-format.js";
import {
  checkProfileName,
  cliConfigPath,
  normalizeHost,
  readCliConfig,
  unknownProfile,
  writeCliConfig,
  type CliConfig,
} from "./cli-config.js";
import { CliError, EXIT_OK, UsageError, bool, requireStr, str, type Command, type Context, type Flags, type Group } from "./command.js";
import { clean, table } from "./output.js";
import { secretFlag } from "./value-source.js";

const FILE_USAGE = "  --config PATH          the CLI config file (default: $TESSERA_CONFIG or ~/.config/tessera/config.json)";

async function load(flags: Flags, ctx: Context): Promise<{ file: string; cfg: CliConfig }> {
  const file = cliConfigPath(flags, ctx.env);
  return { file, cfg: (await readCliConfig(file, ctx.err)) ?? { active: undefined, profiles: new Map() } };
}

/** A stored token as lists show it: the mask the server shows, never more. */
const masked = (token: string | undefined) => (token === undefined || token === "" ? "-" : maskToken(token));

interface ProfileRow {
  name: string;
  active: boolean;
  host: string | null;
  org: string | null;
  token: string;
}

function rows(cfg: CliConfig): ProfileRow[] {
  return [...cfg.profiles.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, p]) => ({ name, active: name === cfg.active, host: p.host ?? null, org: p.org ?? null, token: masked(p.token) }));
}

const create: Command = {
  name: "create",
  summary: "Add a profile: a server and the token to use there",
  usage: `Usage: tessera config create NAME --host URL [--token-file PATH | -t TOKEN] [--org IDENTIFIER] [--active] [flags]

  NAME, -n, --name NAME  the profile's name (letters, digits, "_", "." or "-")
  --host URL             the server's HTTP address (required)
  --token-file PATH      read the token from a file ("-": standard input)
  -t, --token TOKEN      the token itself (lands in shell history; prefer --token-file)
                         with neither, $TESSERA_TOKEN is used
  -o, --org IDENTIFIER   the organization it is for (informational)
  --active               make it the active profile (the first profile always is)
  --force                replace a profile of that name
  --json                 print the profile as JSON (token masked)
${FILE_USAGE}`,
  positional: "name",
  options: {
    name: { type: "string", short: "n" },
    host: { type: "string" },
    token: { type: "string", short: "t" },
    "token-file": { type: "string" },
    org: { type: "string", short: "o" },
    active: { type: "boolean" },
    force: { type: "boolean" },
    json: { type: "boolean" },
    config: { type: "string" },
  },
  async run(flags, ctx) {
    const name = checkProfileName(requireStr(flags, "name"), "the profile name");
    const host = normalizeHost(requireStr(flags, "host"), "--host");
    const token = (await secretFlag(flags, "token", ctx.stdinIsTTY)) ?? (ctx.env.TESSERA_TOKEN || undefined);
    if (token === undefined)
      throw new UsageError('no token for the profile: pass --token-file PATH ("-": standard input) or set TESSERA_TOKEN', true);
    // Checked here rather than on first use; the reason says what is wrong, never the value.
    const parsed = parseToken(token);
    if (!parsed.ok) throw new UsageError(`the token is not a well-formed Tessera token: ${parsed.reason}`);
    const org = str(flags, "org");
    const { file, cfg } = await load(flags, ctx);
    const replacing = cfg.profiles.has(name);
    if (replacing && !bool(flags, "force")) throw new CliError(`profile "${name}" already exists in ${file}; pass --force to replace it`);
    cfg.profiles.set(name, { host, token, ...(org === undefined ? {} : { org }) });
    if (bool(flags, "active") || cfg.active === undefined) cfg.active = name;
    await writeCliConfig(file, cfg);
    const row = rows(cfg).find((r) => r.name === name)!;
    if (bool(flags, "json")) ctx.out(JSON.stringify(row, null, 2));
    else ctx.out(name);
    ctx.err(`${replacing ? "Replaced" : "Created"} profile "${name}" (${host})${row.active ? ", active," : ""} in ${file}.`);
    return EXIT_OK;
  },
};

const list: Command = {
  name: "list",
  summary: "List the profiles, the active one marked (tokens masked)",
  usage: `Usage: tessera config list [--json]

  --json                 print [{"name", "active", "host", "org", "token"}] (token masked)
${FILE_USAGE}

The active profile is marked with * in the ACTIVE column.`,
  options: { json: { type: "boolean" }, config: { type: "string" } },
  async run(flags, ctx) {
    const { file, cfg } = await load(flags, ctx);
    const all = rows(cfg);
    if (bool(flags, "json")) {
      ctx.out(JSON.stringify(all, null, 2));
      return EXIT_OK;
    }
    ctx.out(
      table(
        ["ACTIVE", "NAME", "HOST", "ORG", "TOKEN"],
        all.map((r) => [r.active ? "*" : "", r.name, r.host ?? "-", r.org ?? "-", r.token]),
      ),
    );
    if (all.length === 0) ctx.err(`No profiles in ${file}: create one with "tessera config create" or "tessera setup".`);
    return EXIT_OK;
  },
};

const use: Command = {
  name: "use",
  summary: "Make a profile the active one",
  usage: `Usage: tessera config use NAME

  NAME, -n, --name NAME  the profile every command uses from now on (unless --profile or $TESSERA_PROFILE says otherwise)
${FILE_USAGE}`,
  positional: "name",
  options: { name: { type: "string", short: "n" }, config: { type: "string" } },
  async run(flags, ctx) {
    const name = requireStr(flags, "name");
    const { file, cfg } = await load(flags, ctx);
    const p = cfg.profiles.get(name);
    if (p === undefined) throw unknownProfile(name, "profile", cfg, file);
    cfg.active = name;
    await writeCliConfig(file, cfg);
    ctx.err(`Active profile: ${name} (${clean(p.host ?? "no host")}).`);
    return EXIT_OK;
  },
};

const rm: Command = {
  name: "rm",
  summary: "Remove a profile (the active one only with --force)",
  usage: `Usage: tessera config rm NAME [--force]

  NAME, -n, --name NAME  the profile to remove; its token is deleted from the file
  --force                also remove the active profile; no profile is active afterwards
                         (choose one with "tessera config use")
${FILE_USAGE}`,
  positional: "name",
  options: { name: { type: "string", short: "n" }, force: { type: "boolean" }, config: { type: "string" } },
  async run(flags, ctx) {
    const name = requireStr(flags, "name");
    const { file, cfg } = await load(flags, ctx);
    if (!cfg.profiles.has(name)) throw unknownProfile(name, "profile", cfg, file);
    const wasActive = cfg.active === name;
    if (wasActive && !bool(flags, "force"))
      throw new CliError(
        `profile "${name}" is the active one: pass --force to remove it anyway (no profile is active afterwards), or make another active first with "tessera config use"`,
      );
    cfg.profiles.delete(name);
    if (wasActive) cfg.active = undefined;
    await writeCliConfig(file, cfg);
    ctx.err(
      `Removed profile "${name}" from ${file}.${wasActive ? ' No profile is active now: choose one with "tessera config use".' : ""}`,
    );
    return EXIT_OK;
  },
};

export const group: Group = {
  name: "config",
  summary: "Manage CLI config profiles: create, list, use, rm.",
  commands: [create, list, use, rm],
};
