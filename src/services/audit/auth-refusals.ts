/**
 * Refused credentials on the admin API, reported by the transports (the credential is checked
 * before any handler runs): recorded in the trail of the organization whose token was refused
 * (disabled, expired, inactive owner), or in the instance's trail when the credential named no
 * token Tessera knows. Verify and the edge checks are not recorded: their decisions are metrics.
 */
import { isTesseraError } from "../../domain/errors.js";
import { TokenAdminService } from "../../gen/tessera/v1/token_admin_service_pb.js";
import { refusedTokenOf } from "../authenticate.js";
import { requestInfoFrom, type AuthRefusal } from "../request-info.js";
import type { RefusalRecorder } from "./refusals.js";
import { AuditScope } from "./scope.js";
import type { AuditTrail } from "./trail.js";

const ADMIN = `/${TokenAdminService.typeName}/`;

export function auditAuthRefusals(trail: AuditTrail, refusals: RefusalRecorder): (r: AuthRefusal) => void {
  return (r) => {
    if (!trail.enabled || !r.rpc.startsWith(ADMIN) || !isTesseraError(r.err) || r.err.code !== "UNAUTHENTICATED") return;
    const token = refusedTokenOf(r.err);
    const actor =
      token === undefined
        ? {}
        : {
            token_id: token.tokenId,
            token_kind: token.kind,
            ...(token.userId !== null && { user_id: token.userId }),
            organization_id: token.orgId,
          };
    const scope = new AuditScope(trail, actor, requestInfoFrom(r.header, r.peer, r.rpc));
    refusals.record(
      token?.orgId,
      scope,
      { action: "auth.refused", target: { type: "call", id: r.rpc } },
      "UNAUTHENTICATED",
      r.err.publicMessage,
    );
  };
}
