/**
 * `tessera setup`: the first root user, organization, bucket and operator token, exactly once
 * (TokenAdminService.Setup), then the CLI config that lets every later command authenticate.
 * The config file is checked before the server is called: setting up the instance and then
 * failing to save its only operator token would leave nobody holding it.
 */
import { ConnectError } from "@connectrpc/connect";
import type { SetupResponse } from "../gen/tessera/v1/token_admin_service_pb.js";
import { parseToken, TOKEN_PREFIXES } from "../domain/token-format.js";
import { createAdminClient } from "./api.js";
import { DEFAULT_HOST, cliConfigPath, configExists, normalizeHost, writeCliConfig } from "./cli-config.js";
import { CliError, EXIT_FAILED, EXIT_OK, UsageError, bool, str, type Command, type Context, type Flags } from "./command.js";
import { clean, showSecret } from "./output.js";
import { ask } from "./prompt.js";

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

  --host URL         Tessera HTTP address (default: $TESSERA_URL or ${DEFAULT_HOST})
  --username NAME    the first (root) user
  --org IDENTIFIER   the first organization's identifier
  --bucket NAME      the first bucket
  --token VALUE      use this operator token value (a ${TOKEN_PREFIXES.OPERATOR} token) instead of a generated one
  --config PATH      where to save host, token and organization
                     (default: $TESSERA_CONFIG or ~/.config/tessera/config.json; mode 0600)
  --force            overwrite an existing CLI config

At a terminal, missing values are asked for. The operator token is printed once, alone on stdout.`,
  options: {
    host: { type: "string" },
    username: { type: "string" },
    org: { type: "string" },
    bucket: { type: "string" },
    token: { type: "string" },
    config: { type: "string" },
    force: { type: "boolean" },
  },
  async run(flags, ctx) {
    const hostFlag = str(flags, "host") ?? (ctx.env.TESSERA_URL || undefined);
    const host =
      hostFlag === undefined ? DEFAULT_HOST : normalizeHost(hostFlag, str(flags, "host") !== undefined ? "--host" : "TESSERA_URL");
    const tokenValue = str(flags, "token") ?? "";
    if (tokenValue !== "") {
      const parsed = parseToken(tokenValue);
      if (!parsed.ok) throw new UsageError(`--token is not a well-formed token: ${parsed.reason}`);
      if (parsed.kind !== "OPERATOR") throw new UsageError(`--token must be an operator token (starting with ${TOKEN_PREFIXES.OPERATOR})`);
    }
    const file = cliConfigPath(flags, ctx.env);
    const force = bool(flags, "force");
    if (!force && (await configExists(file))) {
      throw new CliError(`a CLI config already exists at ${file}; pass --force to replace it, or --config to write another one`);
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
    ctx.err("Operator token (it reaches every organization):");
    showSecret(ctx, res.tokenValue);
    try {
      await writeCliConfig(file, { host, token: res.tokenValue, org: org.identifier }, { force });
    } catch (err) {
      ctx.err(`error: the instance is set up, but the CLI config could not be saved to ${file}: ${(err as Error).message}`);
      ctx.err("Keep the operator token printed above: it will not be shown again.");
      return EXIT_FAILED;
    }
    ctx.err(`Saved host, token and organization to ${file} (mode 0600).`);
    return EXIT_OK;
  },
};
