/**
 * `tessera keys list|rotate|add|use`: the server's digest keys, changed in its key file instead of
 * by hand. Key material never leaves the file: these commands print key ids, which is current,
 * and where the file is.
 *
 * A server reads its keys only when it starts (app.ts loadKeyring), so every change here takes
 * effect on restart, and every instance sharing the database needs the same file. With one
 * instance, `rotate` (a new key, made current) then a restart is the whole job. With several,
 * a token used on an instance that already has the new current key is re-digested under it, and
 * an instance that does not yet know that key stops finding the token; so such a fleet goes in
 * two steps: `add` (the new key, not yet current) to every instance and restart them all, then
 * `use` it and restart them all again.
 */
import type { Config } from "../config.js";
import { loadConfig } from "../config.js";
import { newKey, parseKeyJson, type KeyMaterial } from "../domain/digest.js";
import { readKeyFile, replaceKeyFile } from "../store/key-file.js";
import { CliError, EXIT_OK, UsageError, bool, requireStr, str, type Command, type Context, type Flags, type Group } from "./command.js";
import { table } from "./output.js";

const WHERE_USAGE = `  --key-file F   the server's digest key file (default: $TESSERA_KEY_FILE or <data-dir>/digest-keys.json)
  --data-dir D   the server's data directory, for its default key file (default: $TESSERA_DATA_DIR or .tessera)
  --json         print {"file", "current", "keys"} (key ids, never key material)`;

const WHERE_OPTIONS = { "key-file": { type: "string" }, "data-dir": { type: "string" }, json: { type: "boolean" } } as const;

const RESTART = "a server reads its keys only when it starts";

function configOf(flags: Flags, ctx: Context): Config {
  if (str(flags, "key-file") !== undefined && str(flags, "data-dir") !== undefined)
    throw new UsageError("give either --key-file or --data-dir, not both");
  return loadConfig({ "data-dir": str(flags, "data-dir"), "key-file": str(flags, "key-file") }, ctx.env);
}

/** The key file's keys; a missing file is an error here, since only the server creates one. */
async function readKeys(file: string): Promise<KeyMaterial> {
  try {
    return await readKeyFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new CliError((err as Error).message);
    throw new CliError(
      `no digest key file at ${file}: the server creates it when it first starts; pass the server's with --key-file or --data-dir`,
    );
  }
}

/** Changing keys in a file the server does not read would change nothing: refuse, and say what to do. */
function refuseEnvironmentKeys(config: Config): void {
  if (config.digestKeys === undefined) return;
  throw new UsageError(
    "TESSERA_DIGEST_KEYS is set, so the server takes its digest keys from the environment, not from a file. " +
      'Change that JSON where you keep it: add a key under a new id (32 random bytes, base64, e.g. "openssl rand -base64 32"), ' +
      'keep the old ones, make the new id "current", and restart every instance; or unset TESSERA_DIGEST_KEYS to use the key file',
  );
}

const idsOf = (m: KeyMaterial) => [...m.keys.keys()].sort((a, b) => a - b);

function print(ctx: Context, flags: Flags, file: string | null, m: KeyMaterial, extra: Record<string, unknown> = {}): void {
  if (bool(flags, "json")) {
    ctx.out(JSON.stringify({ file, current: m.current, keys: idsOf(m), ...extra }, null, 2));
    return;
  }
  ctx.out(
    table(
      ["CURRENT", "ID"],
      idsOf(m).map((id) => [id === m.current ? "*" : "", String(id)]),
    ),
  );
}

