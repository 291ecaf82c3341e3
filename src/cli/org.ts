/**
 * `tessera org …`: organizations (create, list, get, update, enable, disable) and their members
 * (members, set-member, remove-member). Organizations are named by identifier or id, users by name
 * or id. A new organization comes with its `default` ingestion token, whose value the server
 * returns once — so `org create` shows it once, too.
 */
import { create as createMessage, toJson } from "@bufbuild/protobuf";
import { DurationSchema, type Duration } from "@bufbuild/protobuf/wkt";
import { MembershipSchema, OrganizationSchema, TokenSchema, type Organization } from "../gen/tessera/v1/resources_pb.js";
import { MemberSchema, type Member } from "../gen/tessera/v1/token_admin_service_pb.js";
import { describeSeconds } from "../domain/token-policy.js";
import { createAdminClient, type AdminClient } from "./api.js";
import { CONNECTION_OPTIONS, CONNECTION_USAGE, resolveConnection } from "./cli-config.js";
import { EXIT_OK, UsageError, bool, requireStr, str, type Command, type Context, type Flags, type Group } from "./command.js";
import { JSON_OPTION, jsonUsage, LIST_OPTIONS, listUsage, clean, printJson, printTable, roleName, showSecret, when } from "./output.js";
import { ORG_OPTIONS, organizationId, orgFromFlags, orgRef, orgUsage } from "./organizations.js";
import { parseDuration, parseRole } from "./token-flags.js";
import { userId } from "./users.js";

async function client(flags: Flags, ctx: Context): Promise<AdminClient> {
  const conn = await resolveConnection(flags, ctx.env, ctx.err);
  return createAdminClient(conn.host, conn.token);
}

/** A policy duration flag, as whole seconds. */
function policyFlag(raw: string | undefined, flag: string): Duration | undefined {
  if (raw === undefined) return undefined;
  return createMessage(DurationSchema, { seconds: BigInt(Math.round(parseDuration(raw, flag) / 1000)) });
}

/** `30d`, `1d12h`, or `-` when unset: as the server's messages write limits. */
function showDuration(d: Duration | undefined): string {
  return d === undefined ? "-" : describeSeconds(Number(d.seconds));
}

const orgJson = (o: Organization) => toJson(OrganizationSchema, o);

/** An organization as `key: value` lines, for get, enable and disable. */
function orgLines(o: Organization): string {
  return [
    `id:                  ${o.id}`,
    `identifier:          ${clean(o.identifier)}`,
    `name:                ${clean(o.name)}`,
    `parent:              ${o.parentId || "-"}`,
    ...(o.parentId === "" ? [] : [`parent access:       ${o.parentAccess ? "allowed" : "denied"}`]),
    `enabled:             ${o.enabled ? "yes" : "no"}`,
    `max token lifetime:  ${showDuration(o.maxTokenLifetime)}`,
    `token idle limit:    ${showDuration(o.tokenIdleLimit)}`,
    `created:             ${when(o.createTime)}`,
  ].join("\n");
}

/** A required `--org`, for the commands that never act on the token's own organization by default. */
async function requiredOrg(api: AdminClient, flags: Flags): Promise<string> {
  const r = orgRef(flags);
  if (r === undefined) throw new UsageError("--org is required", true);
  return organizationId(api, r.ref, r.flag);
}

