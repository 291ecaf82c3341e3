/**
 * The audit trail's queries (migration 0015). Reads and writes of one trail run inside withOrg:
 * row-level security limits every statement to the context organization's trail (the all-zero
 * UUID for the instance's own). The sealer's read across trails is a SECURITY DEFINER function.
 * The service role may only insert and read; retention goes through tessera_audit_prune.
 */
import type pg from "pg";
import type {
  AuditActorFields,
  AuditEntry,
  AuditFields,
  AuditOutcomeName,
  AuditSeal,
  AuditTargetFields,
} from "../../domain/audit/entry.js";
import type { Tx } from "../with-org.js";

interface EntryRow {
  pos: string;
  xid: string;
  id: string;
  org_id: string;
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
  mac: Buffer;
}

interface SealRow {
  s_org_id: string | null;
  s_seq: string | null;
  s_entry_id: string | null;
  s_entry_mac: Buffer | null;
  s_entry_ok: boolean | null;
  s_key_id: number | null;
  s_prev_hash: Buffer | null;
  s_hash: Buffer | null;
}

const SEAL_COLUMNS = `s.org_id AS s_org_id, s.seq::text AS s_seq, s.entry_id AS s_entry_id, s.entry_mac AS s_entry_mac,
  s.entry_ok AS s_entry_ok, s.key_id AS s_key_id, s.prev_hash AS s_prev_hash, s.hash AS s_hash`;

const toSeal = (r: SealRow): AuditSeal | undefined =>
  r.s_seq === null
    ? undefined
    : {
        orgId: r.s_org_id!,
        seq: BigInt(r.s_seq),
        entryId: r.s_entry_id!,
        entryMac: r.s_entry_mac!,
        entryOk: r.s_entry_ok!,
        keyId: r.s_key_id!,
        prevHash: r.s_prev_hash!,
        hash: r.s_hash!,
      };

const toEntry = (r: EntryRow & Partial<SealRow>): AuditEntry => ({
  id: r.id,
  orgId: r.org_id,
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
  mac: r.mac,
  seal: r.s_seq === undefined ? undefined : toSeal(r as SealRow),
});

const ENTRY_COLUMNS = 16;

