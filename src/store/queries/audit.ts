/**
 * The audit trail's queries (migration 0015), always inside withOrg: row-level security limits
 * every statement to the context organization's trail (the all-zero UUID for the instance's own).
 * The service role may only insert and read; retention goes through tessera_audit_prune.
 */
import type pg from "pg";
import type { AuditActorFields, AuditEntry, AuditFields, AuditOutcomeName, AuditTargetFields } from "../../domain/audit/entry.js";
import type { Tx } from "../with-org.js";

interface AuditRow {
  org_id: string;
  seq: string;
  at: Date;
  actor: AuditActorFields;
  action: string;
  target: AuditTargetFields;
  before: AuditFields | null;
  after: AuditFields | null;
  request_id: string;
  peer: string;
  user_agent: string;
  rpc: string;
  outcome: AuditOutcomeName;
  reason: string;
  key_id: number;
  prev_hash: Buffer;
  hash: Buffer;
}

const toEntry = (r: AuditRow): AuditEntry => ({
  orgId: r.org_id,
  seq: BigInt(r.seq),
  at: r.at,
  actor: r.actor,
  action: r.action,
  target: r.target,
  before: r.before,
  after: r.after,
  requestId: r.request_id,
  peer: r.peer,
  userAgent: r.user_agent,
  rpc: r.rpc,
  outcome: r.outcome,
  reason: r.reason,
  keyId: r.key_id,
  prevHash: r.prev_hash,
  hash: r.hash,
});

export interface AuditHead {
  orgId: string;
  /** 0 for an empty trail. */
  seq: bigint;
  /** undefined for an empty trail. */
  hash: Buffer | undefined;
  /** The time to record (the database clock, whole milliseconds). */
  at: Date;
}

/** Locks the context organization's trail until the transaction ends and returns its head. */
export async function lockAuditHead(tx: Tx): Promise<AuditHead> {
  const r = await tx.query<{ org_id: string; seq: string | null; hash: Buffer | null; at: Date }>(`SELECT * FROM tessera_audit_head()`);
  const row = r.rows[0]!;
  return { orgId: row.org_id, seq: row.seq === null ? 0n : BigInt(row.seq), hash: row.hash ?? undefined, at: row.at };
}

export async function insertAuditEntries(tx: Tx, entries: readonly AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const cols = 17;
  const values: unknown[] = [];
  const rows: string[] = [];
  entries.forEach((e, i) => {
    const p = Array.from({ length: cols }, (_, j) => `$${i * cols + j + 1}`);
    rows.push(`(${p.join(", ")})`);
    values.push(
      e.orgId,
      e.seq.toString(),
      e.at,
      JSON.stringify(e.actor),
      e.action,
      JSON.stringify(e.target),
      e.before === null ? null : JSON.stringify(e.before),
      e.after === null ? null : JSON.stringify(e.after),
      e.requestId,
      e.peer,
      e.userAgent,
      e.rpc,
      e.outcome,
      e.reason,
      e.keyId,
      e.prevHash,
      e.hash,
    );
  });
  await tx.query(
    `INSERT INTO audit_events (org_id, seq, at, actor, action, target, before, after, request_id, peer, user_agent, rpc, outcome, reason, key_id, prev_hash, hash)
     VALUES ${rows.join(", ")}`,
    values,
  );
}

export interface AuditFilter {
  start?: Date;
  end?: Date;
  actorTokenId?: string;
  actorUserId?: string;
  targetId?: string;
  /** An exact action, or an area ending in a dot. */
  action?: string;
  outcome?: AuditOutcomeName;
  /** Only entries older than this sequence number (the page before). */
  beforeSeq?: bigint;
  limit: number;
}

/** The context organization's entries matching `f`, newest first. */
export async function listAuditEntries(tx: Tx, f: AuditFilter): Promise<AuditEntry[]> {
  const where: string[] = [];
  const args: unknown[] = [];
  const arg = (v: unknown): string => {
    args.push(v);
    return `$${args.length}`;
  };
  if (f.start !== undefined) where.push(`at >= ${arg(f.start)}`);
  if (f.end !== undefined) where.push(`at < ${arg(f.end)}`);
  if (f.actorTokenId !== undefined) where.push(`actor->>'token_id' = ${arg(f.actorTokenId)}`);
  if (f.actorUserId !== undefined) where.push(`actor->>'user_id' = ${arg(f.actorUserId)}`);
  if (f.targetId !== undefined) where.push(`target->>'id' = ${arg(f.targetId)}`);
  if (f.action !== undefined) {
    if (f.action.endsWith(".")) where.push(`starts_with(action, ${arg(f.action)})`);
    else where.push(`action = ${arg(f.action)}`);
  }
  if (f.outcome !== undefined) where.push(`outcome = ${arg(f.outcome)}`);
  if (f.beforeSeq !== undefined) where.push(`seq < ${arg(f.beforeSeq.toString())}`);
  const r = await tx.query<AuditRow>(
    `SELECT * FROM audit_events ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ${arg(f.limit)}`,
    args,
  );
  return r.rows.map(toEntry);
}

/** The context organization's entries after `afterSeq`, oldest first (following, verifying). */
export async function auditEntriesAfter(tx: Tx, afterSeq: bigint, limit: number): Promise<AuditEntry[]> {
  const r = await tx.query<AuditRow>(`SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2`, [afterSeq.toString(), limit]);
  return r.rows.map(toEntry);
}

/** The newest entry of `action` in the context organization's trail. */
export async function latestAuditEntry(tx: Tx, action: string): Promise<AuditEntry | undefined> {
  const r = await tx.query<AuditRow>(`SELECT * FROM audit_events WHERE action = $1 ORDER BY seq DESC LIMIT 1`, [action]);
  return r.rows[0] === undefined ? undefined : toEntry(r.rows[0]);
}

/** The newest sequence number of the context organization's trail (0 when empty). */
export async function lastAuditSeq(tx: Tx): Promise<bigint> {
  const r = await tx.query<{ seq: string | null }>(`SELECT max(seq)::text AS seq FROM audit_events`);
  return BigInt(r.rows[0]?.seq ?? 0);
}

/** Removes up to `limit` of the context trail's entries older than `before`; the last one removed, if any. */
export async function pruneAudit(tx: Tx, before: Date, limit: number): Promise<{ seq: bigint; hash: Buffer } | undefined> {
  const r = await tx.query<{ through_seq: string | null; through_hash: Buffer | null }>(`SELECT * FROM tessera_audit_prune($1, $2)`, [
    before,
    limit,
  ]);
  const row = r.rows[0];
  return row?.through_seq == null || row.through_hash == null ? undefined : { seq: BigInt(row.through_seq), hash: row.through_hash };
}

/** The trails holding entries older than `before`. */
export async function prunableAuditTrails(pool: pg.Pool, before: Date): Promise<string[]> {
  const r = await pool.query<{ id: string }>(`SELECT tessera_audit_prunable AS id FROM tessera_audit_prunable($1)`, [before]);
  return r.rows.map((x) => x.id);
}
