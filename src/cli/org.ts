/**
 * `tessera org …`: create and list organizations. A new organization comes with its `default`
 * ingestion token, whose value the server returns once — so `org create` shows it once, too.
 */
import { create as createMessage, toJson } from "@bufbuild/protobuf";
import { DurationSchema, type Duration } from "@bufbuild/protobuf/wkt";
import { OrganizationSchema, type Organization } from "../gen/tessera/v1/resources_pb.js";
import { createAdminClient } from "./api.js";
import { CONNECTION_OPTIONS, CONNECTION_USAGE, resolveConnection } from "./cli-config.js";
import { EXIT_OK, bool, requireStr, str, type Command, type Group } from "./command.js";
import { clean, showSecret, table, when } from "./output.js";
import { parseDuration } from "./token-flags.js";

/** A policy duration flag, as whole seconds. */
function policyFlag(raw: string | undefined, flag: string): Duration | undefined {
  if (raw === undefined) return undefined;
  return createMessage(DurationSchema, { seconds: BigInt(Math.round(parseDuration(raw, flag) / 1000)) });
}

/** `30d`, `12h`, or `-` when unset. */
function showDuration(d: Duration | undefined): string {
  if (d === undefined) return "-";
  const s = Number(d.seconds);
  return s % 86_400 === 0 ? `${s / 86_400}d` : s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 ? `${s / 60}m` : `${s}s`;
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

export const group: Group = {
  name: "org",
  summary: "Manage organizations.",
  commands: [create, list],
};
