/** What the services need, passed in once at start-up (tests pass their own). */
import type { Keyring } from "../domain/digest.js";
import type { Log } from "../log.js";
import type { Database } from "../store/database.js";
import type { RefusalRecorder } from "./audit/refusals.js";
import type { AuditTrail } from "./audit/trail.js";
import type { ImportedFilter } from "./imported-filter.js";
import type { LastUsedRecorder } from "./last-used.js";
import type { RevocationHub } from "./revocation-hub.js";
import type { TokenLookupService } from "./token-lookup.js";

export type { Log } from "../log.js";

export interface ServiceDeps {
  db: Database;
  keyring: Keyring;
  lookup: TokenLookupService;
  /** Milliseconds since the epoch; injectable so tests can move time. */
  now: () => number;
  log: Log;
  hub: RevocationHub;
  /** Digest prefixes of imported values; CreateToken adds what it imports. */
  importedFilter: ImportedFilter;
  lastUsed: LastUsedRecorder;
  /** How often WatchRevocations sends a checkpoint when nothing happens. */
  checkpointMs: number;
  /** The audit trail's writer, and its recorder of refused calls. */
  audit: AuditTrail;
  refusals: RefusalRecorder;
  /** How often WatchAuditEvents looks for new entries. */
  auditPollMs: number;
  /** Told the status of every Verify answer (metrics). */
  onVerify?: (status: number) => void;
}
