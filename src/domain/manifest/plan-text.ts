/**
 * How a plan's operations read, for `tessera apply` (which shows them) and ApplyManifest (which
 * returns them): like `terraform plan`, `+` create, `~` change, `-` delete, each with the manifest
 * path it comes from. Token values never appear: a value source is shown as where the value comes
 * from. The text is not yet made safe for a terminal: whoever prints it does that.
 */
import { describePermissions } from "./describe.js";
import type { ValueSource } from "./desired.js";
import type { Operation } from "./plan.js";
import { kindText } from "./read-token.js";

export interface DescribedOperation {
  sign: "+" | "~" | "-";
  head: string;
  /** The manifest path; empty for a deletion, which nothing in the manifest names. */
  where: string;
  details: string[];
}

const q = (s: string) => JSON.stringify(s);
const time = (d: Date | null) => (d === null ? "never" : d.toISOString().replace(/\.000Z$/, "Z"));
const onOff = (b: boolean) => (b ? "on" : "off");
const role = (r: string) => r.toLowerCase();

/** Where a new token's value comes from, in words. */
export function valueSourceText(v: ValueSource): string {
  if (v.from === "env") return `from environment variable ${v.variable}`;
  if (v.from === "file") return `from file ${q(v.file)}`;
  if (v.from === "generate") return "generated, written to the values file";
  if (v.from === "supplied") return v.source;
  return "made with its organization";
}

/** One operation as the plan shows it: its sign, what it acts on, the manifest path (empty for a deletion), and details. */
export function describeOperation(op: Operation): DescribedOperation {
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
      const value = valueSourceText(t.value);
      const expiry = t.expiry.kind === "at" ? time(t.expiry.time) : t.expiry.kind === "in" ? `${t.expiry.text} after creation` : "never";
      return {
        sign: "+",
        head: `token ${op.organization}/${t.name} (${kindText(t.kind)})`,
        where: op.path,
        details: [
          ...(t.description === "" ? [] : [`description: ${q(t.description)}`]),
          ...(t.owner === null ? [] : [`owner: ${t.owner}`]),
          `permissions: ${describePermissions(t.kind, t.permissions)}`,
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
        head: `token ${op.organization}/${op.name} (${kindText(op.kind)})`,
        where: "",
        details: [],
      };
    case "remove-membership":
      return {
        sign: "-",
        head: `member ${op.user === undefined ? `user ${op.userId}` : op.user} of ${op.organization} (${role(op.role)})`,
        where: "",
        details: [],
      };
    case "delete-bucket":
      return { sign: "-", head: `bucket ${op.organization}/${op.name}`, where: "", details: [] };
  }
}
