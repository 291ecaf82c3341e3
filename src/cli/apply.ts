/**
 * `tessera apply -f tessera.yaml`: declarative provisioning. Reads and checks the manifest (every
 * problem at once, each with its path and line:column; exit 2 and nothing applied if there is
 * any), reads the instance's state through the admin API's list calls, and computes the plan.
 *
 * The plan is not executed yet, on purpose: a manifest must apply completely or not at all, and
 * only the server can promise that, by applying the plan in one database transaction. Until it
 * offers that, running the operations one call at a time from here could stop half-way and leave
 * the instance neither as it was nor as the file says, so apply shows the plan and changes
 * nothing. An empty plan is a success: the instance already matches.
 */
import { readFile } from "node:fs/promises";
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { readManifest } from "../domain/manifest/read-manifest.js";
import { planManifest } from "../domain/manifest/plan.js";
import { createAdminClient } from "./api.js";
import { renderPlan, renderProblems } from "./apply-plan-text.js";
import { readSnapshot } from "./apply-snapshot.js";
import { CONNECTION_OPTIONS, CONNECTION_USAGE, resolveConnection } from "./cli-config.js";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, bool, requireStr, str, type Command, type Context } from "./command.js";
import { userNamedVariable } from "./value-source.js";

/** A value file larger than this holds no token value (imported values are at most 512 characters). */
const MAX_VALUE_FILE_BYTES = 64 * 1024;

const USAGE = `Usage: tessera apply -f FILE [--dry-run] [--prune] [--values-out FILE]

Makes the instance match a manifest: organizations and sub-organizations, buckets, users and
memberships, and tokens. The manifest is checked completely first; a file with any problem is
refused, every problem listed with its path and line, and nothing is applied (exit 2).

  -f, --file FILE      the manifest (YAML; see "Declarative provisioning" in the README)
  --dry-run            print the plan (+ create, ~ change, - delete) and change nothing
  --prune              also delete the tokens, buckets and memberships of the manifest's
                       organizations that it does not name (never a default token, an
                       operator token, or the token apply runs with)
  --values-out FILE    where generated token values are written (mode 0600); overrides the
                       manifest's values_out

This version plans but does not yet change the instance: applying a plan needs the server to
run it in one transaction, so that a failure leaves everything as it was. Without --dry-run,
apply prints the plan and exits 1 unless the instance already matches.

${CONNECTION_USAGE}`;

export const command: Command = {
  name: "apply",
  summary: "Make the instance match a manifest file (--dry-run prints the plan)",
  usage: USAGE,
  options: {
    ...CONNECTION_OPTIONS,
    file: { type: "string", short: "f" },
    "dry-run": { type: "boolean" },
    prune: { type: "boolean" },
    "values-out": { type: "string" },
  },
  async run(flags, ctx) {
    const file = requireStr(flags, "file");
    const valuesOut = str(flags, "values-out");
    if (valuesOut === "") throw new UsageError("--values-out needs a file name");
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      throw new UsageError(`cannot read the manifest ${file}: ${fsProblem(err)}`);
    }
    const dir = path.dirname(path.resolve(file));
    const read = readManifest(text, {
      now: (ctx.now?.() ?? new Date()).getTime(),
      ...(valuesOut !== undefined && { valuesOut }),
      variable: (name) => userNamedVariable(ctx, name),
      readValueFile: (p) => readValueFile(path.resolve(dir, p)),
    });
    if (!read.ok) return refuse(ctx, file, read.problems);

    const conn = await resolveConnection(flags, ctx.env, ctx.err);
    const snapshot = await readSnapshot(createAdminClient(conn.host, conn.token), read.desired);
    const planned = planManifest(read.desired, snapshot, { prune: bool(flags, "prune") });
    if (!planned.ok) return refuse(ctx, file, planned.problems);

    ctx.out(renderPlan(planned.plan, file));
    if (bool(flags, "dry-run") || planned.plan.operations.length === 0) return EXIT_OK;
    ctx.err(
      "error: this version of tessera apply plans but does not change the instance: a plan must be applied in one " +
        "server-side transaction, so that a failure leaves everything as it was, and this server cannot do that yet. " +
        "Nothing was changed. Run with --dry-run to only print the plan.",
    );
    return EXIT_FAILED;
  },
};

function refuse(ctx: Context, file: string, problems: Parameters<typeof renderProblems>[0]): number {
  ctx.err(renderProblems(problems, file));
  ctx.err(`${file}: ${problems.length} ${problems.length === 1 ? "problem" : "problems"}; nothing was applied.`);
  return EXIT_USAGE;
}

function readValueFile(file: string): { ok: true; text: string } | { ok: false; problem: string } {
  try {
    if (statSync(file).size > MAX_VALUE_FILE_BYTES) return { ok: false, problem: `it is larger than ${MAX_VALUE_FILE_BYTES / 1024} KiB` };
    return { ok: true, text: readFileSync(file, "utf8") };
  } catch (err) {
    return { ok: false, problem: fsProblem(err) };
  }
}

function fsProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "it is a directory";
  return code ?? "it cannot be read";
}
