/**
 * `tessera org …`: create, list and update organizations, and list their members. A new
 * organization comes with its `default` ingestion token, whose value the server returns once — so
 * `org create` shows it once, too.
 */
import { create as createMessage, toJson } from "@bufbuild/protobuf";
import { DurationSchema, type Duration } from "@bufbuild/protobuf/wkt";
import { OrganizationSchema, type Organization } from "../gen/tessera/v1/resources_pb.js";
import { MemberSchema, type Member } from "../gen/tessera/v1/token_admin_service_pb.js";
import { createAdminClient } from "./api.js";
import { CONNECTION_OPTIONS, CONNECTION_USAGE, resolveConnection } from "./cli-config.js";
import { EXIT_OK, UsageError, bool, requireStr, str, type Command, type Group } from "./command.js";
import { clean, roleName, showSecret, table, when } from "./output.js";
import { describeSeconds } from "../domain/token-policy.js";
import { parseDuration } from "./token-flags.js";

/** A policy duration flag, as whole seconds. */
function policyFlag(raw: string | undefined, flag: string): Duration | undefined {
  if (raw === undefined) return undefined;
  return createMessage(DurationSchema, { seconds: BigInt(Math.round(parseDuration(raw, flag) / 1000)) });
}

/** `30d`, `1d12h`, or `-` when unset: as the server's messages write limits. */
function showDuration(d: Duration | undefined): string {
  return d === undefined ? "-" : describeSeconds(Number(d.seconds));
}

const create: Command = {
  name: "create",
  summary: "Create an organization (or a sub-organization) and print its default ingestion token",
  usage: `Usage: tessera org create --identifier ID [--name NAME] [--parent-id ORG_ID] [--deny-parent-access]
                           [--max-token-lifetime DURATION] [--token-idle-limit DURATION]

  --identifier ID                  unique identifier: lowercase letters, digits, "_" and "-"
  --name NAME                      display name (default: the identifier)
  --parent-id ORG_ID               make it a sub-organization of ORG_ID
  --deny-parent-access             keep the parent's tokens out of the new sub-organization
  --max-token-lifetime DURATION    every token created in it must expire within this, e.g. 90d
                                   (its default token gets exactly this)
  --token-idle-limit DURATION      disable tokens unused for this long, e.g. 30d

${CONNECTION_USAGE}`,
  options: {
    ...CONNECTION_OPTIONS,
    identifier: { type: "string" },
    name: { type: "string" },
    "parent-id": { type: "string" },
    "deny-parent-access": { type: "boolean" },
    "max-token-lifetime": { type: "string" },
    "token-idle-limit": { type: "string" },
  },
  async run(flags, ctx) {
    const identifier = requireStr(flags, "identifier");
    const maxTokenLifetime = policyFlag(str(flags, "max-token-lifetime"), "--max-token-lifetime");
    const tokenIdleLimit = policyFlag(str(flags, "token-idle-limit"), "--token-idle-limit");
    const conn = await resolveConnection(flags, ctx.env, ctx.err);
    const res = await createAdminClient(conn.host, conn.token).createOrganization({
      identifier,
      name: str(flags, "name") ?? "",
      parentId: str(flags, "parent-id") ?? "",
      denyParentAccess: bool(flags, "deny-parent-access"),
      ...(maxTokenLifetime && { maxTokenLifetime }),
      ...(tokenIdleLimit && { tokenIdleLimit }),
    });
    const o = res.organization!;
    ctx.err(
      `Created organization ${clean(o.identifier)} (id ${o.id}) with its default ingestion token (id ${res.defaultToken?.id ?? "?"}):`,
    );
    showSecret(ctx, res.defaultTokenValue);
    return EXIT_OK;
  },
};

