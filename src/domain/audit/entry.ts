/**
 * One audit-trail entry, as the service writes it and the store keeps it, and the seal that links
 * it into its organization's chain. Only metadata: a field that could hold a token value or digest
 * has no place here (see audit-fields.ts for how the before/after snapshots are built).
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

/** Everything the entry's MAC covers. */
export interface AuditContent {
  /** The entry's own id (random), so that no two entries have the same MAC message. */
  id: string;
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
  keyId: number;
  mac: Buffer;
  /** Where it is in the chain, once sealed. */
  seal: AuditSeal | undefined;
}

/** An entry's link in its organization's chain. */
export interface AuditSeal {
  orgId: string;
  seq: bigint;
  entryId: string;
  /** The entry's MAC when it was sealed. */
  entryMac: Buffer;
  /** False when the sealer found the entry's MAC wrong. */
  entryOk: boolean;
  keyId: number;
  prevHash: Buffer;
  hash: Buffer;
}

/** The previous hash of a trail's first seal. */
export const GENESIS_HASH: Buffer = Buffer.alloc(32);
