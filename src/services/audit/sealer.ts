/**
 * The sealer: links committed entries into their organizations' chains (see migration 0015). Every
 * instance runs it in its upkeep; the database lets one at a time take a batch. One transaction
 * per batch, so a crash leaves either every seal of the batch or none, and the newest seal stays a
 * cursor that never skips an entry. An entry whose MAC is wrong (not written by Tessera) is sealed
 * all the same, flagged, so verification reports it and the cursor moves on.
 */
import { GENESIS_HASH, type AuditEntry } from "../../domain/audit/entry.js";
import { entryMacMessage, sealMacMessage } from "../../domain/audit/mac-message.js";
import { Keyring } from "../../domain/digest.js";
import type { Database } from "../../store/database.js";
import { insertSeals, lastSeal, pendingAuditEntries, type NewSeal } from "../../store/queries/audit.js";

const BATCH = 5000;

/** Seals what has committed; returns how many entries it sealed. */
export async function sealPending(db: Database, keyring: Keyring): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await db.transaction(async (t) => {
      const pending = await t.unscoped((tx) => pendingAuditEntries(tx, BATCH));
      const byOrg = new Map<string, Array<{ entry: AuditEntry; xid: string; pos: bigint }>>();
      for (const p of pending) {
        const list = byOrg.get(p.entry.orgId) ?? [];
        list.push(p);
        byOrg.set(p.entry.orgId, list);
      }
      for (const [orgId, list] of byOrg) {
        await t.asOrg(orgId, async (tx) => {
          const head = await lastSeal(tx);
          let seq = head?.seq ?? 0n;
          let prev = head?.hash ?? GENESIS_HASH;
          const seals: NewSeal[] = [];
          for (const { entry: e, xid, pos } of list) {
            seq += 1n;
            const entryOk = keyring.has(e.keyId) && Keyring.equal(keyring.auditMac(entryMacMessage(e), e.keyId), e.mac);
            const keyId = keyring.currentKeyId;
            const link = { orgId, seq, prevHash: prev, entryId: e.id, entryMac: e.mac, entryOk };
            const hash = keyring.auditMac(sealMacMessage(link), keyId);
            seals.push({ ...link, keyId, hash, entryXid: xid, entryPos: pos });
            prev = hash;
          }
          await insertSeals(tx, seals);
        });
      }
      return pending.length;
    });
    total += n;
    if (n < BATCH) return total;
  }
}
