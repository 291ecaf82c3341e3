/**
 * `tessera apply -f tessera.yaml`: declarative provisioning. Reads and checks the manifest (every
 * problem at once, each with its path and line:column; exit 2 and nothing applied if there is
 * any), then hands the desired state to the server's ApplyManifest, which plans against the
 * instance and applies the whole plan in one database transaction: completely or not at all.
 *
 * Generated values are made here, not on the server, so that none is ever lost: a dry run first
 * learns which tokens the plan creates, their values are generated and written to the values file
 * (mode 0600) before the apply is sent, and if the apply fails the file is put back as it was, so
 * no value is left for a token that does not exist.
 */
import { toJson } from "@bufbuild/protobuf";
import { randomBytes } from "node:crypto";
import { readFile, rename, unlink } from "node:fs/promises";
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { readManifest } from "../domain/manifest/read-manifest.js";
import type { DesiredState, Problem } from "../domain/manifest/desired.js";
import { generateToken } from "../domain/token-format.js";
import {
  ApplyManifestResponseSchema,
  ManifestOperationKind,
  type ApplyManifestResponse,
} from "../gen/tessera/v1/token_admin_service_pb.js";
import { createAdminClient } from "./api.js";
import { renderPlan, renderProblems } from "./apply-plan-text.js";
import { applyRequest, pathsToGenerate } from "./apply-request.js";
import { CONNECTION_OPTIONS, CONNECTION_USAGE, resolveConnection, writePrivate } from "./cli-config.js";
import { CliError, EXIT_OK, EXIT_USAGE, UsageError, bool, requireStr, str, type Command, type Context } from "./command.js";
import { JSON_OPTION, printJson } from "./output.js";
import { userNamedVariable } from "./value-source.js";

/** A value file larger than this holds no token value (imported values are at most 512 characters). */
const MAX_VALUE_FILE_BYTES = 64 * 1024;

const USAGE = `Usage: tessera apply -f FILE [--dry-run] [--prune] [--values-out FILE] [--json]

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
  --json               print the plan (with --dry-run) or what was applied as one JSON object:
                       {"operations", "notes", "problems", "applied", "valuesFile"} (the
                       API's ApplyManifestResponse; valuesFile is where generated values went,
                       or null); never a value

The server applies the whole plan in one transaction: if any step fails, nothing is changed
(exit 1, the failing entry's path in the message). Generated values are written to the values
file before the plan is applied, and the file is put back as it was if the apply fails.

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
    ...JSON_OPTION,
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
    const api = createAdminClient(conn.host, conn.token);
    const prune = bool(flags, "prune");
    const dryRun = bool(flags, "dry-run");
    const desired = read.desired;
    const plan = await api.applyManifest(applyRequest(desired, { prune, dryRun: true, generated: new Map() }));
    if (plan.problems.length > 0) return refuse(ctx, file, positioned(desired, plan));
    const json = bool(flags, "json");
    const printResult = (r: ApplyManifestResponse, valuesFile: string | null) =>
      printJson(ctx, { ...(toJson(ApplyManifestResponseSchema, r, { alwaysEmitImplicit: true }) as object), valuesFile });
    if (!json) ctx.out(renderPlan(plan, file));
    if (dryRun || plan.operations.length === 0) {
      if (json) printResult(plan, null);
      return EXIT_OK;
    }

    const createdTokens = new Set(plan.operations.filter((o) => o.kind === ManifestOperationKind.CREATE).map((o) => o.path));
    const generated = new Map<string, string>();
    const toSave: Record<string, string> = {};
    for (const p of pathsToGenerate(desired, createdTokens, createdTokens)) {
      const t = desired.organizations.flatMap((o) => o.tokens.map((x) => ({ org: o.identifier, t: x }))).find((x) => x.t.path === p)!;
      const value = generateToken(t.t.kind);
      generated.set(p, value);
      toSave[`${t.org}/${t.t.name}`] = value;
    }
    const restore = Object.keys(toSave).length === 0 ? undefined : await saveValues(valuesFile(desired, dir), toSave);
    let done: ApplyManifestResponse;
    try {
      done = await api.applyManifest(applyRequest(desired, { prune, dryRun: false, generated }));
    } catch (err) {
      await restore?.();
      throw err;
    }
    if (done.problems.length > 0) {
      // The instance changed between the plan and the apply: nothing was applied.
      await restore?.();
      return refuse(ctx, file, positioned(desired, done));
    }
    if (json) {
      printResult(done, restore === undefined ? null : valuesFile(desired, dir));
      return EXIT_OK;
    }
    const n = done.operations.length;
    ctx.out(done.applied ? `\nApplied ${n} ${n === 1 ? "change" : "changes"}.` : "\nNothing to change.");
    if (restore !== undefined) ctx.out(`Generated values were written to ${valuesFile(desired, dir)} (mode 0600).`);
    return EXIT_OK;
  },
};

/** The server's problems, placed at their line and column in the file. */
function positioned(desired: DesiredState, r: ApplyManifestResponse): Problem[] {
  return r.problems
    .map((p) => ({ path: p.path, message: p.message, ...(desired.positions.get(p.path) ?? { line: 1, col: 1 }) }))
    .sort((a, b) => a.line - b.line || a.col - b.col);
}

function valuesFile(desired: DesiredState, manifestDir: string): string {
  const v = desired.valuesOut!;
  return v.source === "flag" ? path.resolve(v.file) : path.resolve(manifestDir, v.file);
}

/**
 * Adds `values` (by `organization/token`) to the values file, mode 0600, replacing it whole (a
 * complete temp file renamed over it). Returns how to put the file back as it was.
 */
async function saveValues(file: string, values: Record<string, string>): Promise<() => Promise<void>> {
  let previous: string | undefined;
  try {
    previous = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new CliError(`cannot read the values file ${file}: ${fsProblem(err)}`);
  }
  let tokens: Record<string, string> = {};
  if (previous !== undefined) {
    try {
      tokens = (JSON.parse(previous) as { tokens?: Record<string, string> }).tokens ?? {};
    } catch {
      throw new CliError(
        `the values file ${file} is not one tessera apply wrote (not JSON); move it away or name another with --values-out`,
      );
    }
  }
  const write = async (body: string) => {
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    await writePrivate(tmp, body);
    await rename(tmp, file).catch(async (err) => {
      await unlink(tmp).catch(() => undefined);
      throw err;
    });
  };
  await write(`${JSON.stringify({ tokens: { ...tokens, ...values } }, null, 2)}\n`);
  return async () => {
    if (previous === undefined) await unlink(file).catch(() => undefined);
    else await write(previous);
  };
}

function refuse(ctx: Context, file: string, problems: Problem[]): number {
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
