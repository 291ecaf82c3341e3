/**
 * `tessera auth update`: a token's description and expiry, through UpdateToken's update mask, so
 * that only what is given changes. The expiry flags are `auth create`'s; `--no-expiry` clears it.
 */
import { toJson } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { TokenSchema } from "../gen/tessera/v1/resources_pb.js";
import { createAdminClient } from "./api.js";
import { CONNECTION_OPTIONS, CONNECTION_USAGE, resolveConnection } from "./cli-config.js";
import { EXIT_OK, UsageError, bool, requireStr, str, type Command } from "./command.js";
import { JSON_OPTION, jsonUsage, clean, kindName, printJson, when } from "./output.js";
import { parseDuration, parseExpiry } from "./token-flags.js";

export const update: Command = {
  name: "update",
  summary: "Change a token's description and/or expiry (takes effect on the next Verify)",
  usage: `Usage: tessera auth update -i ID [-d TEXT] [--expires TIME | -e DURATION | --no-expiry] [--json]

  -i, --id ID                token to change
  -d, --description TEXT     new description ("" clears it)
  --expires TIME             new expiry, RFC 3339 (e.g. 2026-12-31T00:00:00Z), in the future
  -e, --expires-in DURATION  new expiry from now, e.g. 24h, 90m, 7d
  --no-expiry                remove the expiry (not for shared tokens, which must keep one)
${jsonUsage(29)}

Only what is given changes. Permissions never change: create another token instead.

${CONNECTION_USAGE}`,
  options: {
    ...CONNECTION_OPTIONS,
    id: { type: "string", short: "i" },
    description: { type: "string", short: "d" },
    expires: { type: "string" },
    "expires-in": { type: "string", short: "e" },
    "no-expiry": { type: "boolean" },
    ...JSON_OPTION,
  },
  async run(flags, ctx) {
    const id = requireStr(flags, "id");
    const description = str(flags, "description");
    const expires = str(flags, "expires");
    const expiresIn = str(flags, "expires-in");
    const noExpiry = bool(flags, "no-expiry");
    if ([expires !== undefined, expiresIn !== undefined, noExpiry].filter(Boolean).length > 1) {
      throw new UsageError("give one of --expires, --expires-in and --no-expiry");
    }
    const now = Date.now();
    const expireAt =
      expires !== undefined ? parseExpiry(expires, now) : expiresIn !== undefined ? new Date(now + parseDuration(expiresIn)) : undefined;
    const paths = [...(description === undefined ? [] : ["description"]), ...(expireAt !== undefined || noExpiry ? ["expire_time"] : [])];
    if (paths.length === 0) throw new UsageError("nothing to change: give --description, --expires, --expires-in or --no-expiry", true);
    const conn = await resolveConnection(flags, ctx.env, ctx.err);
    const res = await createAdminClient(conn.host, conn.token).updateToken({
      id,
      description: description ?? "",
      updateMask: { paths },
      ...(expireAt === undefined ? {} : { expireTime: timestampFromDate(expireAt) }),
    });
    const t = res.token!;
    if (bool(flags, "json")) {
      printJson(ctx, toJson(TokenSchema, t));
      return EXIT_OK;
    }
    ctx.out(
      `Updated ${kindName(t.kind)} token ${clean(t.name)} (id ${t.id}, ${t.maskedValue}): description "${clean(t.description)}", ` +
        `expires ${t.expireTime ? when(t.expireTime) : "never"}.`,
    );
    return EXIT_OK;
  },
};