const list: Command = {
  name: "list",
  summary: "List the organizations your token reaches",
  usage: `Usage: tessera org list [--json]\n\n${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, json: { type: "boolean" } },
  async run(flags, ctx) {
    const conn = await resolveConnection(flags, ctx.env, ctx.err);
    const api = createAdminClient(conn.host, conn.token);
    const orgs: Organization[] = [];
    let pageToken = "";
    do {
      const page = await api.listOrganizations({ pageSize: 1000, pageToken });
      orgs.push(...page.organizations);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    if (bool(flags, "json")) {
      ctx.out(
        JSON.stringify(
          orgs.map((o) => toJson(OrganizationSchema, o)),
          null,
          2,
        ),
      );
      return EXIT_OK;
    }
    ctx.out(
      table(
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
      ),
    );
    return EXIT_OK;
  },
};

const update: Command = {
  name: "update",
  summary: "Rename an organization, change its token policies, or turn a sub-organization's parent access off or on",
  usage: `Usage: tessera org update [--id ORG_ID] [--name NAME] [--deny-parent-access | --allow-parent-access]
                           [--max-token-lifetime DURATION | --no-max-token-lifetime]
                           [--token-idle-limit DURATION | --no-token-idle-limit]

  --id ORG_ID             organization to change (default: your token's organization)
  --name NAME             new display name
  --deny-parent-access    keep the parent organizations' tokens out of this sub-organization,
                          from the very next request on
  --allow-parent-access   let them in again (the sub-organization's own admins, or an operator)
  --max-token-lifetime D  tokens created from now on must expire within D of their creation, e.g. 90d
  --no-max-token-lifetime remove that limit
  --token-idle-limit D    disable tokens unused for D, e.g. 30d
  --no-token-idle-limit   never disable idle tokens

${CONNECTION_USAGE}`,
  options: {
    ...CONNECTION_OPTIONS,
    id: { type: "string" },
    name: { type: "string" },
    "deny-parent-access": { type: "boolean" },
    "allow-parent-access": { type: "boolean" },
    "max-token-lifetime": { type: "string" },
    "no-max-token-lifetime": { type: "boolean" },
    "token-idle-limit": { type: "string" },
    "no-token-idle-limit": { type: "boolean" },
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
    const conn = await resolveConnection(flags, ctx.env, ctx.err);
    const res = await createAdminClient(conn.host, conn.token).updateOrganization({
      organization: {
        id: str(flags, "id") ?? "",
        name: name ?? "",
        parentAccess: allow,
        ...(maxTokenLifetime && { maxTokenLifetime }),
        ...(tokenIdleLimit && { tokenIdleLimit }),
      },
      updateMask: { paths },
    });
    const o = res.organization!;
    const access = o.parentId === "" ? "" : `, parent access ${o.parentAccess ? "allowed" : "denied"}`;
    const policies = `, maximum token lifetime ${showDuration(o.maxTokenLifetime)}, idle limit ${showDuration(o.tokenIdleLimit)}`;
    ctx.out(`Updated organization ${clean(o.identifier)} (id ${o.id}): name "${clean(o.name)}"${access}${policies}.`);
    return EXIT_OK;
  },
};

const members: Command = {
  name: "members",
  summary: "List an organization's members and their roles",
  usage: `Usage: tessera org members [--org-id ORG_ID] [--json]

  --org-id ORG_ID   organization (default: your token's organization)
  --json            print the members as JSON (protobuf JSON mapping)

${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, "org-id": { type: "string" }, json: { type: "boolean" } },
  async run(flags, ctx) {
    const conn = await resolveConnection(flags, ctx.env, ctx.err);
    const api = createAdminClient(conn.host, conn.token);
    const all: Member[] = [];
    let pageToken = "";
    do {
      const page = await api.listMemberships({ organizationId: str(flags, "org-id") ?? "", pageSize: 1000, pageToken });
      all.push(...page.members);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    if (bool(flags, "json")) {
      ctx.out(
        JSON.stringify(
          all.map((m) => toJson(MemberSchema, m)),
          null,
          2,
        ),
      );
      return EXIT_OK;
    }
    ctx.out(
      table(
        ["USER ID", "NAME", "ROLE", "ROOT"],
        all.map((m) => [m.user?.id ?? "", m.user?.name ?? "", roleName(m.membership?.role ?? 0), m.user?.root ? "yes" : "no"]),
      ),
    );
    return EXIT_OK;
  },
};

export const group: Group = {
  name: "org",
  summary: "Manage organizations.",
  commands: [create, list, update, members],
};
