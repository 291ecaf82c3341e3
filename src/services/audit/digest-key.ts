/**
 * Digest-key changes are made in the key file (or TESSERA_DIGEST_KEYS), outside any RPC: the
 * server records the one it starts with on the instance's trail whenever it differs from the last
 * recorded, so a rotation shows up as `digest_key.rotate` with the key ids before and after.
 * Only key ids are recorded, never key material.
 */
import { INSTANCE_TRAIL } from "../../domain/audit/entry.js";
import type { Keyring } from "../../domain/digest.js";
import type { Database } from "../../store/database.js";
import { latestAuditEntry } from "../../store/queries/audit.js";
import { AuditScope, NO_REQUEST, systemActor } from "./scope.js";
import type { AuditTrail } from "./trail.js";

const ACTION = "digest_key.rotate";

export async function recordDigestKey(db: Database, trail: AuditTrail, keyring: Keyring): Promise<void> {
  if (!trail.enabled) return;
  const current = keyring.currentKeyId;
  await db.withOrg(INSTANCE_TRAIL, async (tx) => {
    const last = await latestAuditEntry(tx, ACTION);
    const before = last?.after?.current_key_id;
    if (before === current) return;
    await new AuditScope(trail, systemActor("server"), NO_REQUEST).record(tx, {
      action: ACTION,
      target: { type: "digest_key", id: String(current) },
      before: typeof before === "number" ? { current_key_id: before } : null,
      after: { current_key_id: current, key_ids: [...keyring.keyIds].sort((a, b) => a - b) },
    });
  });
}
