/**
 * The idle sweep (migration 0014's token_idle_limit), with each token it disables on the audit
 * trail of its organization, in the sweep's own transaction: "who disabled this token?" has an
 * answer (`upkeep`, reason IDLE) like every other disable.
 */
import type { AuditFields } from "../../domain/audit/entry.js";
import type { Database } from "../../store/database.js";
import { disableIdleTokensListed } from "../../store/queries/revocations.js";
import { AuditScope, NO_REQUEST, systemActor } from "./scope.js";
import type { AuditTrail } from "./trail.js";

const BEFORE: AuditFields = { enabled: true };
const AFTER: AuditFields = { enabled: false, disabled_reason: "IDLE" };

/** Returns how many tokens it disabled. */
export async function sweepIdleTokens(db: Database, trail: AuditTrail, now: Date): Promise<number> {
  const scope = new AuditScope(trail, systemActor("upkeep"), NO_REQUEST);
  return db.transaction(async (t) => {
    // The sweep crosses organizations (a SECURITY DEFINER function, no context); the records go to each one's trail.
    const disabled = await t.unscoped((tx) => disableIdleTokensListed(tx, now));
    const byOrg = new Map<string, typeof disabled>();
    for (const d of disabled) byOrg.set(d.orgId, [...(byOrg.get(d.orgId) ?? []), d]);
    for (const [orgId, tokens] of byOrg) {
      await t.asOrg(orgId, (tx) =>
        scope.record(
          tx,
          ...tokens.map((d) => ({
            action: "token.disable",
            target: { type: "token", id: d.tokenId, name: d.name },
            before: BEFORE,
            after: AFTER,
          })),
        ),
      );
    }
    return disabled.length;
  });
}
