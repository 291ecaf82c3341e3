/**
 * Resolves an `authorization` header into a Caller: the one Authenticator used by both
 * transports. A present but unacceptable credential is UNAUTHENTICATED; what the caller may then
 * do is each service's business.
 *
 * Every Verify authenticates its caller, almost always with the same verifier token, so an
 * accepted Caller is memoized under a keyed digest of the authorization value (never the value).
 * The memo answers only while the lookup cache may (revocation hub fresh), is dropped by any feed
 * event of the caller's token, and never outlives the token's expiry or the cache's positive TTL.
 *
 * Every accepted caller counts as a use of its token, recorded as Verify records the tokens it
 * accepts (same recorder, same precision): an admin or verifier token that shows "never used" was
 * never presented successfully.
 */
import { unauthenticated, type TesseraError } from "../domain/errors.js";
import { parseAuthorizationHeader } from "../domain/credential.js";
import { standing } from "../domain/decide.js";
import type { Authenticator, Caller } from "./caller.js";
import type { LastUsedRecorder } from "./last-used.js";
import type { TokenLookupService } from "./token-lookup.js";

/** A memoized caller, with what recording its uses needs. */
interface Accepted {
  caller: Caller;
  /** The stored last-used time (whole minutes) the lookup read. */
  lastUsedMinute: number | null;
  /** The last-used period this memo last recorded a use in. */
  touched: number;
}

/**
 * Refusal of a request with several `authorization` values. A proxy in front may act on the last
 * where Tessera would act on the first: two parties would disagree about who is calling.
 */
export const severalCredentials = (): TesseraError =>
  unauthenticated("the request carries several authorization headers; send exactly one");

/** The token a refused credential named, when it named one Tessera knows (for the audit trail). */
export interface RefusedToken {
  tokenId: string;
  kind: string;
  orgId: string;
  userId: string | null;
}

const refusedTokens = new WeakMap<TesseraError, RefusedToken>();

export const refusedTokenOf = (err: TesseraError): RefusedToken | undefined => refusedTokens.get(err);

function refuse(msg: string, t: { tokenId: string; kind: string; orgId: string; ownerUserId: string | null }): TesseraError {
  const err = unauthenticated(msg);
  refusedTokens.set(err, { tokenId: t.tokenId, kind: t.kind, orgId: t.orgId, userId: t.ownerUserId });
  return err;
}

export function createAuthenticator(
  lookup: TokenLookupService,
  now: () => number,
  lastUsed: Pick<LastUsedRecorder, "record" | "period">,
): Authenticator {
  const memo = lookup.memo;
  return async (authorization) => {
    if (authorization === undefined || authorization === "") return undefined;
    // Opened before the lookup: an event arriving meanwhile makes the fill below a no-op.
    const slot = memo?.open(authorization);
    if (slot !== undefined && slot.hit !== undefined) {
      const hit = slot.hit as Accepted;
      // Once per last-used period, not per call, as Verify's memoized answers do.
      const at = now();
      const period = lastUsed.period(at);
      if (hit.touched !== period) {
        hit.touched = period;
        lastUsed.record(hit.caller.tokenId, hit.lastUsedMinute, at);
      }
      return hit.caller;
    }
    const cred = parseAuthorizationHeader(authorization);
    const r = await lookup.lookup(cred.token, cred.orgIdentifier ?? "", "caller");
    if ("malformed" in r) throw unauthenticated(`malformed token: ${r.malformed}`);
    const t = r.found;
    if (t === undefined) throw unauthenticated("invalid token: no such token");
    const at = now();
    const s = standing(t, { orgIdentifier: cred.orgIdentifier ?? "" }, at);
    if (s !== null && typeof s === "object") {
      // A previous value past its rotation deadline is gone, as it will be once the overlap is ended.
      if (s.status === "NOT_FOUND") throw unauthenticated("invalid token: no such token");
      throw refuse(`token not accepted: ${s.status.toLowerCase().replaceAll("_", " ")}`, t);
    }
    const caller: Caller = Object.freeze({
      tokenId: t.tokenId,
      kind: t.kind,
      orgId: t.orgId,
      userId: t.ownerUserId ?? undefined,
      operator: t.kind === "OPERATOR",
      role: s ?? undefined,
    });
    lastUsed.record(t.tokenId, t.lastUsedMinute, at);
    const accepted: Accepted = { caller, lastUsedMinute: t.lastUsedMinute, touched: lastUsed.period(at) };
    // standing() refuses from expiresAt (and a previous value's deadline) on, so the memo holds the caller only until then.
    const notAfter = Math.min(
      t.expiresAt === null ? Infinity : t.expiresAt.getTime(),
      t.previousUntil === null ? Infinity : t.previousUntil.getTime(),
    );
    if (slot !== undefined) memo!.set(slot, accepted, t.tokenId, notAfter);
    return caller;
  };
}
