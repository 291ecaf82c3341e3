/** `tessera whoami`: who the token the CLI presents is (GetCaller), whatever its kind. */
import { toJson } from "@bufbuild/protobuf";
import { GetCallerResponseSchema } from "../gen/tessera/v1/token_admin_service_pb.js";
import { createAdminClient } from "./api.js";
import { CONNECTION_OPTIONS, CONNECTION_USAGE, resolveConnection } from "./cli-config.js";
import { EXIT_OK, bool, type Command } from "./command.js";
import { clean, kindName, roleName, when } from "./output.js";

export const command: Command = {
  name: "whoami",
  summary: "Show who your token is: organization, token, owner, role, expiry",
  usage: `Usage: tessera whoami [--json]

  --json   print the answer as JSON (protobuf JSON mapping)

Any token that authenticates may ask, an ingestion or verifier token included.

${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, json: { type: "boolean" } },
  async run(flags, ctx) {
    const conn = await resolveConnection(flags, ctx.env, ctx.err);
    const res = await createAdminClient(conn.host, conn.token).getCaller({});
    if (bool(flags, "json")) {
      ctx.out(JSON.stringify(toJson(GetCallerResponseSchema, res), null, 2));
      return EXIT_OK;
    }
    const c = res.caller!;
    ctx.out(
      [
        `organization:  ${clean(c.organizationIdentifier)} (id ${c.organizationId})`,
        `token:         ${kindName(c.tokenKind)} token ${clean(c.tokenName)} (id ${c.tokenId})`,
        `owner:         ${c.owner ? `${clean(c.owner.name)} (id ${c.owner.id})` : "-"}`,
        `role:          ${c.role === 0 ? "-" : roleName(c.role)}`,
        `operator:      ${c.operator ? "yes" : "no"}`,
        `expires:       ${c.expireTime ? when(c.expireTime) : "never"}`,
      ].join("\n"),
    );
    return EXIT_OK;
  },
};
