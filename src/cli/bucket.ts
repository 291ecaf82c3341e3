/** `tessera bucket …`: the named data destinations that read/write permissions refer to. */
import { toJson } from "@bufbuild/protobuf";
import { BucketSchema } from "../gen/tessera/v1/resources_pb.js";
import { createAdminClient } from "./api.js";
import { CONNECTION_OPTIONS, CONNECTION_USAGE, resolveConnection } from "./cli-config.js";
import { EXIT_OK, bool, requireStr, str, type Command, type Group } from "./command.js";
import { clean, table, when } from "./output.js";

const create: Command = {
  name: "create",
  summary: "Create a bucket",
  usage: `Usage: tessera bucket create --name NAME [--org-id ID] [--description TEXT]

  --name NAME         bucket name, unique in the organization
  --org-id ID         organization (default: your token's organization)
  --description TEXT  free text

${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, name: { type: "string" }, "org-id": { type: "string" }, description: { type: "string" } },
  async run(flags, ctx) {
    const name = requireStr(flags, "name");
    const conn = await resolveConnection(flags, ctx.env, ctx.err);
    const res = await createAdminClient(conn.host, conn.token).createBucket({
      name,
      organizationId: str(flags, "org-id") ?? "",
      description: str(flags, "description") ?? "",
    });
    const b = res.bucket!;
    ctx.out(`Created bucket ${clean(b.name)} (id ${b.id}) in organization ${b.organizationId}.`);
    return EXIT_OK;
  },
};

const list: Command = {
  name: "list",
  summary: "List an organization's buckets",
  usage: `Usage: tessera bucket list [--org-id ID] [--json]\n\n${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, "org-id": { type: "string" }, json: { type: "boolean" } },
  async run(flags, ctx) {
    const conn = await resolveConnection(flags, ctx.env, ctx.err);
    const res = await createAdminClient(conn.host, conn.token).listBuckets({ organizationId: str(flags, "org-id") ?? "" });
    if (bool(flags, "json")) {
      ctx.out(
        JSON.stringify(
          res.buckets.map((b) => toJson(BucketSchema, b)),
          null,
          2,
        ),
      );
      return EXIT_OK;
    }
    ctx.out(
      table(
        ["ID", "NAME", "DESCRIPTION", "CREATED"],
        res.buckets.map((b) => [b.id, b.name, b.description, when(b.createTime)]),
      ),
    );
    return EXIT_OK;
  },
};

const remove: Command = {
  name: "delete",
  summary: "Delete a bucket (with --force, even while tokens name it)",
  usage: `Usage: tessera bucket delete --name NAME [--org-id ID] [--force]

  --name NAME   bucket to delete
  --org-id ID   organization (default: your token's organization)
  --force       delete it even while tokens name it: they lose the bucket, and a token left
                with no bucket at all is deleted (an empty list would mean every bucket)

${CONNECTION_USAGE}`,
  options: { ...CONNECTION_OPTIONS, name: { type: "string" }, "org-id": { type: "string" }, force: { type: "boolean" } },
  async run(flags, ctx) {
    const name = requireStr(flags, "name");
    const conn = await resolveConnection(flags, ctx.env, ctx.err);
    const res = await createAdminClient(conn.host, conn.token).deleteBucket({
      name,
      organizationId: str(flags, "org-id") ?? "",
      force: bool(flags, "force"),
    });
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
