/** `tessera user create`: a user, usually with a role in an organization. */
import { Role } from "../gen/tessera/v1/resources_pb.js";
import { createAdminClient } from "./api.js";
import { CONNECTION_OPTIONS, CONNECTION_USAGE, resolveConnection } from "./cli-config.js";
import { EXIT_OK, bool, requireStr, str, type Command, type Group } from "./command.js";
import { clean, roleName } from "./output.js";
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

export const group: Group = {
  name: "user",
  summary: "Manage users.",
  commands: [create],
};
