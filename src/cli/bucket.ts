/** `tessera bucket …`: the named data destinations that read/write permissions refer to. */
import { toJson } from "@bufbuild/protobuf";
import { BucketSchema } from "../gen/tessera/v1/resources_pb.js";
import { createAdminClient, type AdminClient } from "./api.js";
import { CONNECTION_OPTIONS, CONNECTION_USAGE, resolveConnection } from "./cli-config.js";
import { EXIT_OK, bool, requireStr, str, type Command, type Context, type Flags, type Group } from "./command.js";
import { JSON_OPTION, jsonUsage, LIST_OPTIONS, listUsage, clean, printJson, printTable, when } from "./output.js";
import { ORG_OPTIONS, orgFromFlags, orgRef, orgUsage } from "./organizations.js";

async function client(flags: Flags, ctx: Context): Promise<AdminClient> {
  orgRef(flags); // a wrong --org/--org-id pair is a usage error before anything is sent
  const conn = await resolveConnection(flags, ctx.env, ctx.err);
  return createAdminClient(conn.host, conn.token);
}

const create: Command = {
  name: "create",
  summary: "Create a bucket",
  usage: `Usage: tessera bucket create -n NAME [-o ORG] [-d TEXT] [--json]

  -n, --name NAME          bucket name, unique in the organization
${orgUsage(27)}
  -d, --description TEXT   free text
${jsonUsage(27)}

${CONNECTION_USAGE}`,
  options: {
    ...CONNECTION_OPTIONS,
    name: { type: "string", short: "n" },
    ...ORG_OPTIONS,
    description: { type: "string", short: "d" },
    ...JSON_OPTION,
  },
  async run(flags, ctx) {
    const name = requireStr(flags, "name");
    const api = await client(flags, ctx);
    const res = await api.createBucket({
      name,
      organizationId: await orgFromFlags(api, flags),
      description: str(flags, "description") ?? "",
    });
    const b = res.bucket!;
    if (bool(flags, "json")) printJson(ctx, toJson(BucketSchema, b));
    else ctx.out(`Created bucket ${clean(b.name)} (id ${b.id}) in organization ${b.organizationId}.`);
    return EXIT_OK;
  },
};

const list: Command = {
  name: "list",
  summary: "List an organization's buckets",
  usage: `Usage: tessera bucket list [-o ORG] [--json] [--hide-headers]

${orgUsage(20)}
${listUsage(20)}

The table's columns are ID, NAME, DESCRIPTION, CREATED.

${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, ...ORG_OPTIONS, ...LIST_OPTIONS },
  async run(flags, ctx) {
    const api = await client(flags, ctx);
    const res = await api.listBuckets({ organizationId: await orgFromFlags(api, flags) });
    if (bool(flags, "json")) {
      printJson(
        ctx,
        res.buckets.map((b) => toJson(BucketSchema, b)),
      );
      return EXIT_OK;
    }
    printTable(
      ctx,
      flags,
      ["ID", "NAME", "DESCRIPTION", "CREATED"],
      res.buckets.map((b) => [b.id, b.name, b.description, when(b.createTime)]),
    );
    return EXIT_OK;
  },
};

const remove: Command = {
  name: "delete",
  summary: "Delete a bucket (with --force, even while tokens name it)",
  usage: `Usage: tessera bucket delete -n NAME [-o ORG] [--force] [--json]

  -n, --name NAME   bucket to delete
${orgUsage(20)}
  --force           delete it even while tokens name it: they lose the bucket, and a token left
                    with no bucket at all is deleted (an empty list would mean every bucket)
  --json            print {"name", "deleted": true, "narrowedTokenIds", "deletedTokenIds"}

${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, name: { type: "string", short: "n" }, ...ORG_OPTIONS, force: { type: "boolean" }, ...JSON_OPTION },
  async run(flags, ctx) {
    const name = requireStr(flags, "name");
    const api = await client(flags, ctx);
    const res = await api.deleteBucket({
      name,
      organizationId: await orgFromFlags(api, flags),
      force: bool(flags, "force"),
    });
    if (bool(flags, "json")) {
      printJson(ctx, { name, deleted: true, narrowedTokenIds: res.narrowedTokenIds, deletedTokenIds: res.deletedTokenIds });
      return EXIT_OK;
    }
    for (const id of res.narrowedTokenIds) ctx.err(`Token ${id} lost the bucket from its permissions.`);
    for (const id of res.deletedTokenIds) ctx.err(`Token ${id} was deleted: the bucket was the only one it named.`);
    ctx.out(`Deleted bucket ${clean(name)}.`);
    return EXIT_OK;
  },
};

export const group: Group = {
  name: "bucket",
  summary: "Manage buckets.",
  commands: [create, list, remove],
};
