/**
 * The CLI's own configuration: named profiles, each a server and the token to present there, one
 * of them active (like `influx config`). `tessera setup` and `tessera config create` write them
 * (mode 0600 in a 0700 directory, replaced atomically); every API command reads them. Per value,
 * flags (--host, --token or --token-file) beat environment variables (TESSERA_URL, TESSERA_TOKEN),
 * which beat the profile chosen with --profile or TESSERA_PROFILE, else the active one.
 *
 * The file is {"active": "prod", "profiles": {"prod": {host, token, org}}}. The single-object file
 * earlier versions wrote ({host, token, org}) still reads, as one active profile named "default",
 * and becomes the new form the first time the CLI writes it. This module is the CLI's only reader
 * of the environment for connections, which main.ts hands in.
 */
import { mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { CliError, UsageError, str, type Flags, type Options } from "./command.js";
import { didYouMean } from "./did-you-mean.js";
import { oneStdinReader, secretFlag } from "./value-source.js";

/** One server and the token to present there. Fields a hand-edited file lacks stay undefined. */
interface Profile {
  host?: string;
  token?: string;
  /** Identifier of the organization it was made for; informational. */
  org?: string;
}

export interface CliConfig {
  active: string | undefined;
  /** A Map, so a profile named like an Object.prototype member is only a name. */
  profiles: Map<string, Profile>;
}

/** The profile name earlier versions' single-object file reads as, and what setup writes by default. */
export const DEFAULT_PROFILE = "default";

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** A name a profile may have: letters, digits, `_`, `.`, `-`, at most 64, starting with a letter or digit. */
export function checkProfileName(name: string, source: string): string {
  if (!PROFILE_NAME.test(name))
    throw new UsageError(`${source} must be 1 to 64 letters, digits, "_", "." or "-", starting with a letter or digit`);
  return name;
}

export const DEFAULT_HOST = "http://127.0.0.1:8080";

/** Flags every command that calls the API accepts. */
export const CONNECTION_OPTIONS: Options = {
  host: { type: "string" },
  token: { type: "string", short: "t" },
  "token-file": { type: "string" },
  profile: { type: "string", short: "c" },
  config: { type: "string" },
};

export const CONNECTION_USAGE = `Connection flags:
  --host URL             Tessera HTTP address (default: $TESSERA_URL, then the profile's host)
  -t, --token TOKEN      token to authenticate with (default: $TESSERA_TOKEN, then the profile's token)
  --token-file PATH      read the token from a file ("-": standard input) instead of the command line
  -c, --profile NAME     CLI config profile to use (default: $TESSERA_PROFILE, then the active one;
                         see "tessera config list")
  --config PATH          CLI config file (default: $TESSERA_CONFIG or ~/.config/tessera/config.json)`;

/** `--config`, else $TESSERA_CONFIG, else $XDG_CONFIG_HOME/tessera/config.json or ~/.config/tessera/config.json. */
export function cliConfigPath(flags: Flags, env: NodeJS.ProcessEnv): string {
  const explicit = str(flags, "config") ?? (env.TESSERA_CONFIG || undefined);
  if (explicit !== undefined) return path.resolve(explicit);
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), ".config");
  return path.join(base, "tessera", "config.json");
}

/** Checks that `raw` is an http(s) base URL and returns it without a trailing slash. */
export function normalizeHost(raw: string, source: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(`${source} must be a URL such as ${DEFAULT_HOST}, got "${raw}"`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new UsageError(`${source} must be an http:// or https:// URL, got "${raw}"`);
  }
  return raw.replace(/\/+$/, "");
}

