/**
 * Verifies one trail end to end (VerifyAuditLog, `tessera audit verify`): reads it oldest first in
 * batches and feeds the chain walk (domain/audit/verify-chain.ts). The oldest kept entry must link
 * to the genesis hash, or, after retention removed older ones, to the last removed entry, which
 * the newest `audit.prune` entry names (an entry whose own MAC is checked by the same walk).
 */
import { GENESIS_HASH } from "../../domain/audit/entry.js";
import { ChainWalk, type ChainReport } from "../../domain/audit/verify-chain.js";
import { Keyring } from "../../domain/digest.js";
import type { Database } from "../../store/database.js";
import { auditEntriesAfter, latestAuditEntry } from "../../store/queries/audit.js";

const BATCH = 5000;
export const PRUNE_ACTION = "audit.prune";

export async function verifyTrail(db: Database, keyring: Keyring, orgId: string): Promise<ChainReport> {
  const prune = await db.withOrg(orgId, (tx) => latestAuditEntry(tx, PRUNE_ACTION));
  const through = prune?.after?.through_hash;
  const anchor = typeof through === "string" && /^[0-9a-f]{64}$/.test(through) ? Buffer.from(through, "hex") : GENESIS_HASH;
  const walk = new ChainWalk({ has: (id) => keyring.has(id), auditMac: (m, id) => keyring.auditMac(m, id), equal: Keyring.equal }, anchor);
  let after = 0n;
  for (;;) {
    const batch = await db.withOrg(orgId, (tx) => auditEntriesAfter(tx, after, BATCH));
    for (const e of batch) walk.push(e);
    if (batch.length < BATCH) break;
    after = batch[batch.length - 1]!.seq;
  }
  return walk.finish();
}
