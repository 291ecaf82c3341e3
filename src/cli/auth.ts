/**
 * `tessera auth …`: token management in the spirit of `influx auth` and `vault token`. Lists show
 * masks only; a value appears once, when a token is created or rotated, through showSecret() (or
 * in create's and rotate's `--json` object, the one JSON that carries a value). Each command is
 * one TokenAdminService call (list follows every page), after looking up the organization or user
 * a flag names by identifier or name.
 */
import { toJson } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { TokenDisabledReason, TokenSchema, type Token } from "../gen/tessera/v1/resources_pb.js";
import { GetPasscodeResponseSchema } from "../gen/tessera/v1/token_admin_service_pb.js";
import { isTesseraError } from "../domain/errors.js";
import { isUuid } from "../domain/ids.js";
import { validateTokenName } from "../domain/names.js";
import { createAdminClient, type AdminClient } from "./api.js";
import { update } from "./auth-update.js";
import { CONNECTION_OPTIONS, CONNECTION_USAGE, resolveConnection } from "./cli-config.js";
import { EXIT_OK, UsageError, bool, requireStr, str, type Command, type Context, type Flags, type Group } from "./command.js";
import { JSON_OPTION, jsonUsage, LIST_OPTIONS, listUsage, clean, kindName, printJson, printTable, showSecret, when } from "./output.js";
import { ORG_OPTIONS, orgFromFlags, orgRef, orgUsage } from "./organizations.js";
import { createTokenRequest, KINDS, parseDuration, parseKind } from "./token-flags.js";
import { userId } from "./users.js";
import { broughtValue } from "./value-source.js";

async function client(flags: Flags, ctx: Context): Promise<AdminClient> {
  const conn = await resolveConnection(flags, ctx.env, ctx.err);
  return createAdminClient(conn.host, conn.token);
}

const tokenLine = (t: Token) => `${kindName(t.kind)} token ${clean(t.name)} (id ${t.id}, ${t.maskedValue})`;

const tokenJson = (t: Token) => toJson(TokenSchema, t);

const enabledText = (t: Token) => (t.enabled ? "yes" : t.disabledReason === TokenDisabledReason.IDLE ? "no (idle)" : "no");

const ID_OPTION = { id: { type: "string", short: "i" } } as const;

/** `--user`, or `--owner-id`/`--user-id` (older names): which one was given, checked before anything is sent. */
function userRef(flags: Flags, older: string): { ref: string; flag: string } | undefined {
  const user = str(flags, "user");
  const old = str(flags, older);
  if (user !== undefined && old !== undefined) throw new UsageError(`give either --user or --${older} (its older name), not both`);
  if (user !== undefined) return { ref: user, flag: "--user" };
  return old === undefined ? undefined : { ref: old, flag: `--${older}` };
}

/** `--name`: a whole token name, judged here so a typo is a usage error, not a server reply about name_prefix. */
function exactName(flags: Flags): string | undefined {
  const name = str(flags, "name");
  if (name === undefined) return undefined;
  try {
    return validateTokenName(name);
  } catch (err) {
    if (isTesseraError(err)) throw new UsageError(`--name: ${err.publicMessage}`);
    throw err;
  }
}

