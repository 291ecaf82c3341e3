/**
 * How `tessera apply` shows a plan and a manifest's problems. The plan reads like `terraform
 * plan`: `+` create, `~` change, `-` delete, each line with the manifest path it comes from, in
 * the order the operations would run, the same for the same plan every time. Token values never
 * appear: a value source is shown as where the value comes from.
 */
import type { Problem } from "../domain/manifest/desired.js";
import { describePermissions } from "../domain/manifest/describe.js";
import type { Operation, Plan } from "../domain/manifest/plan.js";
import { kindText } from "../domain/manifest/read-token.js";
import { clean } from "./output.js";

const q = (s: string) => JSON.stringify(clean(s));
const time = (d: Date | null) => (d === null ? "never" : d.toISOString().replace(/\.000Z$/, "Z"));
const onOff = (b: boolean) => (b ? "on" : "off");
const role = (r: string) => r.toLowerCase();

function lines(op: Operation): { sign: "+" | "~" | "-"; head: string; where: string; details: string[] } {
  switch (op.op) {
    case "create-organization":
      return {
        sign: "+",
        head: `organization ${op.identifier}`,
        where: op.path,
        details: [
          `name: ${q(op.name)}`,
          ...(op.parent === null ? [] : [`parent: ${op.parent}`, `parent access: ${onOff(op.parentAccess)}`]),
          `default token: made with it${op.saveDefaultValue ? ", value written to the values file" : ""}`,
        ],
      };
    case "update-organization":
      return {
        sign: "~",
        head: `organization ${op.identifier}`,
        where: op.path,
        details: [
          ...(op.name ? [`name: ${q(op.name.from)} → ${q(op.name.to)}`] : []),
          ...(op.parentAccess ? [`parent access: ${onOff(op.parentAccess.from)} → ${onOff(op.parentAccess.to)}`] : []),
        ],
      };
    case "create-user":
      return { sign: "+", head: `user ${op.name}${op.root ? " (root)" : ""}`, where: op.path, details: [] };
    case "create-bucket":
      return {
        sign: "+",
        head: `bucket ${op.organization}/${op.name}`,
        where: op.path,
        details: op.description === "" ? [] : [`description: ${q(op.description)}`],
      };
    case "update-bucket":
      return {
        sign: "~",
        head: `bucket ${op.organization}/${op.name}`,
        where: op.path,
        details: [`description: ${q(op.description.from)} → ${q(op.description.to)}`],
      };
    case "set-membership":
      return {
        sign: op.from === null ? "+" : "~",
        head: `member ${op.user} of ${op.organization}: ${op.from === null ? role(op.role) : `${role(op.from)} → ${role(op.role)}`}`,
        where: op.path,
        details: [],
      };
    case "create-token": {
      const t = op.token;
      const v = t.value;
      const value =
        v.from === "env"
          ? `from environment variable ${v.variable}`
          : v.from === "file"
            ? `from file ${q(v.file)}`
            : v.from === "generate"
              ? "generated, written to the values file"
              : "made with its organization";
      const expiry = t.expiry.kind === "at" ? time(t.expiry.time) : t.expiry.kind === "in" ? `${t.expiry.text} after creation` : "never";
      return {
        sign: "+",
        head: `token ${op.organization}/${t.name} (${kindText(t.kind)})`,
        where: op.path,
        details: [
          ...(t.description === "" ? [] : [`description: ${q(t.description)}`]),
          ...(t.owner === null ? [] : [`owner: ${t.owner}`]),
          `permissions: ${clean(describePermissions(t.kind, t.permissions))}`,
          `expires: ${expiry}`,
          `value: ${value}`,
        ],
      };
    }
    case "update-token":
      return {
        sign: "~",
        head: `token ${op.organization}/${op.name}`,
        where: op.path,
        details: [
          ...(op.description ? [`description: ${q(op.description.from)} → ${q(op.description.to)}`] : []),
          ...(op.expireTime ? [`expires: ${time(op.expireTime.from)} → ${time(op.expireTime.to)}`] : []),
        ],
      };
    case "delete-token":
      return {
        sign: "-",
        head: `token ${op.organization}/${clean(op.name)} (${kindText(op.kind)})`,
        where: "not in the manifest",
        details: [],
      };
    case "remove-membership":
      return {
        sign: "-",
        head: `member ${op.user === undefined ? `user ${op.userId}` : clean(op.user)} of ${op.organization} (${role(op.role)})`,
        where: "not in the manifest",
        details: [],
      };
    case "delete-bucket":
      return { sign: "-", head: `bucket ${op.organization}/${clean(op.name)}`, where: "not in the manifest", details: [] };
  }
}

/** The plan as text; `file` names the manifest in the summary lines. */
export function renderPlan(plan: Plan, file: string): string {
  const out: string[] = [];
  for (const note of plan.notes) out.push(`Note: ${note}`);
  if (plan.notes.length > 0) out.push("");
  if (plan.operations.length === 0) {
    out.push(`Nothing to change: the instance matches ${file}.`);
    return out.join("\n");
  }
  out.push(`Plan for ${file} (+ create, ~ change, - delete):`, "");
  const counts = { "+": 0, "~": 0, "-": 0 };
  for (const op of plan.operations) {
    const l = lines(op);
    counts[l.sign]++;
    out.push(`  ${l.sign} ${l.head}  [${l.where}]`);
    for (const d of l.details) out.push(`      ${d}`);
  }
  out.push("", `Plan: ${counts["+"]} to create, ${counts["~"]} to change, ${counts["-"]} to delete.`);
  return out.join("\n");
}

/** One line per problem, `file:line:col: path: message`, in file order. */
export function renderProblems(problems: Problem[], file: string): string {
  return problems.map((p) => `${file}:${p.line}:${p.col}: ${p.path === "" ? "" : `${p.path}: `}${clean(p.message)}`).join("\n");
}
