/**
 * How `tessera apply` shows the plan ApplyManifest returns, and a manifest's problems: the same
 * for the same plan every time, every line made safe for a terminal (clean).
 */
import { ManifestOperationKind } from "../gen/tessera/v1/token_admin_service_pb.js";
import type { Problem } from "../domain/manifest/desired.js";
import { clean } from "./output.js";

const SIGNS: Record<number, "+" | "~" | "-"> = {
  [ManifestOperationKind.CREATE]: "+",
  [ManifestOperationKind.UPDATE]: "~",
  [ManifestOperationKind.DELETE]: "-",
};

/** An operation as ApplyManifestResponse carries it. */
interface PlanLine {
  kind: ManifestOperationKind;
  what: string;
  path: string;
  details: readonly string[];
}

/** The plan as text; `file` names the manifest in the summary lines. */
export function renderPlan(plan: { operations: readonly PlanLine[]; notes: readonly string[] }, file: string): string {
  const out: string[] = [];
  for (const note of plan.notes) out.push(`Note: ${clean(note)}`);
  if (plan.notes.length > 0) out.push("");
  if (plan.operations.length === 0) {
    out.push(`Nothing to change: the instance matches ${file}.`);
    return out.join("\n");
  }
  out.push(`Plan for ${file} (+ create, ~ change, - delete):`, "");
  const counts = { "+": 0, "~": 0, "-": 0 };
  for (const op of plan.operations) {
    const sign = SIGNS[op.kind] ?? "~";
    counts[sign]++;
    out.push(`  ${sign} ${clean(op.what)}  [${op.path === "" ? "not in the manifest" : clean(op.path)}]`);
    for (const d of op.details) out.push(`      ${clean(d)}`);
  }
  out.push("", `Plan: ${counts["+"]} to create, ${counts["~"]} to change, ${counts["-"]} to delete.`);
  return out.join("\n");
}

/** One line per problem, `file:line:col: path: message`, in file order. */
export function renderProblems(problems: Problem[], file: string): string {
  return problems.map((p) => `${file}:${p.line}:${p.col}: ${p.path === "" ? "" : `${p.path}: `}${clean(p.message)}`).join("\n");
}
