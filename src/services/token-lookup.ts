/**
 * From a presented token value to the stored facts about it: format check (cheap, no hashing),
 * keyed digests under every live key, one store round trip, a constant-time re-check of the
 * digest, and — when the token was found under an old key — a re-digest under the current key.
 *
 * Shared by Verify and by the authentication of admin callers, so both judge a token the same way.
 */
import { Keyring } from "../domain/digest.js";
import type { TokenLookup } from "../domain/model.js";
import { parseToken } from "../domain/token-format.js";
import type { Database } from "../store/database.js";
import { lookupByDigest, redigest } from "../store/queries/tokens.js";

export type LookupResult = { malformed: string } | { found: TokenLookup | undefined };

export interface TokenLookupService {
  lookup(token: string, targetIdentifier: string): Promise<LookupResult>;
}

export function createTokenLookup(db: Database, keyring: Keyring, log: (e: string, f: Record<string, unknown>) => void): TokenLookupService {
  return {
    async lookup(token, targetIdentifier) {
      const parsed = parseToken(token);
      if (!parsed.ok) return { malformed: parsed.reason };
      const digests = keyring.digestsForLookup(token);
      const found = await lookupByDigest(db.pool, digests.map((d) => d.digest), targetIdentifier);
      if (found === undefined) return { found: undefined };
      const match = digests.find((d) => d.keyId === found.keyId);
      // The index found it by digest; re-check in constant time so no path compares secrets with ===.
      if (match === undefined || !Keyring.equal(match.digest, found.digest)) return { found: undefined };
      if (found.keyId !== keyring.currentKeyId) {
        const current = digests[0]!;
        // Best effort: a failure leaves the old digest in place, which still verifies.
        db.withOrg(found.orgId, (tx) => redigest(tx, found.tokenId, found.digest, current.digest, current.keyId)).catch(
          (err: unknown) => log("redigest_failed", { tokenId: found.tokenId, error: String(err) }),
        );
      }
      return { found };
    },
  };
}
