/**
 * Verifies one trail end to end (VerifyAuditLog, `tessera audit verify`): reads its seals oldest
 * first in batches, each with its entry, and feeds the chain walk (domain/audit/verify-chain.ts);
 * then looks for entries below the newest seal that no seal names. The oldest kept seal must link
 * to the genesis hash or, after retention removed older ones, to the last seal removed, which the
 * newest `audit.prune` entry names (an entry the same walk checks).
 *
 * Entries committed in the last moment may not be sealed yet: they are counted, not checked.
 */
import { GENESIS_HASH } from "../../domain/audit/entry.js";
import { ChainWalk, type ChainReport } from "../../domain/audit/verify-chain.js";
import { Keyring } from "../../domain/digest.js";
import type { Database } from "../../store/database.js";
import { lastSeal, latestAuditEntry, sealsAfter, unsealedBelow } from "../../store/queries/audit.js";

const BATCH = 5000;
export const PRUNE_ACTION = "audit.prune";

export async function verifyTrail(db: Database, keyring: Keyring, orgId: string): Promise<ChainReport> {
  const { prune, head } = await db.withOrg(orgId, async (tx) => ({
    prune: await latestAuditEntry(tx, PRUNE_ACTION),
    head: await lastSeal(tx),
  }));
  const through = prune?.after?.through_hash;
  const anchor = typeof through === "string" && /^[0-9a-f]{64}$/.test(through) ? Buffer.from(through, "hex") : GENESIS_HASH;
  const walk = new ChainWalk({ has: (id) => keyring.has(id), auditMac: (m, id) => keyring.auditMac(m, id), equal: Keyring.equal }, anchor);
  if (head === undefined) return walk.finish();
  let after = 0n;
  for (;;) {
    const batch = await db.withOrg(orgId, (tx) => sealsAfter(tx, after, BATCH));
    for (const { seal, entry } of batch) {
      if (seal.seq > head.seq) break;
      walk.push(seal, entry);
    }
    if (batch.length < BATCH || batch[batch.length - 1]!.seal.seq >= head.seq) break;
    after = batch[batch.length - 1]!.seal.seq;
  }
  for (const e of await db.withOrg(orgId, (tx) => unsealedBelow(tx, head.entryXid, head.entryPos, 100))) walk.stray(e);
  return walk.finish();
}
