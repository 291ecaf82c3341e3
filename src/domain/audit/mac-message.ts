/**
 * The bytes the trail's MACs cover: canonical JSON arrays.
 *
 * Canonical so that what is read back from PostgreSQL (jsonb reorders object keys and drops
 * insignificant whitespace) gives exactly the bytes that were MAC'd when it was written: object
 * keys are sorted, and only strings, whole numbers, booleans and null occur (audit-fields.ts
 * never puts anything else there). An entry's MAC covers its content; a seal's covers its
 * organization, the previous seal's hash, and the entry's id and MAC: the chain.
 */
import type { AuditContent, AuditValue } from "./entry.js";

export function entryMacMessage(c: AuditContent): Buffer {
  const parts: AuditValue[] = [
    "entry/1",
    c.id,
    c.orgId,
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

/**
 * The sequence number is left out on purpose: a trail's order is its chain of hashes, so a
 * renumbered trail breaks links rather than MACs, which is what lets verification tell a seal
 * slipped in from one that was changed.
 */
export function sealMacMessage(s: { orgId: string; prevHash: Buffer; entryId: string; entryMac: Buffer; entryOk: boolean }): Buffer {
  const parts: AuditValue[] = ["seal/1", s.orgId, s.prevHash.toString("hex"), s.entryId, s.entryMac.toString("hex"), s.entryOk];
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