const create: Command = {
  name: "create",
  summary: "Create an organization (or a sub-organization) and print its default ingestion token",
  usage: `Usage: tessera org create --identifier ID [-n NAME] [--parent ORG] [--deny-parent-access]
                           [--max-token-lifetime DURATION] [--token-idle-limit DURATION] [--json]

  --identifier ID                  unique identifier: lowercase letters, digits, "_" and "-"
  -n, --name NAME                  display name (default: the identifier)
  --parent ORG                     make it a sub-organization of ORG, by identifier or id
                                   (--parent-id is its older name)
  --deny-parent-access             keep the parent's tokens out of the new sub-organization
  --max-token-lifetime DURATION    every token created in it must expire within this, e.g. 90d
                                   (its default token gets exactly this)
  --token-idle-limit DURATION      disable tokens unused for this long, e.g. 30d
  --json                           print {"id", "value", "organization", "token"}: the new
                                   organization's id, its default token's value (shown once),
                                   the organization and the default token (protobuf JSON mapping)

The default token's value is printed alone on stdout, once; it cannot be retrieved later.

${CONNECTION_USAGE}`,
  options: {
    ...CONNECTION_OPTIONS,
    identifier: { type: "string" },
    name: { type: "string", short: "n" },
    parent: { type: "string" },
    "parent-id": { type: "string" },
    "deny-parent-access": { type: "boolean" },
    "max-token-lifetime": { type: "string" },
    "token-idle-limit": { type: "string" },
    ...JSON_OPTION,
  },
  async run(flags, ctx) {
    const identifier = requireStr(flags, "identifier");
    const maxTokenLifetime = policyFlag(str(flags, "max-token-lifetime"), "--max-token-lifetime");
    const tokenIdleLimit = policyFlag(str(flags, "token-idle-limit"), "--token-idle-limit");
    const parent = str(flags, "parent");
    const parentOld = str(flags, "parent-id");
    if (parent !== undefined && parentOld !== undefined)
      throw new UsageError("give either --parent or --parent-id (its older name), not both");
    const api = await client(flags, ctx);
    const parentRef = parent ?? parentOld;
    const parentId = parentRef === undefined ? "" : await organizationId(api, parentRef, parent !== undefined ? "--parent" : "--parent-id");
    const res = await api.createOrganization({
      identifier,
      name: str(flags, "name") ?? "",
      parentId,
      denyParentAccess: bool(flags, "deny-parent-access"),
      ...(maxTokenLifetime && { maxTokenLifetime }),
      ...(tokenIdleLimit && { tokenIdleLimit }),
    });
    const o = res.organization!;
    ctx.err(
      `Created organization ${clean(o.identifier)} (id ${o.id}) with its default ingestion token (id ${res.defaultToken?.id ?? "?"}):`,
    );
    if (bool(flags, "json")) {
      printJson(ctx, {
        id: o.id,
        value: res.defaultTokenValue,
        organization: orgJson(o),
        token: res.defaultToken === undefined ? null : toJson(TokenSchema, res.defaultToken),
      });
      ctx.err("Store this value safely (a password manager or secret store): it is shown only once and cannot be retrieved again.");
      return EXIT_OK;
    }
    showSecret(ctx, res.defaultTokenValue);
    return EXIT_OK;
  },
};

const list: Command = {
  name: "list",
  summary: "List the organizations your token reaches",
  usage: `Usage: tessera org list [--json] [--hide-headers]

${listUsage(20)}

The table's columns are ID, IDENTIFIER, NAME, PARENT, ENABLED, MAX LIFETIME, IDLE LIMIT, CREATED.

${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, ...LIST_OPTIONS },
  async run(flags, ctx) {
    const api = await client(flags, ctx);
    const orgs: Organization[] = [];
    let pageToken = "";
    do {
      const page = await api.listOrganizations({ pageSize: 1000, pageToken });
      orgs.push(...page.organizations);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    if (bool(flags, "json")) {
      printJson(ctx, orgs.map(orgJson));
      return EXIT_OK;
    }
    printTable(
      ctx,
      flags,
      ["ID", "IDENTIFIER", "NAME", "PARENT", "ENABLED", "MAX LIFETIME", "IDLE LIMIT", "CREATED"],
      orgs.map((o) => [
        o.id,
        o.identifier,
        o.name,
        o.parentId || "-",
        o.enabled ? "yes" : "no",
        showDuration(o.maxTokenLifetime),
        showDuration(o.tokenIdleLimit),
        when(o.createTime),
      ]),
    );
    return EXIT_OK;
  },
};

const get: Command = {
  name: "get",
  summary: "Show one organization: identifier, parent, enabled, token policies",
  usage: `Usage: tessera org get [-o ORG] [--json]

${orgUsage(20)}
${jsonUsage(20)}

${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, ...ORG_OPTIONS, ...JSON_OPTION },
  async run(flags, ctx) {
    orgRef(flags);
    const api = await client(flags, ctx);
    const o = (await api.getOrganization({ id: await orgFromFlags(api, flags) })).organization!;
    if (bool(flags, "json")) printJson(ctx, orgJson(o));
    else ctx.out(orgLines(o));
    return EXIT_OK;
  },
};

