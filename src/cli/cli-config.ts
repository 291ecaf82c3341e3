/**
 * The CLI's own configuration: where the server is and which token to present. `tessera setup`
 * writes it once ({ host, token, org }, mode 0600 in a 0700 directory, like `influx setup`); every
 * API command reads it. Flags beat environment variables (TESSERA_URL, TESSERA_TOKEN), which
 * beat the file. This module is the CLI's only reader of the environment, which main.ts hands in.
 */
import { mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { CliError, UsageError, str, type Flags, type Options } from "./command.js";

export interface CliConfigFile {
  host: string;
  token: string;
  /** Identifier of the organization setup created; informational. */
  org: string;
}

export const DEFAULT_HOST = "http://127.0.0.1:8080";

/** Flags every command that calls the API accepts. */
export const CONNECTION_OPTIONS: Options = {
  host: { type: "string" },
  token: { type: "string" },
  config: { type: "string" },
};

export const CONNECTION_USAGE = `Connection flags:
  --host URL       Tessera HTTP address (default: $TESSERA_URL, then the config file)
  --token TOKEN    token to authenticate with (default: $TESSERA_TOKEN, then the config file)
  --config PATH    CLI config file (default: $TESSERA_CONFIG or ~/.config/tessera/config.json)`;

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

async function readCliConfig(file: string, warn: (text: string) => void): Promise<Partial<CliConfigFile> | undefined> {
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
      warn(`warning: ${file} holds a token but has mode ${mode.toString(8).padStart(4, "0")}; run: chmod 600 ${file}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new CliError(`the CLI config ${file} is not valid JSON`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new CliError(`the CLI config ${file} must hold a JSON object`);
  const d = doc as Record<string, unknown>;
  const pick = (k: keyof CliConfigFile) => (typeof d[k] === "string" ? (d[k] as string) : undefined);
  return { host: pick("host"), token: pick("token"), org: pick("org") };
}

export async function configExists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

/**
 * Writes the config with mode 0600, its directory 0700. Without `force` an existing file is
 * never replaced (`wx`); with it, a complete temp file is renamed over the old one, so the file
 * is never half-written and never briefly readable by others.
 */
export async function writeCliConfig(file: string, cfg: CliConfigFile, opts: { force: boolean }): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const body = `${JSON.stringify(cfg, null, 2)}\n`;
  if (!opts.force) {
    await writePrivate(file, body);
    return;
  }
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  await writePrivate(tmp, body);
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

/** Where to connect and with which token: flag, then environment, then config file. */
export async function resolveConnection(flags: Flags, env: NodeJS.ProcessEnv, warn: (text: string) => void): Promise<Connection> {
  const file = cliConfigPath(flags, env);
  const fromFile = await readCliConfig(file, warn);
  const hostFlag = str(flags, "host");
  const envHost = env.TESSERA_URL || undefined;
  const host =
    hostFlag !== undefined
      ? normalizeHost(hostFlag, "--host")
      : envHost !== undefined
        ? normalizeHost(envHost, "TESSERA_URL")
        : fromFile?.host !== undefined
          ? normalizeHost(fromFile.host, `"host" in ${file}`)
          : DEFAULT_HOST;
  const token = str(flags, "token") ?? (env.TESSERA_TOKEN || undefined) ?? fromFile?.token;
  if (token === undefined || token === "") {
    throw new UsageError(
      `no token to authenticate with: run "tessera setup" first, or pass --token or set TESSERA_TOKEN (looked for ${file})`,
      false,
    );
  }
  return { host, token };
}
