/** Domain records to protobuf messages. Token values never pass through here: only masks. */
import { create } from "@bufbuild/protobuf";
import { DurationSchema, timestampFromDate, type Duration, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  BucketSchema,
  MembershipSchema,
  OrganizationSchema,
  PreviousTokenValueSchema,
  Role,
  Signal,
  TokenDisabledReason,
  TokenKind as PbTokenKind,
  TokenPermissionsSchema,
  TokenSchema,
  TokenValueOrigin,
  UserSchema,
  type Bucket as PbBucket,
  type Membership as PbMembership,
  type Organization as PbOrganization,
  type Token as PbToken,
  type TokenPermissions as PbPermissions,
  type User as PbUser,
} from "../gen/tessera/v1/resources_pb.js";
import type {
  Bucket,
  DisabledReason,
  Membership,
  Organization,
  Permissions,
  RoleName,
  SignalName,
  TokenRecord,
  User,
} from "../domain/model.js";
import type { TokenKind } from "../domain/token-format.js";
import type { ValueOrigin } from "../domain/token-value.js";

const ts = (d: Date | null | undefined): Timestamp | undefined => (d ? timestampFromDate(d) : undefined);
const seconds = (s: number | null): Duration | undefined => (s === null ? undefined : create(DurationSchema, { seconds: BigInt(s) }));

const DISABLED_REASON_TO_PB: Record<DisabledReason, TokenDisabledReason> = {
  ADMIN: TokenDisabledReason.ADMIN,
  IDLE: TokenDisabledReason.IDLE,
};

export const KIND_TO_PB: Record<TokenKind, PbTokenKind> = {
  INGESTION: PbTokenKind.INGESTION,
  OPERATOR: PbTokenKind.OPERATOR,
  ALL_ACCESS: PbTokenKind.ALL_ACCESS,
  READ_WRITE: PbTokenKind.READ_WRITE,
  SHARED: PbTokenKind.SHARED,
  VERIFIER: PbTokenKind.VERIFIER,
};

export function kindFromPb(k: PbTokenKind): TokenKind | undefined {
  for (const [name, v] of Object.entries(KIND_TO_PB)) if (v === k) return name as TokenKind;
  return undefined;
}

export const ROLE_TO_PB: Record<RoleName, Role> = { VIEWER: Role.VIEWER, EDITOR: Role.EDITOR, ADMIN: Role.ADMIN };

export function roleFromPb(r: Role): RoleName | undefined {
  return r === Role.VIEWER ? "VIEWER" : r === Role.EDITOR ? "EDITOR" : r === Role.ADMIN ? "ADMIN" : undefined;
}

const SIGNAL_TO_PB: Record<SignalName, Signal> = { LOGS: Signal.LOGS, METRICS: Signal.METRICS, TRACES: Signal.TRACES };

export function signalFromPb(s: Signal): SignalName | undefined {
  return s === Signal.LOGS ? "LOGS" : s === Signal.METRICS ? "METRICS" : s === Signal.TRACES ? "TRACES" : undefined;
}

export function organizationToPb(o: Organization): PbOrganization {
  return create(OrganizationSchema, {
    id: o.id,
    identifier: o.identifier,
    name: o.name,
    parentId: o.parentId ?? "",
    parentAccess: o.parentAccess,
    enabled: o.enabled,
    createTime: ts(o.createdAt),
    maxTokenLifetime: seconds(o.maxTokenLifetimeS),
    tokenIdleLimit: seconds(o.tokenIdleLimitS),
  });
}

export const userToPb = (u: User): PbUser => create(UserSchema, { id: u.id, name: u.name, root: u.root, createTime: ts(u.createdAt) });

export const membershipToPb = (m: Membership): PbMembership =>
  create(MembershipSchema, { organizationId: m.orgId, userId: m.userId, role: ROLE_TO_PB[m.role] });

export const bucketToPb = (b: Bucket): PbBucket =>
  create(BucketSchema, {
    id: b.id,
    organizationId: b.orgId,
    name: b.name,
    description: b.description,
    createTime: ts(b.createdAt),
  });

export function permissionsToPb(p: Permissions): PbPermissions {
  return create(TokenPermissionsSchema, {
    signals: (p.signals ?? []).map((s) => SIGNAL_TO_PB[s]),
    buckets: p.buckets ?? [],
    bucketAccess: p.bucketAccess ?? [],
    dashboards: p.dashboards ?? [],
    filters: p.filters ?? {},
  });
}

const ORIGIN_TO_PB: Record<ValueOrigin, TokenValueOrigin> = {
  GENERATED: TokenValueOrigin.GENERATED,
  SUPPLIED: TokenValueOrigin.SUPPLIED,
  IMPORTED: TokenValueOrigin.IMPORTED,
};

export function tokenToPb(t: TokenRecord): PbToken {
  return create(TokenSchema, {
    id: t.id,
    organizationId: t.orgId,
    name: t.name,
    description: t.description,
    kind: KIND_TO_PB[t.kind],
    maskedValue: t.mask,
    enabled: t.enabled,
    createdBy: t.createdBy ?? "",
    ownerUserId: t.ownerUserId ?? "",
    permissions: permissionsToPb(t.permissions),
    createTime: ts(t.createdAt),
    updateTime: ts(t.updatedAt),
    lastUsedTime: ts(t.lastUsedAt),
    expireTime: ts(t.expiresAt),
    disabledReason: t.disabledReason === null ? TokenDisabledReason.UNSPECIFIED : DISABLED_REASON_TO_PB[t.disabledReason],
    previousValue:
      t.previous === null
        ? undefined
        : create(PreviousTokenValueSchema, {
            maskedValue: t.previous.mask,
            expireTime: ts(t.previous.expiresAt),
            lastUsedTime: ts(t.previous.lastUsedAt),
          }),
    valueOrigin: ORIGIN_TO_PB[t.valueOrigin],
  });
}
