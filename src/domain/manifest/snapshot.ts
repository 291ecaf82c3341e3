/**
 * What the instance holds now, as the admin API's Get and List responses describe it, in domain
 * terms: the planner compares a manifest's desired state with this. The CLI fills it from
 * GetCaller, ListOrganizations, ListUsers, and ListBuckets, ListTokens and ListMemberships for
 * every organization the manifest names that exists; the server can fill it from the same rows,
 * read in the transaction that applies the plan.
 */
import type { Permissions, RoleName } from "../model.js";
import type { TokenKind } from "../token-format.js";

export interface SnapshotOrganization {
  id: string;
  identifier: string;
  name: string;
  /** Id of the parent organization; null for a top-level one. */
  parentId: string | null;
  parentAccess: boolean;
}

interface SnapshotBucket {
  id: string;
  organizationId: string;
  name: string;
  description: string;
}

export interface SnapshotToken {
  id: string;
  organizationId: string;
  name: string;
  description: string;
  kind: TokenKind;
  ownerUserId: string | null;
  permissions: Permissions;
  expireTime: Date | null;
}

interface SnapshotUser {
  id: string;
  name: string;
  root: boolean;
}

interface SnapshotMembership {
  organizationId: string;
  userId: string;
  role: RoleName;
}

export interface Snapshot {
  /** Every organization the caller reaches (at least every one the manifest names that exists). */
  organizations: SnapshotOrganization[];
  /** The buckets of every organization the manifest names that exists. */
  buckets: SnapshotBucket[];
  /** The tokens of every organization the manifest names that exists. */
  tokens: SnapshotToken[];
  /** The users the caller can see. */
  users: SnapshotUser[];
  /** The memberships of every organization the manifest names that exists. */
  memberships: SnapshotMembership[];
  /** The token the caller authenticates with (a list, so a server may name more to keep): prune never deletes them. */
  callerTokenIds: string[];
  /** The caller's user, whose memberships prune never removes (that would end the caller's own token). */
  callerUserId: string | undefined;
}
