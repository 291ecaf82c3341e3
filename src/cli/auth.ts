/**
 * `tessera auth …`: token management in the spirit of `influx auth`. Lists show masks only;
 * a value appears once, when a token is created or rotated, through showSecret(). Each command
 * is one TokenAdminService call (list follows every page).
 */
import { toJson } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { TokenDisabledReason, TokenSchema, type Token } from "../gen/tessera/v1/resources_pb.js";
import { createAdminClient, type AdminClient } from "./api.js";
import { update } from "./auth-update.js";
import { CONNECTION_OPTIONS, CONNECTION_USAGE, resolveConnection } from "./cli-config.js";
import { EXIT_OK, UsageError, bool, requireStr, str, type Command, type Context, type Flags, type Group } from "./command.js";
import { clean, kindName, showSecret, table, when } from "./output.js";
import { createTokenRequest, KINDS, parseDuration, parseKind } from "./token-flags.js";
import { broughtValue } from "./value-source.js";

async function client(flags: Flags, ctx: Context): Promise<AdminClient> {
  const conn = await resolveConnection(flags, ctx.env, ctx.err);
  return createAdminClient(conn.host, conn.token);
}

const tokenLine = (t: Token) => `${kindName(t.kind)} token ${clean(t.name)} (id ${t.id}, ${t.maskedValue})`;

