/**
 * `tessera setup`: the first root user, organization, bucket and operator token, exactly once
 * (TokenAdminService.Setup), then the CLI config profile that lets every later command
 * authenticate: added to the config file and made active. The profile name is checked before
 * the server is called: setting up the instance and then failing to save its only operator
 * token would leave nobody holding it.
 */
import { ConnectError } from "@connectrpc/connect";
import type { SetupResponse } from "../gen/tessera/v1/token_admin_service_pb.js";
import { parseToken, TOKEN_PREFIXES } from "../domain/token-format.js";
import { createAdminClient } from "./api.js";
import {
  DEFAULT_HOST,
  DEFAULT_PROFILE,
  checkProfileName,
  cliConfigPath,
  normalizeHost,
  readCliConfig,
  writeCliConfig,
} from "./cli-config.js";
import { CliError, EXIT_FAILED, EXIT_OK, UsageError, bool, str, type Command, type Context, type Flags } from "./command.js";
import { clean, showSecret } from "./output.js";
import { ask } from "./prompt.js";
import { secretFlag } from "./value-source.js";

/**
 * The operator token value setup is to use instead of a generated one: --token, --token-file or
 * TESSERA_SETUP_TOKEN (not TESSERA_TOKEN, which is the token other commands present: a shell
 * holding one for another instance must not silently make it this instance's operator token).
 */
async function suppliedValue(flags: Flags, ctx: Context): Promise<string> {
  const fromFlags = await secretFlag(flags, "token", ctx.stdinIsTTY);
  const value = fromFlags ?? (ctx.env.TESSERA_SETUP_TOKEN || undefined);
  if (value === undefined) return "";
  const source = fromFlags === undefined ? "TESSERA_SETUP_TOKEN" : str(flags, "token") !== undefined ? "--token" : "--token-file";
  const parsed = parseToken(value);
  if (!parsed.ok) throw new UsageError(`${source} is not a well-formed token: ${parsed.reason}`);
  if (parsed.kind !== "OPERATOR") throw new UsageError(`${source} must be an operator token (starting with ${TOKEN_PREFIXES.OPERATOR})`);
  return value;
}

const REQUIRED = [
  { key: "username", label: "Root user name" },
  { key: "org", label: "Organization identifier" },
  { key: "bucket", label: "First bucket name" },
];

async function requiredValues(flags: Flags, ctx: Context): Promise<Record<string, string>> {
  const have: Record<string, string> = {};
  const missing = REQUIRED.filter((q) => {
    const v = str(flags, q.key);
    if (v !== undefined && v !== "") have[q.key] = v;
    return have[q.key] === undefined;
  });
  if (missing.length === 0) return have;
  if (!ctx.stdinIsTTY) throw new UsageError(`missing ${missing.map((q) => `--${q.key}`).join(", ")} (no terminal to ask at)`, true);
  return { ...have, ...(await ask(missing)) };
}

export const command: Command = {
  name: "setup",
  summary: "Set up a new instance: first user, organization, bucket and operator token",
  usage: `Usage: tessera setup --username NAME --org IDENTIFIER --bucket NAME [flags]

  --host URL             Tessera HTTP address (default: $TESSERA_URL or ${DEFAULT_HOST})
  --username NAME        the first (root) user
  --org IDENTIFIER       the first organization's identifier
  --bucket NAME          the first bucket
  -t, --token VALUE      use this operator token value (a ${TOKEN_PREFIXES.OPERATOR} token) instead of a generated one
  --token-file PATH      the same, read from a file ("-": standard input); or set $TESSERA_SETUP_TOKEN
  -c, --profile NAME     the CLI config profile to save host, token and organization as, made active
                         (default: $TESSERA_PROFILE or "${DEFAULT_PROFILE}"); other profiles are kept
  --config PATH          the CLI config file (default: $TESSERA_CONFIG or ~/.config/tessera/config.json; mode 0600)
  --force                replace a profile of that name
  --json                 print {"value", "profile", "host", "user", "organization", "bucket"} as one JSON object

At a terminal, missing values are asked for. The operator token is printed once, alone on stdout.`,
  options: {
    host: { type: "string" },
    username: { type: "string" },
    org: { type: "string" },
    bucket: { type: "string" },
    token: { type: "string", short: "t" },
    "token-file": { type: "string" },
    profile: { type: "string", short: "c" },
    config: { type: "string" },
    force: { type: "boolean" },
    json: { type: "boolean" },
  },
  async run(flags, ctx) {
    const hostFlag = str(flags, "host") ?? (ctx.env.TESSERA_URL || undefined);
    const host =
      hostFlag === undefined ? DEFAULT_HOST : normalizeHost(hostFlag, str(flags, "host") !== undefined ? "--host" : "TESSERA_URL");
    const profileFlag = str(flags, "profile");
    const profile = checkProfileName(
      profileFlag ?? (ctx.env.TESSERA_PROFILE || DEFAULT_PROFILE),
      profileFlag !== undefined ? "--profile" : "TESSERA_PROFILE",
    );
    const tokenValue = await suppliedValue(flags, ctx);
    const file = cliConfigPath(flags, ctx.env);
    const force = bool(flags, "force");
    const existing = await readCliConfig(file, ctx.err);
    if (!force && existing?.profiles.has(profile)) {
      throw new CliError(
        `the CLI config ${file} already has a profile "${profile}"; pass --force to replace it, or --profile NAME to add another`,
      );
    }
    const v = await requiredValues(flags, ctx);

    let res: SetupResponse;
    try {
      res = await createAdminClient(host).setup({
        userName: v["username"]!,
        organizationIdentifier: v["org"]!,
        bucketName: v["bucket"]!,
        tokenValue,
      });
    } catch (err) {
      if (err instanceof ConnectError && /already set up/i.test(err.rawMessage)) {
        throw new CliError(
          `${err.rawMessage}: the operator token was shown by the first setup. If it is lost, run "tessera recovery create-operator" on the server`,
        );
      }
      throw err;
    }
    const org = res.organization!;
    ctx.err(
      `Set up ${host}: root user ${clean(res.user!.name)}, organization ${clean(org.identifier)} (id ${org.id}), bucket ${clean(res.bucket!.name)}.`,
    );
    if (bool(flags, "json")) {
      ctx.out(
        JSON.stringify(
          {
            value: res.tokenValue,
            profile,
            host,
            user: { id: res.user!.id, name: res.user!.name },
            organization: { id: org.id, identifier: org.identifier },
            bucket: { id: res.bucket!.id, name: res.bucket!.name },
          },
          null,
          2,
        ),
      );
      ctx.err('Store the operator token ("value") safely: it reaches every organization and is shown only once.');
    } else {
      ctx.err("Operator token (it reaches every organization):");
      showSecret(ctx, res.tokenValue);
    }
    try {
      // Read again: another CLI may have changed the file while the server was called.
      const cfg = (await readCliConfig(file, () => undefined)) ?? { active: undefined, profiles: new Map() };
      cfg.profiles.set(profile, { host, token: res.tokenValue, org: org.identifier });
      cfg.active = profile;
      await writeCliConfig(file, cfg);
    } catch (err) {
      ctx.err(`error: the instance is set up, but the CLI config could not be saved to ${file}: ${(err as Error).message}`);
      ctx.err("Keep the operator token printed above: it will not be shown again.");
      return EXIT_FAILED;
    }
    ctx.err(`Saved host, token and organization as profile "${profile}" (active) in ${file} (mode 0600).`);
    return EXIT_OK;
  },
};
