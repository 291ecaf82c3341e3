/**
 * Appends entries to audit trails: the one writer. It runs inside the caller's transaction, so an
 * entry commits or rolls back with the change it describes; the trail's head is locked until then
 * (appends to one organization's trail are serialized; other organizations' do not wait).
 *
 * Switched off (`enabled: false`) it writes nothing: what the benchmark compares against.
 */
import type { AuditContent, AuditEntry } from "../../domain/audit/entry.js";
import { GENESIS_HASH } from "../../domain/audit/entry.js";
import { macMessage } from "../../domain/audit/mac-message.js";
import type { Keyring } from "../../domain/digest.js";
import type { Tx } from "../../store/database.js";
import { insertAuditEntries, lockAuditHead } from "../../store/queries/audit.js";

/** An entry before the trail gives it its organization, time, position and hash. */
export type AuditDraft = Omit<AuditContent, "orgId" | "at">;

export interface AuditTrail {
  readonly enabled: boolean;
  /** Appends `drafts` to the trail of the transaction's organization context. */
  append(tx: Tx, drafts: readonly AuditDraft[]): Promise<void>;
}

export function createAuditTrail(keys: Keyring, enabled = true): AuditTrail {
  return {
    enabled,
    async append(tx, drafts) {
      if (!enabled || drafts.length === 0) return;
      const head = await lockAuditHead(tx);
      let seq = head.seq;
      let prev = head.hash ?? GENESIS_HASH;
      const entries: AuditEntry[] = [];
      for (const d of drafts) {
        const content: AuditContent = { ...d, orgId: head.orgId, at: head.at };
        const keyId = keys.currentKeyId;
        const hash = keys.auditMac(macMessage(prev, content), keyId);
        seq += 1n;
        entries.push({ ...content, seq, keyId, prevHash: prev, hash });
        prev = hash;
      }
      await insertAuditEntries(tx, entries);
    },
  };
}