const list: Command = {
  name: "list",
  summary: "List tokens (masked), default ingestion token first",
  usage: `Usage: tessera auth list [-o ORG] [-i ID] [-u USER] [-k KIND] [-n NAME] [--name-prefix P]
                         [--enabled | --disabled] [--json] [--hide-headers]

${orgUsage(20)}
  -i, --id ID       only the token with this id
  -u, --user USER   only tokens owned by this user, by name or id (--owner-id is its older name)
  -k, --kind KIND   only tokens of this kind: ${Object.keys(KINDS).join(", ")}
  -n, --name NAME   only the token with exactly this name
  --name-prefix P   only tokens whose name starts with P (case-sensitive; "_" is no wildcard)
  --enabled         only enabled tokens
  --disabled        only disabled tokens (by hand, or idle)
${listUsage(20)}

Filters combine. The table's columns are always ID, NAME, KIND, MASKED VALUE, ENABLED,
DESCRIPTION, CREATED and LAST USED; values never appear, only their masks.

${CONNECTION_USAGE}`,
  options: {
    ...CONNECTION_OPTIONS,
    ...ORG_OPTIONS,
    ...ID_OPTION,
    user: { type: "string", short: "u" },
    "owner-id": { type: "string" },
    kind: { type: "string", short: "k" },
    name: { type: "string", short: "n" },
    "name-prefix": { type: "string" },
    enabled: { type: "boolean" },
    disabled: { type: "boolean" },
    ...LIST_OPTIONS,
  },
  async run(flags, ctx) {
    const kindText = str(flags, "kind");
    const kind = kindText === undefined ? undefined : parseKind(kindText);
    if (bool(flags, "enabled") && bool(flags, "disabled")) throw new UsageError("give either --enabled or --disabled, not both");
    const enabled = bool(flags, "enabled") ? true : bool(flags, "disabled") ? false : undefined;
    const name = exactName(flags);
    const prefix = str(flags, "name-prefix");
    if (name !== undefined && prefix !== undefined && !name.startsWith(prefix)) {
      throw new UsageError(`--name "${name}" does not start with --name-prefix "${prefix}": nothing could match`);
    }
    const id = str(flags, "id")?.toLowerCase();
    if (id !== undefined && !isUuid(id)) throw new UsageError(`--id "${clean(id)}" is not a token id (a UUID)`);
    orgRef(flags);
    const owner = userRef(flags, "owner-id");
    const api = await client(flags, ctx);
    const organizationId = await orgFromFlags(api, flags);
    const ownerUserId = owner === undefined ? "" : await userId(api, owner.ref, owner.flag);
    const tokens: Token[] = [];
    let pageToken = "";
    do {
      const page = await api.listTokens({
        organizationId,
        pageSize: 1000,
        pageToken,
        ...(kind === undefined ? {} : { kind }),
        ownerUserId,
        ...(enabled === undefined ? {} : { enabled }),
        // The server has prefixes, not whole names: a whole name is a prefix that narrows as much.
        namePrefix: name ?? prefix ?? "",
      });
      // The server has no id or whole-name filter: those narrow each page here.
      tokens.push(...page.tokens.filter((t) => (id === undefined || t.id === id) && (name === undefined || t.name === name)));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    if (bool(flags, "json")) {
      printJson(ctx, tokens.map(tokenJson));
      return EXIT_OK;
    }
    printTable(
      ctx,
      flags,
      ["ID", "NAME", "KIND", "MASKED VALUE", "ENABLED", "DESCRIPTION", "CREATED", "LAST USED"],
      tokens.map((t) => [
        t.id,
        t.name,
        kindName(t.kind),
        t.maskedValue,
        enabledText(t),
        t.description,
        when(t.createTime),
        when(t.lastUsedTime),
      ]),
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
  usage: `Usage: tessera auth create -n NAME -k KIND [flags]

  -n, --name NAME          token name, [A-Za-z0-9_-], unique in the organization
  -k, --kind KIND          ${Object.keys(KINDS).join(" | ")}
  -d, --description TEXT   free text
${orgUsage(27)}
  -u, --user USER          owner of an operator, all-access or read-write token, by name or id
                           (default: you; --user-id is its older name)
  --read-bucket B          read-write: may read bucket B (repeatable)
  --write-bucket B         read-write: may write bucket B (repeatable)
  --signal S               ingestion: only logs, metrics or traces (repeatable; default all)
  -b, --bucket B           ingestion: only bucket B (repeatable; default all)
  --dashboard D            shared: may view dashboard D (repeatable; at least one)
  --filter KEY=VALUE       shared: filter applied to every view (repeatable)
  --expires TIME           expiry, RFC 3339 (e.g. 2026-12-31T00:00:00Z); required for shared
  -e, --expires-in DURATION
                           expiry from now, e.g. 24h, 90m, 7d
  --value-from-env NAME    use the value in environment variable NAME instead of a generated one
  --value-file PATH        use the value in file PATH ("-": standard input), one trailing newline dropped
  --json                   print {"id", "value", "token"} as one JSON object instead ("value" only
                           when generated; the token in the protobuf JSON mapping)

A generated value is printed alone on stdout, once; it cannot be retrieved later. A value you
bring (a Tessera token of this kind, or one imported from another system: 32 to 512 printable
characters, at least 128 bits of entropy) is never printed; stdout gets the token id instead.
Values are not accepted on the command line: they would land in shell history and in ps.

${CONNECTION_USAGE}`,
  options: {
    ...CONNECTION_OPTIONS,
    name: { type: "string", short: "n" },
    kind: { type: "string", short: "k" },
    description: { type: "string", short: "d" },
    ...ORG_OPTIONS,
    user: { type: "string", short: "u" },
    "user-id": { type: "string" },
    "read-bucket": { type: "string", multiple: true },
    "write-bucket": { type: "string", multiple: true },
    signal: { type: "string", multiple: true },
    bucket: { type: "string", multiple: true, short: "b" },
    dashboard: { type: "string", multiple: true },
    filter: { type: "string", multiple: true },
    expires: { type: "string" },
    "expires-in": { type: "string", short: "e" },
    "value-from-env": { type: "string" },
    "value-file": { type: "string" },
    ...JSON_OPTION,
  },
  async run(flags, ctx) {
    const req = createTokenRequest(flags, Date.now());
    orgRef(flags);
    const owner = userRef(flags, "user-id");
    const value = await broughtValue(flags, ctx);
    const api = await client(flags, ctx);
    const organizationId = await orgFromFlags(api, flags);
    const ownerId = owner === undefined ? "" : await userId(api, owner.ref, owner.flag);
    const res = await api.createToken({ ...req, organizationId, userId: ownerId, ...(value === undefined ? {} : { value }) });
    const t = res.token!;
    ctx.err(`Created ${tokenLine(t)} in organization ${t.organizationId}${t.expireTime ? `, expires ${when(t.expireTime)}` : ""}.`);
    if (bool(flags, "json")) return printIssued(ctx, t, value === undefined ? res.value : undefined);
    if (value === undefined) showSecret(ctx, res.value);
    else ctx.out(t.id);
    return EXIT_OK;
  },
};

function setEnabled(enabled: boolean): Command {
  const name = enabled ? "active" : "inactive";
  return {
    name,
    summary: enabled ? "Enable a token" : "Disable a token (takes effect on the next Verify)",
    usage: `Usage: tessera auth ${name} -i ID [--json]

  -i, --id ID       the token
${jsonUsage(20)}

${CONNECTION_USAGE}`,
    options: { ...CONNECTION_OPTIONS, ...ID_OPTION, ...JSON_OPTION },
    async run(flags, ctx) {
      const id = requireStr(flags, "id");
      const t = (await (await client(flags, ctx)).setTokenEnabled({ id, enabled })).token!;
      if (bool(flags, "json")) printJson(ctx, tokenJson(t));
      else ctx.out(`${enabled ? "Enabled" : "Disabled"} ${tokenLine(t)}.`);
      return EXIT_OK;
    },
  };
}

/** The longest grace period the server accepts. */
const LONGEST_GRACE = { ms: 7 * 86_400_000, text: "7 days" };

const rotate: Command = {
  name: "rotate",
  summary: "Replace a token's value and print the new one (the old one stops at once, or after --grace)",
  usage: `Usage: tessera auth rotate -i ID [-g DURATION] [--json]

  -i, --id ID            the token to rotate
  -g, --grace DURATION   keep the old value working this long next to the new one, e.g. 30m,
                         24h, 7d (at most 7 days); without it the old value stops working at
                         once. Rotating again, disabling or deleting the token ends the old
                         value sooner.
  --json                 print {"id", "value", "token"} as one JSON object instead

The new value is printed alone on stdout, once; it cannot be retrieved later.

${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, ...ID_OPTION, grace: { type: "string", short: "g" }, ...JSON_OPTION },
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
  usage: `Usage: tessera auth delete -i ID [--json]

  -i, --id ID       the token
  --json            print {"id", "deleted": true}

${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, ...ID_OPTION, ...JSON_OPTION },
  async run(flags, ctx) {
    const id = requireStr(flags, "id");
    await (await client(flags, ctx)).deleteToken({ id });
    if (bool(flags, "json")) printJson(ctx, { id, deleted: true });
    else ctx.out(`Deleted token ${clean(id)}.`);
    return EXIT_OK;
  },
};

const describe: Command = {
  name: "describe",
  summary: "Change a token's description (the old name of auth update --description)",
  usage: `Usage: tessera auth describe -i ID -d TEXT [--json]

  -i, --id ID              the token
  -d, --description TEXT   new description ("" clears it)
${jsonUsage(27)}

"tessera auth update --description" does the same, and changes the expiry too.

${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, ...ID_OPTION, description: { type: "string", short: "d" }, ...JSON_OPTION },
  async run(flags, ctx) {
    ctx.err('Note: "tessera auth describe" is now "tessera auth update --description"; the old name keeps working.');
    const id = requireStr(flags, "id");
    const description = str(flags, "description");
    if (description === undefined) throw new UsageError('--description is required (--description "" clears it)');
    const t = (await (await client(flags, ctx)).updateToken({ id, description })).token!;
    if (bool(flags, "json")) printJson(ctx, tokenJson(t));
    else ctx.out(`Updated ${tokenLine(t)}: description "${clean(t.description)}".`);
    return EXIT_OK;
  },
};

const get: Command = {
  name: "get",
  summary: "Show one token (its value masked)",
  usage: `Usage: tessera auth get -i ID [--json]

  -i, --id ID       the token
${jsonUsage(20)}

${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, ...ID_OPTION, ...JSON_OPTION },
  async run(flags, ctx) {
    const id = requireStr(flags, "id");
    const t = (await (await client(flags, ctx)).getToken({ id })).token!;
    if (bool(flags, "json")) {
      printJson(ctx, tokenJson(t));
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
        `enabled:       ${enabledText(t)}`,
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
  printJson(ctx, { id: t.id, ...(value === undefined ? {} : { value }), token: tokenJson(t) });
  if (value !== undefined)
    ctx.err("Store this value safely (a password manager or secret store): it is shown only once and cannot be retrieved again.");
  return EXIT_OK;
}

const passcode: Command = {
  name: "passcode",
  summary: "Show the organization's default ingestion token (masked) and how to use it",
  usage: `Usage: tessera auth passcode [-o ORG] [--json]

${orgUsage(20)}
${jsonUsage(20)}

${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, ...ORG_OPTIONS, ...JSON_OPTION },
  async run(flags, ctx) {
    orgRef(flags);
    const api = await client(flags, ctx);
    const res = await api.getPasscode({ organizationId: await orgFromFlags(api, flags) });
    if (bool(flags, "json")) {
      printJson(ctx, toJson(GetPasscodeResponseSchema, res));
      return EXIT_OK;
    }
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
