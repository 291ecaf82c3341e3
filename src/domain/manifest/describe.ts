/** Permissions in words, as plans and conflict messages show them, and compared as sets. */
import type { Permissions } from "../model.js";
import type { TokenKind } from "../token-format.js";

const lower = (xs: readonly string[]) => xs.map((x) => x.toLowerCase());

/** "signals logs, metrics; buckets main" — or what no restriction means for the kind. */
export function describePermissions(kind: TokenKind, p: Permissions): string {
  const parts: string[] = [];
  if (p.signals?.length) parts.push(`signals ${lower(p.signals).join(", ")}`);
  if (p.buckets?.length) parts.push(`buckets ${p.buckets.join(", ")}`);
  const reads = (p.bucketAccess ?? []).filter((g) => g.read).map((g) => g.bucket);
  const writes = (p.bucketAccess ?? []).filter((g) => g.write).map((g) => g.bucket);
  if (reads.length) parts.push(`read ${reads.join(", ")}`);
  if (writes.length) parts.push(`write ${writes.join(", ")}`);
  if (p.dashboards?.length) parts.push(`dashboards ${p.dashboards.join(", ")}`);
  const filters = Object.entries(p.filters ?? {});
  if (filters.length) parts.push(`filters ${filters.map(([k, v]) => `${k}=${v}`).join(", ")}`);
  if (parts.length > 0) return parts.join("; ");
  if (kind === "INGESTION") return "every signal and bucket";
  if (kind === "ALL_ACCESS") return "everything in the organization";
  if (kind === "VERIFIER") return "Verify and WatchRevocations";
  return "none";
}

const set = (xs: readonly string[] | undefined) => [...new Set(xs ?? [])].sort();

/** Two permission sets grant the same, whatever order or repetition they were written in. */
export function samePermissions(a: Permissions, b: Permissions): boolean {
  const canonical = (p: Permissions) =>
    JSON.stringify([
      set(p.signals),
      set(p.buckets),
      (p.bucketAccess ?? []).map((g) => `${g.bucket}:${g.read ? "r" : ""}${g.write ? "w" : ""}`).sort(),
      set(p.dashboards),
      Object.entries(p.filters ?? {}).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
    ]);
  return canonical(a) === canonical(b);
}