const list: Command = {
  name: "list",
  summary: "Show the digest key ids and which is current (never key material)",
  usage: `Usage: tessera keys list [--key-file F | --data-dir D] [--json]

${WHERE_USAGE}

With TESSERA_DIGEST_KEYS set (and no --key-file), lists the keys it holds, as the server would use them.`,
  options: WHERE_OPTIONS,
  async run(flags, ctx) {
    const config = configOf(flags, ctx);
    if (str(flags, "key-file") === undefined && config.digestKeys !== undefined) {
      let m: KeyMaterial;
      try {
        m = parseKeyJson(config.digestKeys, "TESSERA_DIGEST_KEYS");
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      print(ctx, flags, null, m, { source: "TESSERA_DIGEST_KEYS" });
      ctx.err("Keys from TESSERA_DIGEST_KEYS (the server prefers it to any key file).");
      return EXIT_OK;
    }
    print(ctx, flags, config.keyFile, await readKeys(config.keyFile));
    return EXIT_OK;
  },
};

/** A fresh 32-byte key under the next id; current only if asked. */
function withNewKey(m: KeyMaterial, makeCurrent: boolean): { material: KeyMaterial; id: number } {
  const id = Math.max(...m.keys.keys()) + 1;
  const keys = new Map(m.keys);
  keys.set(id, newKey());
  return { material: { current: makeCurrent ? id : m.current, keys }, id };
}

function adding(makeCurrent: boolean): Command {
  const name = makeCurrent ? "rotate" : "add";
  return {
    name,
    summary: makeCurrent
      ? "Add a new random key and make it current (old keys are kept; restart to apply)"
      : "Add a new random key without making it current (first step for several instances)",
    usage: `Usage: tessera keys ${name} [--key-file F | --data-dir D] [--json]

${makeCurrent ? "Adds a new random 32-byte key under the next id and makes it current" : "Adds a new random 32-byte key under the next id; the current key stays current"}.
Older keys are kept, so tokens digested under them keep working (and are re-digested under the
current key the next time they are used). The file is replaced atomically, mode 0600.

${WHERE_USAGE}

Every instance sharing the database needs the new file, and a restart: ${RESTART}.
${
  makeCurrent
    ? `With several instances, rotate in two steps instead: "tessera keys add", copy the file to every
instance and restart them all; then "tessera keys use --id N", copy and restart again. Otherwise a
token re-digested by a restarted instance is not found by one still holding the old keys.`
    : `Then: "tessera keys use --id N", copy the file to every instance, and restart them all again.`
}
Refused when TESSERA_DIGEST_KEYS is set: the server then reads no key file.`,
    options: WHERE_OPTIONS,
    async run(flags, ctx) {
      const config = configOf(flags, ctx);
      refuseEnvironmentKeys(config);
      const before = await readKeys(config.keyFile);
      const { material, id } = withNewKey(before, makeCurrent);
      await replaceKeyFile(config.keyFile, material);
      print(ctx, flags, config.keyFile, material, { added: id, previous: before.current });
      ctx.err(
        `Added key ${id}${makeCurrent ? ` and made it current (was ${before.current})` : ` (current is still ${before.current})`} in ${config.keyFile}; ` +
          `kept ${idsOf(before).join(", ")}. Copy the file to every instance sharing the database and restart them: ${RESTART}.`,
      );
      return EXIT_OK;
    },
  };
}

const use: Command = {
  name: "use",
  summary: "Make an existing key current (second step after keys add; restart to apply)",
  usage: `Usage: tessera keys use --id N [--key-file F | --data-dir D] [--json]

  --id N, N      the key to make current; it must be in the file already (see "tessera keys list")
${WHERE_USAGE}

Every instance sharing the database needs the new file, and a restart: ${RESTART}.
Refused when TESSERA_DIGEST_KEYS is set: the server then reads no key file.`,
  positional: "id",
  options: { ...WHERE_OPTIONS, id: { type: "string" } },
  async run(flags, ctx) {
    const raw = requireStr(flags, "id");
    const config = configOf(flags, ctx);
    refuseEnvironmentKeys(config);
    const before = await readKeys(config.keyFile);
    const id = /^[1-9][0-9]{0,8}$/.test(raw) ? Number(raw) : undefined;
    if (id === undefined || !before.keys.has(id))
      throw new UsageError(`--id ${raw.slice(0, 20)}: no such key in ${config.keyFile}; it holds ${idsOf(before).join(", ")}`);
    const material = { current: id, keys: before.keys };
    if (id !== before.current) await replaceKeyFile(config.keyFile, material);
    print(ctx, flags, config.keyFile, material, { previous: before.current });
    ctx.err(
      id === before.current
        ? `Key ${id} is already current in ${config.keyFile}; nothing changed.`
        : `Made key ${id} current (was ${before.current}) in ${config.keyFile}. Copy the file to every instance sharing the database and restart them: ${RESTART}.`,
    );
    return EXIT_OK;
  },
};

export const group: Group = {
  name: "keys",
  summary: "Manage the server's digest keys: list, rotate (or add, then use). Run on the server's machine.",
  commands: [list, adding(true), adding(false), use],
};
