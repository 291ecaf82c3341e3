// What a token's kind allows and requires, in one place: CreateToken (services/admin/token-spec.ts)
// enforces these rules on requests, and a manifest (domain/manifest/) checks its tokens against the
// very same ones before anything reaches the server, so the two can never disagree.

import type { Permissions } from "./model.js";
import type { TokenKind } from "./token-format.js";

export type PermissionField = "signals" | "buckets" | "bucketAccess" | "dashboards" | "filters";

/** The permission fields each kind may set; any other is refused by name. */
export const PERMISSION_FIELDS: Readonly<Record<TokenKind, readonly PermissionField[]>> = {
  INGESTION: ["signals", "buckets"],
  READ_WRITE: ["bucketAccess"],
  SHARED: ["dashboards", "filters"],
  OPERATOR: [],
  ALL_ACCESS: [],
  VERIFIER: [],
};

/** What every organization's `default` ingestion token is made with. */
export const DEFAULT_TOKEN = { name: "default", description: "Default ingestion token" } as const;

/** Kinds bound to a user, whose role bounds what they grant. */
export const USER_BOUND_KINDS: readonly TokenKind[] = ["OPERATOR", "ALL_ACCESS", "READ_WRITE"];

/** The most entries any permission list (or filter map) may hold. */
export const MAX_PERMISSION_ENTRIES = 100;

/** The longest dashboard name, filter key or filter value. */
export const MAX_PERMISSION_TEXT = 256;

/** A dashboard name, filter key or filter value: at most 256 characters, no control characters. */
export const isPermissionText = (s: string): boolean => s.length <= MAX_PERMISSION_TEXT && !/[\x00-\x1f\x7f]/.test(s);

/** What a kind requires that `permissions` and the expiry lack, in the order CreateToken reports it. */
export function missingForKind(
  kind: TokenKind,
  permissions: Permissions,
  hasExpiry: boolean,
): Array<"expiry" | "dashboards" | "bucketAccess"> {
  const missing: Array<"expiry" | "dashboards" | "bucketAccess"> = [];
  if (kind === "SHARED") {
    if (!hasExpiry) missing.push("expiry");
    if (!permissions.dashboards?.length) missing.push("dashboards");
  }
  if (kind === "READ_WRITE" && !permissions.bucketAccess?.length) missing.push("bucketAccess");
  return missing;
}
