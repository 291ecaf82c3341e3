/**
 * One audit-trail entry, as the service writes it and the store keeps it. Only metadata: a
 * field that could hold a token value or digest has no place here (see audit-fields.ts for how
 * the before/after snapshots are built from resources).
 */

/** JSON the trail stores: strings, whole numbers, booleans, null, arrays and objects. */
export type AuditValue = string | number | boolean | null | AuditValue[] | { [key: string]: AuditValue };
export type AuditFields = { [key: string]: AuditValue };

export type AuditOutcomeName = "OK" | "PERMISSION_DENIED" | "UNAUTHENTICATED";

/** The instance's own trail: refused calls that name no organization, digest-key changes. */
export const INSTANCE_TRAIL = "00000000-0000-0000-0000-000000000000";

export interface AuditActorFields {
  token_id?: string;
  token_kind?: string;
  user_id?: string;
  organization_id?: string;
  system?: "setup" | "recovery" | "upkeep" | "server";
}

export interface AuditTargetFields {
  type: string;
  id: string;
  name?: string;
}

/** Everything the MAC covers, except the previous hash (which it covers too). */
export interface AuditContent {
  orgId: string;
  at: Date;
  actor: AuditActorFields;
  action: string;
  target: AuditTargetFields;
  before: AuditFields | null;
  after: AuditFields | null;
  requestId: string;
  peer: string;
  userAgent: string;
  rpc: string;
  outcome: AuditOutcomeName;
  reason: string;
}

export interface AuditEntry extends AuditContent {
  seq: bigint;
  keyId: number;
  prevHash: Buffer;
  hash: Buffer;
}

/** The previous hash of a trail's first entry. */
export const GENESIS_HASH: Buffer = Buffer.alloc(32);
