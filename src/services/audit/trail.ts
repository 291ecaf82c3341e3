/**
 * Writes entries to audit trails: the one writer. It runs inside the caller's transaction, so an
 * entry commits or rolls back with the change it describes. It takes no lock and reads nothing:
 * entries get their MAC here and their place in the chain from the sealer once they committed
 * (sealer.ts), so writers of one organization never wait for each other's commits.
 *
 * Switched off (`enabled: false`) it writes nothing: what the benchmark compares against.
 */
import { randomUUID } from "node:crypto";
import type { AuditContent, AuditEntry } from "../../domain/audit/entry.js";
import { entryMacMessage } from "../../domain/audit/mac-message.js";
import type { Keyring } from "../../domain/digest.js";
import { contextOrg, type Tx } from "../../store/database.js";
import { insertAuditEntries } from "../../store/queries/audit.js";

/** An entry before the trail gives it its id, organization and time. */
export type AuditDraft = Omit<AuditContent, "id" | "orgId" | "at">;

export interface AuditTrail {
  readonly enabled: boolean;
  /** Appends `drafts` to the trail of the organization `tx` is in. */
  append(tx: Tx, drafts: readonly AuditDraft[]): Promise<void>;
}

export function createAuditTrail(keys: Keyring, enabled = true, now: () => number = Date.now): AuditTrail {
  return {
    enabled,
    async append(tx, drafts) {
      if (!enabled || drafts.length === 0) return;
      const orgId = contextOrg(tx);
      const at = new Date(now());
      const entries: AuditEntry[] = drafts.map((d) => {
        const content: AuditContent = { ...d, id: randomUUID(), orgId, at };
        const keyId = keys.currentKeyId;
        return { ...content, keyId, mac: keys.auditMac(entryMacMessage(content), keyId), seal: undefined };
      });
      await insertAuditEntries(tx, entries);
    },
  };
}
