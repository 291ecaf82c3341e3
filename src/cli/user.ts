/**
 * `tessera user …`: create a user (usually with a role in an organization), list the users your
 * token may see, show one with its memberships, and delete one. Users are named by name or id;
 * memberships are changed with `tessera org set-member` and `org remove-member`.
 */
import { toJson } from "@bufbuild/protobuf";
import { Role, UserSchema, type User } from "../gen/tessera/v1/resources_pb.js";
import { CreateUserResponseSchema, GetUserResponseSchema } from "../gen/tessera/v1/token_admin_service_pb.js";
import { createAdminClient, type AdminClient } from "./api.js";
import { CONNECTION_OPTIONS, CONNECTION_USAGE, resolveConnection } from "./cli-config.js";
import { EXIT_OK, bool, requireStr, str, type Command, type Context, type Flags, type Group } from "./command.js";
import { JSON_OPTION, LIST_OPTIONS, listUsage, clean, printJson, printTable, roleName, table, when } from "./output.js";
import { ORG_OPTIONS, orgFromFlags, orgRef, orgUsage } from "./organizations.js";
import { parseRole } from "./token-flags.js";
import { userId } from "./users.js";

async function client(flags: Flags, ctx: Context): Promise<AdminClient> {
  const conn = await resolveConnection(flags, ctx.env, ctx.err);
  return createAdminClient(conn.host, conn.token);
}

const ID_OPTION = { id: { type: "string", short: "i" } } as const;

const create: Command = {
  name: "create",
  summary: "Create a user and make it a member of an organization",
  usage: `Usage: tessera user create -n NAME [-o ORG] [-r viewer|editor|admin] [--root] [--json]

  -n, --name NAME   unique user name
${orgUsage(20)}
  -r, --role ROLE   viewer, editor or admin; operators may omit both --org and --role
                    to create a user with no membership
  --root            make the user an instance operator (operators only)
  --json            print {"user", "membership"} (protobuf JSON mapping)

${CONNECTION_USAGE}`,
  options: {
    ...CONNECTION_OPTIONS,
    name: { type: "string", short: "n" },
    ...ORG_OPTIONS,
    role: { type: "string", short: "r" },
    root: { type: "boolean" },
    ...JSON_OPTION,
  },
  async run(flags, ctx) {
    const name = requireStr(flags, "name");
    const roleText = str(flags, "role");
    const role = roleText === undefined ? Role.UNSPECIFIED : parseRole(roleText);
    orgRef(flags);
    const api = await client(flags, ctx);
    const res = await api.createUser({ name, organizationId: await orgFromFlags(api, flags), role, root: bool(flags, "root") });
    if (bool(flags, "json")) {
      printJson(ctx, toJson(CreateUserResponseSchema, res));
      return EXIT_OK;
    }
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
  usage: `Usage: tessera user list [-o ORG] [--json] [--hide-headers]

  -o, --org ORG     only members of this organization, by identifier or id
${listUsage(20)}

Operators see every user; everyone else sees the members of their organization and of the
sub-organizations it reaches. The table's columns are ID, NAME, ROOT, CREATED.

${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, ...ORG_OPTIONS, ...LIST_OPTIONS },
  async run(flags, ctx) {
    orgRef(flags);
    const api = await client(flags, ctx);
    const organizationId = await orgFromFlags(api, flags);
    const users: User[] = [];
    let pageToken = "";
    do {
      const page = await api.listUsers({ organizationId, pageSize: 1000, pageToken });
      users.push(...page.users);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    if (bool(flags, "json")) {
      printJson(
        ctx,
        users.map((u) => toJson(UserSchema, u)),
      );
      return EXIT_OK;
    }
    printTable(
      ctx,
      flags,
      ["ID", "NAME", "ROOT", "CREATED"],
      users.map((u) => [u.id, u.name, u.root ? "yes" : "no", when(u.createTime)]),
    );
    return EXIT_OK;
  },
};

const get: Command = {
  name: "get",
  summary: "Show a user and its memberships in the organizations your token reaches",
  usage: `Usage: tessera user get -i USER [--json]

  -i, --id USER     the user, by id or name
  --json            print {"user", "memberships"} (protobuf JSON mapping)

${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, ...ID_OPTION, ...JSON_OPTION },
  async run(flags, ctx) {
    const ref = requireStr(flags, "id");
    const api = await client(flags, ctx);
    const res = await api.getUser({ id: await userId(api, ref, "--id") });
    if (bool(flags, "json")) {
      printJson(ctx, toJson(GetUserResponseSchema, res));
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

const remove: Command = {
  name: "delete",
  summary: "Delete a user (operators only): every token bound to it stops working",
  usage: `Usage: tessera user delete -i USER [--json]

  -i, --id USER     the user, by id or name
  --json            print {"id", "deleted": true}

The user's memberships go with it, and every token it owns is refused from the next Verify.

${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, ...ID_OPTION, ...JSON_OPTION },
  async run(flags, ctx) {
    const ref = requireStr(flags, "id");
    const api = await client(flags, ctx);
    const id = await userId(api, ref, "--id");
    await api.deleteUser({ id });
    if (bool(flags, "json")) printJson(ctx, { id, deleted: true });
    else ctx.out(`Deleted user ${id}.`);
    return EXIT_OK;
  },
};

export const group: Group = {
  name: "user",
  summary: "Manage users.",
  commands: [create, list, get, remove],
};
