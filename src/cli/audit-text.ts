/**
 * Audit entries and verification results as the terminal shows them. Each entry is one table
 * row; what a change did is squeezed into one cell (`description: first→second`), cut short when
 * long, because the whole entry is a `--json` away. Server text goes through table(), which
 * replaces control characters.
 */
import type { JsonValue } from "@bufbuild/protobuf";
import { AuditOutcome, AuditProblemKind, type AuditEvent, type AuditProblem } from "../gen/tessera/v1/audit_pb.js";
import { TokenKind } from "../gen/tessera/v1/resources_pb.js";
import { kindName, when } from "./output.js";

export const AUDIT_HEADERS = ["TIME", "SEQ", "ACTOR", "ACTION", "TARGET", "OUTCOME", "CHANGES"];

const MAX_VALUE = 40;
const MAX_CHANGES = 120;

const cut = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** A token id's first 8 characters, as git shortens a commit: enough to tell tokens apart. */
const shortId = (id: string): string => id.slice(0, 8);

function actorText(e: AuditEvent): string {
  const a = e.actor;
  if (a === undefined) return "-";
  if (a.system !== "") return `system ${a.system}`;
  if (a.tokenId === "") return "-";
  return a.tokenKind === TokenKind.UNSPECIFIED ? `token ${shortId(a.tokenId)}` : `${kindName(a.tokenKind)} ${shortId(a.tokenId)}`;
}

function targetText(e: AuditEvent): string {
  const t = e.target;
  if (t === undefined) return "-";
  const what = t.name || t.id;
  return what === "" ? t.type : `${t.type} ${what}`;
}

function outcomeName(o: AuditOutcome): string {
  return (AuditOutcome[o] ?? String(o)).toLowerCase();
}

/** A recorded value, short: bare words bare, everything else as JSON. */
function valueText(v: JsonValue | undefined): string {
  if (v === undefined || v === null) return "-";
  if (typeof v === "string" && /^[^\s,"→]+$/.test(v)) return cut(v, MAX_VALUE);
  return cut(JSON.stringify(v), MAX_VALUE);
}

/**
 * The changed fields: `field: before→after` for an update; for a creation or deletion, the
 * fields that hold something, `field=value` (an unset expiry says nothing worth the width).
 */
function changesText(e: AuditEvent): string {
  if (e.outcome !== AuditOutcome.OK) return e.reason === "" ? "" : `reason: ${cut(e.reason, MAX_CHANGES)}`;
  const { before, after } = e;
  let parts: string[];
  if (before !== undefined && after !== undefined) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    parts = keys.map((k) => `${k}: ${valueText(before[k])}→${valueText(after[k])}`);
  } else {
    const only = after ?? before ?? {};
    parts = Object.entries(only)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => `${k}=${valueText(v)}`);
  }
  return cut(parts.join(", "), MAX_CHANGES);
}

/** An entry's place in the chain, or `pending` until the server links it in (about a second). */
const sequenceText = (e: AuditEvent): string => (e.sequence === 0n ? "pending" : e.sequence.toString());

export function auditRow(e: AuditEvent): string[] {
  return [when(e.time), sequenceText(e), actorText(e), e.action, targetText(e), outcomeName(e.outcome), changesText(e)];
}

export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

export function problemKindName(k: AuditProblemKind): string {
  return (AuditProblemKind[k] ?? String(k)).toLowerCase().replaceAll("_", "-");
}

/** A forged row that no seal names has no place in the chain: sequence 0, shown as `-`. */
const problemEntry = (p: AuditProblem): string => (p.sequence === 0n ? "-" : p.sequence.toString());

export function problemRow(p: AuditProblem): string[] {
  return [problemEntry(p), problemKindName(p.kind), p.detail];
}