const list: Command = {
  name: "list",
  summary: "List tokens (masked), default ingestion token first",
  usage: `Usage: tessera auth list [--org-id ID] [--kind KIND] [--owner-id ID] [--enabled | --disabled] [--name-prefix P] [--json]

  --org-id ID       organization to list (default: your token's organization)
  --kind KIND       only tokens of this kind: ${Object.keys(KINDS).join(", ")}
  --owner-id ID     only tokens owned by this user
  --enabled         only enabled tokens
  --disabled        only disabled tokens
  --name-prefix P   only tokens whose name starts with P (case-sensitive; "_" is no wildcard)
  --json            print the tokens as JSON (protobuf JSON mapping)

${CONNECTION_USAGE}`,
  options: {
    ...CONNECTION_OPTIONS,
    "org-id": { type: "string" },
    kind: { type: "string" },
    "owner-id": { type: "string" },
    enabled: { type: "boolean" },
    disabled: { type: "boolean" },
    "name-prefix": { type: "string" },
    json: { type: "boolean" },
  },
  async run(flags, ctx) {
    const kindText = str(flags, "kind");
    const kind = kindText === undefined ? undefined : parseKind(kindText);
    if (bool(flags, "enabled") && bool(flags, "disabled")) throw new UsageError("give either --enabled or --disabled, not both");
    const enabled = bool(flags, "enabled") ? true : bool(flags, "disabled") ? false : undefined;
    const api = await client(flags, ctx);
    const tokens: Token[] = [];
    let pageToken = "";
    do {
      const page = await api.listTokens({
        organizationId: str(flags, "org-id") ?? "",
        pageSize: 1000,
        pageToken,
        ...(kind === undefined ? {} : { kind }),
        ownerUserId: str(flags, "owner-id") ?? "",
        ...(enabled === undefined ? {} : { enabled }),
        namePrefix: str(flags, "name-prefix") ?? "",
      });
      tokens.push(...page.tokens);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    if (bool(flags, "json")) {
      ctx.out(
        JSON.stringify(
          tokens.map((t) => toJson(TokenSchema, t)),
          null,
          2,
        ),
      );
      return EXIT_OK;
    }
    ctx.out(
      table(
        ["ID", "NAME", "KIND", "MASKED VALUE", "ENABLED", "DESCRIPTION", "CREATED", "LAST USED"],
        tokens.map((t) => [
          t.id,
          t.name,
          kindName(t.kind),
          t.maskedValue,
          t.enabled ? "yes" : t.disabledReason === TokenDisabledReason.IDLE ? "no (idle)" : "no",
          t.description,
          when(t.createTime),
          when(t.lastUsedTime),
        ]),
      ),
    );
    // Tokens in a rotation's grace period: when the old value stops, and whether it is still sent.
    for (const t of tokens) {
      const p = t.previousValue;
      if (p === undefined) continue;
      ctx.err(
        `${clean(t.name)}: previous value ${p.maskedValue} works until ${when(p.expireTime)}, last used ${p.lastUsedTime ? when(p.lastUsedTime) : "never"}`,
      );
    }
    return EXIT_OK;
  },
};

const create: Command = {
  name: "create",
  summary: "Create a token and print its value (shown once)",
  usage: `Usage: tessera auth create --name NAME --kind KIND [flags]

  --name NAME            token name, [A-Za-z0-9_-], unique in the organization
  --kind KIND            ${Object.keys(KINDS).join(" | ")}
  --description TEXT     free text
  --org-id ID            organization (default: your token's organization)
  --user-id ID           owner of an operator, all-access or read-write token (default: you)
  --read-bucket B        read-write: may read bucket B (repeatable)
  --write-bucket B       read-write: may write bucket B (repeatable)
  --signal S             ingestion: only logs, metrics or traces (repeatable; default all)
  --bucket B             ingestion: only bucket B (repeatable; default all)
  --dashboard D          shared: may view dashboard D (repeatable; at least one)
  --filter KEY=VALUE     shared: filter applied to every view (repeatable)
  --expires TIME         expiry, RFC 3339 (e.g. 2026-12-31T00:00:00Z); required for shared
  --expires-in DURATION  expiry from now, e.g. 24h, 90m, 7d
  --value-from-env NAME  use the value in environment variable NAME instead of a generated one
  --value-file PATH      use the value in file PATH ("-": standard input), one trailing newline dropped
  --json                 print {"id", "value", "token"} as one JSON object instead ("value" only
                         when generated; the token in the protobuf JSON mapping)

A generated value is printed alone on stdout, once; it cannot be retrieved later. A value you
bring (a Tessera token of this kind, or one imported from another system: 32 to 512 printable
characters, at least 128 bits of entropy) is never printed; stdout gets the token id instead.
Values are not accepted on the command line: they would land in shell history and in ps.

${CONNECTION_USAGE}`,
  options: {
    ...CONNECTION_OPTIONS,
    name: { type: "string" },
    kind: { type: "string" },
    description: { type: "string" },
    "org-id": { type: "string" },
    "user-id": { type: "string" },
    "read-bucket": { type: "string", multiple: true },
    "write-bucket": { type: "string", multiple: true },
    signal: { type: "string", multiple: true },
    bucket: { type: "string", multiple: true },
    dashboard: { type: "string", multiple: true },
    filter: { type: "string", multiple: true },
    expires: { type: "string" },
    "expires-in": { type: "string" },
    "value-from-env": { type: "string" },
    "value-file": { type: "string" },
    json: { type: "boolean" },
  },
  async run(flags, ctx) {
    const req = createTokenRequest(flags, Date.now());
    const value = await broughtValue(flags, ctx);
    const api = await client(flags, ctx);
    const res = await api.createToken(value === undefined ? req : { ...req, value });
    const t = res.token!;
    ctx.err(`Created ${tokenLine(t)} in organization ${t.organizationId}${t.expireTime ? `, expires ${when(t.expireTime)}` : ""}.`);
    if (bool(flags, "json")) return printIssued(ctx, t, value === undefined ? res.value : undefined);
    if (value === undefined) showSecret(ctx, res.value);
    else ctx.out(t.id);
    return EXIT_OK;
  },
};

function setEnabled(enabled: boolean): Command {
  return {
    name: enabled ? "active" : "inactive",
    summary: enabled ? "Enable a token" : "Disable a token (takes effect on the next Verify)",
    usage: `Usage: tessera auth ${enabled ? "active" : "inactive"} --id ID\n\n${CONNECTION_USAGE}`,
    options: { ...CONNECTION_OPTIONS, id: { type: "string" } },
    async run(flags, ctx) {
      const id = requireStr(flags, "id");
      const res = await (await client(flags, ctx)).setTokenEnabled({ id, enabled });
      ctx.out(`${enabled ? "Enabled" : "Disabled"} ${tokenLine(res.token!)}.`);
      return EXIT_OK;
    },
  };
}

/** The longest grace period the server accepts. */
const LONGEST_GRACE = { ms: 7 * 86_400_000, text: "7 days" };

const rotate: Command = {
  name: "rotate",
  summary: "Replace a token's value and print the new one (the old one stops at once, or after --grace)",
  usage: `Usage: tessera auth rotate --id ID [--grace DURATION]

  --id ID            the token to rotate
  --grace DURATION   keep the old value working this long next to the new one, e.g. 30m, 24h,
                     7d (at most 7 days); without it the old value stops working at once.
                     Rotating again, disabling or deleting the token ends the old value sooner.

  --json             print {"id", "value", "token"} as one JSON object instead

The new value is printed alone on stdout, once; it cannot be retrieved later.

${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, id: { type: "string" }, grace: { type: "string" }, json: { type: "boolean" } },
  async run(flags, ctx) {
    const id = requireStr(flags, "id");
    const graceText = str(flags, "grace");
    const graceMs = graceText === undefined ? 0 : parseDuration(graceText, "--grace", LONGEST_GRACE);
    const res = await (await client(flags, ctx)).rotateToken({
      id,
      ...(graceMs > 0 && { gracePeriod: durationFromMs(graceMs) }),
    });
    const t = res.token!;
    const previous = t.previousValue;
    ctx.err(
      previous === undefined
        ? `Rotated ${tokenLine(t)}; the previous value no longer works.`
        : `Rotated ${tokenLine(t)}; the previous value (${previous.maskedValue}) keeps working until ${when(previous.expireTime)}.`,
    );
    if (bool(flags, "json")) return printIssued(ctx, t, res.value);
    showSecret(ctx, res.value);
    return EXIT_OK;
  },
};

const remove: Command = {
  name: "delete",
  summary: "Delete a token",
  usage: `Usage: tessera auth delete --id ID\n\n${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, id: { type: "string" } },
  async run(flags, ctx) {
    const id = requireStr(flags, "id");
    await (await client(flags, ctx)).deleteToken({ id });
    ctx.out(`Deleted token ${id}.`);
    return EXIT_OK;
  },
};

const describe: Command = {
  name: "describe",
  summary: "Change a token's description (the old name of auth update --description)",
  usage: `Usage: tessera auth describe --id ID --description TEXT\n\n${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, id: { type: "string" }, description: { type: "string" } },
  async run(flags, ctx) {
    ctx.err('Note: "tessera auth describe" is now "tessera auth update --description"; the old name keeps working.');
    const id = requireStr(flags, "id");
    const description = str(flags, "description");
    if (description === undefined) throw new UsageError('--description is required (--description "" clears it)');
    const res = await (await client(flags, ctx)).updateToken({ id, description });
    ctx.out(`Updated ${tokenLine(res.token!)}: description "${clean(res.token!.description)}".`);
    return EXIT_OK;
  },
};

const get: Command = {
  name: "get",
  summary: "Show one token (its value masked)",
  usage: `Usage: tessera auth get --id ID [--json]

  --id ID   the token
  --json    print it as JSON (protobuf JSON mapping)

${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, id: { type: "string" }, json: { type: "boolean" } },
  async run(flags, ctx) {
    const id = requireStr(flags, "id");
    const t = (await (await client(flags, ctx)).getToken({ id })).token!;
    if (bool(flags, "json")) {
      ctx.out(JSON.stringify(toJson(TokenSchema, t), null, 2));
      return EXIT_OK;
    }
    const previous = t.previousValue;
    ctx.out(
      [
        `id:            ${t.id}`,
        `name:          ${clean(t.name)}`,
        `kind:          ${kindName(t.kind)}`,
        `organization:  ${t.organizationId}`,
        `masked value:  ${t.maskedValue}`,
        `enabled:       ${t.enabled ? "yes" : t.disabledReason === TokenDisabledReason.IDLE ? "no (idle)" : "no"}`,
        `description:   ${clean(t.description)}`,
        `owner:         ${t.ownerUserId || "(the organization)"}`,
        `created:       ${when(t.createTime)}`,
        `expires:       ${t.expireTime ? when(t.expireTime) : "never"}`,
        `last used:     ${t.lastUsedTime ? when(t.lastUsedTime) : "never"}`,
        ...(previous === undefined ? [] : [`previous value: ${previous.maskedValue}, works until ${when(previous.expireTime)}`]),
      ].join("\n"),
    );
    return EXIT_OK;
  },
};

/** `--json` for create and rotate: the new value (when there is one to show) with the token, one object. */
function printIssued(ctx: Context, t: Token, value: string | undefined): number {
  ctx.out(JSON.stringify({ id: t.id, ...(value === undefined ? {} : { value }), token: toJson(TokenSchema, t) }, null, 2));
  if (value !== undefined)
    ctx.err("Store this value safely (a password manager or secret store): it is shown only once and cannot be retrieved again.");
  return EXIT_OK;
}

const passcode: Command = {
  name: "passcode",
  summary: "Show the organization's default ingestion token (masked) and how to use it",
  usage: `Usage: tessera auth passcode [--org-id ID]\n\n${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, "org-id": { type: "string" } },
  async run(flags, ctx) {
    const res = await (await client(flags, ctx)).getPasscode({ organizationId: str(flags, "org-id") ?? "" });
    const t = res.token!;
    ctx.out(
      [
        `organization:  ${clean(res.organizationIdentifier)}`,
        `token id:      ${t.id}`,
        `masked value:  ${t.maskedValue}`,
        `enabled:       ${t.enabled ? "yes" : "no"}`,
        `use as:        Basic base64("${clean(res.organizationIdentifier)}:<value>")`,
      ].join("\n"),
    );
    ctx.err(
      `Values are never stored. To get a new value, rotate it: tessera auth rotate --id ${t.id} (the current value stops working at once; add --grace 24h to keep it working for a day meanwhile)`,
    );
    return EXIT_OK;
  },
};

export const group: Group = {
  name: "auth",
  summary: "Manage API tokens: list, get, create, enable, disable, rotate, delete, update.",
  commands: [list, get, create, setEnabled(true), setEnabled(false), rotate, remove, describe, update, passcode],
};
