/**
 * Resolves an `authorization` header into a Caller: the one Authenticator used by both
 * transports. A present but unacceptable credential is UNAUTHENTICATED; what the caller may then
 * do is each service's business.
 */
import { unauthenticated } from "../domain/errors.js";
import { parseAuthorizationHeader } from "../domain/credential.js";
import { standing } from "../domain/decide.js";
import type { Authenticator, Caller } from "./caller.js";
import type { TokenLookupService } from "./token-lookup.js";

export function createAuthenticator(lookup: TokenLookupService, now: () => number): Authenticator {
  return async (authorization) => {
    if (authorization === undefined || authorization === "") return undefined;
    const cred = parseAuthorizationHeader(authorization);
    const r = await lookup.lookup(cred.token, cred.orgIdentifier ?? "");
    if ("malformed" in r) throw unauthenticated(`malformed token: ${r.malformed}`);
    const t = r.found;
    if (t === undefined) throw unauthenticated("invalid token: no such token");
    const s = standing(t, { orgIdentifier: cred.orgIdentifier ?? "" }, now());
    if (s !== null && typeof s === "object") {
      throw unauthenticated(`token not accepted: ${s.status.toLowerCase().replaceAll("_", " ")}`);
    }
    const caller: Caller = {
      tokenId: t.tokenId,
      kind: t.kind,
      orgId: t.orgId,
      userId: t.ownerUserId ?? undefined,
      operator: t.kind === "OPERATOR",
      role: s ?? undefined,
    };
    return caller;
  };
}
