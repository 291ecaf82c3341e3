/** The lock that serializes ApplyManifest: two applies planning against the same state would both act on it. */
import type { Tx } from "../with-org.js";

/** An arbitrary, fixed key for pg_advisory_xact_lock: "tessera apply" in no particular encoding. */
const APPLY_LOCK_KEY = 0x7465_7373;

/** Waits for any other apply to end; held until this transaction commits or rolls back. */
export async function lockApply(tx: Tx): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock($1)", [APPLY_LOCK_KEY]);
}
