/** Trail entries as API messages. */
import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  AuditEventSchema,
  AuditOutcome,
  AuditProblemKind,
  AuditProblemSchema,
  type AuditEvent,
  type AuditProblem,
} from "../../gen/tessera/v1/audit_pb.js";
import { TokenKind as PbTokenKind } from "../../gen/tessera/v1/resources_pb.js";
import type { AuditEntry, AuditFields, AuditOutcomeName } from "../../domain/audit/entry.js";
import type { ChainProblem, ChainProblemKind } from "../../domain/audit/verify-chain.js";

const OUTCOMES: Record<AuditOutcomeName, AuditOutcome> = {
  OK: AuditOutcome.OK,
  PERMISSION_DENIED: AuditOutcome.PERMISSION_DENIED,
  UNAUTHENTICATED: AuditOutcome.UNAUTHENTICATED,
};

const PROBLEMS: Record<ChainProblemKind, AuditProblemKind> = {
  CHANGED: AuditProblemKind.CHANGED,
  REMOVED: AuditProblemKind.REMOVED,
  INSERTED: AuditProblemKind.INSERTED,
  UNKNOWN_KEY: AuditProblemKind.UNKNOWN_KEY,
};

// protobuf-es represents a google.protobuf.Struct field as the JSON object itself.
const struct = (f: AuditFields | null): JsonObject | undefined => (f === null ? undefined : (f as JsonObject));

const kind = (k: string | undefined): PbTokenKind =>
  k === undefined ? PbTokenKind.UNSPECIFIED : ((PbTokenKind as unknown as Record<string, PbTokenKind>)[k] ?? PbTokenKind.UNSPECIFIED);

export function auditEventToPb(e: AuditEntry): AuditEvent {
  return create(AuditEventSchema, {
    id: e.id,
    organizationId: e.orgId,
    // 0 until the sealer has linked it into the chain (within a second or so).
    sequence: e.seal?.seq ?? 0n,
    time: timestampFromDate(e.at),
    actor: {
      tokenId: e.actor.token_id ?? "",
      tokenKind: kind(e.actor.token_kind),
      userId: e.actor.user_id ?? "",
      organizationId: e.actor.organization_id ?? "",
      system: e.actor.system ?? "",
    },
    action: e.action,
    target: { type: e.target.type, id: e.target.id, name: e.target.name ?? "" },
    before: struct(e.before),
    after: struct(e.after),
    requestId: e.requestId,
    peer: e.peer,
    userAgent: e.userAgent,
    outcome: OUTCOMES[e.outcome],
    rpc: e.rpc,
    reason: e.reason,
    hash: e.seal?.hash ?? new Uint8Array(0),
  });
}

export const problemToPb = (p: ChainProblem): AuditProblem =>
  create(AuditProblemSchema, { sequence: p.seq, kind: PROBLEMS[p.kind], detail: p.detail });
