/**
 * `tessera user …`: create a user (usually with a role in an organization), list the users your
 * token may see, and show one with its memberships.
 */
import { toJson } from "@bufbuild/protobuf";
import { Role, UserSchema, type User } from "../gen/tessera/v1/resources_pb.js";
import { GetUserResponseSchema } from "../gen/tessera/v1/token_admin_service_pb.js";
import { createAdminClient } from "./api.js";
import { CONNECTION_OPTIONS, CONNECTION_USAGE, resolveConnection } from "./cli-config.js";
import { EXIT_OK, bool, requireStr, str, type Command, type Group } from "./command.js";
import { clean, roleName, table, when } from "./output.js";
import { parseRole } from "./token-flags.js";

const create: Command = {
  name: "create",
  summary: "Create a user and make it a member of an organization",
  usage: `Usage: tessera user create --name NAME [--org-id ID] [--role viewer|editor|admin] [--root]

  --name NAME     unique user name
  --org-id ID     organization to join (default: your token's organization)
  --role ROLE     viewer, editor or admin; operators may omit both --org-id and --role
                  to create a user with no membership
  --root          make the user an instance operator (operators only)

${CONNECTION_USAGE}`,
  options: {
    ...CONNECTION_OPTIONS,
    name: { type: "string" },
    "org-id": { type: "string" },
    role: { type: "string" },
    root: { type: "boolean" },
  },
  async run(flags, ctx) {
    const name = requireStr(flags, "name");
    const roleText = str(flags, "role");
    const role = roleText === undefined ? Role.UNSPECIFIED : parseRole(roleText);
    const conn = await resolveConnection(flags, ctx.env, ctx.err);
    const res = await createAdminClient(conn.host, conn.token).createUser({
      name,
      organizationId: str(flags, "org-id") ?? "",
      role,
      root: bool(flags, "root"),
    });
    const u = res.user!;
    const m = res.membership;
    ctx.out(
      `Created ${u.root ? "root " : ""}user ${clean(u.name)} (id ${u.id})` +
        (m ? `, ${roleName(m.role)} in organization ${m.organizationId}.` : ", with no membership."),
    );
    return EXIT_OK;
  },
};

const list: Command = {
  name: "list",
  summary: "List the users your token may see (members of the organizations it reaches)",
  usage: `Usage: tessera user list [--org-id ID] [--json]

  --org-id ID   only members of this organization
  --json        print the users as JSON (protobuf JSON mapping)

Operators see every user; everyone else sees the members of their organization and of the
sub-organizations it reaches.

${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, "org-id": { type: "string" }, json: { type: "boolean" } },
  async run(flags, ctx) {
    const conn = await resolveConnection(flags, ctx.env, ctx.err);
    const api = createAdminClient(conn.host, conn.token);
    const users: User[] = [];
    let pageToken = "";
    do {
      const page = await api.listUsers({ organizationId: str(flags, "org-id") ?? "", pageSize: 1000, pageToken });
      users.push(...page.users);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    if (bool(flags, "json")) {
      ctx.out(
        JSON.stringify(
          users.map((u) => toJson(UserSchema, u)),
          null,
          2,
        ),
      );
      return EXIT_OK;
    }
    ctx.out(
      table(
        ["ID", "NAME", "ROOT", "CREATED"],
        users.map((u) => [u.id, u.name, u.root ? "yes" : "no", when(u.createTime)]),
      ),
    );
    return EXIT_OK;
  },
};

const get: Command = {
  name: "get",
  summary: "Show a user and its memberships in the organizations your token reaches",
  usage: `Usage: tessera user get --id ID [--json]

${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, id: { type: "string" }, json: { type: "boolean" } },
  async run(flags, ctx) {
    const id = requireStr(flags, "id");
    const conn = await resolveConnection(flags, ctx.env, ctx.err);
    const res = await createAdminClient(conn.host, conn.token).getUser({ id });
    if (bool(flags, "json")) {
      ctx.out(JSON.stringify(toJson(GetUserResponseSchema, res), null, 2));
      return EXIT_OK;
    }
    const u = res.user!;
    ctx.out(
      [
        `id:       ${u.id}`,
        `name:     ${clean(u.name)}`,
        `root:     ${u.root ? "yes" : "no"}`,
        `created:  ${when(u.createTime)}`,
        "",
        table(
          ["ORGANIZATION ID", "ROLE"],
          res.memberships.map((m) => [m.organizationId, roleName(m.role)]),
        ),
      ].join("\n"),
    );
    return EXIT_OK;
  },
};

export const group: Group = {
  name: "user",
  summary: "Manage users.",
  commands: [create, list, get],
};
