/**
 * What the instance holds now, as the admin API's Get and List responses describe it, in domain
 * terms: the planner compares a manifest's desired state with this. It is filled from
 * ListOrganizations, ListBuckets and ListTokens (and ListUsers and ListMemberships where the
 * server has them) for every organization the manifest names that exists, or, server-side, from
 * the same rows read in the transaction that applies the plan.
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
  /** The users the caller can see; undefined when the server cannot list users. */
  users: SnapshotUser[] | undefined;
  /** The memberships of the manifest's organizations; undefined when the server cannot list them. */
  memberships: SnapshotMembership[] | undefined;
  /**
   * The token the caller authenticates with — or, while the server cannot say which one it is,
   * every token that could be it (its mask ends as the caller's value does). Prune never deletes any of them.
   */
  callerTokenIds: string[];
  /** The caller's user, whose memberships prune never removes (that would end the caller's own token). */
  callerUserId: string | undefined;
}