const pickString = (d: Record<string, unknown>, k: string) => (typeof d[k] === "string" ? (d[k] as string) : undefined);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The profiles in `file`; undefined when there is no file. Both file forms are read. */
export async function readCliConfig(file: string, warn: (text: string) => void): Promise<CliConfig | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CliError(`cannot read the CLI config ${file}: ${(err as Error).message}`);
  }
  if (process.platform !== "win32") {
    const mode = (await stat(file)).mode & 0o777;
    if ((mode & 0o077) !== 0)
      warn(`warning: ${file} holds tokens but has mode ${mode.toString(8).padStart(4, "0")}; run: chmod 600 ${file}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new CliError(`the CLI config ${file} is not valid JSON`);
  }
  if (!isObject(doc)) throw new CliError(`the CLI config ${file} must hold a JSON object`);
  const profileOf = (d: Record<string, unknown>): Profile => ({
    host: pickString(d, "host"),
    token: pickString(d, "token"),
    org: pickString(d, "org"),
  });
  if (!("profiles" in doc)) {
    // Earlier versions' single object: one profile, active.
    const p = profileOf(doc);
    return p.host === undefined && p.token === undefined
      ? { active: undefined, profiles: new Map() }
      : { active: DEFAULT_PROFILE, profiles: new Map([[DEFAULT_PROFILE, p]]) };
  }
  if (!isObject(doc.profiles)) throw new CliError(`the CLI config ${file}: "profiles" must be an object of named profiles`);
  const profiles = new Map<string, Profile>();
  for (const [name, p] of Object.entries(doc.profiles)) {
    if (!isObject(p)) throw new CliError(`the CLI config ${file}: profile "${clip(name)}" must be an object with host and token`);
    profiles.set(name, profileOf(p));
  }
  let active = pickString(doc, "active");
  if (active !== undefined && !profiles.has(active)) {
    warn(`warning: ${file} names "${clip(active)}" as the active profile but holds no such profile; none is active`);
    active = undefined;
  }
  return { active, profiles };
}

/** A name from a file, shown in a message: cut short, control characters replaced. */
const clip = (name: string) => name.slice(0, 64).replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");

/**
 * Writes the config with mode 0600, its directory 0700: a complete temp file renamed over the old
 * one, so the file is never half-written and never briefly readable by others. Always in the
 * profiles form, whichever form was read.
 */
export async function writeCliConfig(file: string, cfg: CliConfig): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const doc = { ...(cfg.active === undefined ? {} : { active: cfg.active }), profiles: Object.fromEntries(cfg.profiles) };
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  await writePrivate(tmp, `${JSON.stringify(doc, null, 2)}\n`);
  try {
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Creates `file` (failing if it exists) with mode 0600 whatever the umask. */
export async function writePrivate(file: string, body: string): Promise<void> {
  const fh = await open(file, "wx", 0o600);
  try {
    await fh.chmod(0o600);
    await fh.writeFile(body, "utf8");
  } finally {
    await fh.close();
  }
}

export interface Connection {
  host: string;
  token: string;
}

/**
 * The profile a command uses: the one named by --profile, else TESSERA_PROFILE, else the active
 * one; undefined when none is named and none is active. A name the file does not hold is a usage
 * error that lists the ones it does.
 */
function chooseProfile(
  cfg: CliConfig | undefined,
  flags: Flags,
  env: NodeJS.ProcessEnv,
  file: string,
): { name: string; profile: Profile } | undefined {
  const flag = str(flags, "profile");
  const named = flag ?? (env.TESSERA_PROFILE || undefined);
  if (named === undefined) {
    const active = cfg?.active;
    return active === undefined ? undefined : { name: active, profile: cfg!.profiles.get(active)! };
  }
  const profile = cfg?.profiles.get(named);
  if (profile !== undefined) return { name: named, profile };
  throw unknownProfile(named, flag !== undefined ? "--profile" : "TESSERA_PROFILE", cfg, file);
}

/** `--profile prdo: no such profile in FILE (did you mean "prod"?); known: dev, prod`. */
export function unknownProfile(name: string, source: string, cfg: CliConfig | undefined, file: string): UsageError {
  const known = [...(cfg?.profiles.keys() ?? [])].sort();
  if (known.length === 0)
    return new UsageError(`${source} ${clip(name)}: ${file} holds no profiles; create one with "tessera config create" or "tessera setup"`);
  const near = didYouMean(name, known);
  return new UsageError(
    `${source} ${clip(name)}: no such profile in ${file}${near === undefined ? "" : ` (did you mean "${near}"?)`}; known: ${known.map(clip).join(", ")}`,
  );
}

/**
 * Where to connect and with which token, each value on its own: flag, then environment, then
 * the chosen profile. `stdinIsTTY` refuses `--token-file -` at a terminal.
 */
export async function resolveConnection(
  flags: Flags,
  env: NodeJS.ProcessEnv,
  warn: (text: string) => void,
  stdinIsTTY = process.stdin.isTTY === true,
): Promise<Connection> {
  oneStdinReader(flags, ["token-file", "value-file", "file"]);
  const file = cliConfigPath(flags, env);
  const chosen = chooseProfile(await readCliConfig(file, warn), flags, env, file);
  const fromProfile = chosen?.profile;
  const hostFlag = str(flags, "host");
  const envHost = env.TESSERA_URL || undefined;
  const host =
    hostFlag !== undefined
      ? normalizeHost(hostFlag, "--host")
      : envHost !== undefined
        ? normalizeHost(envHost, "TESSERA_URL")
        : fromProfile?.host !== undefined
          ? normalizeHost(fromProfile.host, `the host of profile "${chosen!.name}" in ${file}`)
          : DEFAULT_HOST;
  const token = (await secretFlag(flags, "token", stdinIsTTY)) ?? (env.TESSERA_TOKEN || undefined) ?? fromProfile?.token;
  if (token === undefined || token === "") {
    const where = chosen === undefined ? `no profile is active in ${file}` : `profile "${chosen.name}" in ${file} has none`;
    throw new UsageError(
      `no token to authenticate with: run "tessera setup" or "tessera config create", or pass --token-file or set TESSERA_TOKEN (${where})`,
      false,
    );
  }
  return { host, token };
}
