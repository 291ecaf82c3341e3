/**
 * One request's view of the audit trail: who is acting and how the request came in, so that a
 * handler only says what it changed. Built by the admin service for each call (services/admin-
 * service.ts) and by the server's own jobs for what they change.
 */
import type { AuditActorFields, AuditFields, AuditOutcomeName, AuditTargetFields } from "../../domain/audit/entry.js";
import type { Tx } from "../../store/database.js";
import type { Caller } from "../caller.js";
import type { RequestInfo } from "../request-info.js";
import type { AuditDraft, AuditTrail } from "./trail.js";

/** What a handler says about one change it made. */
export interface AuditChange {
  action: string;
  target: AuditTargetFields;
  before?: AuditFields | null;
  after?: AuditFields | null;
}

export class AuditScope {
  constructor(
    private readonly trail: AuditTrail,
    readonly actor: AuditActorFields,
    readonly info: RequestInfo,
  ) {}

  /** Appends `changes`, in order, to the trail of the transaction's organization. */
  record(tx: Tx, ...changes: AuditChange[]): Promise<void> {
    return this.trail.append(
      tx,
      changes.map((c) => this.draft(c, "OK", "")),
    );
  }

  draft(c: AuditChange, outcome: AuditOutcomeName, reason: string): AuditDraft {
    const i = this.info;
    return {
      actor: this.actor,
      action: c.action,
      target: c.target,
      before: c.before ?? null,
      after: c.after ?? null,
      requestId: i.requestId,
      peer: i.peer,
      userAgent: i.userAgent,
      rpc: i.rpc,
      outcome,
      reason,
    };
  }
}

export function callerActor(c: Caller): AuditActorFields {
  return {
    token_id: c.tokenId,
    token_kind: c.kind,
    ...(c.userId !== undefined && { user_id: c.userId }),
    organization_id: c.orgId,
  };
}

export const systemActor = (system: NonNullable<AuditActorFields["system"]>): AuditActorFields => ({ system });

export const NO_REQUEST: RequestInfo = { requestId: "", peer: "", userAgent: "", rpc: "" };
