/**
 * From a presented token value to the stored facts about it: format check (cheap, no hashing),
 * keyed digest, the Verify cache, and on a miss one store round trip with a constant-time
 * re-check of the digest; a token found under an old key is re-digested under the current one.
 *
 * Shared by Verify and by the authentication of admin callers, so both judge a token the same way.
 * The cache answers only while the revocation hub is fresh; otherwise every lookup goes to the
 * database, and if that is down the caller gets UNAVAILABLE, never a stale "yes".
 */
import { Keyring } from "../domain/digest.js";
import type { TokenLookup } from "../domain/model.js";
import { parseToken } from "../domain/token-format.js";
import type { Database } from "../store/database.js";
import { lookupByDigest, redigest } from "../store/queries/tokens.js";
import type { Log } from "./deps.js";
import type { VerifyCache } from "./verify-cache.js";

export type LookupResult = { malformed: string } | { found: TokenLookup | undefined };

export interface TokenLookupService {
  lookup(token: string, targetIdentifier: string): Promise<LookupResult>;
}

export interface TokenLookupOptions {
  db: Database;
  keyring: Keyring;
  log: Log;
  cache?: VerifyCache;
  /** Whether the cache may answer (the revocation hub read the feed recently). */
  cacheFresh?: () => boolean;
  /** Counts database lookups (benchmarks check queries per request). */
  onQuery?: () => void;
}

export function createTokenLookup(opts: TokenLookupOptions): TokenLookupService {
  const { db, keyring, log, cache } = opts;
  const fresh = opts.cacheFresh ?? (() => true);
  return {
    async lookup(token, targetIdentifier) {
      const parsed = parseToken(token);
      if (!parsed.ok) return { malformed: parsed.reason };
      const current = keyring.digest(token);
      const key = current.toString("latin1") + "\u0000" + targetIdentifier;
      const useCache = cache !== undefined && fresh();
      if (useCache) {
        const hit = cache.get(key);
        if (hit !== undefined) return { found: hit.value };
      }
      const generation = cache?.generation ?? 0;
      const digests = [{ keyId: keyring.currentKeyId, digest: current }];
      for (const keyId of keyring.keyIds) if (keyId !== keyring.currentKeyId) digests.push({ keyId, digest: keyring.digest(token, keyId) });
      opts.onQuery?.();
      let found = await lookupByDigest(db.pool, digests.map((d) => d.digest), targetIdentifier);
      if (found !== undefined) {
        const match = digests.find((d) => d.keyId === found!.keyId);
        // The index found it by digest; re-check in constant time so no path compares secrets with ===.
        if (match === undefined || !Keyring.equal(match.digest, found.digest)) found = undefined;
      }
      if (found !== undefined && found.keyId !== keyring.currentKeyId) {
        const row = found;
        // Best effort: a failure leaves the old digest in place, which still verifies.
        db.withOrg(row.orgId, (tx) => redigest(tx, row.tokenId, row.digest, current, keyring.currentKeyId)).catch((err: unknown) =>
          log("redigest_failed", { tokenId: row.tokenId, error: String(err) }),
        );
      }
      if (useCache) cache.set(key, found, generation);
      return { found };
    },
  };
}
