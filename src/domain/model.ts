/**
 * Plain domain records, as the store returns them and the services use them. They carry no
 * token values: only digests ever reach the store, and digests never leave it.
 */
import type { TokenKind } from "./token-format.js";
import type { ValueOrigin } from "./token-value.js";

/** A member's role in an organization, lowest first. */
export type RoleName = "VIEWER" | "EDITOR" | "ADMIN";

export type SignalName = "LOGS" | "METRICS" | "TRACES";

export interface Organization {
  id: string;
  identifier: string;
  name: string;
  parentId: string | null;
  parentAccess: boolean;
  enabled: boolean;
  createdAt: Date;
  /** Longest lifetime (seconds) of a token created in the organization; null for no limit. */
  maxTokenLifetimeS: number | null;
  /** Tokens idle for this long (seconds) are disabled by the server; null for never. */
  tokenIdleLimitS: number | null;
}

/** The organization's token policies, as set at creation (or by an update). */
export type TokenPolicies = Pick<Organization, "maxTokenLifetimeS" | "tokenIdleLimitS">;

/** Who or what disabled a token: a caller, or the idle sweep. */
export type DisabledReason = "ADMIN" | "IDLE";

export interface User {
  id: string;
  name: string;
  root: boolean;
  createdAt: Date;
}

export interface Membership {
  orgId: string;
  userId: string;
  role: RoleName;
}

export interface Bucket {
  id: string;
  orgId: string;
  name: string;
  description: string;
  createdAt: Date;
}

export interface BucketGrant {
  bucket: string;
  read: boolean;
  write: boolean;
}

/** Fixed at creation; stored as JSON. */
export interface Permissions {
  signals?: SignalName[];
  buckets?: string[];
  bucketAccess?: BucketGrant[];
  dashboards?: string[];
  filters?: Record<string, string>;
}

export interface TokenRecord {
  id: string;
  seq: string;
  orgId: string;
  name: string;
  description: string;
  kind: TokenKind;
  isDefault: boolean;
  mask: string;
  /** Where the current value came from: generated here, supplied in Tessera format, or imported. */
  valueOrigin: ValueOrigin;
  enabled: boolean;
  ownerUserId: string | null;
  createdBy: string | null;
  permissions: Permissions;
  expiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** The current value's last use (during an overlap the previous value has its own). */
  lastUsedAt: Date | null;
  /** The value a rotation with a grace period replaced, while it still matches; null otherwise. */
  previous: PreviousValue | null;
  /** Set while the token is disabled. */
  disabledReason: DisabledReason | null;
}

/** A token's previous value during a rotation's grace period: never the value, only its mask. */
interface PreviousValue {
  mask: string;
  /** When it stops being accepted. */
  expiresAt: Date;
  lastUsedAt: Date | null;
}

/** What a new token row needs: its digest, never its value. */
export interface NewToken {
  id: string;
  orgId: string;
  name: string;
  description: string;
  kind: TokenKind;
  isDefault: boolean;
  digest: Buffer;
  keyId: number;
  mask: string;
  /** GENERATED when absent. */
  valueOrigin?: ValueOrigin;
  ownerUserId: string | null;
  createdBy: string | null;
  permissions: Permissions;
  expiresAt: Date | null;
}

/** One row from the Verify lookup: everything a decision needs, in one round trip. */
export interface TokenLookup {
  tokenId: string;
  orgId: string;
  orgIdentifier: string;
  orgEnabled: boolean;
  name: string;
  kind: TokenKind;
  keyId: number;
  enabled: boolean;
  expiresAt: Date | null;
  permissions: Permissions;
  ownerUserId: string | null;
  ownerLive: boolean;
  ownerRoot: boolean;
  ownerRole: RoleName | null;
  targetOrgId: string | null;
  targetIdentifier: string | null;
  targetEnabled: boolean | null;
  targetReachable: boolean;
  /**
   * The stored last-used time when the lookup was read, in whole minutes since the Unix epoch
   * (rounded down; null if never used): a small integer, where a Date would cost every cached
   * lookup an object. Lets Verify skip recording a token whose stored time is already recent.
   */
  lastUsedMinute: number | null;
  /**
   * Set when the value presented is the token's previous one (a rotation's grace period): when
   * it stops being accepted. Null for the current value. Everything above is the token's, except
   * keyId and lastUsedMinute, which are the matched value's.
   */
  previousUntil: Date | null;
}