/** Appends entries to the context organization's trail (they are sealed after they commit). */
export async function insertAuditEntries(tx: Tx, entries: readonly AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const values: unknown[] = [];
  const rows: string[] = [];
  entries.forEach((e, i) => {
    rows.push(`(${Array.from({ length: ENTRY_COLUMNS }, (_, j) => `$${i * ENTRY_COLUMNS + j + 1}`).join(", ")})`);
    values.push(
      e.id,
      e.orgId,
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
      e.mac,
    );
  });
  await tx.query(
    `INSERT INTO audit_events (id, org_id, at, actor, action, target, before, after, request_id, peer, user_agent, rpc, outcome, reason, key_id, mac)
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
  /** Only entries written before this position (the page before). */
  beforePos?: bigint;
  limit: number;
}

/** The context organization's entries matching `f`, newest first, with their seals; and each one's position. */
export async function listAuditEntries(tx: Tx, f: AuditFilter): Promise<Array<{ pos: bigint; entry: AuditEntry }>> {
  const where: string[] = [];
  const args: unknown[] = [];
  const arg = (v: unknown): string => {
    args.push(v);
    return `$${args.length}`;
  };
  if (f.start !== undefined) where.push(`e.at >= ${arg(f.start)}`);
  if (f.end !== undefined) where.push(`e.at < ${arg(f.end)}`);
  if (f.actorTokenId !== undefined) where.push(`e.actor->>'token_id' = ${arg(f.actorTokenId)}`);
  if (f.actorUserId !== undefined) where.push(`e.actor->>'user_id' = ${arg(f.actorUserId)}`);
  if (f.targetId !== undefined) where.push(`e.target->>'id' = ${arg(f.targetId)}`);
  if (f.action !== undefined) {
    if (f.action.endsWith(".")) where.push(`starts_with(e.action, ${arg(f.action)})`);
    else where.push(`e.action = ${arg(f.action)}`);
  }
  if (f.outcome !== undefined) where.push(`e.outcome = ${arg(f.outcome)}`);
  if (f.beforePos !== undefined) where.push(`e.pos < ${arg(f.beforePos.toString())}`);
  const r = await tx.query<EntryRow & SealRow>(
    `SELECT e.*, ${SEAL_COLUMNS} FROM audit_events e LEFT JOIN audit_seals s ON s.entry_id = e.id
      ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY e.pos DESC LIMIT ${arg(f.limit)}`,
    args,
  );
  return r.rows.map((x) => ({ pos: BigInt(x.pos), entry: toEntry(x) }));
}

/**
 * The context organization's seals after `afterSeq`, oldest first, each with its entry (undefined
 * when the entry is gone): following and verifying a trail.
 */
export async function sealsAfter(
  tx: Tx,
  afterSeq: bigint,
  limit: number,
): Promise<Array<{ seal: AuditSeal; entry: AuditEntry | undefined }>> {
  const r = await tx.query<EntryRow & SealRow>(
    `SELECT e.*, ${SEAL_COLUMNS} FROM audit_seals s LEFT JOIN audit_events e ON e.id = s.entry_id
      WHERE s.seq > $1 ORDER BY s.seq LIMIT $2`,
    [afterSeq.toString(), limit],
  );
  return r.rows.map((x) => ({ seal: toSeal(x)!, entry: x.id === null ? undefined : toEntry(x) }));
}

/** The context organization's newest seal. */
export async function lastSeal(tx: Tx): Promise<(AuditSeal & { entryXid: string; entryPos: bigint }) | undefined> {
  const r = await tx.query<SealRow & { entry_xid: string; entry_pos: string }>(
    `SELECT ${SEAL_COLUMNS}, s.entry_xid::text AS entry_xid, s.entry_pos::text AS entry_pos FROM audit_seals s ORDER BY s.seq DESC LIMIT 1`,
  );
  const row = r.rows[0];
  return row === undefined ? undefined : { ...toSeal(row)!, entryXid: row.entry_xid, entryPos: BigInt(row.entry_pos) };
}

/** Entries of the context organization at or below a sealing position that no seal names (forged). */
export async function unsealedBelow(tx: Tx, xid: string, pos: bigint, limit: number): Promise<AuditEntry[]> {
  const r = await tx.query<EntryRow>(
    `SELECT e.* FROM audit_events e
      WHERE (e.xid, e.pos) <= ($1::xid8, $2::bigint) AND NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.entry_id = e.id)
      ORDER BY e.pos LIMIT $3`,
    [xid, pos.toString(), limit],
  );
  return r.rows.map(toEntry);
}

/** The newest entry of `action` in the context organization's trail. */
export async function latestAuditEntry(tx: Tx, action: string): Promise<AuditEntry | undefined> {
  const r = await tx.query<EntryRow>(`SELECT * FROM audit_events WHERE action = $1 ORDER BY pos DESC LIMIT 1`, [action]);
  return r.rows[0] === undefined ? undefined : toEntry(r.rows[0]);
}

/** The sealer's batch: committed entries of every trail after the newest seal, in sealing order (empty while another sealer runs). */
export async function pendingAuditEntries(tx: Tx, limit: number): Promise<Array<{ entry: AuditEntry; xid: string; pos: bigint }>> {
  const r = await tx.query<EntryRow>(`SELECT * FROM tessera_audit_pending($1)`, [limit]);
  return r.rows.map((x) => ({ entry: toEntry(x), xid: x.xid, pos: BigInt(x.pos) }));
}

export interface NewSeal extends AuditSeal {
  entryXid: string;
  entryPos: bigint;
}

export async function insertSeals(tx: Tx, seals: readonly NewSeal[]): Promise<void> {
  if (seals.length === 0) return;
  const cols = 10;
  const values: unknown[] = [];
  const rows: string[] = [];
  seals.forEach((s, i) => {
    rows.push(`(${Array.from({ length: cols }, (_, j) => `$${i * cols + j + 1}`).join(", ")})`);
    values.push(
      s.orgId,
      s.seq.toString(),
      s.entryId,
      s.entryXid,
      s.entryPos.toString(),
      s.entryMac,
      s.entryOk,
      s.keyId,
      s.prevHash,
      s.hash,
    );
  });
  await tx.query(
    `INSERT INTO audit_seals (org_id, seq, entry_id, entry_xid, entry_pos, entry_mac, entry_ok, key_id, prev_hash, hash) VALUES ${rows.join(", ")}`,
    values,
  );
}

/** Removes up to `limit` of the context trail's sealed entries older than `before`; the last seal removed, if any. */
export async function pruneAudit(tx: Tx, before: Date, limit: number): Promise<{ seq: bigint; hash: Buffer } | undefined> {
  const r = await tx.query<{ through_seq: string | null; through_hash: Buffer | null }>(`SELECT * FROM tessera_audit_prune($1, $2)`, [
    before,
    limit,
  ]);
  const row = r.rows[0];
  return row?.through_seq == null || row.through_hash == null ? undefined : { seq: BigInt(row.through_seq), hash: row.through_hash };
}

/** The trails holding sealed entries older than `before`. */
export async function prunableAuditTrails(pool: pg.Pool, before: Date): Promise<string[]> {
  const r = await pool.query<{ id: string }>(`SELECT tessera_audit_prunable AS id FROM tessera_audit_prunable($1)`, [before]);
  return r.rows.map((x) => x.id);
}