function setEnabled(enabled: boolean): Command {
  const name = enabled ? "enable" : "disable";
  return {
    name,
    summary: enabled
      ? "Enable an organization again: its tokens are accepted as before"
      : "Disable an organization: every one of its tokens is refused from the next Verify",
    usage: `Usage: tessera org ${name} -o ORG [--json]

  -o, --org ORG     the organization, by identifier or id (never your token's own)
${jsonUsage(20)}

Operators may ${name} any organization, ADMINs of a parent organization its sub-organizations.
${enabled ? "" : "Its tokens are kept, and work again once it is enabled.\n"}
${CONNECTION_USAGE}`,
    options: { ...CONNECTION_OPTIONS, ...ORG_OPTIONS, ...JSON_OPTION },
    async run(flags, ctx) {
      orgRef(flags);
      const api = await client(flags, ctx);
      const o = (await api.setOrganizationEnabled({ id: await requiredOrg(api, flags), enabled })).organization!;
      if (bool(flags, "json")) printJson(ctx, orgJson(o));
      else ctx.out(`${enabled ? "Enabled" : "Disabled"} organization ${clean(o.identifier)} (id ${o.id}).`);
      return EXIT_OK;
    },
  };
}

const update: Command = {
  name: "update",
  summary: "Rename an organization, change its token policies, or turn a sub-organization's parent access off or on",
  usage: `Usage: tessera org update [-o ORG] [-n NAME] [--deny-parent-access | --allow-parent-access]
                           [--max-token-lifetime DURATION | --no-max-token-lifetime]
                           [--token-idle-limit DURATION | --no-token-idle-limit] [--json]

${orgUsage(26)}
  -i, --id ORG            the same as --org (its name in earlier versions)
  -n, --name NAME         new display name
  --deny-parent-access    keep the parent organizations' tokens out of this sub-organization,
                          from the very next request on
  --allow-parent-access   let them in again (the sub-organization's own admins, or an operator)
  --max-token-lifetime D  tokens created from now on must expire within D of their creation, e.g. 90d
  --no-max-token-lifetime remove that limit
  --token-idle-limit D    disable tokens unused for D, e.g. 30d
  --no-token-idle-limit   never disable idle tokens
${jsonUsage(26)}

${CONNECTION_USAGE}`,
  options: {
    ...CONNECTION_OPTIONS,
    ...ORG_OPTIONS,
    id: { type: "string", short: "i" },
    name: { type: "string", short: "n" },
    "deny-parent-access": { type: "boolean" },
    "allow-parent-access": { type: "boolean" },
    "max-token-lifetime": { type: "string" },
    "no-max-token-lifetime": { type: "boolean" },
    "token-idle-limit": { type: "string" },
    "no-token-idle-limit": { type: "boolean" },
    ...JSON_OPTION,
  },
  async run(flags, ctx) {
    const name = str(flags, "name");
    const deny = bool(flags, "deny-parent-access");
    const allow = bool(flags, "allow-parent-access");
    if (deny && allow) throw new UsageError("give either --deny-parent-access or --allow-parent-access, not both");
    const paths = [...(name === undefined ? [] : ["name"]), ...(deny || allow ? ["parent_access"] : [])];
    // A policy named in the mask but left unset in the organization is removed.
    const policy = (flag: string, path: string): Duration | undefined => {
      const raw = str(flags, flag);
      if (raw !== undefined && bool(flags, `no-${flag}`)) throw new UsageError(`give either --${flag} or --no-${flag}, not both`);
      if (raw !== undefined || bool(flags, `no-${flag}`)) paths.push(path);
      return policyFlag(raw, `--${flag}`);
    };
    const maxTokenLifetime = policy("max-token-lifetime", "max_token_lifetime");
    const tokenIdleLimit = policy("token-idle-limit", "token_idle_limit");
    if (paths.length === 0) {
      throw new UsageError("nothing to change: give --name, a parent access flag or a token policy flag", true);
    }
    const byId = str(flags, "id");
    const byOrg = orgRef(flags);
    if (byId !== undefined && byOrg !== undefined) throw new UsageError("give either --org or --id, not both");
    const api = await client(flags, ctx);
    const id = byId !== undefined ? await organizationId(api, byId, "--id") : await orgFromFlags(api, flags);
    const res = await api.updateOrganization({
      organization: {
        id,
        name: name ?? "",
        parentAccess: allow,
        ...(maxTokenLifetime && { maxTokenLifetime }),
        ...(tokenIdleLimit && { tokenIdleLimit }),
      },
      updateMask: { paths },
    });
    const o = res.organization!;
    if (bool(flags, "json")) {
      printJson(ctx, orgJson(o));
      return EXIT_OK;
    }
    const access = o.parentId === "" ? "" : `, parent access ${o.parentAccess ? "allowed" : "denied"}`;
    const policies = `, maximum token lifetime ${showDuration(o.maxTokenLifetime)}, idle limit ${showDuration(o.tokenIdleLimit)}`;
    ctx.out(`Updated organization ${clean(o.identifier)} (id ${o.id}): name "${clean(o.name)}"${access}${policies}.`);
    return EXIT_OK;
  },
};

