/**
 * The bytes an entry's MAC covers: a canonical JSON array of its content and the previous hash.
 *
 * Canonical so that what is read back from PostgreSQL (jsonb reorders object keys and drops
 * insignificant whitespace) gives exactly the bytes that were MAC'd when it was written: object
 * keys are sorted, and only strings, whole numbers, booleans and null occur (audit-fields.ts
 * never puts anything else there). The sequence number is left out on purpose: the order of a
 * trail is the chain itself, so a renumbered or reordered trail breaks its links instead of its
 * MACs, which is what lets verification tell an inserted entry from a changed one.
 */
import type { AuditContent, AuditValue } from "./entry.js";

const VERSION = 1;

export function macMessage(prevHash: Buffer, c: AuditContent): Buffer {
  const parts: AuditValue[] = [
    VERSION,
    c.orgId,
    prevHash.toString("hex"),
    c.at.toISOString(),
    c.actor as AuditValue,
    c.action,
    c.target as unknown as AuditValue,
    c.before,
    c.after,
    c.requestId,
    c.peer,
    c.userAgent,
    c.rpc,
    c.outcome,
    c.reason,
  ];
  return Buffer.from(canonicalJson(parts), "utf8");
}

function canonicalJson(v: AuditValue | undefined): string {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (typeof v === "object") {
    const keys = Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(",")}}`;
  }
  if (typeof v === "number" && !Number.isSafeInteger(v)) throw new Error("audit: only whole numbers belong in an entry");
  return JSON.stringify(v);
}