const members: Command = {
  name: "members",
  summary: "List an organization's members and their roles",
  usage: `Usage: tessera org members [-o ORG] [--json] [--hide-headers]

${orgUsage(20)}
${listUsage(20)}

The table's columns are USER ID, NAME, ROLE, ROOT.

${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, ...ORG_OPTIONS, ...LIST_OPTIONS },
  async run(flags, ctx) {
    orgRef(flags);
    const api = await client(flags, ctx);
    const organizationId = await orgFromFlags(api, flags);
    const all: Member[] = [];
    let pageToken = "";
    do {
      const page = await api.listMemberships({ organizationId, pageSize: 1000, pageToken });
      all.push(...page.members);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    if (bool(flags, "json")) {
      printJson(
        ctx,
        all.map((m) => toJson(MemberSchema, m)),
      );
      return EXIT_OK;
    }
    printTable(
      ctx,
      flags,
      ["USER ID", "NAME", "ROLE", "ROOT"],
      all.map((m) => [m.user?.id ?? "", m.user?.name ?? "", roleName(m.membership?.role ?? 0), m.user?.root ? "yes" : "no"]),
    );
    return EXIT_OK;
  },
};

const setMember: Command = {
  name: "set-member",
  summary: "Add a user to an organization, or change its role there",
  usage: `Usage: tessera org set-member -u USER -r ROLE [-o ORG] [--json]

  -u, --user USER   the user, by name or id
  -r, --role ROLE   viewer, editor or admin
${orgUsage(20)}
${jsonUsage(20)}

ADMINs of the organization (or of one above it) and operators may. A user whose role drops keeps
its tokens, each bounded by the new role from the next Verify.

${CONNECTION_USAGE}`,
  options: {
    ...CONNECTION_OPTIONS,
    user: { type: "string", short: "u" },
    role: { type: "string", short: "r" },
    ...ORG_OPTIONS,
    ...JSON_OPTION,
  },
  async run(flags, ctx) {
    const userRef = requireStr(flags, "user");
    const role = parseRole(requireStr(flags, "role"));
    orgRef(flags);
    const api = await client(flags, ctx);
    const organizationId = await orgFromFlags(api, flags);
    const m = (await api.setMembership({ organizationId, userId: await userId(api, userRef, "--user"), role })).membership!;
    if (bool(flags, "json")) printJson(ctx, toJson(MembershipSchema, m));
    else ctx.out(`User ${m.userId} is ${roleName(m.role)} in organization ${m.organizationId}.`);
    return EXIT_OK;
  },
};

const removeMember: Command = {
  name: "remove-member",
  summary: "Remove a user from an organization (its tokens there stop working)",
  usage: `Usage: tessera org remove-member -u USER [-o ORG] [--json]

  -u, --user USER   the user, by name or id
${orgUsage(20)}
  --json            print {"organizationId", "userId", "removed": true}

${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, user: { type: "string", short: "u" }, ...ORG_OPTIONS, ...JSON_OPTION },
  async run(flags, ctx) {
    const userRef = requireStr(flags, "user");
    orgRef(flags);
    const api = await client(flags, ctx);
    const organizationId = await orgFromFlags(api, flags);
    const user = await userId(api, userRef, "--user");
    // Asked before: removing the caller's own membership may leave it unable to ask after.
    const where = organizationId === "" ? (await api.getOrganization({})).organization!.id : organizationId;
    await api.removeMembership({ organizationId: where, userId: user });
    if (bool(flags, "json")) printJson(ctx, { organizationId: where, userId: user, removed: true });
    else ctx.out(`Removed user ${user} from organization ${where}.`);
    return EXIT_OK;
  },
};

export const group: Group = {
  name: "org",
  summary: "Manage organizations and their members.",
  commands: [create, list, get, update, setEnabled(true), setEnabled(false), members, setMember, removeMember],
};
